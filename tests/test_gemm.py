"""The Numba GEMM (``tinyae.kernels.gemm``) and every rung of lesson 09's
GEMM ladder against their NumPy twin ``a @ b``.

Tolerance: every element of a computed product lies within
gamma_k (|a| |b|)[i, j] of the exact one, gamma_k ~ k u, u = eps / 2 (the
standard bound for sums of k products, in any order, with or without FMA).
Two computed products may therefore differ by up to ``k * eps * (|a| |b|)``
element by element; that is the bound used, computed in float64. It is
element-wise, so a single wrong element of a large product is caught
(``test_the_bound_discriminates`` shows a near miss failing).
"""

import importlib.util
import sys
import tempfile
from pathlib import Path

import numba
import numpy as np
import pytest

from tinyae import functional, kernels
from tinyae.kernels import gemm

DTYPES = [np.float32, np.float64]

#: (m, k, n): ones, primes, k = 1, and shapes crossing each blocking size
#: (mc = 96 rows, kc = 384 with an odd remainder, nc = 1024 columns).
SHAPES = [(1, 1, 1), (7, 5, 13), (7, 13, 5), (3, 1, 40), (1, 37, 1), (33, 300, 70),
          (100, 775, 65)]
BIG_SHAPES = [(128, 784, 512), (97, 389, 1030)]

LESSON = Path(__file__).resolve().parent.parent / "lessons" / "09_kernels.py"


#: What the ladder's cells need (the lesson's import cell also starts the lesson).
LADDER_PRELUDE = "import numba\nimport numpy as np\nfrom tinyae.kernels import gemm\n"


def ladder_source():
    """The code cells of lesson 09 that define the GEMM ladder: the cells
    (``# %%`` blocks) opening with a Numba decorator or a ``def``. The rest
    of the lesson measures and claims, so it is not run here."""
    cells, cell = [], []
    for line in LESSON.read_text().splitlines():
        if line.startswith("# %%"):
            cells.append(cell)
            cell = []
        else:
            cell.append(line)
    cells.append(cell)
    keep = []
    for lines in cells:
        code = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
        if code and (code[0].startswith("@numba.njit") or code[0].startswith("def ")):
            keep.append("\n".join(lines))
    return LADDER_PRELUDE + "\n\n".join(keep)


def load_lesson():
    """Lesson 09's ladder cells as the module ``lesson_09_kernels``,
    registered in sys.modules (Numba's cached code names the module it
    belongs to, and loading it imports that name). Its Numba functions cache
    under a folder of their own: an entry written by this import names a
    module the lesson run as a script (``__main__``) cannot import, and would
    break that run."""
    spec = importlib.util.spec_from_loader("lesson_09_kernels", loader=None,
                                           origin=str(LESSON))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(LESSON)
    sys.modules[spec.name] = module
    cache_dir = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(Path(tempfile.gettempdir()) / "tinyae-test-gemm-numba")
    try:
        exec(compile(ladder_source(), str(LESSON), "exec"), module.__dict__)
    finally:
        numba.config.CACHE_DIR = cache_dir
    return module


LADDER = load_lesson().LADDER


def product_bound(a, b):
    """k * eps * (|a| |b|): how far two computed a @ b may lie apart, per element."""
    k = a.shape[1]
    size = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    return max(k, 1) * np.finfo(a.dtype).eps * size


def assert_close_product(c, a, b, extra=0.0):
    """c within product_bound (+ ``extra``, an array or scalar) of a @ b, same dtype."""
    ref = a @ b
    assert c.shape == ref.shape and c.dtype == a.dtype
    excess = np.abs(c.astype(np.float64) - ref) - (product_bound(a, b) + extra)
    assert not np.any(excess > 0), f"{np.count_nonzero(excess > 0)} elements out of bound"


def draw(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", SHAPES + BIG_SHAPES)
def test_matmul_matches_numpy(rng, m, k, n, dtype):
    a, b = draw(rng, (m, k), dtype), draw(rng, (k, n), dtype)
    assert_close_product(kernels.matmul(a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label,f", LADDER, ids=[label for label, _ in LADDER])
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_every_rung_matches_numpy(rng, label, f, m, k, n, dtype):
    a, b = draw(rng, (m, k), dtype), draw(rng, (k, n), dtype)
    assert_close_product(f(a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_views_large_values_and_empty_shapes(rng, dtype):
    a = draw(rng, (50, 41), dtype, scale=1e4)
    b = draw(rng, (41, 70), dtype, scale=1e4)
    assert_close_product(kernels.matmul(a, b), a, b)
    # transposed and strided views are packed directly, without a copy
    at, bt = np.asfortranarray(a), b[:, ::2]
    assert_close_product(kernels.matmul(at, bt), at, bt)
    assert_close_product(kernels.matmul(b.T[::2], a.T), b.T[::2], a.T)
    for m, k, n in [(5, 0, 3), (0, 4, 3), (4, 3, 0)]:
        out = kernels.matmul(np.ones((m, k), dtype), np.ones((k, n), dtype))
        assert out.shape == (m, n) and out.dtype == dtype and not out.any()
    zeros = kernels.matmul(np.zeros((7, 9), dtype), b[:9])
    assert np.array_equal(zeros, np.zeros((7, 70), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_bound_discriminates(rng, dtype):
    """The check fails a result 1% beyond the bound in one element, and an
    off-by-one bug (one element's sum stops at p = k - 2)."""
    a, b = draw(rng, (64, 299), dtype), draw(rng, (299, 48), dtype)
    c = kernels.matmul(a, b)
    assert_close_product(c, a, b)
    near_miss = c.astype(np.float64)
    near_miss[17, 5] += 1.01 * product_bound(a, b)[17, 5]
    with pytest.raises(AssertionError):
        assert_close_product(near_miss.astype(dtype), a, b)
    off_by_one = c.copy()
    off_by_one[3, 9] = a[3, :-1] @ b[:-1, 9]
    with pytest.raises(AssertionError):
        assert_close_product(off_by_one, a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", sorted(gemm.ACTIVATIONS))
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 5, 13), (128, 32, 512), (50, 775, 33),
                                   (6, 0, 4)])
def test_matmul_bias_act_matches_reference(rng, m, k, n, activation, dtype):
    """act(x W + b) against functional.linear_act_forward: the activation
    (relu, sigmoid) is 1-Lipschitz, so the pre-activation bound carries
    over, plus a few ulps of the output for the bias add and sigmoid."""
    x, W, b = draw(rng, (m, k), dtype), draw(rng, (k, n), dtype), draw(rng, n, dtype)
    ref, _ = functional.linear_act_forward(x, W, b, activation)
    out = kernels.matmul_bias_act(x, W, b, activation)
    assert out.shape == ref.shape and out.dtype == dtype
    eps = np.finfo(dtype).eps
    bound = product_bound(x, W) + 4 * eps * (np.abs(x @ W) + np.abs(b) + np.abs(ref))
    assert np.all(np.abs(out.astype(np.float64) - ref) <= bound)
