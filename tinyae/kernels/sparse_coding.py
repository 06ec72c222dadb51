"""Numba twins of ``tinyae.functional.sparse_coding`` (how twins are built:
see ``tinyae.kernels``). The products of an ISTA step are NumPy's BLAS; the
gradient step, the threshold and its mask are one fused Numba pass."""

import numpy as np

from .base import _flat, _masked, jit


@jit
def _shrink(a, t, zero):
    """One element: (sign(a) max(|a| - t, 0), |a| > t)."""
    if a > t:
        return a - t, True
    if a < -t:
        return a + t, True
    return zero, False


@jit
def _soft(v, t):
    """out = sign(v) max(|v| - t, 0) and mask |v| > t, flat arrays."""
    zero = v.dtype.type(0)
    out = np.empty_like(v)
    mask = np.empty(v.size, np.bool_)
    for i in range(v.size):
        out[i], mask[i] = _shrink(v[i], t, zero)
    return out, mask


def soft_threshold_forward(v, t):
    """``out = sign(v) max(|v| - t, 0)``, cache = mask ``|v| > t`` (twin of
    ``functional.soft_threshold_forward``)."""
    t = np.asarray(v).dtype.type(t)
    out, mask = _soft(_flat(v), t)
    return out.reshape(np.shape(v)), mask.reshape(np.shape(v))


def soft_threshold_backward(dout, cache):
    """``dv = dout * [|v| > t]``."""
    return _masked(_flat(dout), _flat(cache)).reshape(np.shape(dout))


@jit
def _ista_update(z, G, p, step, alpha, t, has_p):
    """u = z - step G - step alpha (z - p); out = soft(u, t), mask (flat)."""
    zero = z.dtype.type(0)
    out = np.empty_like(z)
    mask = np.empty(z.size, np.bool_)
    sa = step * alpha
    for i in range(z.size):
        u = z[i] - step * G[i]
        if has_p:
            u = u - sa * (z[i] - p[i])
        out[i], mask[i] = _shrink(u, t, zero)
    return out, mask


def ista_step_forward(z, x, D, lam, step, alpha=0.0, p=None):
    """One ISTA step ``soft(z - step grad f(z), step lam)`` (twin of
    ``functional.ista_step_forward``): R = z D - x and G = R D^T by BLAS,
    the rest in one pass."""
    dt = z.dtype.type
    step = dt(step)
    alpha = dt(alpha if p is not None else 0)
    R = z @ D - x                                    # (N, d)
    G = R @ D.T                                      # (N, K)
    pf = _flat(p) if p is not None else _flat(z)     # unread without p
    out, mask = _ista_update(_flat(z), _flat(G), pf, step, alpha, step * dt(lam),
                             p is not None)
    return out.reshape(z.shape), (z, D, R, mask.reshape(z.shape), step, alpha,
                                  p is not None)


@jit
def _ista_dz(g, gDDt, step, alpha):
    """dz = (1 - step alpha) g - step gDDt (flat)."""
    c = g.dtype.type(1) - step * alpha
    dz = np.empty_like(g)
    for i in range(g.size):
        dz[i] = c * g[i] - step * gDDt[i]
    return dz


def ista_step_backward(dout, cache):
    """(dz, dx, dD, dp) of one ISTA step (twin of
    ``functional.ista_step_backward``)."""
    z, D, R, mask, step, alpha, has_p = cache
    g = soft_threshold_backward(dout, mask)
    gD = g @ D                                       # (N, d)
    dz = _ista_dz(_flat(g), _flat(gD @ D.T), step, alpha).reshape(g.shape)
    dx = step * gD
    dD = -step * (g.T @ R + z.T @ gD)
    dp = (step * alpha) * g if has_p else None
    return dz, dx, dD, dp
