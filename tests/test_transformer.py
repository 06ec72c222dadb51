"""Transformer ops and layers: Numba twins against the NumPy reference,
every backward against central differences (and a near miss that must
fail), the softmax's stability, attention rows summing to 1, and the token
masking."""

import numpy as np
import pytest

from tinyae import backend, functional, kernels
from tinyae.gradcheck.core import check_arrays, check_layer
from tinyae.layers import (GELU, LayerNorm, MultiHeadSelfAttention, PatchEmbed,
                           PositionalEmbedding, TransformerBlock)

REL_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
DTYPES = [np.float32, np.float64]
FAMILY = backend.OP_FAMILIES["transformer"]

#: Shapes of the token tensor (..., last axis) used for the row ops; the
#: last ones are the edge cases: one row, one feature, one token.
ROW_SHAPES = [(4, 5, 8), (7, 3), (1, 1), (1, 6), (5, 1), (2, 1, 16)]


def _leaves(result):
    if isinstance(result, tuple):
        return [leaf for item in result for leaf in _leaves(item)]
    return [result]


def _assert_twins(got, ref, dtype, scale=None):
    """Same structure, same dtypes and shapes, values within REL_TOL of
    ``scale`` (default: the largest reference value of each leaf)."""
    got, ref = _leaves(got), _leaves(ref)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        if isinstance(r, float):
            assert type(g) is float
            assert abs(g - r) <= REL_TOL[np.dtype(dtype)] * max(abs(r), 1e-300)
            continue
        assert isinstance(g, np.ndarray) and g.dtype == r.dtype == np.dtype(dtype)
        assert g.shape == r.shape
        ref_scale = scale or max(float(np.max(np.abs(r), initial=0.0)),
                                 np.finfo(np.float64).tiny)
        assert float(np.max(np.abs(g.astype(np.float64) - r), initial=0.0)) / ref_scale \
            <= REL_TOL[np.dtype(dtype)]


def _draw(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# --------------------------------------------------------------------------
# Twins
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("scale", [1.0, 30.0], ids=["ordinary", "large"])
def test_row_op_twins(shape, dtype, scale):
    rng = np.random.default_rng(0)
    x, dout = _draw(rng, shape, dtype, scale), _draw(rng, shape, dtype)
    d = shape[-1]
    gamma, beta = _draw(rng, (d,), dtype), _draw(rng, (d,), dtype)
    cases = {"layernorm": (x, gamma, beta, 1e-5), "gelu": (x,), "softmax": (x,)}
    for op, args in cases.items():
        fwd_ref = getattr(functional, op + "_forward")(*args)
        fwd_got = getattr(kernels, op + "_forward")(*args)
        _assert_twins(fwd_got, fwd_ref, dtype)
        # softmax_backward's p (dout - sum(dout p)) cancels where p ~ 1 (large
        # scores): both twins are then accurate to eps |dout|, not to eps |ds|
        scale = float(np.max(np.abs(dout))) if op == "softmax" else None
        _assert_twins(getattr(kernels, op + "_backward")(dout, fwd_got[1]),
                      getattr(functional, op + "_backward")(dout, fwd_ref[1]), dtype, scale)
        # the caches are interchangeable (same contract)
        _assert_twins(getattr(kernels, op + "_backward")(dout, fwd_ref[1]),
                      getattr(functional, op + "_backward")(dout, fwd_ref[1]), dtype, scale)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 1, 1, 2), (3, 1, 7, 1)], ids=str)
def test_attention_twins(shape, dtype):
    rng = np.random.default_rng(1)
    q, k, v, dout = (_draw(rng, shape, dtype) for _ in range(4))
    ref = functional.attention_forward(q, k, v)
    got = kernels.attention_forward(q, k, v)
    _assert_twins(got, ref, dtype)
    _assert_twins(kernels.attention_backward(dout, got[1]),
                  functional.attention_backward(dout, ref[1]), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape, heads", [((2, 5, 36), 3), ((1, 1, 6), 1), ((3, 16, 96), 4),
                                          ((4, 3, 12), 4)], ids=str)
def test_multihead_attention_twins(shape, heads, dtype):
    """Packed qkv (N, T, 3 D): the kernel (heads as strided views, BLAS
    writing straight into out and dqkv) against the reference (split, attend,
    join); the caches are interchangeable. One head, one token, dh = 1."""
    rng = np.random.default_rng(11)
    qkv = _draw(rng, shape, dtype, 2.0)
    dout = _draw(rng, shape[:2] + (shape[2] // 3,), dtype)
    ref = functional.multihead_attention_forward(qkv, heads)
    got = kernels.multihead_attention_forward(qkv, heads)
    _assert_twins(got, ref, dtype)
    assert got[1][1].shape == (shape[0], heads, shape[1], shape[1])
    _assert_twins(kernels.multihead_attention_backward(dout, got[1]),
                  functional.multihead_attention_backward(dout, ref[1]), dtype)
    _assert_twins(kernels.multihead_attention_backward(dout, ref[1]),
                  functional.multihead_attention_backward(dout, ref[1]), dtype)


def _tm_arrays(rng, t, n, d, dtype, scale=1.0):
    """Token-major x (T, N, D), the two projections' weights and biases."""
    return (_draw(rng, (t, n, d), dtype, scale), _draw(rng, (d, 3 * d), dtype, 0.5),
            _draw(rng, (3 * d,), dtype, 0.5), _draw(rng, (d, d), dtype, 0.5),
            _draw(rng, (d,), dtype, 0.5))


TM_SHAPES = [(4, 3, 6, 3), (1, 1, 2, 2), (16, 5, 32, 4), (3, 1, 4, 1), (1, 7, 6, 2),
             (4, 128, 64, 4)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("t, n, d, heads", TM_SHAPES, ids=str)
def test_token_major_attention_twins(t, n, d, heads, dtype):
    """The token-major sublayer (T, N, D): the kernel (qkv^T by BLAS, heads
    looping over the batch) against the reference, and the reference
    against the batch-first ops on the transposed tokens (Linear, packed
    heads, Linear); the caches are interchangeable. One token, batch 1,
    one head, heads of one feature, the MAE's encoder shape."""
    rng = np.random.default_rng(12)
    x, Wq, bq, Wo, bo = arrays = _tm_arrays(rng, t, n, d, dtype)
    dy = _draw(rng, (t, n, d), dtype)
    ref = functional.multihead_attention_tm_forward(*arrays, heads)
    got = kernels.multihead_attention_tm_forward(*arrays, heads)
    _assert_twins(got, ref, dtype)
    assert got[1][2].shape == (heads, t, t, n)               # A: (H, T, T, N)
    _assert_twins(kernels.multihead_attention_tm_backward(dy, got[1]),
                  functional.multihead_attention_tm_backward(dy, ref[1]), dtype)
    _assert_twins(kernels.multihead_attention_tm_backward(dy, ref[1]),
                  functional.multihead_attention_tm_backward(dy, ref[1]), dtype)
    # the same numbers as the batch-first chain
    xb = x.transpose(1, 0, 2)
    out, (_, a) = functional.multihead_attention_forward(xb @ Wq + bq, heads)
    _assert_twins(ref[0], np.ascontiguousarray((out @ Wo + bo).transpose(1, 0, 2)), dtype)
    _assert_twins(got[1][2], np.ascontiguousarray(a.transpose(1, 2, 3, 0)), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_token_major_twin_check_fails_on_a_near_miss(dtype):
    """The twin comparison above catches one weight of dWqkv off by ten times
    its tolerance, and one attention weight of the cache likewise."""
    rng = np.random.default_rng(17)
    arrays = _tm_arrays(rng, 4, 3, 6, dtype)
    dy = _draw(rng, (4, 3, 6), dtype)
    ref = functional.multihead_attention_tm_forward(*arrays, 3)
    got = kernels.multihead_attention_tm_forward(*arrays, 3)
    grads = list(kernels.multihead_attention_tm_backward(dy, got[1]))
    ref_grads = functional.multihead_attention_tm_backward(dy, ref[1])
    _assert_twins(tuple(grads), ref_grads, dtype)
    tol = REL_TOL[np.dtype(dtype)]
    grads[1] = grads[1].copy()
    grads[1].flat[5] += 10 * tol * np.max(np.abs(ref_grads[1]))
    with pytest.raises(AssertionError):
        _assert_twins(tuple(grads), ref_grads, dtype)
    a = got[1][2].copy()
    a.flat[7] += 10 * tol
    with pytest.raises(AssertionError):
        _assert_twins(a, ref[1][2], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_token_major_attention_edges_match_the_reference(dtype):
    """Scores far beyond the vectorised exp's range (the libm path of
    ``_attention_tm``), and a NaN in one image's tokens, which turns that
    image's outputs NaN and no other's, as in the reference."""
    rng = np.random.default_rng(13)
    x, Wq, bq, Wo, bo = _tm_arrays(rng, 5, 4, 8, dtype, scale=40.0)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = functional.multihead_attention_tm_forward(x, Wq, bq, Wo, bo, 2)
        got = kernels.multihead_attention_tm_forward(x, Wq, bq, Wo, bo, 2)
    assert np.min(ref[1][2]) < np.finfo(dtype).tiny        # some weights underflow
    _assert_twins(got, ref, dtype)
    x[2, 1, 3] = np.nan                                     # token 2 of image 1
    with np.errstate(invalid="ignore", over="ignore"):
        ref = functional.multihead_attention_tm_forward(x, Wq, bq, Wo, bo, 2)[0]
        got = kernels.multihead_attention_tm_forward(x, Wq, bq, Wo, bo, 2)[0]
    assert np.all(np.isnan(got[:, 1])) and np.all(np.isnan(ref[:, 1]))
    others = [0, 2, 3]
    _assert_twins(got[:, others], ref[:, others], dtype)


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_batch_first_false_is_the_same_block_on_transposed_tokens(name, dtype):
    """TransformerBlock and PositionalEmbedding with ``batch_first=False``
    on x.transpose(1, 0, 2): the transposed output and input gradient,
    the same parameter gradients and attention maps (N, H, T, T)."""
    rng = np.random.default_rng(14)
    x, dout = _draw(rng, (3, 5, 8), dtype), _draw(rng, (3, 5, 8), dtype)
    with backend.use(name):
        pair = [TransformerBlock(8, 2, mlp_ratio=2, batch_first=first,
                                 rng=np.random.default_rng(1), dtype=dtype)
                for first in (True, False)]
        pos = [PositionalEmbedding((1, 5), 8, kind="learned", batch_first=first,
                                   rng=np.random.default_rng(2), dtype=dtype)
               for first in (True, False)]
        results = []
        for block, p, xin, din in zip(pair, pos, (x, x.transpose(1, 0, 2)),
                                      (dout, dout.transpose(1, 0, 2))):
            block.zero_grad()
            y = block.forward(p.forward(np.ascontiguousarray(xin)))
            dx = p.backward(block.backward(np.ascontiguousarray(din)))
            results.append((y, dx, block.grads, p.grads["pos"], block.attn.attention))
    (y0, dx0, g0, p0, a0), (y1, dx1, g1, p1, a1) = results
    _assert_twins(y1.transpose(1, 0, 2).copy(), y0, dtype)
    _assert_twins(dx1.transpose(1, 0, 2).copy(), dx0, dtype)
    for k in g0:
        _assert_twins(g1[k], g0[k], dtype)
    _assert_twins(p1, p0, dtype)
    assert a1.shape == a0.shape == (3, 2, 5, 5)                # (N, H, T, T) both
    _assert_twins(np.ascontiguousarray(a1), a0, dtype)
    assert "batch_first=False" in repr(pair[1]) and "batch_first" not in repr(pair[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_softmax_edges_match_the_reference(dtype):
    """Rows the vectorised exp does not cover (``_softmax_rows``' libm path):
    a spread of scores beyond the fast range (exp underflows), -inf scores,
    a NaN (the row turns NaN, as in the reference) next to ordinary rows."""
    s = np.array([[0.0, -1.0, 2.0, 0.5], [0.0, -800.0, -90.0, -1e30],
                  [-np.inf, 0.0, 1.0, -np.inf], [np.nan, 1.0, 2.0, 3.0],
                  [1e30, 1e30, 0.0, -1e30]], dtype=dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        got, ref = kernels.softmax_forward(s)[0], functional.softmax_forward(s)[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert np.all(np.abs(got[ok] - ref[ok]) <= REL_TOL[np.dtype(dtype)] * np.abs(ref[ok])
                  + np.finfo(dtype).smallest_subnormal)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_masked_mse_and_data_movement_twins(dtype):
    rng = np.random.default_rng(2)
    pred, target = _draw(rng, (3, 6, 5), dtype), _draw(rng, (3, 6, 5), dtype)
    mask = rng.random((3, 6)) < 0.5
    _assert_twins(kernels.masked_mse_loss(pred, target, mask),
                  functional.masked_mse_loss(pred, target, mask), dtype)
    x = _draw(rng, (2, 3, 4, 6), dtype)
    _assert_twins(kernels.patchify(x, 2), functional.patchify(x, 2), dtype)
    # token-major: the same loss, the gradient transposed (the mean over N = 3)
    pt, tt = np.ascontiguousarray(pred.transpose(1, 0, 2)), target.transpose(1, 0, 2)
    for module in (functional, kernels):
        loss, dpred = module.masked_mse_loss(pt, tt, mask.T, batch_first=False)
        ref_loss, ref_d = functional.masked_mse_loss(pred, target, mask)
        assert loss == pytest.approx(ref_loss, rel=REL_TOL[np.dtype(dtype)])
        _assert_twins(np.ascontiguousarray(dpred.transpose(1, 0, 2)), ref_d, dtype)
    # data movement has nothing to compile: the twin is the reference
    for op in ("patchify", "unpatchify", "gather_tokens", "scatter_tokens"):
        assert getattr(kernels, op) is getattr(functional, op)


def test_every_op_of_the_family_has_a_documented_twin():
    import inspect
    for op in FAMILY:
        twin, ref = getattr(kernels, op), getattr(functional, op)
        assert inspect.signature(twin) == inspect.signature(ref) and twin.__doc__
        assert op in backend.OP_NAMES


def test_float32_stays_float32_through_a_block():
    rng = np.random.default_rng(3)
    block = TransformerBlock(8, 2, rng=rng, dtype=np.float32)
    x = _draw(rng, (2, 5, 8), np.float32)
    for name in ("numpy", "numba"):
        with backend.use(name):
            out = block.forward(x)
            dx = block.backward(np.ones_like(out))
        assert out.dtype == dx.dtype == np.float32
        assert all(g.dtype == np.float32 for g in block.grads.values())


# --------------------------------------------------------------------------
# Softmax and attention: stability and the rows summing to 1
# --------------------------------------------------------------------------

@pytest.mark.parametrize("module", [functional, kernels], ids=["numpy", "numba"])
def test_softmax_survives_huge_scores(module):
    s = np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4], [800.0, 0.0, 0.0]])
    p, _ = module.softmax_forward(s)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(p[0, :2], [1 / (1 + np.exp(-1.0)), np.exp(-1.0) / (1 + np.exp(-1.0))])
    np.testing.assert_allclose(p[1], 1 / 3)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_attention_rows_sum_to_one(name):
    rng = np.random.default_rng(4)
    layer = MultiHeadSelfAttention(12, 3, rng=rng)
    with backend.use(name):
        layer.forward(5 * rng.standard_normal((2, 7, 12)))
    a = layer.attention
    assert a.shape == (2, 3, 7, 7) and np.all(a >= 0)
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-13)


def test_softmax_backward_rows_sum_to_zero():
    """Adding a constant to a row of scores changes nothing: ds sums to 0."""
    rng = np.random.default_rng(5)
    _, p = functional.softmax_forward(rng.standard_normal((4, 6)))
    ds = functional.softmax_backward(rng.standard_normal((4, 6)), p)
    np.testing.assert_allclose(ds.sum(axis=1), 0.0, atol=1e-15)


def test_layernorm_gradient_ignores_shift_and_scale():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 7))
    # eps = 0: with eps > 0 the scale invariance holds only up to eps / var
    _, cache = functional.layernorm_forward(x, rng.standard_normal(7), rng.standard_normal(7),
                                            0.0)
    dx, _, _ = functional.layernorm_backward(rng.standard_normal((3, 7)), cache)
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-13)
    np.testing.assert_allclose((dx * cache[0]).sum(axis=1), 0.0, atol=1e-12)


def test_gelu_is_the_exact_erf_form():
    """Phi(1) = 0.841344746..., so GELU(1) = 0.841344746...; the tanh
    approximation gives 0.841191990 (differs in the 4th digit)."""
    out, _ = functional.gelu_forward(np.array([1.0, -1.0, 0.0]))
    np.testing.assert_allclose(out, [0.8413447460685429, -0.15865525393145707, 0.0],
                               rtol=1e-15)
    np.testing.assert_allclose(kernels.gelu_forward(np.array([1.0]))[0], out[:1], rtol=1e-15)


def _erf_ulps(got, true, dtype):
    """|got - true| in units of the last place of ``true`` rounded to dtype."""
    spacing = np.spacing(np.abs(true).astype(dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - true) / np.maximum(spacing, np.finfo(dtype).smallest_subnormal)


def test_the_gelus_erf_is_within_ulps_of_libm():
    """The GELU's vectorised erf (Cephes' forms, ``kernels.transformer._erf``)
    on a fine grid over [-9, 9], near 0 and across both forms' seams: float64
    within 3 ulp of libm's erf (``math.erf``) and within 1 ulp of SciPy's
    (which the reference calls: measured 3.0 and 1.0, bitwise equal to
    SciPy's at 99.9% of the points); float32 within 2.5 ulp of the true value
    (measured 2.36, near |y| = 1). A result 4 ulp off fails (the near miss)."""
    import math
    from scipy.special import erf
    from tinyae.kernels.transformer import _erf
    tiny = np.geomspace(1e-300, 1, 2001)
    y = np.concatenate([np.linspace(-9, 9, 36_001), tiny, -tiny, np.linspace(0.99, 1.01, 2001),
                        np.linspace(1.99, 2.01, 2001), [0.0, -0.0, 8.0, 26.0]])
    true = np.array([math.erf(v) for v in y])
    got = _erf(y)
    assert got.dtype == np.float64
    assert _erf_ulps(got, true, np.float64).max() <= 3.0
    assert _erf_ulps(got, erf(y), np.float64).max() <= 1.0
    near = got.copy()
    near[100] = near[100] + 4 * np.spacing(near[100])
    assert _erf_ulps(near, true, np.float64).max() > 3.0
    y32 = y[np.abs(y) <= 9].astype(np.float32)
    got32 = _erf(y32)
    true32 = np.array([math.erf(float(v)) for v in y32])
    assert got32.dtype == np.float32
    assert _erf_ulps(got32, true32, np.float32).max() <= 2.5


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_gelu_edges_match_the_reference(dtype):
    """Both sides of the fast path's bound (|x| 37 in float64, 13 in float32:
    beyond it libm's erf and exp), far out, 0, inf and NaN: the twins
    agree element by element, relative to each value (REL_TOL; the
    derivative's x phi(x) far out takes exp(-y^2) with y = x / sqrt 2
    where the reference has exp(-x^2 / 2): 1e-13 apart at x = -37), equal
    where infinite, NaN where NaN."""
    edges = [0.0, -0.0, 1e-300, 1.0, -1.0, 12.99, 13.01, -12.99, -13.01, 14.5, -14.5,
             36.99, 37.01, -36.99, -37.01, -38.5, 40.0, -40.0, 1e10, -1e10,
             np.inf, -np.inf, np.nan]
    x = np.array(edges, dtype=dtype)
    with np.errstate(invalid="ignore"):                 # inf * 0 in x phi(x): NaN
        (out, deriv), (out_ref, deriv_ref) = kernels.gelu_forward(x), functional.gelu_forward(x)
    for got, ref in ((out, out_ref), (deriv, deriv_ref)):
        assert got.dtype == ref.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        ok = np.isfinite(ref)
        np.testing.assert_array_equal(got[~ok], ref[~ok])
        tol = REL_TOL[np.dtype(dtype)] * np.abs(ref[ok]) + np.finfo(dtype).smallest_subnormal
        assert np.all(np.abs(got[ok] - ref[ok]) <= tol), (x[ok], got[ok], ref[ok])


# --------------------------------------------------------------------------
# Backward passes against central differences, and a near miss
# --------------------------------------------------------------------------

def _op_check(forward, backward, arrays, extra=(), perturb=None, seed=0):
    """Worst relative error of backward(r, cache) against finite differences
    of sum(forward(*arrays) * r); ``perturb`` (i, delta) adds delta to the
    analytic gradient of input i (the near miss)."""
    rng = np.random.default_rng(seed)
    out, cache = forward(*arrays, *extra)
    r = rng.standard_normal(out.shape)
    grads = backward(r, cache)
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    if perturb is not None:
        i, delta = perturb
        grads[i] = grads[i] + delta
    report = check_arrays(lambda: float(np.sum(forward(*arrays, *extra)[0] * r)),
                          {i: a for i, a in enumerate(arrays[:len(grads)])},
                          {i: g for i, g in enumerate(grads)})
    return report.worst


OP_INPUTS = {
    "layernorm": lambda rng: ([rng.standard_normal((2, 3, 5)), rng.standard_normal(5),
                               rng.standard_normal(5)], (1e-5,)),
    "gelu": lambda rng: ([rng.standard_normal((3, 4))], ()),
    "softmax": lambda rng: ([2 * rng.standard_normal((3, 5))], ()),
    "attention": lambda rng: ([rng.standard_normal((2, 2, 4, 3)) for _ in range(3)], ()),
    "multihead_attention": lambda rng: ([rng.standard_normal((2, 3, 12))], (2,)),
    "multihead_attention_tm": lambda rng: ([rng.standard_normal(s) for s in
                                            ((3, 2, 6), (6, 18), (18,), (6, 6), (6,))], (2,)),
}


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("op", list(OP_INPUTS))
def test_backward_matches_central_differences(op, name):
    arrays, extra = OP_INPUTS[op](np.random.default_rng(7))
    module = backend.module(name)
    fwd, bwd = getattr(module, op + "_forward"), getattr(module, op + "_backward")
    assert _op_check(fwd, bwd, arrays, extra) < 1e-8
    # a gradient off by 1e-5 in one entry (relative ~1e-5) must fail the check
    delta = np.zeros_like(arrays[0])
    delta.flat[1] = 1e-5
    assert _op_check(fwd, bwd, arrays, extra, perturb=(0, delta)) > 1e-7


def test_masked_mse_gradient_and_near_miss():
    rng = np.random.default_rng(8)
    pred, target = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    mask = np.array([[True, False, True, False], [False, False, False, True]])
    loss, dpred = functional.masked_mse_loss(pred, target, mask)
    assert np.all(dpred[~mask] == 0)
    assert loss == pytest.approx(np.sum((pred - target)[mask] ** 2) / 2, rel=1e-14)

    def f():
        return functional.masked_mse_loss(pred, target, mask)[0]
    assert check_arrays(f, {"p": pred}, {"p": dpred}).worst < 1e-9
    near = dpred.copy()
    near[0, 0, 0] *= 1 + 1e-5
    assert check_arrays(f, {"p": pred}, {"p": near}).worst > 1e-7


@pytest.mark.parametrize("make, shape", [
    (lambda rng: LayerNorm(5), (2, 3, 5)),
    (lambda rng: GELU(), (2, 3, 4)),
    (lambda rng: MultiHeadSelfAttention(6, 1, rng=rng), (1, 1, 6)),
    (lambda rng: MultiHeadSelfAttention(6, 3, rng=rng), (2, 4, 6)),
    (lambda rng: MultiHeadSelfAttention(6, 3, batch_first=False, rng=rng), (4, 2, 6)),
    (lambda rng: TransformerBlock(4, 2, mlp_ratio=3, batch_first=False, rng=rng), (3, 2, 4)),
    (lambda rng: TransformerBlock(4, 2, mlp_ratio=3, rng=rng), (2, 3, 4)),
    (lambda rng: PatchEmbed((1, 4, 4), 2, 3, rng=rng), (1, 1, 4, 4)),
    (lambda rng: PositionalEmbedding((2, 2), 4, kind="learned", rng=rng), (3, 4, 4)),
], ids=["LayerNorm", "GELU", "MHSA-1head-1token", "MHSA-3heads", "MHSA-token-major",
        "Block-token-major", "Block", "PatchEmbed", "PosLearned"])
def test_layer_gradients(make, shape):
    rng = np.random.default_rng(9)
    layer = make(rng)
    for p in layer.params.values():            # off the initial 1s and 0s
        p += 0.3 * rng.standard_normal(p.shape)
    assert check_layer(layer, rng.standard_normal(shape), rng=rng).worst < 1e-7


def test_block_near_miss_fails():
    """A block whose MLP branch forgot the residual's gradient (dh = the MLP
    branch alone) is caught by the check."""
    rng = np.random.default_rng(10)

    class Broken(TransformerBlock):
        def backward(self, dout, need_dx=True):
            dh = self.ln2.backward(self.fc1.backward(self.gelu.backward(
                self.fc2.backward(dout))))
            return dh + self.ln1.backward(self.attn.backward(dh))

    good = TransformerBlock(4, 2, rng=np.random.default_rng(0))
    bad = Broken(4, 2, rng=np.random.default_rng(0))
    x = rng.standard_normal((2, 3, 4))
    assert check_layer(good, x, rng=np.random.default_rng(1)).worst < 1e-7
    assert check_layer(bad, x, rng=np.random.default_rng(1)).worst > 1e-2


# --------------------------------------------------------------------------
# Patches, tokens, masking, positions
# --------------------------------------------------------------------------

def test_patchify_layout_and_inverse():
    x = np.arange(2 * 1 * 4 * 6, dtype=np.float64).reshape(2, 1, 4, 6)
    t = functional.patchify(x, 2)                      # (2, 6, 4)
    assert t.shape == (2, 6, 4)
    np.testing.assert_array_equal(t[0, 1], x[0, 0, 0:2, 2:4].reshape(-1))   # row 0, col 1
    np.testing.assert_array_equal(t[1, 3], x[1, 0, 2:4, 0:2].reshape(-1))   # row 1, col 0
    np.testing.assert_array_equal(functional.unpatchify(t, 2, (1, 4, 6)), x)


@pytest.mark.parametrize("n_tokens, n_keep", [(16, 4), (49, 12), (5, 1), (3, 2)])
def test_masking_keeps_exactly_the_requested_count(n_tokens, n_keep):
    rng = np.random.default_rng(11)
    perm = functional.random_token_permutation(rng, 50, n_tokens)
    assert np.all(np.sort(perm, axis=1) == np.arange(n_tokens))   # each row a permutation
    ids_keep, ids_masked, mask = functional.split_tokens(perm, n_keep)
    assert ids_keep.shape == (50, n_keep) and ids_masked.shape == (50, n_tokens - n_keep)
    assert np.all(mask.sum(axis=1) == n_tokens - n_keep)
    assert not np.any(np.take_along_axis(mask, ids_keep, axis=1))
    assert np.all(np.take_along_axis(mask, ids_masked, axis=1))
    # rows differ: the masks are drawn independently per example
    assert len({tuple(r) for r in mask}) > 1


def test_masking_is_uniform_over_positions():
    rng = np.random.default_rng(12)
    mask = functional.split_tokens(functional.random_token_permutation(rng, 20000, 16), 4)[2]
    freq = mask.mean(axis=0)                      # each position hidden 75% of the time
    assert np.all(np.abs(freq - 0.75) < 0.015)


def test_gather_scatter_are_adjoint():
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((3, 6, 2)), rng.standard_normal((3, 4, 2))
    ids = functional.split_tokens(functional.random_token_permutation(rng, 3, 6), 4)[0]
    lhs = np.sum(functional.gather_tokens(x, ids) * y)
    rhs = np.sum(x * functional.scatter_tokens(y, ids, 6))
    assert lhs == pytest.approx(rhs, rel=1e-14)


def test_token_major_gather_and_scatter_are_the_transposed_ones():
    """``batch_first=False``: x (T, N, D) -> (K, N, D) is the batch-first
    gather on the transposed tokens, transposed back; the scatter likewise,
    and the two stay adjoint. Reshaping the batch-first gather to (K, N, D)
    instead of transposing it (a layout slip) gives other numbers."""
    rng = np.random.default_rng(15)
    x, y = rng.standard_normal((3, 6, 2)), rng.standard_normal((3, 4, 2))
    ids = functional.split_tokens(functional.random_token_permutation(rng, 3, 6), 4)[0]
    xt, yt = np.ascontiguousarray(x.transpose(1, 0, 2)), y.transpose(1, 0, 2)
    got = functional.gather_tokens(xt, ids, batch_first=False)
    np.testing.assert_array_equal(got, functional.gather_tokens(x, ids).transpose(1, 0, 2))
    np.testing.assert_array_equal(functional.scatter_tokens(yt, ids, 6, batch_first=False),
                                  functional.scatter_tokens(y, ids, 6).transpose(1, 0, 2))
    lhs = np.sum(got * yt)
    rhs = np.sum(xt * functional.scatter_tokens(yt, ids, 6, batch_first=False))
    assert lhs == pytest.approx(rhs, rel=1e-14)
    wrong = functional.gather_tokens(x, ids).reshape(4, 3, 2)
    assert not np.array_equal(wrong, got)


@pytest.mark.parametrize("need_dx", [True, False])
def test_token_major_patch_embed_is_the_transposed_one(need_dx):
    """PatchEmbed(batch_first=False): tokens and kept patches (T, N, .), the
    batch-first ones transposed; the same weight gradient and image gradient."""
    rng = np.random.default_rng(16)
    x = rng.standard_normal((3, 2, 4, 6))
    bf, tm = (PatchEmbed((2, 4, 6), 2, 5, batch_first=first, rng=np.random.default_rng(1))
              for first in (True, False))
    out_bf, out_tm = bf.forward(x), tm.forward(x)
    np.testing.assert_allclose(out_tm, out_bf.transpose(1, 0, 2), rtol=1e-13)
    np.testing.assert_array_equal(tm.patches, bf.patches.transpose(1, 0, 2))
    dout = rng.standard_normal(out_bf.shape)
    bf.zero_grad()
    tm.zero_grad()
    dx_bf = bf.backward(dout, need_dx)
    dx_tm = tm.backward(np.ascontiguousarray(dout.transpose(1, 0, 2)), need_dx)
    np.testing.assert_allclose(tm.grads["proj.W"], bf.grads["proj.W"], rtol=1e-12)
    near = tm.grads["proj.W"].copy()
    near.flat[0] *= 1 + 1e-10                           # ten times the tolerance
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(near, bf.grads["proj.W"], rtol=1e-12)
    if need_dx:
        np.testing.assert_allclose(dx_tm, dx_bf, rtol=1e-12)
    else:
        assert dx_tm is None and dx_bf is None


def test_sincos_embedding_values():
    pos = functional.sincos_pos_embed(8, 2, 3)    # quarter = 2, omega = (1, 1/100)
    assert pos.shape == (6, 8)
    t = 4                                         # row 1, col 1
    np.testing.assert_allclose(pos[t], [np.sin(1), np.sin(0.01), np.cos(1), np.cos(0.01)] * 2)
    np.testing.assert_allclose(pos[2, 4:], [np.sin(2), np.sin(0.02), np.cos(2), np.cos(0.02)])
    assert len({tuple(np.round(p, 12)) for p in pos}) == 6      # every token distinct


# --------------------------------------------------------------------------
# Validation at the boundary
# --------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda rng: MultiHeadSelfAttention(6, 4, rng=rng), "n_heads must divide dim=6"),
    (lambda rng: LayerNorm(0), "dim must be a positive integer"),
    (lambda rng: LayerNorm(4, eps=-1.0), "eps"),
    (lambda rng: PatchEmbed((1, 28, 28), 5, 8, rng=rng), "patch must divide"),
    (lambda rng: PatchEmbed((28, 28), 7, 8, rng=rng), r"image_shape must be \(C, H, W\)"),
    (lambda rng: PositionalEmbedding((4, 4), 6), "multiple of 4"),
    (lambda rng: PositionalEmbedding((4, 4), 8, kind="rope"), "kind must be one of"),
])
def test_bad_arguments_say_what_was_expected(make, match):
    with pytest.raises(ValueError, match=match):
        make(np.random.default_rng(0))


@pytest.mark.parametrize("make", [
    lambda rng: MultiHeadSelfAttention(4, 2, batch_first="no", rng=rng),
    lambda rng: TransformerBlock(4, 2, batch_first=0, rng=rng),
    lambda rng: PositionalEmbedding((2, 2), 4, batch_first=None),
    lambda rng: PatchEmbed((1, 4, 4), 2, 3, batch_first="yes", rng=rng),
], ids=["MHSA", "Block", "Pos", "PatchEmbed"])
def test_batch_first_must_be_a_bool(make):
    with pytest.raises(TypeError, match="batch_first must be True or False, got"):
        make(np.random.default_rng(0))


def test_layers_check_their_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="3-D"):
        MultiHeadSelfAttention(4, 2, rng=rng).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="4 features"):
        LayerNorm(4).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="16 tokens on axis 1"):
        PositionalEmbedding((4, 4), 8).forward(np.zeros((2, 9, 8)))
    with pytest.raises(ValueError, match="16 tokens on axis 0"):
        PositionalEmbedding((4, 4), 8, batch_first=False).forward(np.zeros((2, 16, 8)))
    with pytest.raises(ValueError, match="3-D"):
        MultiHeadSelfAttention(4, 2, batch_first=False, rng=rng).forward(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="float32"):
        TransformerBlock(4, 1, rng=rng, dtype=np.float32).forward(np.zeros((1, 2, 4)))
