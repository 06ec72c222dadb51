"""The image ops (``functional.conv`` and their Numba twins in ``kernels.conv``).

* twins: every op of the "conv" family on ordinary and awkward geometries
  (odd sizes, stride 2 padding 1, batch 1, one channel, kernel 1,
  overlapping pooling windows, (h, w) pairs), float32 and float64, the whole
  return value compared, caches included;
* the naive conv2d loop equals the im2col version;
* the adjoint identity <conv(x), y> = <x, conv_transpose(y)> to 1e-12;
* gradients against central differences (float64), and a near miss fails;
* small cases computed by hand (ties, padding in the divisor, bilinear);
* geometry errors name the parameter.
"""

import numpy as np
import pytest

from tinyae import backend, functional, kernels
from tinyae.functional import conv as F
from tinyae.gradcheck import check_arrays

REL_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
DTYPES = [np.float32, np.float64]

#: name -> (x shape, channels out, kernel, stride, padding). Conv-like geometries.
CONV_CASES = {
    "ordinary": ((3, 4, 8, 8), 5, 3, 1, 1),
    "odd, stride 2, padding 1": ((2, 3, 7, 9), 4, 3, 2, 1),
    "batch 1, one channel": ((1, 1, 5, 5), 1, 3, 1, 0),
    "kernel 1": ((2, 3, 4, 5), 2, 1, 1, 0),
    "pairs": ((2, 2, 6, 7), 3, (3, 2), (2, 1), (1, 0)),
    "kernel = input": ((2, 3, 4, 4), 2, 4, 1, 0),
    "stride > kernel": ((2, 2, 9, 9), 3, 2, 3, 0),
    # stride 1 with Wo == W: the kernels' shifted-copy im2col
    "same, odd, batch 1, one channel": ((1, 1, 7, 5), 3, 3, 1, 1),
    "same, pairs": ((2, 3, 6, 9), 2, (3, 5), 1, (1, 2)),
    "Wo = W, rows all padding": ((2, 2, 3, 4), 3, (1, 3), 1, (2, 1)),
}
#: name -> (x shape, kernel, stride, padding) for pooling.
POOL_CASES = {
    "2x2 stride 2": ((2, 3, 8, 8), 2, 2, 0),
    "2x2 stride 2, odd, batch 1, one channel": ((1, 1, 7, 5), 2, 2, 0),
    "overlapping 3 stride 2": ((2, 3, 9, 7), 3, 2, 0),
    "overlapping 3 stride 2 padding 1": ((2, 2, 7, 8), 3, 2, 1),
    "stride 1": ((1, 1, 5, 6), 3, 1, 1),
    "batch 1, one channel, kernel 1": ((1, 1, 3, 4), 1, 1, 0),
    "pairs": ((2, 2, 7, 6), (3, 2), (2, 1), (1, 0)),
}
#: name -> (x shape, scale) for upsampling.
UP_CASES = {"2": ((2, 3, 4, 5), 2), "3, odd": ((1, 1, 3, 3), 3),
            "pair": ((2, 2, 3, 4), (2, 3)), "1x1 input": ((1, 2, 1, 1), 2),
            "scale 1": ((2, 2, 3, 3), 1)}


def _transposed_output_padding(x_hw, k, s, p):
    """The output_padding that makes conv_transpose2d give back x_hw from
    conv2d's output (the remainder conv2d's floor dropped)."""
    k, s, p = F.as_pair(k), F.as_pair(s), F.as_pair(p)
    return tuple((n + 2 * p_ - k_) % s_ for n, k_, s_, p_ in zip(x_hw, k, s, p))


def _op_args(op, case, dtype, seed=0):
    """(forward args, dout) for ``op`` in ``case``."""
    rng = np.random.default_rng(seed)

    def draw(*shape):
        return rng.uniform(-3, 3, shape).astype(dtype)

    if op.startswith("conv2d") or op.startswith("conv_transpose2d"):
        shape, c_out, k, s, p = CONV_CASES[case]
        kh, kw = F.as_pair(k)
        if op.startswith("conv2d"):
            args = (draw(*shape), draw(c_out, shape[1], kh, kw), draw(c_out), s, p)
            args += ("relu",) if op.startswith("conv2d_act") else ()
        else:   # input of the transposed conv: conv2d's output shape
            *_, out_hw = F.conv_geometry("conv2d", shape[2:], k, s, p)
            op_ = _transposed_output_padding(shape[2:], k, s, p)
            args = (draw(shape[0], c_out, *out_hw), draw(c_out, shape[1], kh, kw),
                    draw(shape[1]), s, p, op_)
    elif "pool" in op:
        shape, k, s, p = POOL_CASES[case]
        args = (draw(*shape), k, s, p) + (("relu",) if "_act" in op else ())
    else:
        shape, scale = UP_CASES[case]
        args = (draw(*shape), scale)
    if "_cnhw" in op:    # channel-major twins: the same images as (C, N, H, W)
        args = (F.swap_nc(args[0]),) + args[1:]
    fwd = op.replace("_backward", "_forward")
    out = getattr(functional, fwd)(*args)[0]
    return args, draw(*out.shape)


def _cases(op):
    if op.startswith("conv"):
        return list(CONV_CASES)
    return list(POOL_CASES) if "pool" in op else list(UP_CASES)


CONV_OPS = backend.OP_FAMILIES["conv"]
PARAMS = [(op, case) for op in CONV_OPS for case in _cases(op)]


def _run(module, op, args, dout):
    if op.endswith("_backward"):
        _, cache = getattr(module, op.replace("_backward", "_forward"))(*args)
        return getattr(module, op)(dout, cache)
    return getattr(module, op)(*args)


def _leaves(r):
    if isinstance(r, tuple):
        return [leaf for item in r for leaf in _leaves(item)]
    return [r]


def _assert_twins(got, ref, dtype):
    """Same structure; arrays of the same dtype and shape within REL_TOL
    (norm-wise); integer leaves (geometry) and index arrays equal."""
    got, ref = _leaves(got), _leaves(ref)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        if isinstance(r, (int, np.integer, str)) or r is None:
            assert g == r
        elif r.dtype.kind == "i":
            np.testing.assert_array_equal(g, r)
        else:
            assert isinstance(g, np.ndarray) and g.shape == r.shape
            assert g.dtype == r.dtype == np.dtype(dtype)
            assert g.flags.c_contiguous
            scale = max(float(np.max(np.abs(r), initial=0.0)), np.finfo(np.float64).tiny)
            diff = float(np.max(np.abs(g.astype(np.float64) - r), initial=0.0))
            assert diff / scale <= REL_TOL[np.dtype(dtype)], (diff / scale)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("op, case", PARAMS)
def test_kernel_matches_reference(op, case, dtype):
    args, dout = _op_args(op, case, dtype)
    _assert_twins(_run(kernels, op, args, dout), _run(functional, op, args, dout), dtype)


def test_twin_comparison_catches_a_near_miss():
    """One element of a twin's dW off by 1e-11 relative fails the check."""
    args, dout = _op_args("conv2d_backward", "ordinary", np.float64)
    ref = _run(functional, "conv2d_backward", args, dout)
    got = tuple(a.copy() for a in ref)
    got[1].flat[5] += 1e-11 * np.abs(ref[1]).max()
    with pytest.raises(AssertionError):
        _assert_twins(got, ref, np.float64)
    _assert_twins(tuple(a.copy() for a in ref), ref, np.float64)


@pytest.mark.parametrize("op", [op for op in CONV_OPS if op.endswith("_backward")])
def test_caches_are_interchangeable(op):
    """A kernel backward accepts the reference forward's cache (same contract)."""
    args, dout = _op_args(op, _cases(op)[1], np.float64, seed=1)
    _, cache = getattr(functional, op.replace("_backward", "_forward"))(*args)
    _assert_twins(getattr(kernels, op)(dout, cache), getattr(functional, op)(dout, cache),
                  np.float64)


def test_twins_accept_views():
    """Non-contiguous inputs (a channel slice, a transposed copy) give the
    reference's numbers."""
    rng = np.random.default_rng(3)
    big = rng.standard_normal((2, 6, 7, 7))
    x = big[:, ::2]                                         # (2, 3, 7, 7), strided
    W = rng.standard_normal((3, 4, 3, 3)).transpose(1, 0, 2, 3)   # (4, 3, 3, 3) view
    b = rng.standard_normal(4)
    _assert_twins(kernels.conv2d_forward(x, W, b, 2, 1)[0],
                  functional.conv2d_forward(x, W, b, 2, 1)[0], np.float64)
    _assert_twins(kernels.max_pool2d_forward(x, 3, 2)[0],
                  functional.max_pool2d_forward(x, 3, 2)[0], np.float64)


_EMPTY_W, _EMPTY_WT, _EMPTY_B = np.ones((3, 2, 3, 3)), np.ones((2, 3, 3, 3)), np.zeros(3)
EMPTY_BATCH_OPS = {
    "conv2d same": (lambda m, x: m.conv2d_forward(x, _EMPTY_W, _EMPTY_B, 1, 1),
                    lambda m, d, c: m.conv2d_backward(d, c)),
    "conv2d stride 2": (lambda m, x: m.conv2d_forward(x, _EMPTY_W, _EMPTY_B, 2, 1),
                        lambda m, d, c: m.conv2d_backward(d, c)),
    "conv2d_act relu": (lambda m, x: m.conv2d_act_forward(x, _EMPTY_W, _EMPTY_B, 1, 1, "relu"),
                        lambda m, d, c: m.conv2d_act_backward(d, c)),
    "conv_transpose2d stride 1": (
        lambda m, x: m.conv_transpose2d_forward(x, _EMPTY_WT, _EMPTY_B, 1, 1),
        lambda m, d, c: m.conv_transpose2d_backward(d, c)),
    "conv_transpose2d stride 2": (
        lambda m, x: m.conv_transpose2d_forward(x, _EMPTY_WT, _EMPTY_B, 2, 1),
        lambda m, d, c: m.conv_transpose2d_backward(d, c)),
    "max_pool2d 2x2": (lambda m, x: m.max_pool2d_forward(x, 2),
                       lambda m, d, c: m.max_pool2d_backward(d, c)),
    "max_pool2d 3 stride 2": (lambda m, x: m.max_pool2d_forward(x, 3, 2, 1),
                              lambda m, d, c: m.max_pool2d_backward(d, c)),
    "avg_pool2d": (lambda m, x: m.avg_pool2d_forward(x, 2),
                   lambda m, d, c: m.avg_pool2d_backward(d, c)),
    "upsample nearest": (lambda m, x: m.upsample_nearest2d_forward(x, 2),
                         lambda m, d, c: m.upsample_nearest2d_backward(d, c)),
    "upsample bilinear": (lambda m, x: m.upsample_bilinear2d_forward(x, 2),
                          lambda m, d, c: m.upsample_bilinear2d_backward(d, c)),
}


@pytest.mark.parametrize("op", list(EMPTY_BATCH_OPS))
def test_empty_batch_as_the_reference(op):
    """A batch of 0 images goes through forward and backward on the kernels
    as on the reference: the same shapes, zero parameter gradients. (The
    shifted-row im2col once wrote into an empty buffer and crashed the
    process; the kernels' max-pool and layout helpers raised NumPy's
    reduction and reshape errors.)"""
    fwd, bwd = EMPTY_BATCH_OPS[op]
    x = np.zeros((0, 2, 6, 6))
    got, ref = [], []
    for m, into in ((kernels, got), (functional, ref)):
        out, cache = fwd(m, x)
        grads = bwd(m, np.zeros_like(out), cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        into.append(out.shape)
        into.extend((g.shape, g.dtype, float(np.abs(g).sum())) for g in grads)
    assert got == ref


@pytest.mark.parametrize("shape, k, pad", [
    ((3, 4, 8, 8), (3, 3), (1, 1)), ((1, 1, 7, 5), (3, 3), (1, 1)),
    ((2, 3, 6, 9), (3, 5), (1, 2)), ((2, 2, 3, 4), (1, 3), (2, 1)),
    ((1, 2, 1, 1), (3, 3), (1, 1)), ((2, 1, 5, 3), (1, 1), (0, 0)),
    ((2, 2, 6, 6), (5, 3), (0, 1)), ((3, 2, 4, 5), (5, 5), (2, 2)),
    ((37, 2, 3, 3), (3, 3), (1, 1)), ((64, 1, 2, 3), (3, 3), (1, 1))])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_shifted_im2col_equals_the_row_loop(shape, k, pad, dtype):
    """Stride 1, output as large as the input: the kernels' shifted-row
    im2col (x as (C, N, H, W)) writes exactly the general row loop's
    columns (and the reference's), zeros included: the buffers start as
    NaN so an entry left unwritten fails. Its adjoint col2im equals the
    reference's. Other sizes (rows 4 and 7: Ho != H) take the row loop.
    37 and 64 images: the rows are copied in pieces of 32 images, the most
    a kept mask holds."""
    from tinyae.kernels import im2col as KC
    x = np.random.default_rng(8).uniform(0.5, 3, shape).astype(dtype)
    N, C, H, W = shape
    *_, (Ho, Wo) = F.conv_geometry("conv2d", (H, W), k, 1, pad)
    assert Wo == W
    cols = {}
    for name in ("rows", "shifted"):
        c = np.full((C * k[0] * k[1], N * Ho * Wo), np.nan, dtype)
        if name == "rows":
            KC._im2col_rows(x.ravel(), c.ravel(), N, C, H, W, *k, 1, 1, *pad, Ho, Wo,
                            *KC._plane_strides(N, C, False))
        elif Ho == H:
            keep, shift = KC._shift_masks_for(N, H, W, *k, *pad)
            assert keep.shape[1] == min(N, 32) * H * W
            KC._shifted_rows(KC._swap01(x).ravel(), N * H * W, 0, c.ravel(), C, N * H * W,
                             keep, shift, False)
        else:
            continue
        cols[name] = c
    for c in cols.values():
        np.testing.assert_array_equal(c, F.im2col(x, k, (1, 1), pad, (Ho, Wo)))
    np.testing.assert_array_equal(KC._im2col(x, *k, 1, 1, *pad, Ho, Wo), cols["rows"])
    # the adjoint, one masked add per row (_shifted_rows): the same
    # additions in the same order as the reference's col2im
    g = np.random.default_rng(10).uniform(-3, 3, cols["rows"].shape).astype(dtype)
    np.testing.assert_array_equal(KC._col2im(g, N, C, H, W, *k, 1, 1, *pad, Ho, Wo),
                                  F.col2im(g, shape, k, (1, 1), pad, (Ho, Wo)))


@pytest.mark.parametrize("piece_bytes", [1, 700, 10 ** 9])
@pytest.mark.parametrize("shape, k, pad", [
    ((37, 2, 3, 3), (3, 3), (1, 1)), ((5, 3, 6, 9), (3, 5), (1, 2)), ((1, 1, 7, 5), (3, 3), (1, 1))])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_same_dx_in_pieces_equals_col2im(shape, k, pad, piece_bytes, dtype):
    """dx of a "same" convolution formed a few images at a time
    (``_same_dx``: one image per piece, a few with a short last piece, all
    at once; 37 images pass the 32 a kept mask holds) equals col2im of the
    whole column gradient, in both layouts. Integer data make every sum
    exact whatever the order BLAS adds in, so a term sent to the wrong
    pixel or image, or a piece left out, changes the result."""
    from tinyae.kernels import conv as KV
    N, C, H, W = shape
    rng = np.random.default_rng(11)
    Wm = rng.integers(-3, 4, (4, C * k[0] * k[1])).astype(dtype)
    dout_m = rng.integers(-3, 4, (4, N * H * W)).astype(dtype)
    want = F.col2im(Wm.T @ dout_m, shape, k, (1, 1), pad, (H, W))
    old = KV._DX_PIECE_BYTES
    try:
        KV._DX_PIECE_BYTES = piece_bytes
        got = KV._same_dx(Wm.T, dout_m, *shape, *k, *pad, False)
        got_cnhw = KV._same_dx(Wm.T, dout_m, *shape, *k, *pad, True)
    finally:
        KV._DX_PIECE_BYTES = old
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_cnhw, want.swapaxes(0, 1))


@pytest.mark.parametrize("case", list(CONV_CASES))
def test_naive_conv_equals_im2col(case):
    args, dout = _op_args("conv2d_backward", case, np.float64, seed=2)
    out, cache = F.conv2d_forward(*args)
    out_n, cache_n = F.conv2d_forward_naive(*args)
    np.testing.assert_allclose(out_n, out, rtol=1e-12, atol=1e-12)
    for g, g_n in zip(F.conv2d_backward(dout, cache), F.conv2d_backward_naive(dout, cache_n)):
        np.testing.assert_allclose(g_n, g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", list(CONV_CASES))
def test_transposed_conv_is_the_adjoint(case, each_backend):
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)> (no biases), and the
    transposed conv is conv2d's input gradient."""
    from tinyae.backend import ops
    args, y = _op_args("conv2d_backward", case, np.float64, seed=4)
    x, W, _, s, p = args
    zeros_out, zeros_in = np.zeros(W.shape[0]), np.zeros(W.shape[1])
    lhs = np.sum(ops.conv2d_forward(x, W, zeros_out, s, p)[0] * y)
    op_ = _transposed_output_padding(x.shape[2:], W.shape[2:], s, p)
    ty = ops.conv_transpose2d_forward(y, W, zeros_in, s, p, op_)[0]
    assert ty.shape == x.shape
    rhs = np.sum(x * ty)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))
    dx = ops.conv2d_backward(y, ops.conv2d_forward(x, W, zeros_out, s, p)[1])[0]
    np.testing.assert_allclose(ty, dx, rtol=1e-12, atol=1e-12)


def test_adjoint_test_catches_a_near_miss():
    """The adjoint identity is sharp: one weight entry off by 1e-6 breaks it."""
    rng = np.random.default_rng(5)
    x, W, y = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), None
    out = F.conv2d_forward(x, W, np.zeros(4), 2, 1)[0]
    y = rng.standard_normal(out.shape)
    W2 = W.copy()
    W2[1, 2, 0, 1] += 1e-6
    rhs = np.sum(x * F.conv_transpose2d_forward(y, W2, np.zeros(3), 2, 1)[0])
    assert abs(np.sum(out * y) - rhs) > 1e-12 * abs(np.sum(out * y))


# --------------------------------------------------------------------------
# Gradients against finite differences
# --------------------------------------------------------------------------

def _op_gradcheck(op, case, seed=7, tamper=None):
    """Check ``op``'s backward on the scalar sum(forward(...) * r).
    ``tamper(grads)`` perturbs the analytic gradients (near-miss test)."""
    args, r = _op_args(op + "_backward", case, np.float64, seed=seed)
    args = list(args)
    fwd, bwd = getattr(functional, op + "_forward"), getattr(functional, op + "_backward")
    n_arrays = 3 if op.startswith("conv") else 1
    if op.startswith("max_pool2d"):   # distinct values: no ties within h of each
        n = args[0].size                 # other, none within 0.005 of the ReLU's kink
        args[0] = (np.random.default_rng(seed).permutation(n).reshape(args[0].shape)
                   - n // 2 + 0.5) * 0.01

    def f():
        return float(np.sum(fwd(*args)[0] * r))

    grads = bwd(r, fwd(*args)[1])
    grads = grads if isinstance(grads, tuple) else (grads,)
    grads = [g.copy() for g in grads]
    if tamper:
        tamper(grads)
    names = ["x", "W", "b"][:n_arrays]
    return check_arrays(f, {k: args[i] for i, k in enumerate(names)},
                        {k: grads[i] for i, k in enumerate(names)}, name=op)


@pytest.mark.parametrize("op, case", [(op[:-len("_forward")], c) for op, c in PARAMS
                                      if op.endswith("_forward")])
def test_op_gradients(op, case):
    report = _op_gradcheck(op, case)
    assert report.worst < 1e-8, str(report)


def test_gradient_check_catches_a_near_miss():
    """A dW off by 1e-5 relative in one entry fails the check."""
    def nudge(grads):
        grads[1].flat[3] *= 1 + 1e-5
    assert _op_gradcheck("conv2d", "odd, stride 2, padding 1", tamper=nudge).worst > 1e-7
    assert _op_gradcheck("conv2d", "odd, stride 2, padding 1").worst < 1e-8


# --------------------------------------------------------------------------
# Small cases by hand
# --------------------------------------------------------------------------

def test_conv2d_by_hand(each_backend):
    """x = 0..15 as 4x4, kernel [[1, 0], [0, -1]], stride 2: x[i,j] - x[i+1,j+1] = -5."""
    from tinyae.backend import ops
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    W = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out = ops.conv2d_forward(x, W, np.array([0.5]), 2, 0)[0]
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), -4.5))
    # padding 1, all-ones 3x3 kernel on ones: 4 at corners, 6 on edges, 9 inside
    out = ops.conv2d_forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), np.zeros(1), 1, 1)[0]
    np.testing.assert_array_equal(out[0, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


def test_transposed_conv_overlap_counts(each_backend):
    """All-ones input and kernel: the output counts the stamps per pixel,
    1:2:4 for k3 s2 (Odena et al. 2016), uniform inside for k4 s2."""
    from tinyae.backend import ops
    out = ops.conv_transpose2d_forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)),
                                       np.zeros(1), 2, 0, 0)[0][0, 0]
    assert out.shape == (7, 7)
    np.testing.assert_array_equal(out[2:5, 2:5], [[4, 2, 4], [2, 1, 2], [4, 2, 4]])
    out = ops.conv_transpose2d_forward(np.ones((1, 1, 4, 4)), np.ones((1, 1, 4, 4)),
                                       np.zeros(1), 2, 1, 0)[0][0, 0]
    assert out.shape == (8, 8)
    np.testing.assert_array_equal(out[1:-1, 1:-1], 4.0)


def test_max_pool_ties_go_to_the_first_element(each_backend):
    from tinyae.backend import ops
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]]]])
    out, cache = ops.max_pool2d_forward(x, 2)
    assert out[0, 0, 0, 0] == 3.0
    dx = ops.max_pool2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 1], [0, 0]])


def test_max_pool_overlapping_windows_add_gradients(each_backend):
    """k3 s2 on 5x5: the centre pixel is in all four windows; as the max of
    all four it receives the sum of their gradients (1 + 2 + 3 + 4)."""
    from tinyae.backend import ops
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    out, cache = ops.max_pool2d_forward(x, 3, 2)
    np.testing.assert_array_equal(out, np.ones((1, 1, 2, 2)))
    dx = ops.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    assert dx[0, 0, 2, 2] == 10.0 and dx.sum() == 10.0


def test_avg_pool_counts_padding_in_the_divisor(each_backend):
    """Ones, kernel 3, padding 1: a corner window holds 4 real pixels of 9."""
    from tinyae.backend import ops
    out = ops.avg_pool2d_forward(np.ones((1, 1, 3, 3)), 3, 1, 1)[0][0, 0]
    np.testing.assert_allclose(out, np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9,
                               rtol=1e-15)


def test_bilinear_by_hand(each_backend):
    """[[1, 2], [3, 4]] upsampled x2 with align_corners=False: edges clamp,
    interior points sit 1/4 and 3/4 of the way between source pixels."""
    from tinyae.backend import ops
    out = ops.upsample_bilinear2d_forward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), 2)[0]
    expected = [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5],
                [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]]
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-15)


def test_nearest_by_hand(each_backend):
    from tinyae.backend import ops
    out, cache = ops.upsample_nearest2d_forward(np.array([[[[1.0, 2.0]]]]), (2, 1))
    np.testing.assert_array_equal(out[0, 0], [[1, 2], [1, 2]])
    np.testing.assert_array_equal(ops.upsample_nearest2d_backward(out, cache)[0, 0], [[2, 4]])


# --------------------------------------------------------------------------
# Geometry errors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel=5, stride=1, padding=0), r"kernel \(5, 5\) is larger than the padded input"),
    (dict(kernel=3, stride=0, padding=0), r"stride must be a positive integer.*got 0"),
    (dict(kernel=3, stride=1.5, padding=0), r"stride must be .*got 1.5"),
    (dict(kernel=3, stride=1, padding=-1), r"padding must be an integer >= 0.*got -1"),
    (dict(kernel=(3, 3, 3), stride=1, padding=0), r"kernel must be"),
    (dict(kernel=True, stride=1, padding=0), r"kernel must be"),
])
def test_geometry_errors_name_the_parameter(kwargs, match, each_backend):
    from tinyae.backend import ops
    x, W = np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3))
    if "kernel" in kwargs and kwargs["kernel"] == 5:
        W = np.ones((1, 1, 5, 5))
    with pytest.raises(ValueError, match=match):
        F.conv_geometry("conv2d", x.shape[2:], kwargs["kernel"], kwargs["stride"],
                        kwargs["padding"])
    if kwargs["kernel"] == 5:
        with pytest.raises(ValueError, match=match):
            ops.conv2d_forward(x, W, np.zeros(1), kwargs["stride"], kwargs["padding"])


def test_geometry_errors_of_pools_and_transposed_conv():
    with pytest.raises(ValueError, match="padding must be at most half the kernel"):
        F.conv_geometry("max_pool2d", (5, 5), 3, 2, 2)
    with pytest.raises(ValueError, match="output_padding must be smaller than the stride"):
        F.conv_geometry("conv_transpose2d", (5, 5), 3, 2, 1, 2)
    with pytest.raises(ValueError, match=r"padding 1 is too large.*would be empty"):
        F.conv_geometry("conv_transpose2d", (1, 1), 1, 1, 1)
    with pytest.raises(ValueError, match="scale must be a positive integer"):
        F.upsample_nearest2d_forward(np.ones((1, 1, 2, 2)), 0)
    assert F.conv_geometry("conv_transpose2d", (7, 7), 3, 2, 1, 1)[-1] == (14, 14)
    assert F.conv_geometry("conv2d", (28, 28), 3, 2, 1)[-1] == (14, 14)


@pytest.mark.parametrize("padding", [0, 1])
def test_max_pool_nan_is_the_first_max_on_both_backends(padding):
    """NaN wins its window as in np.argmax (the first NaN), on both backends."""
    x = np.arange(36.0).reshape(1, 1, 6, 6)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 1, 2] = np.nan
    ref = functional.max_pool2d_forward(x, 3, 2, padding)
    got = kernels.max_pool2d_forward(x, 3, 2, padding)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1][0], ref[1][0])
    assert np.isnan(ref[0][0, 0, 0, 0])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_max_pool_2x2_nan_and_infinities_as_the_reference(dtype):
    """2x2 windows, stride 2 (the kernels' unrolled loop, which sends a
    window whose sum is NaN to the general loop): a NaN wins its window at
    its place (the second pixel here), +inf and -inf in one window (sum
    NaN, no NaN) give +inf, a NaN in the odd last row that no window reads
    changes nothing; values and argmax equal the reference's."""
    x = np.arange(2 * 3 * 7 * 6, dtype=dtype).reshape(2, 3, 7, 6)
    x[0, 1, 2, 3] = np.nan
    x[1, 0, 0, 0], x[1, 0, 1, 1] = -np.inf, np.inf
    x[1, 2, 6, 4] = np.nan
    got, ref = kernels.max_pool2d_forward(x, 2), functional.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1][0], ref[1][0])
    assert np.isnan(got[0][0, 1, 1, 1]) and got[1][0][0, 1, 1, 1] == 1
    assert got[0][1, 0, 0, 0] == np.inf and got[1][0][1, 0, 0, 0] == 3
    assert not np.isnan(got[0][1, 2]).any()


# --------------------------------------------------------------------------
# cols_out: the im2col buffer a Conv2d layer hands back each step
# --------------------------------------------------------------------------

@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (1, 0)])
def test_conv2d_cols_out_is_overwritten_entirely(stride, padding, each_backend):
    """A buffer full of NaN (a stale step's columns, say) gives exactly the
    output and cache of a fresh call, and the cache holds that buffer."""
    from tinyae.backend import ops
    rng = np.random.default_rng(3)
    x, W, b = rng.normal(size=(3, 2, 7, 5)), rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4)
    out, cache = ops.conv2d_forward(x, W, b, stride, padding)
    buf = np.full_like(cache[0], np.nan)
    out2, cache2 = ops.conv2d_forward(x, W, b, stride, padding, cols_out=buf)
    assert cache2[0] is buf
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(buf, cache[0])


def _read_only(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("make, match", [
    (lambda c: c[:, :-1].copy(), r"cols_out must be a float64 array of shape \(18, 105\), got float64 \(18, 104\)"),
    (lambda c: c.astype(np.float32), r"cols_out must be a float64 array .*got float32"),
    (lambda c: np.asfortranarray(c), "cols_out must be a C-contiguous, writeable array"),
    (lambda c: _read_only(c.copy()), "cols_out must be a C-contiguous, writeable array"),
    (lambda c: c.tolist(), "cols_out must be a numpy array or None, got list"),
])
def test_conv2d_cols_out_errors(make, match, each_backend):
    """A buffer of the wrong shape, dtype or layout is refused with the same
    message on both backends (the kernel writes it through a flat view)."""
    from tinyae.backend import ops
    x, W, b = np.ones((3, 2, 7, 5)), np.ones((4, 2, 3, 3)), np.zeros(4)
    _, cache = ops.conv2d_forward(x, W, b, 1, 1)
    with pytest.raises((ValueError, TypeError), match=match):
        ops.conv2d_forward(x, W, b, 1, 1, cols_out=make(cache[0]))


def test_conv2d_layer_reuses_its_columns_only_for_the_same_input_shape(each_backend):
    """Conv2d gives each forward the columns of its previous cache when the
    input shape is the same (no new memory per step), a new array when it is
    not; either way the output and gradients equal a fresh layer's."""
    from tinyae.layers import Conv2d
    rng = np.random.default_rng(4)
    layer = Conv2d(2, 3, 3, rng=np.random.default_rng(0), padding=1)
    fresh = Conv2d(2, 3, 3, rng=np.random.default_rng(0), padding=1)
    x1, x2, x3 = rng.normal(size=(4, 2, 6, 6)), rng.normal(size=(4, 2, 6, 6)), rng.normal(size=(2, 2, 6, 6))
    layer.forward(x1)
    cols = layer.cache[0]
    out = layer.forward(x2)
    assert layer.cache[0] is cols
    np.testing.assert_array_equal(out, fresh.forward(x2))
    dout = rng.normal(size=out.shape)
    np.testing.assert_array_equal(layer.backward(dout), fresh.backward(dout))
    np.testing.assert_array_equal(layer.grads["W"], fresh.grads["W"])
    layer.forward(x3)
    assert layer.cache[0] is not cols and layer.cache[0].shape == (18, 2 * 36)


# --------------------------------------------------------------------------
# conv2d_act: a convolution and the activation after it as one op
# --------------------------------------------------------------------------

ACT_NAMES = ("relu", "sigmoid", "tanh", "softplus", "identity")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("activation", ACT_NAMES)
@pytest.mark.parametrize("case", ["ordinary", "odd, stride 2, padding 1", "same, odd, batch 1, one channel"])
def test_conv2d_act_twins_for_every_activation(case, activation, dtype):
    args, dout = _op_args("conv2d_forward", case, dtype)
    args = args + (activation,)
    got, ref = kernels.conv2d_act_forward(*args), functional.conv2d_act_forward(*args)
    _assert_twins(got, ref, dtype)
    for need_dx in (True, False):
        _assert_twins(kernels.conv2d_act_backward(dout, got[1], need_dx),
                      functional.conv2d_act_backward(dout, ref[1], need_dx), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_fused_relu_is_bitwise_conv_then_relu(dtype):
    """The kernel's fused ReLU (applied in the NCHW layout pass, and dout *
    [out > 0] in the backward's layout pass) gives exactly the numbers of
    conv2d, then relu, as separate kernel ops; half the pre-activations are
    negative, some outputs exactly 0 (the kink)."""
    args, dout = _op_args("conv2d_forward", "ordinary", dtype)
    x, W, b, s, p = args
    b = b.copy()
    b[0] = -1e4                                  # channel 0: every output exactly 0
    out, cache = kernels.conv2d_act_forward(x, W, b, s, p, "relu")
    a, conv_cache = kernels.conv2d_forward(x, W, b, s, p)
    ref, relu_cache = kernels.relu_forward(a)
    np.testing.assert_array_equal(out, ref)
    assert (out[:, 0] == 0).all() and (out > 0).mean() > 0.2
    got = kernels.conv2d_act_backward(dout, cache)
    want = kernels.conv2d_backward(kernels.relu_backward(dout, relu_cache), conv_cache)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", ["2x2 stride 2", "2x2 stride 2, odd, batch 1, one channel",
                                  "overlapping 3 stride 2 padding 1"])
def test_fused_pool_relu_is_bitwise_pool_then_relu(case, dtype):
    """max_pool2d_act with ReLU (the 2x2 kernel takes the ReLU of each max
    as it stores it and masks the gradient in its scatter) gives exactly
    max_pool2d, then relu, as separate kernel ops; windows with every
    value negative included. Other activations match the reference."""
    args, dout = _op_args("max_pool2d_backward", case, dtype)
    x = args[0].copy()
    x[:, :, :2] = -np.abs(x[:, :, :2]) - 1                 # whole windows below 0
    out, cache = kernels.max_pool2d_act_forward(x, *args[1:], "relu")
    a, pool_cache = kernels.max_pool2d_forward(x, *args[1:])
    ref, relu_cache = kernels.relu_forward(a)
    np.testing.assert_array_equal(out, ref)
    assert (out == 0).mean() > 0.1 and (out > 0).mean() > 0.3
    np.testing.assert_array_equal(
        kernels.max_pool2d_act_backward(dout, cache),
        kernels.max_pool2d_backward(kernels.relu_backward(dout, relu_cache), pool_cache))
    for act in ("tanh", "softplus"):
        got = kernels.max_pool2d_act_forward(x, *args[1:], act)
        want = functional.max_pool2d_act_forward(x, *args[1:], act)
        _assert_twins(got, want, dtype)
        _assert_twins(kernels.max_pool2d_act_backward(dout, got[1]),
                      functional.max_pool2d_act_backward(dout, want[1]), dtype)


def test_conv2d_act_refuses_an_unknown_activation(each_backend):
    from tinyae.backend import ops
    x, W = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
    with pytest.raises(ValueError, match=r"activation must be one of \[.*'relu'.*\], got 'gelu'"):
        ops.conv2d_act_forward(x, W, np.zeros(2), 1, 1, "gelu")


@pytest.mark.parametrize("act", ["ReLU", "Tanh"])
def test_sequential_fuses_conv_and_activation_to_the_same_numbers(act, each_backend):
    """Sequential pairs a Conv2d with the activation after it (forward_act);
    its output, input gradient and parameter gradients equal running the
    same layers one at a time, and the activation keeps its own cache."""
    from tinyae import layers as L
    rng = np.random.default_rng(5)

    def net():
        r = np.random.default_rng(0)
        return L.Sequential(L.Conv2d(2, 3, 3, rng=r, padding=1), getattr(L, act)(),
                            L.Conv2d(3, 2, 3, rng=r, stride=2, padding=1),
                            channel_major=False)   # NCHW caches (chains: below)
    fused, plain = net(), net()
    assert [a is not None for _, a in fused._plan] == [True, False]
    x = rng.normal(size=(3, 2, 7, 5))
    out = fused.forward(x)
    y = x
    for layer in plain.layers:
        y = layer.forward(y)
    np.testing.assert_array_equal(out, y)
    np.testing.assert_array_equal(fused.layers[1].cache, plain.layers[1].cache)
    dout = rng.normal(size=out.shape)
    dx = fused.backward(dout)
    d = dout
    for layer in reversed(plain.layers):
        d = layer.backward(d)
    np.testing.assert_array_equal(dx, d)
    for k in plain.grads:
        np.testing.assert_array_equal(fused.grads[k], plain.grads[k])


# --------------------------------------------------------------------------
# Channel-major (C, N, H, W) twins and Sequential's channel-major chains
# --------------------------------------------------------------------------

CNHW_PAIRS = [pytest.param(op, extra, id=" ".join((op,) + extra)) for op, extra in (
    ("conv2d", ()), ("conv2d_act", ("relu",)), ("conv2d_act", ("tanh",)),
    ("conv_transpose2d", ()))]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", list(CONV_CASES))
@pytest.mark.parametrize("op, extra", CNHW_PAIRS)
def test_cnhw_twins_are_bitwise_the_nchw_ops_swapped(op, extra, case, dtype, each_backend):
    """Each backend's channel-major op gives its NCHW op's numbers to the
    bit, x, out, dout and dx swapped (the kernels add the same terms in the
    same order from either layout; the reference is the NCHW op between
    swaps), with and without dx; caches hold the NCHW shape of x."""
    from tinyae.backend import ops
    args, dout = _op_args(f"{op.replace('_act', '')}_backward", case, dtype)
    args = args + extra
    out, cache = getattr(ops, f"{op}_forward")(*args)
    out_c, cache_c = getattr(ops, f"{op}_cnhw_forward")(F.swap_nc(args[0]), *args[1:])
    np.testing.assert_array_equal(out_c, F.swap_nc(out))
    assert out_c.flags.c_contiguous
    conv_cache, conv_cache_c = (cache[0], cache_c[0]) if extra else (cache, cache_c)
    assert conv_cache_c[2] == conv_cache[2] == args[0].shape
    for need_dx in (True, False):
        dx, dW, db = getattr(ops, f"{op}_backward")(dout, cache, need_dx)
        dx_c, dW_c, db_c = getattr(ops, f"{op}_cnhw_backward")(F.swap_nc(dout), cache_c,
                                                               need_dx)
        assert (dx_c is None) == (dx is None) == (not need_dx)
        if need_dx:
            np.testing.assert_array_equal(dx_c, F.swap_nc(dx))
        np.testing.assert_array_equal(dW_c, dW)
        np.testing.assert_array_equal(db_c, db)


def test_bitwise_comparison_catches_a_one_ulp_miss():
    """The check above is exact: dW one ulp off in one entry fails it."""
    args, dout = _op_args("conv2d_backward", "ordinary", np.float32)
    _, cache = kernels.conv2d_cnhw_forward(F.swap_nc(args[0]), *args[1:])
    dW = kernels.conv2d_cnhw_backward(F.swap_nc(dout), cache)[1]
    near = dW.copy()
    near.flat[4] = np.nextafter(near.flat[4], np.float32(np.inf))
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(near, dW)


def _chain_nets(rng):
    """name -> (make(rng, dtype) -> Sequential, input): chains on awkward shapes."""
    from tinyae import layers as L
    return {
        # a ReLU before an overlapping max pool (reordered in the chain), a
        # transposed conv, bilinear upsampling and average pooling; batch 1,
        # one input channel, odd and non-square
        "conv relu maxpool3s2 convT tanh upsample avgpool": (
            lambda r, dt, **kw: L.Sequential(
                L.Conv2d(1, 3, 3, padding=1, rng=r, dtype=dt), L.ReLU(),
                L.MaxPool2d(3, stride=2),
                L.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, rng=r,
                                  dtype=dt),
                L.Tanh(), L.Upsample(2, mode="bilinear"), L.AvgPool2d(2), **kw),
            rng.normal(size=(1, 1, 9, 7))),
        # two chains around dense layers; 2 channels and 3 images: real swaps
        "chain, dense layers, chain": (
            lambda r, dt, **kw: L.Sequential(
                L.Conv2d(2, 3, 3, stride=2, padding=1, rng=r, dtype=dt), L.ReLU(),
                L.MaxPool2d(2), L.Flatten(), L.Linear(6, 8, rng=r, dtype=dt),
                L.Reshape(2, 2, 2), L.ConvTranspose2d(2, 2, 3, stride=2, rng=r, dtype=dt),
                L.ReLU(), L.Conv2d(2, 1, (3, 2), padding=(1, 0), bias=False, rng=r, dtype=dt),
                **kw),
            rng.normal(size=(3, 2, 7, 5))),
        # a nested Sequential (not part of a chain: it takes NCHW) between two
        # chains
        "nested Sequential": (
            lambda r, dt, **kw: L.Sequential(
                L.Conv2d(2, 3, 3, padding=1, rng=r, dtype=dt),
                L.Sequential(L.ReLU(), L.MaxPool2d(2),
                             L.Conv2d(3, 3, 3, padding=1, rng=r, dtype=dt)),
                L.Tanh(), L.Conv2d(3, 2, 3, stride=2, rng=r, dtype=dt), **kw),
            rng.normal(size=(3, 2, 6, 8))),
        # a pool first, a ReLU max pool with padding, a conv without activation last
        "maxpool first, relu maxpool padded": (
            lambda r, dt, **kw: L.Sequential(
                L.MaxPool2d(2), L.Conv2d(2, 4, 3, padding=1, rng=r, dtype=dt), L.ReLU(),
                L.MaxPool2d(3, stride=2, padding=1), L.Conv2d(4, 2, 1, rng=r, dtype=dt),
                **kw),
            rng.normal(size=(2, 2, 8, 6))),
    }


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("name", list(_chain_nets(np.random.default_rng(0))))
def test_channel_major_chain_is_bitwise_the_nchw_layers(name, dtype, each_backend):
    """A Sequential's channel-major chains give exactly the output, input
    gradient and parameter gradients of the same layers run in NCHW
    (``channel_major=False``), on both backends; about half the ReLU inputs
    are negative, so the reordered ReLU's mask matters."""
    make, x = _chain_nets(np.random.default_rng(1))[name]
    x = x.astype(dtype)
    chain = make(np.random.default_rng(2), dtype)
    plain = make(np.random.default_rng(2), dtype, channel_major=False)
    out, out_plain = chain.forward(x), plain.forward(x)
    assert any(chain._ran_cnhw) and not any(plain._ran_cnhw)
    np.testing.assert_array_equal(out, out_plain)
    assert out.dtype == dtype and out.flags.c_contiguous
    dout = np.random.default_rng(3).normal(size=out.shape).astype(dtype)
    for need_dx in (True, False):
        chain.zero_grad(), plain.zero_grad()
        dx, dx_plain = chain.backward(dout, need_dx), plain.backward(dout, need_dx)
        if need_dx:
            np.testing.assert_array_equal(dx, dx_plain)
            assert dx.shape == x.shape
        else:
            assert dx is None and dx_plain is None
        for k in plain.grads:
            np.testing.assert_array_equal(chain.grads[k], plain.grads[k])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_book_cnn_loss_and_gradients_with_and_without_chains(dtype, each_backend):
    """The PML book's CNN (batch 3): the same loss and gradients, to the
    bit, with its encoder and decoder as channel-major chains and as NCHW
    layers."""
    from tinyae.models.conv import PML_BOOK_CNN, ConvAutoencoder
    x = (np.random.default_rng(4).random((3, 1, 28, 28)) > 0.6).astype(dtype)
    results = []
    for channel_major in (True, False):
        model = ConvAutoencoder(**PML_BOOK_CNN, rng=np.random.default_rng(0), dtype=dtype)
        for seq in (model.encoder, model.decoder):
            seq.channel_major = channel_major
            seq._segments = seq._chains()
        loss, grads = model.loss_and_grad(x)
        assert any(model.encoder._ran_cnhw) == channel_major
        results.append((loss, {k: g.copy() for k, g in grads.items()}))
    (loss, grads), (loss_p, grads_p) = results
    assert loss == loss_p
    for k in grads_p:
        np.testing.assert_array_equal(grads[k], grads_p[k])


@pytest.mark.parametrize("x, error, match", [
    (np.zeros((2, 3, 6, 6)), ValueError,
     r"Conv2d.forward: x must have 2 channel\(s\) on axis 1 \(NCHW\), got shape \(2, 3, 6, 6\)"),
    (np.zeros((2, 2, 6, 6), np.float32), TypeError,
     r"Conv2d.forward: x must have dtype float64 \(the layer's dtype\), got float32"),
    (np.zeros((2, 2, 6)), ValueError, r"Conv2d.forward: x must be a 4-D array, got shape"),
    ([[1.0]], TypeError, r"Conv2d.forward: x must be a numpy array, got list"),
])
def test_chain_refuses_bad_input_as_the_layers_do(x, error, match, each_backend):
    """Bad input to a chain raises the first layer's own error, naming the
    NCHW shape it was given, the same with and without chains."""
    from tinyae import layers as L
    for channel_major in (True, False):
        seq = L.Sequential(L.Conv2d(2, 3, 3, rng=np.random.default_rng(0)), L.ReLU(),
                           L.MaxPool2d(2), channel_major=channel_major)
        with pytest.raises(error, match=match):
            seq.forward(x)


def test_chain_refuses_a_channel_mismatch_inside_it(each_backend):
    """Two convolutions that do not fit: the second layer's error names the
    NCHW shape of its input, as without chains."""
    from tinyae import layers as L
    x = np.zeros((3, 1, 6, 6))
    for channel_major in (True, False):
        seq = L.Sequential(L.Conv2d(1, 4, 3, rng=np.random.default_rng(0)),
                           L.Conv2d(2, 3, 3, rng=np.random.default_rng(0)),
                           channel_major=channel_major)
        with pytest.raises(ValueError, match=r"Conv2d.forward: x must have 2 channel\(s\) "
                                             r"on axis 1 \(NCHW\), got shape \(3, 4, 4, 4\)"):
            seq.forward(x)


def test_layer_backward_after_a_chain_forward_is_refused(each_backend):
    """A convolution's caches from a chain are channel-major: its own
    backward refuses them by name instead of returning wrong numbers, and
    works again after its own forward."""
    from tinyae import layers as L
    conv = L.Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(0))
    seq = L.Sequential(conv, L.ReLU(), L.MaxPool2d(2))
    x = np.random.default_rng(1).normal(size=(2, 1, 4, 4))
    seq.forward(x)
    with pytest.raises(RuntimeError, match=r"Conv2d.backward: the last forward ran inside a "
                                           r"Sequential's channel-major chain"):
        conv.backward(np.zeros((2, 2, 4, 4)))
    conv.backward(np.zeros(conv.forward(x).shape))


@pytest.mark.parametrize("index", [1, 2, 3], ids=["relu-fused-into-pool", "pool", "upsample"])
def test_pool_or_activation_backward_after_a_chain_forward_is_refused(index, each_backend):
    """The layers a chain runs on channel-major arrays with their own ops
    (activations, pools, upsampling) are refused by name too, even when N ==
    C makes an NCHW dout the shape of the channel-major output (the case a
    shape check cannot see); the Sequential's own backward still runs them,
    bitwise as without chains, and a layer's own forward lifts the mark."""
    from tinyae import layers as L
    rng = np.random.default_rng(0)

    def net(channel_major):
        r = np.random.default_rng(0)
        return L.Sequential(L.Conv2d(1, 2, 3, padding=1, rng=r), L.ReLU(), L.MaxPool2d(2),
                            L.Upsample(2), L.Conv2d(2, 1, 3, padding=1, rng=r),
                            channel_major=channel_major)
    seq, plain = net(True), net(False)
    x = rng.normal(size=(2, 1, 6, 6))                       # N = 2 = C after the first conv
    out = seq.forward(x)
    layer = seq.layers[index]
    nchw = {1: (2, 2, 6, 6), 2: (2, 2, 3, 3), 3: (2, 2, 6, 6)}[index]
    with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}.backward: the last "
                                           r"forward ran inside a Sequential's channel-major"):
        layer.backward(np.ones(nchw))
    dout = rng.normal(size=out.shape)
    dx = seq.backward(dout)
    np.testing.assert_array_equal(out, plain.forward(x))
    np.testing.assert_array_equal(dx, plain.backward(dout))
    with pytest.raises(RuntimeError, match="channel-major"):      # still marked after it
        layer.backward(np.ones(nchw))
    y = rng.normal(size=nchw if index != 3 else (2, 2, 3, 3))
    assert layer.backward(np.ones(layer.forward(y).shape)).shape == y.shape


_X_CNHW, _W3 = np.ones((2, 3, 4, 4)), np.ones((4, 2, 3, 3))   # x: C 2, N 3, 4 x 4
NEW_OP_ERRORS = {
    "conv2d_act_cnhw activation": (
        lambda m: m.conv2d_act_cnhw_forward(_X_CNHW, _W3, np.zeros(4), 1, 1, "gelu"),
        ValueError, r"activation must be one of \[.*'relu'.*\], got 'gelu'"),
    "max_pool2d_act activation": (
        lambda m: m.max_pool2d_act_forward(_X_CNHW, 2, 2, 0, "gelu"),
        ValueError, r"activation must be one of \[.*'relu'.*\], got 'gelu'"),
    "conv2d_cnhw kernel larger than the input": (
        lambda m: m.conv2d_cnhw_forward(_X_CNHW, np.ones((4, 2, 7, 7)), np.zeros(4), 1, 1),
        ValueError, r"kernel \(7, 7\) is larger than the padded input \(6, 6\)"),
    "conv_transpose2d_cnhw output_padding": (
        lambda m: m.conv_transpose2d_cnhw_forward(_X_CNHW, np.ones((2, 3, 3, 3)),
                                                  np.zeros(3), 2, 1, 2),
        ValueError, r"output_padding must be smaller than the stride \(2, 2\), got 2"),
    "conv2d_cnhw cols_out of the wrong shape": (
        lambda m: m.conv2d_cnhw_forward(_X_CNHW, _W3, np.zeros(4), 1, 1,
                                        cols_out=np.zeros((18, 47))),
        ValueError, r"cols_out.*\(18, 48\)"),
}


@pytest.mark.parametrize("case", list(NEW_OP_ERRORS))
def test_channel_major_and_pool_act_ops_refuse_bad_arguments_alike(case):
    """The new ops' bad arguments raise the same named error on both
    backends (the channel-major cols_out is checked against the NCHW
    columns' shape: C kh kw rows, N Ho Wo columns)."""
    call, error, match = NEW_OP_ERRORS[case]
    messages = []
    for module in (functional, kernels):
        with pytest.raises(error, match=match) as info:
            call(module)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
