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
from .base import _exp_neg_abs, _flat, _map, jit


def _rows(a):
    """(..., K) -> (rows, K) C-contiguous (a copy only for views)."""
    a = np.ascontiguousarray(a)
    return a.reshape(-1, a.shape[-1])


# --------------------------------------------------------------------------
# LayerNorm
# --------------------------------------------------------------------------

@jit
def _layernorm(x, gamma, beta, eps):
    """Per row: mu, var (two passes), r = 1/sqrt(var + eps), xhat, out."""
    rows, d = x.shape
    one, dd = x.dtype.type(1), x.dtype.type(d)
    e = x.dtype.type(eps)
    out, xhat = np.empty_like(x), np.empty_like(x)
    r = np.empty((rows, 1), x.dtype)
    for n in range(rows):
        s = x.dtype.type(0)
        for i in range(d):
            s += x[n, i]
        mu = s / dd
        s = x.dtype.type(0)
        for i in range(d):
            c = x[n, i] - mu
            s += c * c
        rn = one / np.sqrt(s / dd + e)
        r[n, 0] = rn
        for i in range(d):
            h = (x[n, i] - mu) * rn
            xhat[n, i] = h
            out[n, i] = h * gamma[i] + beta[i]
    return out, xhat, r


@jit
def _layernorm_backward(dout, xhat, r, gamma):
    """dx = r (g - mean(g) - xhat mean(g xhat)), g = dout gamma; dgamma, dbeta
    summed over rows."""
    rows, d = dout.shape
    dd = dout.dtype.type(d)
    dx = np.empty_like(dout)
    dgamma = np.zeros(d, dout.dtype)
    dbeta = np.zeros(d, dout.dtype)
    for n in range(rows):
        sg = dout.dtype.type(0)
        sgx = dout.dtype.type(0)
        for i in range(d):
            g = dout[n, i] * gamma[i]
            sg += g
            sgx += g * xhat[n, i]
            dgamma[i] += dout[n, i] * xhat[n, i]
            dbeta[i] += dout[n, i]
        mg, mgx = sg / dd, sgx / dd
        for i in range(d):
            dx[n, i] = r[n, 0] * (dout[n, i] * gamma[i] - mg - xhat[n, i] * mgx)
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

@jit
def _gelu(x):
    """cdf = Phi(x) = (1 + erf(x / sqrt 2)) / 2 (libm's erf), out = x cdf."""
    out, cdf = np.empty_like(x), np.empty_like(x)
    for i in range(x.size):
        c = 0.5 * (1.0 + math.erf(x[i] * _SQRT_HALF))
        cdf[i] = c
        out[i] = x[i] * cdf[i]
    return out, cdf


@jit
def _gelu_backward(dout, x, cdf, e):
    """dx = dout (cdf + x phi(x)), phi(x) = e / sqrt(2 pi), e = exp(-x^2/2)."""
    dx = np.empty_like(dout)
    k = dout.dtype.type(_INV_SQRT_2PI)
    for i in range(x.size):
        dx[i] = dout[i] * (cdf[i] + x[i] * (k * e[i]))
    return dx


def gelu_forward(x):
    """``out = x Phi(x)``, the exact GELU (twin of ``functional.gelu_forward``;
    erf in double precision per element, stored in x's dtype).
    cache = (x, Phi(x))."""
    out, cdf = _gelu(_flat(x))
    return out.reshape(np.shape(x)), (x, cdf.reshape(np.shape(x)))


def gelu_backward(dout, cache):
    """``dx = dout (Phi(x) + x phi(x))`` (``functional.gelu_backward``); the
    exp by the library's vectorised exp(-|a|) (``kernels.base._exp_neg_abs``:
    on 2048 x 64, 446 against NumPy's 791 us in float64, 144 against 216 in
    float32), the rest in one Numba pass."""
    x, cdf = cache
    e = _exp_neg_abs(0.5 * x * x)
    return _map(_gelu_backward, dout, x, cdf, e)


# --------------------------------------------------------------------------
# Row softmax and attention
# --------------------------------------------------------------------------

@jit
def _softmax(s):
    """Per row: m = max, e = exp(s - m), out = e / sum(e)."""
    rows, k = s.shape
    out = np.empty_like(s)
    for n in range(rows):
        m = s[n, 0]
        for j in range(1, k):
            if s[n, j] > m:
                m = s[n, j]
        total = s.dtype.type(0)
        for j in range(k):
            e = np.exp(s[n, j] - m)
            out[n, j] = e
            total += e
        for j in range(k):
            out[n, j] = out[n, j] / total
    return out


@jit
def _softmax_backward(dout, p):
    """ds = p (dout - sum(dout p)) per row."""
    rows, k = p.shape
    ds = np.empty_like(dout)
    for n in range(rows):
        dot = p.dtype.type(0)
        for j in range(k):
            dot += dout[n, j] * p[n, j]
        for j in range(k):
            ds[n, j] = p[n, j] * (dout[n, j] - dot)
    return ds


def softmax_forward(s):
    """Row softmax over the last axis, max subtracted (twin of
    ``functional.softmax_forward``). cache = out."""
    out = _softmax(_rows(s)).reshape(np.shape(s))
    return out, out


def softmax_backward(dout, cache):
    """``ds = p (dout - rowsum(dout p))`` (``functional.softmax_backward``)."""
    p = cache
    return _softmax_backward(_rows(dout), _rows(p)).reshape(np.shape(dout))


def attention_forward(q, k, v):
    """``softmax(q k^T / sqrt(dh)) v`` (twin of ``functional.attention_forward``):
    products by NumPy's batched BLAS, the softmax by the row kernel.
    q, k, v: (N, H, T, dh); cache = (q, k, v, A)."""
    scale = 1.0 / float(np.sqrt(q.shape[-1]))     # a Python float: keeps float32
    a, _ = softmax_forward((q @ np.swapaxes(k, -1, -2)) * scale)
    return a @ v, (q, k, v, a)


def attention_backward(dout, cache):
    """(dq, dk, dv) of attention (``functional.attention_backward``)."""
    q, k, v, a = cache
    scale = 1.0 / float(np.sqrt(q.shape[-1]))     # a Python float: keeps float32
    ds = softmax_backward(dout @ np.swapaxes(v, -1, -2), a) * scale
    return ds @ k, np.swapaxes(ds, -1, -2) @ q, np.swapaxes(a, -1, -2) @ dout


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


def masked_mse_loss(pred, target, mask):
    """Squared error on the masked patches (twin of
    ``functional.masked_mse_loss``). pred, target: (N, T, P), mask: (N, T)."""
    n = pred.shape[0]
    m = np.ascontiguousarray(mask, dtype=pred.dtype).reshape(-1)
    total, diff = _masked_mse(_rows(pred), _rows(target).astype(pred.dtype, copy=False), m)
    diff *= pred.dtype.type(2.0 / n)
    return float(total) / n, diff.reshape(pred.shape)


__all__ = [
    "patchify", "unpatchify", "gather_tokens", "scatter_tokens",
    "layernorm_forward", "layernorm_backward", "gelu_forward", "gelu_backward",
    "softmax_forward", "softmax_backward", "attention_forward", "attention_backward",
    "masked_mse_loss",
]
