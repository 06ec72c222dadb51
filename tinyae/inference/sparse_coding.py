"""Sparse coding by proximal gradient: ISTA and FISTA (Beck and Teboulle,
2009), with the bounds they guarantee.

The problem, per example (shapes and the op in
``tinyae.functional.sparse_coding``):

    min_z F(z) = 1/2 ||x - z D||^2 + lam ||z||_1   (+ alpha/2 ||z - p||^2)

ISTA repeats one proximal-gradient step with step 1/L,

    z_{k+1} = soft(z_k - grad f(z_k) / L, lam / L)       (ops.ista_step_forward)

and FISTA takes the same step from an extrapolated point,

    z_k     = soft(y_k - grad f(y_k) / L, lam / L)
    t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,   t_1 = 1,  y_1 = z_0
    y_{k+1} = z_k + ((t_k - 1) / t_{k+1}) (z_k - z_{k-1}).

Beck and Teboulle (2009, Theorems 3.1 and 4.4): for any minimiser z*,

    ISTA   F(z_k) - F* <= L ||z_0 - z*||^2 / (2 k)
    FISTA  F(z_k) - F* <= 2 L ||z_0 - z*||^2 / (k + 1)^2.

The bounds hold for the sum over a batch too (the examples are independent
problems sharing L), which is how ``ista``/``fista`` record F.
"""

import numpy as np

from .._validation import (check_array, check_nonneg_float, check_positive_float,
                          check_positive_int)
from ..backend import ops
from ..functional.sparse_coding import sparse_coding_energy

__all__ = ["lipschitz_constant", "ista", "fista", "beck_teboulle_bounds",
           "iterations_to_gap", "sparse_coding_energy"]


def lipschitz_constant(D, alpha=0.0):
    """L = ||D||_2^2 + alpha: the largest eigenvalue of D D^T (the Lipschitz
    constant of grad f), plus the prediction term's alpha. D: (K, d)."""
    D = check_array(D, "D")
    s = np.linalg.norm(D.astype(np.float64), 2)
    return float(s * s) + check_nonneg_float(alpha, "alpha")


def _check_problem(x, D, lam, z0, alpha, p):
    D = check_array(D, "D")
    x = check_array(x, "x", dtype=D.dtype)
    if x.shape[1] != D.shape[1] and D.shape[0] == x.shape[1]:     # D given as (d, K)?
        raise ValueError(f"D must have shape (n_atoms, {x.shape[1]}) (one atom of x's width "
                         f"per row), got D of shape {D.shape} for x of shape {x.shape}; "
                         f"D.T has shape {D.T.shape}: was D given transposed?")
    x = check_array(x, "x", shape=(None, D.shape[1]))
    lam = check_nonneg_float(lam, "lam")
    alpha = check_nonneg_float(alpha, "alpha")
    shape = (x.shape[0], D.shape[0])
    if p is not None:
        check_array(p, "p", shape=shape, dtype=D.dtype)
    elif alpha:
        raise ValueError(f"alpha={alpha!r} > 0 needs a prediction p of shape {shape}")
    if z0 is None:
        z0 = np.zeros(shape, D.dtype)
    else:
        z0 = check_array(z0, "z0", shape=shape, dtype=D.dtype)
    return x, D, lam, z0, alpha


def _solve(x, D, lam, n_iter, z0, alpha, p, L, record, accelerate):
    x, D, lam, z, alpha = _check_problem(x, D, lam, z0, alpha, p)
    n_iter = check_positive_int(n_iter, "n_iter")
    if L is None:
        L = lipschitz_constant(D, alpha)
        if L == 0:
            raise ValueError(f"D must have a non-zero entry: D (shape {D.shape}) is all "
                             f"zeros and alpha=0, so L = ||D||_2^2 + alpha = 0 and the "
                             f"step 1/L is undefined (a zero dictionary codes nothing)")
    else:
        L = check_positive_float(L, "L")
    step = 1.0 / L
    energies = [float(sparse_coding_energy(z, x, D, lam, alpha, p).sum())] if record else None
    y, t = z, 1.0
    for _ in range(n_iter):
        z_new = ops.ista_step_forward(y, x, D, lam, step, alpha, p)[0]
        if accelerate:
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            y = z_new + ((t - 1.0) / t_new) * (z_new - z)
            t = t_new
        else:
            y = z_new
        z = z_new
        if record:
            energies.append(float(sparse_coding_energy(z, x, D, lam, alpha, p).sum()))
    return z, (np.array(energies) if record else None)


def ista(x, D, lam, *, n_iter, z0=None, alpha=0.0, p=None, L=None, record=False):
    """ISTA: ``n_iter`` proximal-gradient steps of size 1/L from ``z0`` (0).

    x: (N, d), D: (K, d) -> z: (N, K). ``alpha``/``p`` add PSD's prediction
    term. ``L`` defaults to ``lipschitz_constant(D, alpha)``. Returns
    ``(z, energies)`` with energies: (n_iter + 1,) the batch's summed F at
    z_0 .. z_n if ``record`` (else None).
    """
    return _solve(x, D, lam, n_iter, z0, alpha, p, L, record, accelerate=False)


def fista(x, D, lam, *, n_iter, z0=None, alpha=0.0, p=None, L=None, record=False):
    """FISTA: ISTA's step taken from the extrapolated point y_k (module
    docstring). Same arguments and return as ``ista``."""
    return _solve(x, D, lam, n_iter, z0, alpha, p, L, record, accelerate=True)


def beck_teboulle_bounds(k, L, dist2):
    """The two guarantees at iterations k = 1, 2, ...: ``(ista, fista)``,
    ``L dist2 / (2k)`` and ``2 L dist2 / (k + 1)^2``, dist2 = ||z_0 - z*||^2."""
    k = np.asarray(k, dtype=np.float64)
    return L * dist2 / (2 * k), 2 * L * dist2 / (k + 1) ** 2


def iterations_to_gap(gaps, target):
    """First k with ``gaps[k] <= target`` (gaps[0] is z_0's), or None."""
    hit = np.flatnonzero(np.asarray(gaps) <= target)
    return int(hit[0]) if hit.size else None
