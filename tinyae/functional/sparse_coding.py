"""Sparse coding ops: the soft-threshold (the proximal map of the L1 norm)
and one ISTA step, the building block of ISTA, FISTA and the inference of
predictive sparse decomposition (conventions in ``tinyae.functional``).

Notation. A signal x: (N, d) is explained by a code z: (N, K) over a
dictionary D: (K, d) whose rows are the K atoms (overcomplete: K > d); the
reconstruction is ``z D``. The sparse-coding energy of one example is

    F(z) = f(z) + lam ||z||_1,   f(z) = 1/2 ||x - z D||^2 + alpha/2 ||z - p||^2,

where the second term of f is optional: alpha = 0 is plain sparse coding
(the lasso); alpha > 0 adds predictive sparse decomposition's pull towards
an encoder's prediction p: (N, K). f is smooth with gradient

    grad f(z) = (z D - x) D^T + alpha (z - p),

Lipschitz with constant L = ||D||_2^2 + alpha (the largest eigenvalue of
D D^T, plus alpha); the L1 term is not smooth but has a cheap proximal map.
"""

import numpy as np


# --------------------------------------------------------------------------
# Soft-threshold: the proximal map of t |.|
# --------------------------------------------------------------------------

def soft_threshold_forward(v, t):
    """``out = sign(v) max(|v| - t, 0)``, element-wise; v any shape, t >= 0.

    It is the proximal map of t|.|: out = argmin_z 1/2 (z - v)^2 + t |z|.
    Optimality says 0 is in z - v + t d|z|, with the subdifferential
    d|z| = {sign(z)} for z != 0 and [-1, 1] at z = 0: so z = v - t sign(v)
    when |v| > t, and z = 0 when |v| <= t (then v/t is in [-1, 1]).

    cache = mask ``|v| > t`` (bool, shape of v): the derivative.
    """
    mask = np.abs(v) > t
    out = np.where(mask, v - t * np.sign(v), 0).astype(v.dtype, copy=False)
    return out, mask


def soft_threshold_backward(dout, cache):
    """``dv = dout * [|v| > t]``.

    On |v| > t the map is v - t sign(v), slope 1; on |v| < t it is the
    constant 0, slope 0. At the two kinks |v| = t it has no derivative (the
    one-sided slopes are 0 and 1); 0 is used there, as for ReLU (soft-
    thresholding is ReLU(v - t) - ReLU(-v - t)).
    """
    mask = cache
    return dout * mask


# --------------------------------------------------------------------------
# One ISTA step (a proximal-gradient step on F)
# --------------------------------------------------------------------------

def ista_step_forward(z, x, D, lam, step, alpha=0.0, p=None):
    """One proximal-gradient step on F, as a function of the code:

        u   = z - step * grad f(z)
            = z - step * ((z D - x) D^T + alpha (z - p))
        out = soft(u, step * lam)

    z: (N, K), x: (N, d), D: (K, d), p: (N, K) or None (no prediction
    term: alpha is then not read); lam >= 0, step > 0 (1/L for the
    guarantees). out: (N, K).
    With step = 1/L, F(out) <= F(z) (ISTA is a descent method).
    cache = (z, D, R, mask, step, alpha, has_p) with R = z D - x: (N, d) and mask
    ``|u| > step lam``.
    """
    step = z.dtype.type(step)
    alpha = z.dtype.type(alpha if p is not None else 0)
    R = z @ D - x                                    # (N, d) residual
    u = z - step * (R @ D.T)                         # (N, K)
    if p is not None:
        u = u - (step * alpha) * (z - p)
    out, mask = soft_threshold_forward(u, step * z.dtype.type(lam))
    return out, (z, D, R, mask, step, alpha, p is not None)


def ista_step_backward(dout, cache):
    """Gradients of one ISTA step. With g = dout * mask (the soft-threshold's
    derivative, ``soft_threshold_backward``) and u as in the forward,

        u = (1 - step alpha) z - step (z D - x) D^T + step alpha p,

    so, the products read off term by term:

        dz = (1 - step alpha) g - step (g D) D^T      (N, K)
        dx = step g D                                 (N, d)
        dD = -step (g^T R + z^T (g D))                (K, d), R = z D - x
        dp = step alpha g                             (N, K), None without p

    (dD: D appears twice, in R = z D - x and in R D^T; each use gives one
    product.) Returns (dz, dx, dD, dp).
    """
    z, D, R, mask, step, alpha, has_p = cache
    g = soft_threshold_backward(dout, mask)
    gD = g @ D                                       # (N, d)
    dz = (1 - step * alpha) * g - step * (gD @ D.T)
    dx = step * gD
    dD = -step * (g.T @ R + z.T @ gD)
    dp = (step * alpha) * g if has_p else None
    return dz, dx, dD, dp


def sparse_coding_energy(z, x, D, lam, alpha=0.0, p=None):
    """Per-example energy F(z) = 1/2 ||x - z D||^2 + lam ||z||_1
    (+ alpha/2 ||z - p||^2): (N,) float64. Shapes as in ``ista_step_forward``."""
    R = (z @ D - x).astype(np.float64)
    F = 0.5 * np.sum(R * R, axis=1) + lam * np.sum(np.abs(z), axis=1, dtype=np.float64)
    if p is not None:
        diff = (z - p).astype(np.float64)
        F = F + 0.5 * alpha * np.sum(diff * diff, axis=1)
    return F
