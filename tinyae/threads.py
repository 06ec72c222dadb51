"""Threads: the one place that sets how many threads OpenBLAS and Numba use.

Every matrix product in tinyae goes through NumPy's OpenBLAS, and the Numba
kernels have a parallel pool of their own; on a small shared machine the two
can fight, so both are set here and nowhere else (see lesson 09).
"""

import ctypes
import glob
import os


#: Environment variable read by ``tinyae.course.lesson`` for its default thread count.
THREADS_ENV = "TINYAE_THREADS"

_SET_THREADS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                "openblas_set_num_threads64_", "openblas_set_num_threads")


def _numpy_openblas():
    """ctypes handle of the OpenBLAS NumPy is linked with, or None."""
    import numpy as np
    root = os.path.dirname(os.path.dirname(np.__file__))
    for path in sorted(glob.glob(os.path.join(root, "numpy.libs", "*openblas*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def set_threads(n):
    """Use ``n`` threads for NumPy's OpenBLAS (every matrix product in tinyae
    goes through it) and for Numba's parallel pool.

    On a machine whose cores are busy with other work, more BLAS threads
    than free cores make each product wait for a descheduled thread: one
    thread can then be many times faster (see lesson 09 and
    ``python -m tinyae.bench --threads``). Returns a dict saying which pools
    were set (a pool that cannot be found is reported, not guessed).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer number of threads, got {n!r}")
    done = {"openblas": False, "numba": False}
    lib = _numpy_openblas()
    for sym in _SET_THREADS if lib is not None else ():
        fn = getattr(lib, sym, None)
        if fn is not None:
            fn(ctypes.c_int(n))
            done["openblas"] = True
            break
    import numba
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    done["numba"] = True
    return done
