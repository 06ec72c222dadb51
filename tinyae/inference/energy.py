"""Energy-based latent-variable models (NYU Deep Learning, week 8; LeCun et
al., "A tutorial on energy-based learning", 2006).

An energy E(y, z) >= 0 scores how well a latent z explains an observation y.
Nothing here is normalised: inference is minimisation (zero temperature) or
a soft minimum (the free energy at inverse temperature beta).

The course's toy model
----------------------
y in R^2 near an ellipse, a 1-D latent z (an angle) and the fixed decoder

    g(z) = [w1 cos z, w2 sin z],     E(y, z) = ||y - g(z)||^2 + lam z^2,

the last term an optional regulariser R(z) = lam z^2 (lam = 0 by default).
With r1 = y1 - w1 cos z, r2 = y2 - w2 sin z (so dr1/dz = w1 sin z and
dr2/dz = -w2 cos z):

    dE/dz   = 2 r1 w1 sin z - 2 r2 w2 cos z + 2 lam z
    dE/dy   = (2 r1, 2 r2)
    dE/dw1  = -2 r1 cos z,   dE/dw2 = -2 r2 sin z
    d2E/dz2 = 2 (w1^2 sin^2 z + r1 w1 cos z + w2^2 cos^2 z + r2 w2 sin z + lam)

(``ellipse_energy_forward`` / ``ellipse_energy_backward`` /
``ellipse_energy_curvature``; the gradient checker tests all of them).

Zero temperature: z_check(y) = argmin_z E(y, z) by gradient descent on z
(``descend``), and the free energy F_inf(y) = min_z E(y, z).

Free energy at inverse temperature beta
---------------------------------------

    F_beta(y) = -(1/beta) log int exp(-beta E(y, z)) dz,

a soft minimum over z, computed by quadrature on a uniform grid of z with a
max-shifted log-sum-exp (``free_energy``): with E_i = E(y, z_i) on spacing dz,

    F_beta = -(1/beta) [logsumexp_i(-beta E_i) + log dz].

As beta -> infinity, F_beta -> F_inf. Near a smooth minimum z* (curvature
E'' = d2E/dz2 > 0), Laplace's method gives int exp(-beta E) dz ~
exp(-beta E*) sqrt(2 pi / (beta E'')), hence

    F_beta - F_inf ~ (1 / (2 beta)) log(beta E'' / (2 pi))      (one latent),

so beta (F_beta - F_inf) grows like (1/2) log beta: the gap shrinks as
log(beta) / (2 beta) (``laplace_free_energy``). For k latents the 1/2 becomes
k/2 and E'' the determinant of the Hessian.
"""

import numpy as np
from scipy.special import logsumexp

from .._validation import (check_array, check_nonneg_float, check_positive_float,
                          check_positive_int, check_rng)

__all__ = ["ellipse_decoder", "ellipse_energy_forward", "ellipse_energy_backward",
           "ellipse_energy", "ellipse_energy_curvature", "descend", "free_energy",
           "ellipse_free_energy", "laplace_free_energy", "ellipse_points"]


# --------------------------------------------------------------------------
# The ellipse energy (reference functions, no validation: see ``ellipse_energy``)
# --------------------------------------------------------------------------

def _split_y(y, z):
    """y: (n, 2) -> y1, y2 each (n, 1, ..., 1) broadcastable against z (n, ...)."""
    shape = (y.shape[0],) + (1,) * (z.ndim - 1)
    return y[:, 0].reshape(shape), y[:, 1].reshape(shape)


def ellipse_decoder(z, w):
    """g(z) = [w1 cos z, w2 sin z]: z (...) -> (..., 2)."""
    return np.stack([w[0] * np.cos(z), w[1] * np.sin(z)], axis=-1)


def ellipse_energy_forward(y, z, w, lam=0.0):
    """E(y, z) = (y1 - w1 cos z)^2 + (y2 - w2 sin z)^2 + lam z^2.

    y: (n, 2); z: (n,) (one latent per observation) or (n, m) (m latents per
    observation, e.g. a quadrature grid); w: (2,). Returns (E shaped like z,
    cache). Gradients: ``ellipse_energy_backward`` (module docstring).
    """
    y1, y2 = _split_y(y, z)
    c, s = np.cos(z), np.sin(z)
    r1 = y1 - w[0] * c                     # (n, ...) residuals
    r2 = y2 - w[1] * s
    E = r1 * r1 + r2 * r2 + lam * z * z
    return E, (y, z, w, lam, c, s, r1, r2)


def ellipse_energy_backward(dE, cache):
    """dE = dL/dE (shaped like z) -> (dy (n, 2), dz (like z), dw (2,)):

        dz  = dE (2 r1 w1 sin z - 2 r2 w2 cos z + 2 lam z)
        dy  = sum over the latents of dE (2 r1, 2 r2)
        dw1 = -sum dE 2 r1 cos z,   dw2 = -sum dE 2 r2 sin z.
    """
    y, z, w, lam, c, s, r1, r2 = cache
    dz = dE * (2.0 * r1 * w[0] * s - 2.0 * r2 * w[1] * c + 2.0 * lam * z)
    axes = tuple(range(1, z.ndim))
    dy = np.stack([np.sum(2.0 * dE * r1, axis=axes), np.sum(2.0 * dE * r2, axis=axes)],
                  axis=1)
    dw = np.array([-np.sum(2.0 * dE * r1 * c), -np.sum(2.0 * dE * r2 * s)])
    return dy, dz, dw


def ellipse_energy_curvature(y, z, w, lam=0.0):
    """d2E/dz2 = 2 (w1^2 sin^2 z + r1 w1 cos z + w2^2 cos^2 z + r2 w2 sin z + lam),
    shaped like z (y: (n, 2), z: (n,) or (n, m))."""
    _, (_, _, _, _, c, s, r1, r2) = ellipse_energy_forward(y, z, w, lam)
    return 2.0 * (w[0] ** 2 * s * s + r1 * w[0] * c + w[1] ** 2 * c * c
                  + r2 * w[1] * s + lam)


def _check_ellipse_args(y, z, w, lam):
    y = check_array(y, "y", shape=(None, 2))
    z = np.asarray(z, dtype=np.float64)
    if z.ndim not in (1, 2) or z.shape[0] != y.shape[0]:
        raise ValueError(f"z must have shape ({y.shape[0]},) or ({y.shape[0]}, m) "
                         f"(one row per row of y), got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("z contains NaN or infinite values")
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (2,) or not np.all(np.isfinite(w)):
        raise ValueError(f"w must be 2 finite numbers (w1, w2), got {w!r}")
    return y.astype(np.float64), z, w, check_nonneg_float(lam, "lam")


def ellipse_energy(y, z, w, lam=0.0):
    """Validated energy and its gradient in z: returns (E, dE/dz), each shaped
    like z. y: (n, 2), z: (n,) or (n, m), w: (w1, w2), lam >= 0."""
    y, z, w, lam = _check_ellipse_args(y, z, w, lam)
    E, cache = ellipse_energy_forward(y, z, w, lam)
    return E, ellipse_energy_backward(np.ones_like(E), cache)[1]


def ellipse_points(n, *, rng, w=(1.0, 2.0), noise=0.0):
    """n points y = g(theta) + noise * e with theta ~ U(-pi, pi), e ~ N(0, I).

    Returns (y (n, 2), theta (n,)) in float64."""
    n = check_positive_int(n, "n")
    check_rng(rng)
    noise = check_nonneg_float(noise, "noise")
    theta = rng.uniform(-np.pi, np.pi, size=n)
    y = ellipse_decoder(theta, np.asarray(w, dtype=np.float64))
    return y + noise * rng.standard_normal((n, 2)), theta


# --------------------------------------------------------------------------
# Zero temperature: gradient descent on the latent
# --------------------------------------------------------------------------

def descend(energy_and_grad, z0, *, lr, max_steps, tol=0.0, target=None):
    """Minimise an energy over the latent by plain gradient descent,
    z <- z - lr dE/dz, one example at a time in a batch.

    energy_and_grad(z) -> (E (n,), dE/dz shaped like z); z0: (n,) or (n, k),
    copied; a float array keeps its dtype, anything else (a list, integer
    starting points such as np.zeros(n, int)) becomes float64.
    An example stops (its z frozen) at the first step where the norm of its
    gradient is <= tol, or its energy is <= target (an (n,) array of
    per-example energies to reach, or None); with tol = 0 and no target
    every example takes ``max_steps`` steps.

    Returns (z, steps (n,) int: the gradient steps each example took, E (n,)
    at the returned z).
    """
    lr = check_positive_float(lr, "lr")
    max_steps = check_positive_int(max_steps, "max_steps")
    tol = check_nonneg_float(tol, "tol")
    floating = isinstance(z0, np.ndarray) and np.issubdtype(z0.dtype, np.floating)
    z = np.array(z0, dtype=z0.dtype if floating else np.float64)
    if z.ndim not in (1, 2):
        raise ValueError(f"z0 must have shape (n,) or (n, k), got shape {z.shape}")
    if target is not None:
        target = np.asarray(target, dtype=np.float64)
        if target.shape != (z.shape[0],):
            raise ValueError(f"target must have shape ({z.shape[0]},) (one energy per "
                             f"example), got shape {target.shape}")
    steps = np.zeros(z.shape[0], dtype=np.int64)
    active = np.ones(z.shape[0], dtype=bool)
    for _ in range(max_steps):
        E, g = energy_and_grad(z)
        norm = np.sqrt((g * g).reshape(g.shape[0], -1).sum(axis=1))     # (n,)
        active &= norm > tol
        if target is not None:
            active &= E > target
        if not active.any():
            break
        z[active] -= lr * g[active]
        steps[active] += 1
    return z, steps, energy_and_grad(z)[0]


# --------------------------------------------------------------------------
# Finite temperature: the free energy by quadrature
# --------------------------------------------------------------------------

def free_energy(energies, beta, dz):
    """F_beta = -(1/beta) log sum_i exp(-beta E_i) dz (rectangle rule).

    energies: (..., m) energies on a uniform grid of m latents with spacing
    ``dz`` (for a periodic latent on [a, a + m dz) the rectangle rule is
    exact to rounding for smooth integrands). Returns (...,) float64; the
    log-sum-exp is shifted by the minimum so no exp overflows at any beta.
    """
    beta = check_positive_float(beta, "beta")
    dz = check_positive_float(dz, "dz")
    E = np.asarray(energies, dtype=np.float64)
    if E.ndim < 1 or E.shape[-1] == 0:
        raise ValueError(f"energies must have a non-empty last axis (the grid), "
                         f"got shape {E.shape}")
    _check_no_nan(E, "energies")               # +inf is fine: a state of zero weight
    return -(logsumexp(-beta * E, axis=-1) + np.log(dz)) / beta


def _check_no_nan(a, name):
    if np.isnan(a).any():
        raise ValueError(f"{name} contains {int(np.isnan(a).sum())} NaN value(s)")


def ellipse_free_energy(y, w, beta, *, lam=0.0, n_grid=4096):
    """F_beta(y) of the ellipse energy over z in [-pi, pi), and F_inf(y) =
    min over the same grid: y (n, 2) -> (F_beta (n,), F_inf_grid (n,))."""
    y, _, w, lam = _check_ellipse_args(y, np.zeros(len(y)), w, lam)
    n_grid = check_positive_int(n_grid, "n_grid")
    grid = np.linspace(-np.pi, np.pi, n_grid, endpoint=False)
    E, _ = ellipse_energy_forward(y, np.broadcast_to(grid, (len(y), n_grid)), w, lam)
    return free_energy(E, beta, 2 * np.pi / n_grid), E.min(axis=1)


def laplace_free_energy(e_min, curvature, beta):
    """Laplace's approximation of F_beta near a smooth minimum of a 1-D latent:

        F_beta ~ E* + (1 / (2 beta)) log(beta E'' / (2 pi)).

    e_min, curvature (> 0): arrays of the same shape; beta > 0 (scalar)."""
    beta = check_positive_float(beta, "beta")
    curvature = np.asarray(curvature, dtype=np.float64)
    e_min = np.asarray(e_min, dtype=np.float64)
    for name, a in (("e_min", e_min), ("curvature", curvature)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains {a.size - np.count_nonzero(np.isfinite(a))} "
                             f"non-finite value(s) (NaN or inf)")
    if np.any(curvature <= 0):
        raise ValueError("curvature must be > 0 (a smooth minimum), got "
                         f"min {curvature.min():.4g}")
    return e_min + np.log(beta * curvature / (2 * np.pi)) / (2 * beta)
