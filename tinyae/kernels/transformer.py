"""Numba twins of ``tinyae.functional.transformer`` (how twins are built: see
``tinyae.kernels``).

LayerNorm, GELU, the row softmax and the masked squared error are loops over
rows (one pass for a row's statistics, one for its output), compiled once
per dtype on a 2-D view ``(rows, last axis)``, so every leading shape
shares them. The matrix products of attention are NumPy's batched ``@``
(BLAS), its softmax the Numba row kernel. Patches and token gathers are
pure data movement (reshape, transpose, indexing by token ids): nothing to
compile, so their twins are the references themselves, like identity in
``kernels.dense``.
"""

import math

import numpy as np

from ..functional.transformer import (  # noqa: F401  (data movement: twin = reference)
    _INV_SQRT_2PI, _SQRT_HALF, gather_tokens, patchify, scatter_tokens, unpatchify)
from .base import _EXP_CONSTANTS, _exp_le0, _flat, _horner, jit, sum_jit
from .dense import _add_bias, _column_sum


def _rows(a):
    """(..., K) -> (rows, K) C-contiguous (a copy only for views)."""
    a = np.ascontiguousarray(a)
    return a.reshape(-1, a.shape[-1])


# --------------------------------------------------------------------------
# LayerNorm
# --------------------------------------------------------------------------

#: The row sums of LayerNorm are compiled with ``reassoc`` (``sum_jit``,
#: as the BCE's sum): a row of the MAE's tokens is 32 or 64 numbers, and
#: without it each add waits for the one before; with it LLVM adds in
#: vector lanes and folds them at the end, a fixed order that is not the
#: row's left-to-right one (the results move by an ulp or so; the twins
#: agree to the tests' tolerance). Alone, float32 (2048, 32): forward 51 ->
#: 29 us, backward 49 -> 23 us, against the four-rows-at-a-time chains of
#: round six; (512, 64): 24 -> 12 and 24 -> 13. Only these helpers carry
#: the flag: the element-wise parts of the kernels keep the library's.


@sum_jit
def _row_mean_var(x, n):
    """(mean, mean squared deviation) of row n of x."""
    d = x.shape[1]
    s = x.dtype.type(0)
    for i in range(d):
        s += x[n, i]
    m = s / x.dtype.type(d)
    v = x.dtype.type(0)
    for i in range(d):
        c = x[n, i] - m
        v += c * c
    return m, v / x.dtype.type(d)


@sum_jit
def _row_means_g(dout, gamma, xhat, n):
    """(mean of g, mean of g xhat) over row n, g = dout gamma."""
    d = dout.shape[1]
    s = t = dout.dtype.type(0)
    for i in range(d):
        g = dout[n, i] * gamma[i]
        s += g
        t += g * xhat[n, i]
    return s / dout.dtype.type(d), t / dout.dtype.type(d)


@jit
def _layernorm(x, gamma, beta, eps):
    """Per row: mean and variance (``_row_mean_var``), r = 1/sqrt(var +
    eps), xhat, out."""
    rows, d = x.shape
    one, e = x.dtype.type(1), x.dtype.type(eps)
    out, xhat = np.empty_like(x), np.empty_like(x)
    r = np.empty((rows, 1), x.dtype)
    for n in range(rows):
        m, v = _row_mean_var(x, n)
        rn = one / np.sqrt(v + e)
        r[n, 0] = rn
        for i in range(d):
            h = (x[n, i] - m) * rn
            xhat[n, i] = h
            out[n, i] = h * gamma[i] + beta[i]
    return out, xhat, r


@jit
def _layernorm_backward(dout, xhat, r, gamma):
    """dx = r (g - mean(g) - xhat mean(g xhat)), g = dout gamma (the two
    means by ``_row_means_g``); dgamma, dbeta summed over rows, in row
    order, in loops along a row that vectorise."""
    rows, d = dout.shape
    dx = np.empty_like(dout)
    dgamma = np.zeros(d, dout.dtype)
    dbeta = np.zeros(d, dout.dtype)
    for n in range(rows):
        m, mx = _row_means_g(dout, gamma, xhat, n)
        rn = r[n, 0]
        for i in range(d):
            dx[n, i] = rn * (dout[n, i] * gamma[i] - m - xhat[n, i] * mx)
        for i in range(d):
            dgamma[i] += dout[n, i] * xhat[n, i]
            dbeta[i] += dout[n, i]
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps):
    """LayerNorm over the last axis (twin of ``functional.layernorm_forward``).
    x: (..., D) -> out (..., D); cache = (xhat, r, gamma), r: (..., 1)."""
    out, xhat, r = _layernorm(_rows(x), np.ascontiguousarray(gamma),
                              np.ascontiguousarray(beta), eps)
    shape = np.shape(x)
    return out.reshape(shape), (xhat.reshape(shape), r.reshape(*shape[:-1], 1), gamma)


def layernorm_backward(dout, cache):
    """Backward of LayerNorm (derivation: ``functional.layernorm_backward``).
    Returns (dx, dgamma, dbeta)."""
    xhat, r, gamma = cache
    dx, dgamma, dbeta = _layernorm_backward(_rows(dout), _rows(xhat), _rows(r),
                                            np.ascontiguousarray(gamma))
    return dx.reshape(np.shape(dout)), dgamma, dbeta


# --------------------------------------------------------------------------
# GELU (exact erf form)
# --------------------------------------------------------------------------

#: erf by Cephes' rational approximations (S. L. Moshier's ``ndtr.c``, the
#: erf SciPy calls; coefficients highest power first). float64: erf(t) =
#: t T(t^2) / U(t^2) for t = |y| <= 1, else 1 - exp(-t^2) P(t) / Q(t) (Q's
#: argument held at 8, where erf is 1 to the last bit). float32 (Cephes'
#: single-precision ``erff``): t T(t^2) for t <= 1, else 1 - exp(-t^2)
#: P(1/t^2) / t, with R in place of P from t = 2 on. Measured against
#: libm's erf: float64 within 3 ulp (as SciPy's own), within 1 ulp of
#: SciPy's; float32 within 2 ulp of the true value (tests).
_ERF64 = tuple(tuple(np.float64(c) for c in poly) for poly in (
    (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
     7.00332514112805075473e3, 5.55923013010394962768e4),
    (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
     2.26290000613890934246e4, 4.92673942608635921086e4),
    (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
     4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
     9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2),
    (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
     9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
     1.65666309194161350182e3, 5.57535340817727675546e2)))
_ERF32 = tuple(tuple(np.float32(c) for c in poly) for poly in (
    (7.853861353153693e-5, -8.010193625184903e-4, 5.188327685732524e-3,
     -2.685381193529856e-2, 1.128358514861418e-1, -3.761262582423300e-1,
     1.128379165726710e0),
    (2.326819970068386e-2, -1.387039388740657e-1, 3.687424674597105e-1,
     -5.824733027278666e-1, 6.210004621745983e-1, -4.944515323274145e-1,
     3.404879937665872e-1, -2.741127028184656e-1, 5.638259427386472e-1),
    (0.0, -1.047766399936249e1, 1.297719955372516e1, -7.495518717768503e0,
     2.921019019210786e0, -1.015265279202700e0, 4.218463358204948e-1,
     -2.820767439740514e-1, 5.641895067754075e-1)))


@jit
def _erf_gauss64(y, exp_c, taylor, erf_c):
    """(erf(y), exp(-y^2)) of one float64, branch-free (both of erf's forms
    are evaluated and one is kept, one division): a loop around it
    vectorises. exp_c, taylor: ``_EXP_CONSTANTS[float64]``."""
    T, U, P, Q = erf_c
    t = abs(y)
    z = t * t
    e = _exp_le0(-z, exp_c, taylor)
    small = t <= 1.0
    num = t * _horner(z, T) if small else e * _horner(t, P)
    den = _horner(z, U) if small else _horner(min(t, 8.0), Q)
    r = num / den
    a = r if small else 1.0 - r
    return (a if y >= 0.0 else -a), e


@jit
def _erf_gauss32(y, exp_c, taylor, erf_c):
    """``_erf_gauss64`` in float32 arithmetic (8 lanes), Cephes' float forms:
    one division (1 / t) and polynomials."""
    T, P, R = erf_c
    one = np.float32(1.0)
    t = abs(y)
    z = t * t
    e = _exp_le0(-z, exp_c, taylor)
    small = t <= one
    q = one / (one if small else t)
    q2 = q * q
    tail = _horner(q2, P) if t < np.float32(2.0) else _horner(q2, R)
    a = t * _horner(z, T) if small else one - e * q * tail
    return (a if y >= np.float32(0.0) else -a), e


@jit
def _gelu64(x, out, deriv, exp_c, taylor, erf_c, limit):
    """out = x Phi(x), deriv = Phi(x) + x phi(x) of flat float64 x, with
    y = x / sqrt 2: Phi = (1 + erf(y)) / 2, phi = exp(-y^2) / sqrt(2 pi).
    |x| > limit (exp(-y^2) below the fast range) and NaN: ``_gelu_rare``."""
    k = _INV_SQRT_2PI
    for i in range(x.size):
        erf, e = _erf_gauss64(x[i] * _SQRT_HALF, exp_c, taylor, erf_c)
        cdf = 0.5 * (1.0 + erf)
        out[i] = x[i] * cdf
        deriv[i] = cdf + x[i] * (k * e)
    _gelu_rare(x, out, deriv, limit)


@jit
def _gelu32(x, out, deriv, exp_c, taylor, erf_c, limit):
    """``_gelu64`` in float32 arithmetic."""
    half, one = np.float32(0.5), np.float32(1.0)
    s, k = np.float32(_SQRT_HALF), np.float32(_INV_SQRT_2PI)
    for i in range(x.size):
        erf, e = _erf_gauss32(x[i] * s, exp_c, taylor, erf_c)
        cdf = half * (one + erf)
        out[i] = x[i] * cdf
        deriv[i] = cdf + x[i] * (k * e)
    _gelu_rare(x, out, deriv, limit)


@jit
def _gelu_rare(x, out, deriv, limit):
    """Redo by libm (erf, exp in float64) the elements with |x| > limit or
    NaN. A loop of its own, as ``base._exp_rare``: a count inside the main
    loop would stop it vectorising."""
    rare = False
    for i in range(x.size):
        rare |= not abs(x[i]) <= limit
    if rare:
        half, one = x.dtype.type(0.5), x.dtype.type(1.0)
        for i in range(x.size):
            if not abs(x[i]) <= limit:
                y = x[i] * x.dtype.type(_SQRT_HALF)
                cdf = half * (one + x.dtype.type(math.erf(y)))
                out[i] = x[i] * cdf
                deriv[i] = cdf + x[i] * x.dtype.type(_INV_SQRT_2PI * math.exp(-(y * y)))


@jit
def _erf64(y, out, exp_c, taylor, erf_c):
    """out = erf(y) of flat float64 y by ``_erf_gauss64`` (for the tests: the
    GELU's 1 + erf hides erf's last bits)."""
    for i in range(y.size):
        out[i] = _erf_gauss64(y[i], exp_c, taylor, erf_c)[0]


@jit
def _erf32(y, out, exp_c, taylor, erf_c):
    """``_erf64`` in float32 (``_erf_gauss32``)."""
    for i in range(y.size):
        out[i] = _erf_gauss32(y[i], exp_c, taylor, erf_c)[0]


def _erf(y):
    """erf of a float32 or float64 array as the GELU computes it, on its
    fast range (|y| up to 26 in float64, 9 in float32)."""
    flat = _flat(y)
    out = np.empty_like(flat)
    kernel = _erf64 if flat.dtype == np.float64 else _erf32
    kernel(flat, out, *_EXP_CONSTANTS[flat.dtype][1:], _GELU[flat.dtype][1])
    return out.reshape(np.shape(y))


#: dtype -> (kernel, erf coefficients, the largest |x| of its fast path:
#: y^2 = x^2 / 2 within the exp's fast range, -fast_min).
_GELU = {np.dtype(np.float64): (_gelu64, _ERF64, 37.0),
         np.dtype(np.float32): (_gelu32, _ERF32, 13.0)}


def gelu_forward(x):
    """``out = x Phi(x)``, the exact GELU (twin of ``functional.gelu_forward``);
    cache = the derivative Phi(x) + x phi(x). erf (Cephes' forms) and exp
    written to vectorise in x's dtype (``_gelu64``, ``_gelu32``): on the
    MAE's 131,072 decoder activations, float64 435 against 1,639 us for
    libm's scalar erf, float32 182 against 1,715 (alone, at load ~8)."""
    flat = _flat(x)
    out, deriv = np.empty_like(flat), np.empty_like(flat)
    if flat.dtype in _GELU:
        kernel, erf_c, limit = _GELU[flat.dtype]
        _, exp_c, taylor = _EXP_CONSTANTS[flat.dtype]
        kernel(flat, out, deriv, exp_c, taylor, erf_c, flat.dtype.type(limit))
    else:
        out, deriv = (a.astype(flat.dtype) for a in gelu_forward(flat.astype(np.float64)))
    return out.reshape(np.shape(x)), deriv.reshape(np.shape(x))


def gelu_backward(dout, cache):
    """``dx = dout * cache``, the cached derivative (``functional.gelu_backward``):
    one NumPy product, nothing to compile."""
    return dout * cache


# --------------------------------------------------------------------------
# Row softmax and attention
# --------------------------------------------------------------------------

@jit
def _softmax_rows(s, scale, exp_c, taylor):
    """Row softmax of s scale, s: (rows, K) C-contiguous, in three passes:
    the exponents d = s scale - (the row's largest s scale), all <= 0; their
    exp over the whole array in one loop (``_exp_le0``: vectorised, where a
    row of the MAE's scores, 16 numbers, is too short for a vector loop of
    its own); each row divided by its sum. Exponents below the exp's fast
    range (or NaN) take libm's exp instead, in a loop of their own."""
    rows, k = s.shape
    sc = s.dtype.type(scale)
    out = np.empty_like(s)
    for n in range(rows):
        m = s[n, 0] * sc
        for j in range(1, k):
            x = s[n, j] * sc
            if x > m:
                m = x
        for j in range(k):
            out[n, j] = s[n, j] * sc - m
    e = out.reshape(out.size)
    fast_min = exp_c[0]
    rare = False
    for i in range(e.size):
        rare |= not e[i] >= fast_min
    if rare:
        for i in range(e.size):
            e[i] = _exp_le0(e[i], exp_c, taylor) if e[i] >= fast_min else np.exp(e[i])
    else:
        for i in range(e.size):
            e[i] = _exp_le0(e[i], exp_c, taylor)
    for n in range(rows):
        total = s.dtype.type(0)
        for j in range(k):
            total += out[n, j]
        for j in range(k):
            out[n, j] = out[n, j] / total
    return out


def _softmax(s, scale=1.0):
    """``_softmax_rows`` with s's exp constants. The MAE's (128, 4, 16, 16)
    scores, alone: float32 142 against 451 us for libm's exp row by row,
    float64 246 against 686."""
    return _softmax_rows(s, scale, *_EXP_CONSTANTS[s.dtype][1:])


@jit
def _softmax_backward(dout, p, scale):
    """ds = p (dout - sum(dout p)) scale per row (scale 1: the softmax's own
    backward; attention's 1 / sqrt(dh) in the same pass)."""
    rows, k = p.shape
    sc = p.dtype.type(scale)
    ds = np.empty_like(dout)
    for n in range(rows):
        dot = p.dtype.type(0)
        for j in range(k):
            dot += dout[n, j] * p[n, j]
        for j in range(k):
            ds[n, j] = p[n, j] * (dout[n, j] - dot) * sc
    return ds


def softmax_forward(s):
    """Row softmax over the last axis, max subtracted (twin of
    ``functional.softmax_forward``). cache = out."""
    out = _softmax(_rows(s)).reshape(np.shape(s))
    return out, out


def softmax_backward(dout, cache):
    """``ds = p (dout - rowsum(dout p))`` (``functional.softmax_backward``)."""
    p = cache
    return _softmax_backward(_rows(dout), _rows(p), 1.0).reshape(np.shape(dout))


def _scores_softmax(q, k):
    """A = softmax(q k^T / sqrt(dh)) for (N, H, T, dh) q, k (any strides BLAS
    takes): the product by NumPy's batched BLAS, the scale in the softmax's
    first pass."""
    s = q @ np.swapaxes(k, -1, -2)
    return _softmax(s.reshape(-1, s.shape[-1]), 1.0 / float(np.sqrt(q.shape[-1]))).reshape(s.shape)


def attention_forward(q, k, v):
    """``softmax(q k^T / sqrt(dh)) v`` (twin of ``functional.attention_forward``):
    products by NumPy's batched BLAS, the softmax by the row kernels.
    q, k, v: (N, H, T, dh); cache = (q, k, v, A)."""
    a = _scores_softmax(q, k)
    return a @ v, (q, k, v, a)


def _attention_grads(dout, q, k, v, a, dq, dk, dv):
    """dq, dk, dv of attention written into the given arrays (any strides
    BLAS takes): dv = A^T dout, dS = softmax'(dout v^T) / sqrt(dh) (one
    kernel pass), dq = dS k, dk = dS^T q."""
    da = dout @ np.swapaxes(v, -1, -2)
    np.matmul(np.swapaxes(a, -1, -2), dout, out=dv)
    ds = _softmax_backward(da.reshape(-1, da.shape[-1]), _rows(a),
                           1.0 / float(np.sqrt(q.shape[-1]))).reshape(da.shape)
    np.matmul(ds, k, out=dq)
    np.matmul(np.swapaxes(ds, -1, -2), q, out=dk)


def attention_backward(dout, cache):
    """(dq, dk, dv) of attention (``functional.attention_backward``)."""
    q, k, v, a = cache
    dq, dk, dv = np.empty(q.shape, q.dtype), np.empty(k.shape, k.dtype), np.empty(v.shape, v.dtype)
    _attention_grads(dout, q, k, v, a, dq, dk, dv)
    return dq, dk, dv


def multihead_attention_forward(qkv, n_heads):
    """Attention of ``n_heads`` heads on packed qkv (N, T, 3 D) -> out
    (N, T, D), cache = (qkv, A) (twin of
    ``functional.multihead_attention_forward``): the heads are strided
    views of qkv and of out, so BLAS reads and writes them in place, with
    no copy to split or join the heads."""
    n, t, d3 = qkv.shape
    dh = d3 // 3 // n_heads
    x = qkv.reshape(n, t, 3, n_heads, dh).transpose(2, 0, 3, 1, 4)   # (3, N, H, T, dh)
    a = _scores_softmax(x[0], x[1])
    out = np.empty((n, t, d3 // 3), qkv.dtype)
    np.matmul(a, x[2], out=out.reshape(n, t, n_heads, dh).transpose(0, 2, 1, 3))
    return out, (qkv, a)


def multihead_attention_backward(dout, cache):
    """dqkv (N, T, 3 D) from dout (N, T, D) (twin of
    ``functional.multihead_attention_backward``), each gradient written by
    BLAS straight into its place in dqkv."""
    qkv, a = cache
    n, t, d3 = qkv.shape
    h = a.shape[1]
    dh = d3 // 3 // h
    x = qkv.reshape(n, t, 3, h, dh).transpose(2, 0, 3, 1, 4)
    g = np.ascontiguousarray(dout).reshape(n, t, h, dh).transpose(0, 2, 1, 3)
    dqkv = np.empty((n, t, d3), qkv.dtype)
    dx = dqkv.reshape(n, t, 3, h, dh).transpose(2, 0, 3, 1, 4)
    _attention_grads(g, x[0], x[1], x[2], a, dx[0], dx[1], dx[2])
    return dqkv


# --------------------------------------------------------------------------
# The attention sublayer on token-major tokens (T, N, D)
# --------------------------------------------------------------------------

@jit
def _attention_tm(x, scale, exp_c, taylor):
    """Every head's attention on x: (3, H, dh, T, N) C-contiguous (q, k, v;
    head; feature; token; image), the batch innermost: each loop below runs
    over the N images of one (head, query, key, feature), so it vectorises
    however small T and dh are. Returns out (H, dh, T, N) and the weights
    A (H, T, T, N). Per (head, query i): the scores s_j = (q_i . k_j) scale,
    their softmax over j (max subtracted; ``_exp_le0``, or libm's exp for
    the exponents below its fast range and NaN, as ``_softmax_rows``),
    out_i = sum_j A_ij v_j."""
    _, n_heads, dh, t, n = x.shape
    dt = x.dtype.type
    sc = dt(scale)
    fast_min = exp_c[0]
    a = np.empty((n_heads, t, t, n), x.dtype)
    out = np.empty((n_heads, dh, t, n), x.dtype)
    m, z = np.empty(n, x.dtype), np.empty(n, x.dtype)
    for h in range(n_heads):
        for i in range(t):
            s = a[h, i]
            for j in range(t):
                sj, q0, k0 = s[j], x[0, h, 0, i], x[1, h, 0, j]
                for r in range(n):
                    sj[r] = q0[r] * k0[r]
                for d in range(1, dh):
                    qd, kd = x[0, h, d, i], x[1, h, d, j]
                    for r in range(n):
                        sj[r] += qd[r] * kd[r]
                for r in range(n):
                    sj[r] *= sc
            for r in range(n):
                m[r] = s[0, r]
            for j in range(1, t):
                sj = s[j]
                for r in range(n):
                    m[r] = max(m[r], sj[r])
            rare = False
            for j in range(t):
                sj = s[j]
                for r in range(n):
                    sj[r] -= m[r]
                    rare |= not sj[r] >= fast_min
            for r in range(n):
                z[r] = dt(0)
            for j in range(t):
                sj = s[j]
                if rare:        # below exp's fast range, or NaN: libm's exp
                    for r in range(n):
                        sj[r] = _exp_le0(sj[r], exp_c, taylor) if sj[r] >= fast_min \
                            else np.exp(sj[r])
                else:
                    for r in range(n):
                        sj[r] = _exp_le0(sj[r], exp_c, taylor)
                for r in range(n):
                    z[r] += sj[r]
            for j in range(t):
                sj = s[j]
                for r in range(n):
                    sj[r] /= z[r]
            for d in range(dh):
                o, s0, v0 = out[h, d, i], s[0], x[2, h, d, 0]
                for r in range(n):
                    o[r] = s0[r] * v0[r]
                for j in range(1, t):
                    sj, vj = s[j], x[2, h, d, j]
                    for r in range(n):
                        o[r] += sj[r] * vj[r]
    return out, a


@jit
def _attention_tm_backward(dout, x, a, scale):
    """dqkv (3, H, dh, T, N) of ``_attention_tm`` from dout (H, dh, T, N),
    loops over the batch as in the forward pass. Per (head, query i):
    dA_ij = dout_i . v_j and dv_j += A_ij dout_i; dS_ij = A_ij (dA_ij -
    sum_j' A_ij' dA_ij') scale; dq_i += dS_ij k_j, dk_j += dS_ij q_i."""
    _, n_heads, dh, t, n = x.shape
    dt = x.dtype.type
    sc = dt(scale)
    dx = np.zeros_like(x)
    da = np.empty((t, n), x.dtype)
    dot = np.empty(n, x.dtype)
    for h in range(n_heads):
        for i in range(t):
            ai = a[h, i]
            for j in range(t):
                dj, aj = da[j], ai[j]
                for r in range(n):
                    dj[r] = dt(0)
                for d in range(dh):
                    g, vj, dvj = dout[h, d, i], x[2, h, d, j], dx[2, h, d, j]
                    for r in range(n):
                        dj[r] += g[r] * vj[r]
                        dvj[r] += aj[r] * g[r]
            for r in range(n):
                dot[r] = dt(0)
            for j in range(t):
                dj, aj = da[j], ai[j]
                for r in range(n):
                    dot[r] += aj[r] * dj[r]
            for j in range(t):
                dj, aj = da[j], ai[j]
                for r in range(n):
                    dj[r] = aj[r] * (dj[r] - dot[r]) * sc
            for d in range(dh):
                dqi, qi = dx[0, h, d, i], x[0, h, d, i]
                for j in range(t):
                    dj, kj, dkj = da[j], x[1, h, d, j], dx[1, h, d, j]
                    for r in range(n):
                        dqi[r] += dj[r] * kj[r]
                        dkj[r] += dj[r] * qi[r]
    return dx


def multihead_attention_tm_forward(x, Wqkv, bqkv, Wo, bo, n_heads):
    """The attention sublayer on token-major x (T, N, D) (twin of
    ``functional.multihead_attention_tm_forward``): qkv^T = Wqkv^T x^T by
    BLAS, written (3 D, T N), so that the heads (``_attention_tm``) loop
    over the batch; y = out^T Wo from the transposed view. Against the
    batch-first op (``multihead_attention_forward``: batch x heads BLAS
    calls of 16 x 8 x 16): see ``docs/performance.md``, MAE round nine."""
    t, n, _ = x.shape
    x2 = _rows(x)
    qkv_t = Wqkv.T @ x2.T                                       # (3 D, T N)
    qkv_t += np.asarray(bqkv)[:, None]
    d_attn = Wqkv.shape[1] // 3
    dh = d_attn // n_heads
    exp_c, taylor = _EXP_CONSTANTS[qkv_t.dtype][1:]
    out_t, a = _attention_tm(qkv_t.reshape(3, n_heads, dh, t, n),
                             1.0 / float(np.sqrt(dh)), exp_c, taylor)
    out_t = out_t.reshape(d_attn, t, n)
    y = out_t.reshape(d_attn, t * n).T @ Wo
    _add_bias(y, _flat(bo))
    return y.reshape(t, n, Wo.shape[1]), (x, qkv_t.reshape(-1, t, n), a, out_t, Wqkv, Wo)


def multihead_attention_tm_backward(dy, cache, need_dx=True, dWqkv_out=None, dWo_out=None):
    """(dx, dWqkv, dbqkv, dWo, dbo) of ``multihead_attention_tm_forward``
    (``functional.multihead_attention_tm_backward``): dout^T = Wo dy^T,
    dWqkv = x^T dqkv^T and dx = dqkv^T Wqkv^T, each one BLAS call on
    transposed views; the heads by ``_attention_tm_backward``."""
    x, qkv_t, a, out_t, Wqkv, Wo = cache
    d3, t, n = qkv_t.shape
    n_heads, dh = a.shape[0], d3 // 3 // a.shape[0]
    dy2 = _rows(dy)
    dWo = np.matmul(out_t.reshape(-1, t * n), dy2, out=dWo_out)
    dbo = _column_sum(dy2)
    dout_t = Wo @ dy2.T                                         # (D, T N)
    dqkv = _attention_tm_backward(dout_t.reshape(n_heads, dh, t, n),
                                  qkv_t.reshape(3, n_heads, dh, t, n), a,
                                  1.0 / float(np.sqrt(dh))).reshape(d3, t * n)
    x2 = _rows(x)
    dWqkv = np.matmul(x2.T, dqkv.T, out=dWqkv_out)
    dbqkv = dqkv.sum(axis=1)
    dx = (dqkv.T @ Wqkv.T).reshape(x.shape) if need_dx else None
    return dx, dWqkv, dbqkv, dWo, dbo


# --------------------------------------------------------------------------
# Masked squared error
# --------------------------------------------------------------------------

@jit
def _masked_mse(pred, target, mask):
    """pred, target: (R, P), mask: (R,) in pred's dtype; loss summed in
    float64, dpred = 2 m (pred - target) / N is scaled by the caller."""
    rows, p = pred.shape
    diff = np.empty_like(pred)
    total = 0.0
    for n in range(rows):
        m = mask[n]
        for j in range(p):
            d = (pred[n, j] - target[n, j]) * m
            diff[n, j] = d
            total += d * d
    return total, diff


def masked_mse_loss(pred, target, mask, batch_first=True):
    """Squared error on the masked patches (twin of
    ``functional.masked_mse_loss``). pred, target: (N, T, P), mask: (N, T);
    token-major (T, N, P), (T, N) if not ``batch_first``."""
    n = pred.shape[0 if batch_first else 1]
    m = np.ascontiguousarray(mask, dtype=pred.dtype).reshape(-1)
    total, diff = _masked_mse(_rows(pred), _rows(target).astype(pred.dtype, copy=False), m)
    diff *= pred.dtype.type(2.0 / n)
    return float(total) / n, diff.reshape(pred.shape)


__all__ = [
    "patchify", "unpatchify", "gather_tokens", "scatter_tokens",
    "layernorm_forward", "layernorm_backward", "gelu_forward", "gelu_backward",
    "softmax_forward", "softmax_backward", "attention_forward", "attention_backward",
    "multihead_attention_forward", "multihead_attention_backward", "masked_mse_loss",
    "multihead_attention_tm_forward", "multihead_attention_tm_backward",
]
