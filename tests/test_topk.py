"""The top-k op (``functional.topk_*`` and its Numba twin), the ``TopK``
layer and their gradient checks: awkward shapes (batch 1, width 1, k = 1,
k = width), ties (the lower index wins, in both backends), any rank."""

import numpy as np
import pytest

from tinyae import functional, kernels
from tinyae.gradcheck import check_layer
from tinyae.gradcheck.cases import CASES
from tinyae.gradcheck.cases.dense import spaced_rows
from tinyae.layers import ReLU, TopK

REL_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
DTYPES = [np.float32, np.float64]

#: (shape, k): ordinary, batch 1, width 1, k = 1, k = width, tokens (3-D)
CASES_SHAPES = [((7, 10), 3), ((1, 6), 2), ((5, 1), 1), ((4, 9), 1), ((4, 9), 9),
                ((2, 3, 8), 4), ((1, 1), 1)]


def _brute(x, k):
    """The mask by a plain loop: sort each row's (-value, index) pairs."""
    rows = x.reshape(-1, x.shape[-1])
    mask = np.zeros(rows.shape, bool)
    for r, row in enumerate(rows):
        for _, j in sorted((-float(v), j) for j, v in enumerate(row))[:k]:
            mask[r, j] = True
    return mask.reshape(x.shape)


def _values(kind, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "ties":                              # few distinct values: many ties
        return rng.integers(-2, 3, shape).astype(dtype)
    if kind == "zeros":
        return np.zeros(shape, dtype)
    if kind == "large":
        return rng.uniform(-1e4, 1e4, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", ["random", "ties", "zeros", "large"])
@pytest.mark.parametrize("shape,k", CASES_SHAPES, ids=lambda v: str(v))
def test_twins_agree_and_match_a_brute_force_mask(shape, k, kind, dtype):
    x = _values(kind, shape, dtype)
    ref_out, ref_mask = functional.topk_forward(x, k)
    out, mask = kernels.topk_forward(x, k)
    want = _brute(x, k)
    np.testing.assert_array_equal(ref_mask, want)
    np.testing.assert_array_equal(mask, want)
    assert out.dtype == ref_out.dtype == np.dtype(dtype) and out.shape == x.shape
    np.testing.assert_array_equal(out, ref_out)            # a selection: exact
    np.testing.assert_array_equal(ref_out, np.where(want, x, 0))
    assert np.all(mask.reshape(-1, shape[-1]).sum(axis=1) == k)   # exactly k per row
    dout = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    dx = kernels.topk_backward(dout, ref_mask)
    assert dx.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(dx, functional.topk_backward(dout, ref_mask))
    np.testing.assert_array_equal(dx, np.where(want, dout, 0))


@pytest.mark.parametrize("module", [functional, kernels], ids=["numpy", "numba"])
def test_ties_go_to_the_lower_index(module):
    x = np.array([[1.0, 2.0, 2.0, 2.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 0.0],
                  [-1.0, 3.0, -1.0, -1.0, -2.0]])
    _, mask = module.topk_forward(x, 2)
    np.testing.assert_array_equal(mask, [[0, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 0, 0, 0]])


@pytest.mark.parametrize("module", [functional, kernels], ids=["numpy", "numba"])
def test_views_are_read_as_their_values(module):
    base = np.random.default_rng(3).standard_normal((6, 10))
    for view in (base[:, ::2], np.asfortranarray(base)):
        np.testing.assert_array_equal(module.topk_forward(view, 2)[0],
                                      functional.topk_forward(np.ascontiguousarray(view), 2)[0])


def test_backward_is_not_the_relu_mask():
    """A top-k with the ReLU's mask (all positive entries) as its gradient
    would pass on rows with exactly k positive entries; this row has more."""
    x = np.array([[0.5, 3.0, 1.0, 2.0]])
    _, mask = functional.topk_forward(x, 2)
    dx = functional.topk_backward(np.ones_like(x), mask)
    np.testing.assert_array_equal(dx, [[0, 1, 0, 1]])


@pytest.mark.parametrize("name", [n for n in CASES if "TopK" in n])
def test_registered_topk_gradients(name, each_backend):
    assert CASES[name](np.random.default_rng(3)).worst < 1e-7


def test_gradcheck_catches_a_wrong_topk_backward(monkeypatch, rng):
    """The same check with a backward that lets every entry through fails."""
    layer = TopK(2)
    monkeypatch.setattr(TopK, "backward", lambda self, dout, need_dx=True: dout)
    report = check_layer(layer, spaced_rows(rng, (3, 5)), rng=rng)
    assert report.worst > 0.1


def test_spaced_rows_keep_ties_and_kinks_away(rng):
    x = spaced_rows(rng, (4, 3, 6), gap=0.1)
    rows = np.sort(x.reshape(-1, 6), axis=1)
    assert np.min(np.diff(rows, axis=1)) > 0.099 and np.min(np.abs(x)) > 0.049


def test_layer_validates_k_and_the_width(each_backend):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            TopK(bad)
    with pytest.raises(ValueError, match=r"TopK.forward: x has 3 entries per row.*k=4"):
        TopK(4).forward(np.zeros((2, 3)))


def test_layer_forward_backward_and_a_relu_after(each_backend):
    x = np.array([[-3.0, -1.0, -2.0, 0.5], [4.0, 1.0, 2.0, 3.0]])
    topk, relu = TopK(2), ReLU()
    out = relu.forward(topk.forward(x))
    np.testing.assert_array_equal(out, [[0, 0, 0, 0.5], [4, 0, 0, 3]])
    dx = topk.backward(relu.backward(np.ones_like(x)))
    np.testing.assert_array_equal(dx, [[0, 0, 0, 1], [1, 0, 0, 1]])
    assert repr(topk) == "TopK(2)"
