import os
import platform

# The lessons quote numbers their default run prints (tests/test_lessons.py
# checks them), and a run's numbers depend on the arithmetic's order, which
# NumPy's OpenBLAS (built with DYNAMIC_ARCH) and Numba's LLVM choose by CPU:
# on a host with AVX-512, OpenBLAS's SkylakeX kernels and 16-lane reductions
# round differently than the Haswell kernels and 8-lane ones of an AVX2
# host, and a training run carries the difference into its second decimal.
# NumPy's own SIMD loops (exp, log, ...) dispatch by CPU too. So the tests
# pin all three to their AVX2 ("Haswell", x86-64-v3) code on any x86-64
# host, before NumPy or Numba load (lesson subprocesses and notebook
# kernels inherit the environment); on an AVX2 host this changes nothing.
# A value set in the environment already wins.
if platform.machine().lower() in ("x86_64", "amd64"):
    for _name, _value in (("OPENBLAS_CORETYPE", "Haswell"), ("NUMBA_CPU_NAME", "haswell"),
                          ("NUMBA_CPU_FEATURES", ""),
                          ("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")):
        os.environ.setdefault(_name, _value)

import numpy as np
import pytest

from tinyae import backend as _backend


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=sorted(_backend.BACKENDS))
def each_backend(request):
    """Run the test once per backend (numpy reference, numba twin)."""
    with _backend.use(request.param):
        yield request.param
