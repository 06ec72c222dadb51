"""Numba twins of ``tinyae.functional.conv`` (how twins are built: see
``tinyae.kernels``).

The convolutions keep the reference's formulation -- im2col, one BLAS
product through NumPy's ``@``, col2im -- with the unrolling loops in Numba:
bounds are tested in the loop instead of padding a copy of the input, and
the transpose between the product's (F, N, Ho, Wo) layout and NCHW is fused
with the bias (forward) or the bias gradient (backward), and in
``conv2d_act_*`` with a ReLU too (forward: max(0, .) on the way;
backward: ``dout * [out > 0]`` on the way). Pooling and
upsampling are single loops over the output. The geometry (pairs, output
shapes, errors) comes from ``functional.conv_geometry`` in the Python
wrapper, so both backends accept and refuse the same arguments.

Speed (the "Convolution kernels" section of ``docs/performance.md``): the
copy loops run on flat views with **unsigned** indices (``_copy``, ``_add``,
``_zero``). With a signed index Numba tests every access for a negative
(wraparound) value and LLVM then leaves the loop scalar: a 784-float copy
took 520 ns signed and 40 ns unsigned. A stride-1 convolution whose output
is as large as its input (padding (k - 1) / 2, the book's CNN) builds each
im2col row as one shifted copy of a whole channel of the batch (x laid out
as (C, N, H, W)) that zeroes the reads of padding on the way, by a mask
kept per geometry (``_shifted_rows``), and its col2im adds each row back
as one masked add (the same function). ``conv2d_forward``
can write the columns into a given buffer (``cols_out``), which
``layers.Conv2d`` uses to keep one buffer across steps. Channel sums add each image
into a (F P,) partial sum (vectorised) before summing over P. The 2x2
max-pool backward scatters without bounds tests. The PML book's CNN
training step (batch 128, float32) went from about 60 to 36-38 ms at 2
threads (PyTorch 38-41 in the same sittings) and 59-62 to 48-51 ms at 1
thread; the BLAS products are now about half of it, and
im2col/col2im about a quarter. ``prange`` over the images was slower (see
the docs): every loop here is serial.

im2col and col2im live in ``kernels/im2col.py``. The ``*_cnhw`` twins take and return channel-major (C, N, H, W) arrays
(``layers.Sequential``'s chains): the same code with a layout flag, so the
columns, products and caches are those of the NCHW ops and the results are
bitwise theirs; only the transposes are gone (the product is the output,
the bias and ReLU are one pass in place, convT's input is its matrix).
"""

import numpy as np

from .._validation import check_choice
from ..functional.conv import _cols_out, as_pair, bilinear_taps, conv_geometry
from ..functional.dense import ACTIVATIONS
from ..threads import blas_thread_count
from . import dense as _dense
from .base import jit
from .dense import _drelu
from .im2col import (_add, _col2im, _copy, _im2col, _im2col_into, _is_same, _shift_masks_for,
                     _shifted_rows, _swap01, _u)


# --------------------------------------------------------------------------
# The passes around the products: bias and activation, the bias gradient
# --------------------------------------------------------------------------

@jit
def _to_nchw_bias(m, b, N, P, relu):
    """m: (F, N P) -> out: (N, F, P) with ``out[n, f] = m[f, n] + b[f]``,
    and with ``relu`` the ReLU applied on the way: max(m[f, n] + b[f], 0),
    NaN propagating as ``kernels.relu_forward``."""
    F = m.shape[0]
    out = np.empty((N, F, P), m.dtype)
    mf, of = m.ravel(), out.ravel()
    for n in range(N):
        for f in range(F):
            _bias_act(of, (n * F + f) * P, mf, f * N * P + n * P, b[f], P, relu)
    return out


@jit
def _bias_act(dst, d0, src, s0, bf, m, relu):
    """dst[d0 + t] = src[s0 + t] + bf for t < m, and with ``relu`` max(., 0)
    (NaN kept, as ``kernels.relu_forward``). dst and src must not overlap
    (LLVM would test that at run time and take its scalar loop): in place
    is ``_bias_act_rows``."""
    d0, s0 = _u(d0), _u(s0)
    zero = dst.dtype.type(0)
    for t in range(_u(max(m, 0))):
        v = src[s0 + t] + bf
        dst[d0 + t] = (zero if v < zero else v) if relu else v


@jit
def _bias_act_rows(m, b, relu):
    """m: (F, L) in place: m[f] += b[f], and with ``relu`` max(., 0). The
    channel-major twin of ``_to_nchw_bias``: the product (F, N P) is
    already the (F, N, Ho, Wo) output, so no new array is written. One
    index into one array: through ``_bias_act`` (src = dst) LLVM's overlap
    test failed and the loop ran scalar, 2x slower (0.52 against 0.26 ms
    for the transposing pass on 16 x 100,352 float32)."""
    F, L = m.shape
    zero = m.dtype.type(0)
    for f in range(F):
        row, bf = m[f], b[f]
        for t in range(L):
            v = row[t] + bf
            row[t] = (zero if v < zero else v) if relu else v
    return m


@jit
def _sum_partials(part, F, P):
    """(F P,) -> (F,): the sum of each channel's P partial sums. The
    partials are added up per (f, t) over the images first, an element-wise
    add that LLVM vectorises (a running scalar sum it may not reorder, so
    it would not)."""
    s = np.zeros(F, part.dtype)
    for f in range(F):
        for t in range(P):
            s[f] += part[f * P + t]
    return s


@jit
def _to_cnp_sum(d, o, relu, cnhw):
    """d: (N, F, P), or with ``cnhw`` (F, N, P) -> (m: (F, N P) with
    m[f, n P + t] = d[n, f, t], s: (F,) the sum over n and t, accumulated
    over n per (f, t) first, in the same order from either layout). With
    ``relu``, m holds ``d * [o > 0]`` instead (``kernels.relu_backward``'s
    product, 0 at the kink), never stored in NCHW; else o is not read, and
    channel-major d is returned as m itself (it is that matrix already)."""
    F, N, P = (d.shape[0], d.shape[1], d.shape[2]) if cnhw else (d.shape[1], d.shape[0],
                                                                  d.shape[2])
    m = np.empty((F, N * P), d.dtype) if relu or not cnhw else d.reshape(F, N * P)
    df, of, mf = d.ravel(), o.ravel(), m.ravel()
    one = d.dtype.type(1)
    part = np.zeros(F * P, d.dtype)
    for i in range(N * F):               # channel-major: f outer, so d is read in order
        n, f = (i % N, i // N) if cnhw else (i // F, i % F)
        src, dst = _u((f * N + n) * P if cnhw else (n * F + f) * P), _u(f * N * P + n * P)
        if relu:
            for t in range(_u(P)):
                mf[dst + t] = _drelu(df[src + t], of[src + t], one)
        elif not cnhw:
            _copy(mf, dst, df, src, P)
        _add(part, f * P, mf, dst, P)
    return m, _sum_partials(part, F, P)


@jit
def _channel_sum(d):
    """d: (N, F, P) -> (F,), the sum over n and t (the bias gradient)."""
    N, F, P = d.shape
    df = d.ravel()
    part = np.zeros(F * P, d.dtype)
    for n in range(N):
        _add(part, 0, df, n * F * P, F * P)                   # part += d[n]
    return _sum_partials(part, F, P)


@jit
def _add_channel_bias(out, b):
    """out: (N, F, P) += b[f] in place (each image's (F, P) rows by
    ``_bias_act_rows``: one array, so the loop vectorises)."""
    for n in range(out.shape[0]):
        _bias_act_rows(out[n], b, False)
    return out


def _nfp(a):
    """(N, C, H, W) -> (N, C, H W) C-contiguous view (a copy only if needed)."""
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0], a.shape[1], a.shape[2] * a.shape[3])


def _swap_shape(shape):
    """(A, B, H, W) -> (B, A, H, W): an NCHW shape from a channel-major one."""
    return (shape[1], shape[0], *shape[2:])


# --------------------------------------------------------------------------
# Convolution and transposed convolution, in NCHW and channel-major (C, N,
# H, W) layout: the same columns, products and caches (the cache keeps the
# NCHW shape of x); only where the images are read and written differs.
# --------------------------------------------------------------------------

def conv2d_forward(x, W, b, stride=1, padding=0, cols_out=None):
    """im2col in Numba (into ``cols_out`` if given), ``Wm @ cols`` by NumPy's
    BLAS, transpose to NCHW and bias in one Numba pass (twin of
    ``functional.conv2d_forward``). cache = (cols, W, x.shape, (k, s, pad, out_hw))."""
    return _conv2d_product(x, W, b, stride, padding, cols_out, False, False)


def conv2d_cnhw_forward(x, W, b, stride=1, padding=0, cols_out=None):
    """``conv2d_forward`` on channel-major x (C, N, H, W) -> (F, N, Ho, Wo):
    the product ``Wm @ cols`` is that array already, so the bias is added
    in place (twin of ``functional.conv2d_cnhw_forward``; conv2d's cache)."""
    return _conv2d_product(x, W, b, stride, padding, cols_out, False, True)


def _conv2d_product(x, W, b, stride, padding, cols_out, relu, cnhw):
    """im2col, ``Wm @ cols``, then the bias (and the ReLU if ``relu``) in one
    pass, to NCHW or in place for channel-major ``cnhw``: (out, conv2d's
    cache)."""
    x_nchw = x.swapaxes(0, 1) if cnhw else x                 # a view, for the shapes
    k, s, pad, _, out_hw = conv_geometry("conv2d", x.shape[2:], W.shape[2:], stride, padding)
    N, F = x_nchw.shape[0], W.shape[0]
    cols = _cols_out(cols_out, x_nchw, k, out_hw)
    if cols is None:
        cols = np.empty((x_nchw.shape[1] * k[0] * k[1], N * out_hw[0] * out_hw[1]), x.dtype)
    _im2col_into(np.ascontiguousarray(x), cols, *k, *s, *pad, *out_hw, cnhw)
    m = W.reshape(F, -1) @ cols                              # (F, N Ho Wo)
    b = np.ascontiguousarray(b)
    if cnhw:
        out = _bias_act_rows(m, b, relu).reshape(F, N, *out_hw)
    else:
        out = _to_nchw_bias(m, b, N, out_hw[0] * out_hw[1], relu).reshape(N, F, *out_hw)
    return out, (cols, W, x_nchw.shape, (k, s, pad, out_hw))


def conv2d_backward(dout, cache, need_dx=True):
    """``dout`` to (F, N Ho Wo) with db in one Numba pass; dW and the column
    gradient by BLAS; col2im in Numba (twin of ``functional.conv2d_backward``)."""
    d = _nfp(dout)
    return _conv2d_backward_m(*_to_cnp_sum(d, d, False, False), cache, need_dx, False)


def conv2d_cnhw_backward(dout, cache, need_dx=True):
    """``conv2d_backward`` on channel-major dout (F, N, Ho, Wo), which is
    the (F, N Ho Wo) matrix already: one pass for db, and dx (C, N, H, W)
    (twin of ``functional.conv2d_cnhw_backward``)."""
    d = _nfp(dout)
    return _conv2d_backward_m(*_to_cnp_sum(d, d, False, True), cache, need_dx, True)


def conv2d_act_forward(x, W, b, stride, padding, activation, cols_out=None):
    """``conv2d_forward`` then the activation (twin of
    ``functional.conv2d_act_forward``, same cache). For ReLU the activation
    is applied in the pass that transposes the product to NCHW and adds the
    bias, so the pre-activation is never stored; any other activation runs
    as its own op after the convolution."""
    return _conv2d_act(x, W, b, stride, padding, activation, cols_out, False)


def conv2d_act_cnhw_forward(x, W, b, stride, padding, activation, cols_out=None):
    """``conv2d_act_forward`` on channel-major x (C, N, H, W) -> (F, N, Ho,
    Wo); for ReLU the bias and the ReLU are one pass in place over the
    product (twin of ``functional.conv2d_act_cnhw_forward``)."""
    return _conv2d_act(x, W, b, stride, padding, activation, cols_out, True)


def _then_act(activation, op, *args):
    """``op(*args)`` (an image op's forward), then the activation's kernel
    as its own op (``functional.conv._then_act`` with the twins): the path of
    every activation but the ReLU, which the conv and pool kernels fuse."""
    a, op_cache = op(*args)
    out, act_cache = getattr(_dense, activation + "_forward")(a)
    return out, (op_cache, act_cache, activation)


def _act_backward(dout, act_cache, activation):
    """dout through the activation's backward kernel (``_then_act``'s)."""
    return getattr(_dense, activation + "_backward")(dout, act_cache)


def _conv2d_act(x, W, b, stride, padding, activation, cols_out, cnhw):
    check_choice(activation, "activation", ACTIVATIONS)
    if activation != "relu":
        return _then_act(activation, _conv2d_product, x, W, b, stride, padding, cols_out,
                         False, cnhw)
    out, conv_cache = _conv2d_product(x, W, b, stride, padding, cols_out, True, cnhw)
    return out, (conv_cache, out, "relu")


def conv2d_act_backward(dout, cache, need_dx=True):
    """Backward of ``conv2d_act_forward``; for ReLU, ``dout * [out > 0]``
    is formed in the pass that lays dout out as (F, N Ho Wo) and sums the
    bias gradient (twin of ``functional.conv2d_act_backward``)."""
    return _conv2d_act_backward(dout, cache, need_dx, False)


def conv2d_act_cnhw_backward(dout, cache, need_dx=True):
    """Backward of ``conv2d_act_cnhw_forward``; for ReLU, ``dout * [out > 0]``
    and the bias gradient in one pass (twin of
    ``functional.conv2d_act_cnhw_backward``)."""
    return _conv2d_act_backward(dout, cache, need_dx, True)


def _conv2d_act_backward(dout, cache, need_dx, cnhw):
    conv_cache, act_cache, activation = cache
    if activation != "relu":
        d = _nfp(_act_backward(dout, act_cache, activation))
        return _conv2d_backward_m(*_to_cnp_sum(d, d, False, cnhw), conv_cache, need_dx, cnhw)
    return _conv2d_backward_m(*_to_cnp_sum(_nfp(dout), _nfp(act_cache), True, cnhw),
                              conv_cache, need_dx, cnhw)


def _conv2d_backward_m(dout_m, db, cache, need_dx, cnhw):
    """conv2d's backward from dout already laid out as (F, N Ho Wo), with db;
    dx in NCHW or, with ``cnhw``, channel-major."""
    cols, W, x_shape, (k, s, pad, out_hw) = cache
    F = W.shape[0]
    dW = (dout_m @ cols.T).reshape(W.shape)
    dx = None
    if need_dx and _is_same(*x_shape[2:], *s, *out_hw):
        dx = _same_dx(W.reshape(F, -1).T, dout_m, *x_shape, *k, *pad, cnhw)
    elif need_dx:
        dx = _col2im(W.reshape(F, -1).T @ dout_m, *x_shape, *k, *s, *pad, *out_hw, cnhw)
    return dx, dW, db


#: Bytes of column gradient ``_same_dx`` forms at a time per BLAS thread: a
#: few images' (2 MB; with 2 threads 4 MB, 1.06-1.08x the step against
#: 0.98-1.02 for 2 MB: each thread's share of a product lands in its own
#: core's cache).
_DX_PIECE_BYTES = 2 ** 21


def _product_threads():
    """The threads a product splits over: OpenBLAS's count now (one inside
    ``DataParallel``'s workers), 1 if it cannot be asked."""
    return blas_thread_count() or 1


def _same_dx(WmT, dout_m, N, C, H, W, kh, kw, ph, pw, cnhw):
    """dx of a "same" stride-1 convolution, the column gradient ``WmT @
    dout_m`` (C kh kw, N H W) formed and added back (``_shifted_rows``'
    adjoint) a few whole images at a time, so each piece is added back
    while it is still in cache instead of after the whole array has been
    written (float64, 128 x 16 x 14 x 14, 29 MB: see docs/performance.md).
    A pixel's terms come from its own image's columns, so it receives them
    in the same order as from the whole array: col2im's sums are the same
    (in float32 BLAS may round a narrower product's entries differently in
    their last bit)."""
    P = H * W
    budget = _DX_PIECE_BYTES * _product_threads()
    G = max(1, min(N, budget // (WmT.shape[0] * P * dout_m.itemsize)))
    keep, shift = _shift_masks_for(G, H, W, kh, kw, ph, pw)
    xc = np.zeros((C, N, H, W), dout_m.dtype)
    xf = xc.ravel()
    piece = np.empty(WmT.shape[0] * G * P, dout_m.dtype)
    for n0 in range(0, N, G):
        L = min(G, N - n0) * P
        cols = np.matmul(WmT, dout_m[:, n0 * P:n0 * P + L],
                         out=piece[:WmT.shape[0] * L].reshape(-1, L))
        _shifted_rows(xf, N * P, n0 * P, cols.ravel(), C, L, keep, shift, True)
    return xc if cnhw else _swap01(xc)


def conv_transpose2d_forward(x, W, b, stride=1, padding=0, output_padding=0):
    """``Wm^T @ x_m`` by BLAS, col2im and bias in Numba (twin of
    ``functional.conv_transpose2d_forward``).
    cache = (x_m, W, x.shape, (k, s, pad, out_hw))."""
    return _conv_transpose2d(x, W, b, stride, padding, output_padding, False)


def conv_transpose2d_cnhw_forward(x, W, b, stride=1, padding=0, output_padding=0):
    """``conv_transpose2d_forward`` on channel-major x (C_in, N, H, W) ->
    (C_out, N, Ho, Wo): x is the (C_in, N H W) matrix already, and col2im
    writes channel-major (twin of ``functional.conv_transpose2d_cnhw_forward``;
    the NCHW op's cache)."""
    return _conv_transpose2d(x, W, b, stride, padding, output_padding, True)


def _conv_transpose2d(x, W, b, stride, padding, output_padding, cnhw):
    x_shape = _swap_shape(x.shape) if cnhw else x.shape       # NCHW
    k, s, pad, _, out_hw = conv_geometry("conv_transpose2d", x.shape[2:], W.shape[2:],
                                         stride, padding, output_padding)
    N, C_in, H, Wd = x_shape
    C_out = W.shape[1]
    x_m = np.ascontiguousarray(x if cnhw else x.transpose(1, 0, 2, 3)).reshape(C_in, -1)
    cols = W.reshape(C_in, -1).T @ x_m                       # (C_out kh kw, N H W)
    out = _col2im(cols, N, C_out, *out_hw, *k, *s, *pad, H, Wd, cnhw)
    b = np.ascontiguousarray(b)
    if cnhw:
        _bias_act_rows(out.reshape(C_out, -1), b, False)
    else:
        _add_channel_bias(_nfp(out), b)
    return out, (x_m, W, x_shape, (k, s, pad, out_hw))


def conv_transpose2d_backward(dout, cache, need_dx=True):
    """im2col of dout in Numba, dW and dx by BLAS, db in Numba (twin of
    ``functional.conv_transpose2d_backward``)."""
    return _conv_transpose2d_backward(dout, cache, need_dx, False)


def conv_transpose2d_cnhw_backward(dout, cache, need_dx=True):
    """``conv_transpose2d_backward`` on channel-major dout (C_out, N, Ho, Wo):
    dx (C_in, N, H, W) is the product ``Wm @ cols`` itself, no transpose
    (twin of ``functional.conv_transpose2d_cnhw_backward``)."""
    return _conv_transpose2d_backward(dout, cache, need_dx, True)


def _conv_transpose2d_backward(dout, cache, need_dx, cnhw):
    x_m, W, x_shape, (k, s, pad, out_hw) = cache
    N, C_in, H, Wd = x_shape
    d = np.ascontiguousarray(dout)
    cols = _im2col(d, *k, *s, *pad, H, Wd, cnhw)              # (C_out kh kw, N H W)
    dW = (x_m @ cols.T).reshape(W.shape)
    dx = None
    if need_dx:
        dx = (W.reshape(C_in, -1) @ cols).reshape(C_in, N, H, Wd)
        if not cnhw:
            dx = dx.transpose(1, 0, 2, 3).copy()             # back to NCHW
    db = _to_cnp_sum(_nfp(d), _nfp(d), False, True)[1] if cnhw else _channel_sum(_nfp(d))
    return dx, dW, db


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------

@jit
def _max_pool(x, kh, kw, sh, sw, ph, pw, Ho, Wo, has_nan):
    """out, arg: (N, C, Ho, Wo); arg = p kw + q of the first max of each
    window in row-major order, padding read as -inf (as np.argmax on the
    reference's window array, NaN included: the first NaN wins).

    Each window starts from its offset (0, 0) (-inf if that is padding,
    which then stays the answer only if every real pixel is -inf, as in
    the reference) and scans its real pixels, rows [p0, p1) and columns
    [q0, q1), with no bounds test inside. The NaN rule costs as much as the
    rest of the loop (measured 12 ms against 6 ms on 128 x 16 x 28 x 28),
    so it is only tested when ``has_nan``."""
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), x.dtype)
    arg = np.empty((N, C, Ho, Wo), np.int64)
    ninf = x.dtype.type(-np.inf)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                r0 = i * sh - ph
                p0, p1 = max(0, -r0), min(kh, H - r0)
                for j in range(Wo):
                    v0 = j * sw - pw
                    q0, q1 = max(0, -v0), min(kw, W - v0)
                    corner_real = p0 == 0 and q0 == 0
                    best = x[n, c, r0, v0] if corner_real else ninf
                    where = 0
                    for p in range(p0, p1):
                        for q in range(q0, q1):
                            val = x[n, c, r0 + p, v0 + q]
                            if val > best or (has_nan and val != val and best == best):
                                best = val
                                where = p * kw + q
                    out[n, c, i, j] = best
                    arg[n, c, i, j] = where
    return out, arg


@jit
def _max_pool_2x2(x, Ho, Wo, relu):
    """``_max_pool`` for the common 2x2 window, stride 2, no padding, without
    the NaN rule: the window unrolled, ties to the first max as there
    (measured 0.6 ms against 6 ms for the general loop on 128 x 16 x 28 x 28
    float32). With ``relu`` the max is stored as max(., 0)
    (``kernels.relu_forward``'s rule). Returns (out, arg, suspect): suspect
    when a window's sum is NaN (a NaN in it, or inf - inf), and then the
    caller runs ``_max_pool`` instead. The test rides on the loads the loop
    makes anyway, where a pass of ``np.isnan(x.max())`` first read x once
    more (0.3 ms of the float32 step; step 1.010 float32, 1.008 float64,
    old / new, 21 rounds)."""
    N, C = x.shape[0], x.shape[1]
    out = np.empty((N, C, Ho, Wo), x.dtype)
    arg = np.empty((N, C, Ho, Wo), np.int64)
    zero = x.dtype.type(0)
    suspect = False
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    a, b = x[n, c, 2 * i, 2 * j], x[n, c, 2 * i, 2 * j + 1]
                    d, e = x[n, c, 2 * i + 1, 2 * j], x[n, c, 2 * i + 1, 2 * j + 1]
                    total = a + b + d + e
                    suspect |= total != total
                    best, where = a, 0
                    if b > best:
                        best, where = b, 1
                    if d > best:
                        best, where = d, 2
                    if e > best:
                        best, where = e, 3
                    out[n, c, i, j] = (zero if best < zero else best) if relu else best
                    arg[n, c, i, j] = where
    return out, arg, suspect


@jit
def _max_pool_backward(dout, arg, H, W, kw, sh, sw, ph, pw):
    """dx: (N, C, H, W); each window's dout added at its max."""
    N, C, Ho, Wo = dout.shape
    dx = np.zeros((N, C, H, W), dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    a = arg[n, c, i, j]
                    r = i * sh + a // kw - ph
                    v = j * sw + a % kw - pw
                    if 0 <= r < H and 0 <= v < W:
                        dx[n, c, r, v] += dout[n, c, i, j]
    return dx


@jit
def _max_pool_backward_2x2(dout, arg, H, W, out, relu):
    """``_max_pool_backward`` for the 2x2 window, stride 2, no padding: no
    window reaches outside the input, so the scatter needs no bounds test
    and runs on flat arrays with unsigned indices (measured 0.5 ms against
    1.9 ms on 128 x 16 x 28 x 28 float32). With ``relu`` each window sends
    ``dout * [out > 0]`` (``kernels.relu_backward``'s product; out: the
    pooled ReLU output), else out is not read."""
    N, C, Ho, Wo = dout.shape
    dx = np.zeros((N, C, H, W), dout.dtype)
    gf, af, xf, of = dout.ravel(), arg.ravel(), dx.ravel(), out.ravel()
    one, w = _u(1), _u(W)
    unit = dout.dtype.type(1)
    for nc in range(N * C):
        for i in range(Ho):
            s = _u((nc * Ho + i) * Wo)                        # dout[n, c, i, 0]
            top = _u((nc * H + 2 * i) * W)                    # dx[n, c, 2 i, 0]
            for j in range(_u(Wo)):
                a = _u(af[s + j])                             # p 2 + q
                g = _drelu(gf[s + j], of[s + j], unit) if relu else gf[s + j]
                xf[top + (a >> one) * w + 2 * j + (a & one)] = g
    return dx


@jit
def _avg_pool(x, kh, kw, sh, sw, ph, pw, Ho, Wo):
    """out: (N, C, Ho, Wo), window sums (padding counts as zeros) / (kh kw)."""
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), x.dtype)
    area = x.dtype.type(kh * kw)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    acc = x.dtype.type(0)
                    for p in range(kh):
                        r = i * sh + p - ph
                        if r < 0 or r >= H:
                            continue
                        for q in range(kw):
                            v = j * sw + q - pw
                            if 0 <= v < W:
                                acc += x[n, c, r, v]
                    out[n, c, i, j] = acc / area
    return out


@jit
def _avg_pool_backward(dout, H, W, kh, kw, sh, sw, ph, pw):
    """dx: (N, C, H, W); each window's dout / (kh kw) added to its pixels."""
    N, C, Ho, Wo = dout.shape
    dx = np.zeros((N, C, H, W), dout.dtype)
    area = dout.dtype.type(kh * kw)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, c, i, j] / area
                    for p in range(kh):
                        r = i * sh + p - ph
                        if r < 0 or r >= H:
                            continue
                        for q in range(kw):
                            v = j * sw + q - pw
                            if 0 <= v < W:
                                dx[n, c, r, v] += g
    return dx


def max_pool2d_forward(x, kernel, stride=None, padding=0):
    """One Numba pass over the windows (twin of ``functional.max_pool2d_forward``;
    the same tie rule: the first max in row-major window order).
    cache = (arg, x.shape, (k, s, pad))."""
    return _max_pool2d(x, kernel, stride, padding, False)


def _max_pool2d(x, kernel, stride, padding, relu):
    """max_pool2d_forward, and with ``relu`` the ReLU of the max: on the way
    in the 2x2 kernel, else as its own op."""
    k, s, pad, _, out_hw = conv_geometry("max_pool2d", x.shape[2:], kernel,
                                         kernel if stride is None else stride, padding)
    x = np.ascontiguousarray(x)
    fast = k == s == (2, 2) and pad == (0, 0)
    if fast:
        out, arg, suspect = _max_pool_2x2(x, *out_hw, relu)
    if not fast or suspect:
        has_nan = x.size > 0 and bool(np.isnan(x.max()))
        out, arg = _max_pool(x, *k, *s, *pad, *out_hw, has_nan)
        out = _dense.relu_forward(out)[0] if relu else out
    return out, (arg, x.shape, (k, s, pad))


def max_pool2d_backward(dout, cache):
    """dout added at each window's max; overlapping windows add up."""
    return _max_pool2d_backward(dout, cache, None)


def max_pool2d_act_forward(x, kernel, stride, padding, activation):
    """``max_pool2d_forward`` then the activation (twin of
    ``functional.max_pool2d_act_forward``); a ReLU is taken of each max as
    it is stored (the 2x2 kernel), so no pass over the output follows."""
    check_choice(activation, "activation", ACTIVATIONS)
    if activation != "relu":
        return _then_act(activation, max_pool2d_forward, x, kernel, stride, padding)
    out, pool_cache = _max_pool2d(x, kernel, stride, padding, True)
    return out, (pool_cache, out, "relu")


def max_pool2d_act_backward(dout, cache):
    """Backward of ``max_pool2d_act_forward``; for ReLU the 2x2 scatter sends
    ``dout * [out > 0]`` (twin of ``functional.max_pool2d_act_backward``)."""
    pool_cache, act_cache, activation = cache
    if activation != "relu":
        return max_pool2d_backward(_act_backward(dout, act_cache, activation), pool_cache)
    return _max_pool2d_backward(dout, pool_cache, act_cache)


def _max_pool2d_backward(dout, cache, relu_out):
    """max_pool2d's backward, of dout * [relu_out > 0] if relu_out is given."""
    arg, x_shape, (k, s, pad) = cache
    dout = np.ascontiguousarray(dout)
    relu = relu_out is not None
    if k == s == (2, 2) and pad == (0, 0):
        return _max_pool_backward_2x2(dout, arg, x_shape[2], x_shape[3],
                                      np.ascontiguousarray(relu_out) if relu else dout, relu)
    if relu:
        dout = _dense.relu_backward(dout, relu_out)
    return _max_pool_backward(dout, arg, x_shape[2], x_shape[3], k[1], *s, *pad)


def avg_pool2d_forward(x, kernel, stride=None, padding=0):
    """Window means with the padding counted (twin of
    ``functional.avg_pool2d_forward``). cache = (x.shape, (k, s, pad, out_hw))."""
    k, s, pad, _, out_hw = conv_geometry("avg_pool2d", x.shape[2:], kernel,
                                         kernel if stride is None else stride, padding)
    out = _avg_pool(np.ascontiguousarray(x), *k, *s, *pad, *out_hw)
    return out, (x.shape, (k, s, pad, out_hw))


def avg_pool2d_backward(dout, cache):
    """dout / (kh kw) spread over each window; overlapping windows add up."""
    x_shape, (k, s, pad, out_hw) = cache
    return _avg_pool_backward(np.ascontiguousarray(dout), x_shape[2], x_shape[3],
                              *k, *s, *pad)


# --------------------------------------------------------------------------
# Upsampling
# --------------------------------------------------------------------------

@jit
def _nearest(x, sh, sw):
    N, C, H, W = x.shape
    out = np.empty((N, C, H * sh, W * sw), x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H * sh):
                for j in range(W * sw):
                    out[n, c, i, j] = x[n, c, i // sh, j // sw]
    return out


@jit
def _nearest_backward(dout, sh, sw):
    N, C, Ho, Wo = dout.shape
    dx = np.zeros((N, C, Ho // sh, Wo // sw), dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    dx[n, c, i // sh, j // sw] += dout[n, c, i, j]
    return dx


def upsample_nearest2d_forward(x, scale):
    """Block repetition in one Numba pass (twin of
    ``functional.upsample_nearest2d_forward``). cache = (sh, sw)."""
    sh, sw = as_pair(scale, "scale", 1)
    return _nearest(np.ascontiguousarray(x), sh, sw), (sh, sw)


def upsample_nearest2d_backward(dout, cache):
    """Block sums of dout."""
    return _nearest_backward(np.ascontiguousarray(dout), *cache)


@jit
def _bilinear(x, i0h, i1h, w0h, w1h, i0w, i1w, w0w, w1w):
    """Rows first, then columns, as the reference."""
    N, C, H, W = x.shape
    Ho, Wo = i0h.shape[0], i0w.shape[0]
    out = np.empty((N, C, Ho, Wo), x.dtype)
    t = np.empty(W, x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                a, b, wa, wb = i0h[i], i1h[i], w0h[i], w1h[i]
                for v in range(W):
                    t[v] = x[n, c, a, v] * wa + x[n, c, b, v] * wb
                for j in range(Wo):
                    out[n, c, i, j] = t[i0w[j]] * w0w[j] + t[i1w[j]] * w1w[j]
    return out


@jit
def _bilinear_backward(dout, H, W, i0h, i1h, w0h, w1h, i0w, i1w, w0w, w1w):
    """Columns first (into a row buffer), then rows, as the reference."""
    N, C, Ho, Wo = dout.shape
    dx = np.zeros((N, C, H, W), dout.dtype)
    dt = np.empty(W, dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                dt[:] = 0
                for j in range(Wo):
                    g = dout[n, c, i, j]
                    dt[i0w[j]] += g * w0w[j]
                    dt[i1w[j]] += g * w1w[j]
                a, b, wa, wb = i0h[i], i1h[i], w0h[i], w1h[i]
                for v in range(W):
                    dx[n, c, a, v] += dt[v] * wa
                    dx[n, c, b, v] += dt[v] * wb
    return dx


def upsample_bilinear2d_forward(x, scale):
    """Two-tap interpolation along rows then columns in one Numba pass (twin
    of ``functional.upsample_bilinear2d_forward``; taps from
    ``functional.bilinear_taps``). cache = (x.shape, taps_h, taps_w)."""
    sh, sw = as_pair(scale, "scale", 1)
    th = bilinear_taps(x.shape[2], sh, x.dtype)
    tw = bilinear_taps(x.shape[3], sw, x.dtype)
    return _bilinear(np.ascontiguousarray(x), *th, *tw), (x.shape, th, tw)


def upsample_bilinear2d_backward(dout, cache):
    """Each output's dout sent to its four source pixels with their weights."""
    x_shape, th, tw = cache
    return _bilinear_backward(np.ascontiguousarray(dout), x_shape[2], x_shape[3], *th, *tw)
