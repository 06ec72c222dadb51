"""The unrolling loops the convolutions in ``kernels.conv`` build on: im2col
and col2im for any geometry, on NCHW or channel-major (C, N, H, W) images,
the masked shifted rows of a "same" stride-1 convolution, and the flat copy
loops with unsigned indices under them. No ops of their own (the twins of
``functional.im2col`` / ``col2im`` are ``_im2col`` / ``_col2im``); why each
loop has its shape: the "Convolution kernels" section of
``docs/performance.md``.
"""

import functools

import numpy as np

from .base import jit

# --------------------------------------------------------------------------
# im2col / col2im and the NCHW <-> (C, N H W) transposes
# --------------------------------------------------------------------------

_u = np.uint64     # an unsigned index: Numba adds no negative-index wraparound test


@jit
def _copy(dst, d0, src, s0, m):
    """dst[d0 : d0 + m] = src[s0 : s0 + m] on flat arrays (nothing if m <= 0).

    The indices are unsigned: with a signed index Numba tests every access
    for a negative (wraparound) value and LLVM does not vectorise the loop
    (measured 520 ns against 40 ns for 784 float32)."""
    d0, s0 = _u(d0), _u(s0)
    for t in range(_u(max(m, 0))):
        dst[d0 + t] = src[s0 + t]


@jit
def _add(dst, d0, src, s0, m):
    """dst[d0 : d0 + m] += src[s0 : s0 + m] on flat arrays, as ``_copy``."""
    d0, s0 = _u(d0), _u(s0)
    for t in range(_u(max(m, 0))):
        dst[d0 + t] += src[s0 + t]


@jit
def _zero(dst, d0, m):
    """dst[d0 : d0 + m] = 0 on a flat array, as ``_copy``."""
    d0 = _u(d0)
    zero = dst.dtype.type(0)
    for t in range(_u(max(m, 0))):
        dst[d0 + t] = zero


@jit
def _masked_copy(dst, d0, src, s0, keep, k0, m):
    """dst[d0 + t] = src[s0 + t] where keep[k0 + t], else 0, for t < m: a
    copy that zeroes some columns on the way, in one vectorised loop."""
    d0, s0, k0 = _u(d0), _u(s0), _u(k0)
    zero = dst.dtype.type(0)
    for t in range(_u(max(m, 0))):
        dst[d0 + t] = src[s0 + t] if keep[k0 + t] else zero


@jit
def _masked_add(dst, d0, src, s0, keep, k0, m):
    """dst[d0 + t] += src[s0 + t] where keep[k0 + t], for t < m (elsewhere
    dst keeps its value: a select, so a NaN or inf that is not kept never
    reaches dst)."""
    d0, s0, k0 = _u(d0), _u(s0), _u(k0)
    zero = dst.dtype.type(0)
    for t in range(_u(max(m, 0))):
        dst[d0 + t] += src[s0 + t] if keep[k0 + t] else zero


@jit
def _valid(n_out, s, offset, n_in):
    """The output indices j in [lo, hi) whose input index j s + offset lies
    in [0, n_in): the part of a window row that is not padding."""
    lo = 0
    while lo < n_out and lo * s + offset < 0:
        lo += 1
    hi = n_out
    while hi > lo and (hi - 1) * s + offset >= n_in:
        hi -= 1
    return lo, hi


def _im2col(x, kh, kw, sh, sw, ph, pw, Ho, Wo, cnhw=False):
    """x: (N, C, H, W) C-contiguous, or with ``cnhw`` channel-major (C, N,
    H, W) -> cols: (C kh kw, N Ho Wo) (the same columns from either
    layout), zeros where the window reads padding (functional.im2col), in
    a new array."""
    N, C = _nc(x, cnhw)
    cols = np.empty((C * kh * kw, N * Ho * Wo), x.dtype)
    _im2col_into(x, cols, kh, kw, sh, sw, ph, pw, Ho, Wo, cnhw)
    return cols


def _nc(x, cnhw):
    """(N, C) of an image array in NCHW or, with ``cnhw``, (C, N, H, W) layout."""
    return (x.shape[1], x.shape[0]) if cnhw else (x.shape[0], x.shape[1])


def _plane_strides(N, C, cnhw):
    """(sn, sc): plane (n, c) of N C images starts at plane n sn + c sc:
    (C, 1) in NCHW, (1, N) in channel-major (C, N, H, W)."""
    return (1, N) if cnhw else (C, 1)


def _im2col_into(x, cols, kh, kw, sh, sw, ph, pw, Ho, Wo, cnhw=False):
    """``_im2col`` written into cols (C-contiguous, its shape checked by the
    caller): for a "same" stride-1 convolution (output as large as the
    input) ``_shifted_rows`` on x laid out as (C, N, H, W) (NCHW x is
    swapped to it first), else ``_im2col_rows``."""
    N, C = _nc(x, cnhw)
    H, W = x.shape[2:]
    if _is_same(H, W, sh, sw, Ho, Wo):
        keep, shift = _shift_masks_for(N, H, W, kh, kw, ph, pw)
        xs = x if cnhw else _swap01(x)   # a view of x when N or C is 1, read-only if x is;
        if not xs.flags.writeable:       # _shifted_rows also writes (its adjoint branch),
            xs = xs.copy()               # so Numba types it for a writable array only
        _shifted_rows(xs.ravel(), N * H * W, 0, cols.ravel(), C, N * H * W, keep, shift, False)
    else:
        _im2col_rows(x.ravel(), cols.ravel(), N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo,
                     *_plane_strides(N, C, cnhw))


def _is_same(H, W, sh, sw, Ho, Wo):
    """A stride-1 convolution whose output is as large as its input."""
    return sh == 1 and sw == 1 and (Ho, Wo) == (H, W)


def _swap01(a):
    """(A, B, ...) -> (B, A, ...) C-contiguous (NumPy's copy, as fast here as
    a Numba loop of block copies; no copy when A or B is 1)."""
    return np.ascontiguousarray(a.swapaxes(0, 1))


@jit
def _im2col_rows(xf, cf, N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, sn, sc):
    """``_im2col`` for any geometry, on flat x and cols: one copy per window
    row, over the output rows [ilo, ihi) and columns [lo, hi) that read the
    image (computed once per kernel offset), so the copy has no bounds
    test; a cols row whose window reads any padding is zeroed first, in one
    pass. Plane (n, c) of x starts at plane n sn + c sc (``_plane_strides``:
    NCHW or channel-major). (Zeroing per window row instead, three short
    calls for each, took the transposed convolutions' im2col of 3 x 3 and
    7 x 7 outputs from 0.28 to 0.53 and from 0.42 to 0.66 ms, float32.)"""
    L = N * Ho * Wo
    step = _u(sw)
    for c in range(C):
        for p in range(kh):
            ilo, ihi = _valid(Ho, sh, p - ph, H)
            for q in range(kw):
                row = (c * kh + p) * kw + q
                lo, hi = _valid(Wo, sw, q - pw, W)
                if lo > 0 or hi < Wo or ilo > 0 or ihi < Ho:
                    _zero(cf, row * L, L)
                for n in range(N):
                    plane = (n * sn + c * sc) * H
                    for i in range(ilo, ihi):
                        d = row * L + (n * Ho + i) * Wo + lo      # cols[row, (n, i, lo)]
                        s0 = (plane + i * sh + p - ph) * W + lo * sw + q - pw
                        if sw == 1:
                            _copy(cf, d, xf, s0, hi - lo)
                        else:
                            du, su = _u(d), _u(s0)
                            for j in range(_u(hi - lo)):
                                cf[du + j] = xf[su + j * step]


@jit
def _shifted_rows(xf, xs, x0, cf, C, L, keep, shift, adjoint):
    """im2col of a "same" stride-1 convolution (Ho, Wo = H, W) from x laid
    out as (C, N, H, W) (flat xf, L = N H W) into flat cols (C kh kw, L), or with
    ``adjoint`` its col2im (cols added into xf, which holds zeros). Channel
    c's L values start at xf[c xs + x0]: xs = L, x0 = 0 for the whole
    batch; xs = N H W, x0 = n0 H W for the L = G H W columns of images n0
    to n0 + G (``kernels.conv``'s dx of a "same" convolution, in pieces).

    Then the row cols[(c, k), :] for the kernel offset k = p kw + q is the
    whole channel x[c] (N images one after the other, as cols' columns are)
    read at one constant shift, ``row[t] = x[c].flat[t + shift[k]]`` with
    shift[k] = (p - ph) W + q - pw, except where the window reads padding:
    there the shifted read lands on a neighbouring row or image instead,
    and keep[k, t] (``_shift_masks``) is False. So each row is one masked
    copy of N H W values (a select, zero where not kept), and its adjoint
    one masked add: each pixel receives the terms of ``_im2col_rows``'s
    adjoint in the same order (offsets k in turn), so col2im is bitwise the
    reference's. In the NCHW layout the same copy is one block per image
    and kernel offset: 128 x 32 x 7 x 7 float32 is 36,864 blocks of 49 numbers, and
    the long rows took its im2col from 0.78 to 0.27 ms and col2im from 0.84
    to 0.35 ms, the layout swaps included (docs/performance.md).

    keep holds the mask of G <= N images (``_shift_masks``); the mask of the
    batch repeats it, so each row is copied in pieces of G images at most."""
    K = shift.size
    M = keep.shape[1]                                         # G H W
    for c in range(C):
        for k in range(K):
            d, s = (c * K + k) * L, shift[k]
            lo = min(max(0, -s), L)                           # reads inside x[c]:
            hi = max(min(L, L - s), lo)                       # [lo, hi), within [0, L)
            if not adjoint:
                _zero(cf, d, lo)
                _zero(cf, d + hi, L - hi)
            t = lo
            while t < hi:
                e = min(hi, (t // M + 1) * M)                 # to the end of t's piece
                if adjoint:
                    _masked_add(xf, c * xs + x0 + t + s, cf, d + t, keep[k], t % M, e - t)
                else:
                    _masked_copy(cf, d + t, xf, c * xs + x0 + t + s, keep[k], t % M, e - t)
                t = e


#: The images whose masks ``_shift_masks`` builds and keeps: a batch reuses
#: them in pieces, so a mask never grows with the batch.
_MASK_IMAGES = 32


def _shift_masks_for(N, H, W, kh, kw, ph, pw):
    """``_shift_masks`` for a batch of N images."""
    return _shift_masks(min(N, _MASK_IMAGES), H, W, kh, kw, ph, pw)


@functools.lru_cache(maxsize=8)
def _shift_masks(G, H, W, kh, kw, ph, pw):
    """(keep, shift) of ``_shifted_rows`` for G images of H x W: keep (kh kw,
    G H W), True where the window's read at offset k lies in the
    image (neither padding nor wrapped onto the next row or image). The same
    for every step of a layer, so it is kept (a few of them, at most 32
    images each: 225 KB for 28 x 28 and a 3 x 3 kernel), and both arrays
    are read-only: every layer of that geometry shares them."""
    keep, shift = _shift_table(G, H, W, kh, kw, ph, pw)
    keep.flags.writeable = shift.flags.writeable = False
    return keep, shift


@jit
def _shift_table(G, H, W, kh, kw, ph, pw):
    """``_shift_masks``, built."""
    P = H * W
    keep = np.zeros((kh * kw, G * P), np.bool_)
    shift = np.empty(kh * kw, np.int64)
    for p in range(kh):
        ilo, ihi = _valid(H, 1, p - ph, H)                    # rows that read the image
        for q in range(kw):
            k = p * kw + q
            jlo, jhi = _valid(W, 1, q - pw, W)                # columns that do
            shift[k] = (p - ph) * W + q - pw
            for i in range(ilo, ihi):
                keep[k, i * W + jlo:i * W + jhi] = True
            for n in range(1, G):                             # every image alike
                keep[k, n * P:(n + 1) * P] = keep[k, :P]
    return keep, shift


def _col2im(cols, N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, cnhw=False):
    """Adjoint of ``_im2col``: cols (C kh kw, N Ho Wo) -> (N, C, H, W), or
    with ``cnhw`` (C, N, H, W), entries added onto the pixels they were read
    from, padding dropped: ``_shifted_rows`` into a (C, N, H, W) array for a
    "same" stride-1 convolution (swapped to NCHW unless ``cnhw``), else
    ``_col2im_rows``."""
    cols = np.ascontiguousarray(cols)
    if _is_same(H, W, sh, sw, Ho, Wo):
        keep, shift = _shift_masks_for(N, H, W, kh, kw, ph, pw)
        xc = np.zeros((C, N, H, W), cols.dtype)
        _shifted_rows(xc.ravel(), N * H * W, 0, cols.ravel(), C, N * H * W, keep, shift, True)
        return xc if cnhw else _swap01(xc)
    x = _col2im_rows(cols, N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo,
                     *_plane_strides(N, C, cnhw))
    return x.reshape((C, N, H, W) if cnhw else (N, C, H, W))


@jit
def _col2im_rows(cols, N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, sn, sc):
    """``_col2im`` for any geometry: one add per window row, into a flat
    array whose plane (n, c) starts at plane n sn + c sc (``_plane_strides``)."""
    xf = np.zeros(N * C * H * W, cols.dtype)
    cf = cols.ravel()                                         # a flat view
    L = N * Ho * Wo
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                row = (c * kh + p) * kw + q
                lo, hi = _valid(Wo, sw, q - pw, W)
                for n in range(N):
                    for i in range(Ho):
                        r = i * sh + p - ph
                        if r < 0 or r >= H:
                            continue
                        d = row * L + (n * Ho + i) * Wo + lo      # cols[row, (n, i, lo)]
                        s0 = ((n * sn + c * sc) * H + r) * W + lo * sw + q - pw
                        if sw == 1:
                            _add(xf, s0, cf, d, hi - lo)
                        else:
                            du, su, su_step = _u(d), _u(s0), _u(sw)
                            for j in range(_u(hi - lo)):
                                xf[su + j * su_step] += cf[du + j]
    return xf
