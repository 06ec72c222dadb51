"""Regularisation penalties on an encoder: value and gradient together.

Three penalties, each added to a reconstruction loss:

* ``contractive`` -- the squared Frobenius norm of the encoder's Jacobian,
  ``lam * ||J_f(x)||_F^2`` (Rifai et al., 2011), exact and cheap for a
  one-layer encoder ``h = act(x W + b)``;
* ``l1`` -- the L1 activity penalty ``lam * sum_j |h_j|``;
* ``kl`` -- the KL sparsity penalty ``beta * sum_j KL(rho || rho_hat_j)``,
  where ``rho_hat_j`` is unit j's mean activation over the batch.

Reduction convention (the same as ``tinyae.losses``): **sum over the units of
an example, mean over the batch**, so a penalty is "per example" and can be
added to a reconstruction loss directly. The one exception is ``kl``, which
is a function of the batch as a whole (through the batch means rho_hat) and
is *not* a mean of per-example terms: it is computed once per batch.

Every function here returns ``(value, d...)`` with ``value`` a Python float
that already includes the weight (lam or beta), and gradients with the shape
and dtype of the array they belong to. ``h`` is always the encoder output
(the code), ``h: (N, n_h)``.

    >>> value, dh = l1(h, lam=1e-3)
    >>> value, dh, dW = contractive_from_code(h, W, activation="sigmoid", lam=0.1)

``PENALTIES`` maps a name to its function, ``CODE_PENALTIES`` the ones that
see only the code (``(h, **hyper) -> (value, dh)``), as used by
``tinyae.models.SparseAutoencoder``.
"""

import numpy as np

from ._validation import check_array, check_choice, check_nonneg_float
from .backend import ops
from .functional import ACTIVATIONS, SLOPE_ACTIVATIONS, sigmoid


# --------------------------------------------------------------------------
# Contractive penalty
# --------------------------------------------------------------------------
#
# For a unit h = act(a) whose derivative is a function of the output alone,
# act'(a) = d(h), the penalty needs d and its derivative d'(h) = dd/dh:
# sigmoid d = h (1 - h), d' = 1 - 2 h; tanh d = 1 - h^2, d' = -2 h.

#: Activation name -> f(h) returning (act'(a) as a function of h, its
#: dh-derivative), from ``functional.ACTIVATIONS``: sigmoid and tanh.
SLOPES = {name: ACTIVATIONS[name][2] for name in SLOPE_ACTIVATIONS}

#: Activation name -> the function itself (for ``contractive``'s own forward pass).
_ACT = {"sigmoid": sigmoid, "tanh": np.tanh}


def encoder_jacobian(h, W, *, activation):
    """Exact Jacobian of the one-layer encoder h = act(x W + b), per example.

    h: (N, n_h) the codes, W: (n_in, n_h) -> J: (N, n_h, n_in) with

        J[n, j, i] = dh_nj / dx_ni = act'(a_nj) W_ij,   i.e.  J_n = diag(act'(a_n)) W^T.
    """
    check_choice(activation, "activation", SLOPES)
    d, _ = SLOPES[activation](h)                      # (N, n_h)
    return d[:, :, None] * W.T[None, :, :]            # (N, n_h, 1) * (1, n_h, n_in)


def contractive_from_code(h, W, *, activation, lam):
    """Contractive penalty of h = act(x W + b), with h and W as separate inputs.

    h: (N, n_h), W: (n_in, n_h). With d_nj = act'(a_nj) (a function of h_nj,
    see ``SLOPES``) and c_j = sum_i W_ij^2 (column norms, (n_h,)), the
    Jacobian J_n = diag(d_n) W^T gives

        ||J_n||_F^2 = sum_j sum_i (d_nj W_ij)^2 = sum_j d_nj^2 c_j,

        P = lam * (1/N) sum_n sum_j d_nj^2 c_j                       (a scalar)

    i.e. (h_j (1 - h_j))^2 sum_i W_ij^2 for sigmoid units and
    (1 - h_j^2)^2 sum_i W_ij^2 for tanh units. No (N, n_h, n_in) Jacobian
    is formed: the cost is one pass over h and one over W, about one
    matmul's worth of memory traffic.

    Returns ``(P, dh, dW)``, the partial derivatives holding the other
    argument fixed:

        dh_nj = dP/dh_nj  = lam/N * c_j * 2 d_nj d'(h_nj)            (N, n_h)
        dW_ij = dP/dW_ij  = lam/N * 2 W_ij * sum_n d_nj^2            (n_in, n_h)

    The full gradient with respect to W also has a part *through h*, since
    h depends on W: the caller sends ``dh`` back through the encoder (the
    activation multiplies by dh/da = d, the Linear layer by x), which adds

        sum_n [lam/N * c_j * 2 d_nj d'(h_nj)] * d_nj * x_ni   to dW_ij,
        sum_n [lam/N * c_j * 2 d_nj d'(h_nj)] * d_nj          to db_j,

    exactly what ``contractive`` below writes out. Forgetting the factor 2
    of either term is the classic bug; the tests show a finite-difference
    check catches it.
    """
    check_array(h, "h")
    check_array(W, "W", dtype=h.dtype, shape=(None, h.shape[1]))
    check_choice(activation, "activation", SLOPES)
    lam = check_nonneg_float(lam, "lam")
    return _contractive_from_code(h, W, activation, lam)


def _contractive_from_code(h, W, activation, lam):
    """Unvalidated core of ``contractive_from_code`` (models call this); the
    arithmetic is ``functional.contractive_penalty`` or its Numba twin."""
    return ops.contractive_penalty(h, W, activation, lam)


def contractive(x, W, b, *, activation, lam):
    """Contractive penalty as a function of the encoder's parameters.

    x: (N, n_in), W: (n_in, n_h), b: (n_h,); h = act(x W + b) with act
    "sigmoid" or "tanh". Returns ``(P, dW, db)`` with P as in
    ``contractive_from_code`` and the *total* derivatives

        dP/dW_ij = lam/N * [ 2 W_ij sum_n d_nj^2                    (direct)
                             + sum_n g_nj d_nj x_ni ]               (through h)
        dP/db_j  = lam/N * sum_n g_nj d_nj

    where g_nj = c_j * 2 d_nj d'(h_nj) = d(d_nj^2 c_j)/dh_nj and
    d_nj = act'(a_nj) = dh_nj/da_nj. This is the function a gradient check
    compares with finite differences of P in W and b.
    """
    check_array(x, "x")
    check_array(W, "W", dtype=x.dtype, shape=(x.shape[1], None))
    check_array(b, "b", ndim=1, dtype=x.dtype, shape=(W.shape[1],))
    check_choice(activation, "activation", SLOPES)
    lam = check_nonneg_float(lam, "lam")
    a = x @ W + b                                     # (N, n_h)
    h = _ACT[activation](a)
    value, dh, dW = _contractive_from_code(h, W, activation, lam)
    d, _ = SLOPES[activation](h)
    da = dh * d                                       # through h: dh/da = d
    dW = dW + x.T @ da                                # (n_in, n_h)
    db = da.sum(axis=0)                               # (n_h,)
    return value, dW, db


# --------------------------------------------------------------------------
# Activity penalties on the code
# --------------------------------------------------------------------------

def l1(h, *, lam):
    """L1 activity penalty ``P = lam * (1/N) sum_n sum_j |h_nj|``.

    h: (N, n_h) -> (P, dh) with ``dh = lam * sign(h) / N`` (N, n_h).

    |h| has a kink at h = 0, where we take the subgradient 0 (np.sign(0) = 0).
    For sigmoid codes (h > 0) the kink is never reached and P = lam * mean
    sum h is smooth; for ReLU codes the units at exactly 0 get 0, which the
    ReLU's own backward (derivative 0 there) would give anyway. The penalty
    pushes every unit towards 0 at a constant rate, so many end up exactly
    (ReLU) or nearly (sigmoid) off.
    """
    check_array(h, "h")
    lam = check_nonneg_float(lam, "lam")
    return _l1(h, lam)


def _l1(h, lam):
    n = h.shape[0]
    value = lam * float(np.sum(np.abs(h))) / n
    dh = (lam / n) * np.sign(h)
    return value, dh.astype(h.dtype, copy=False)


def kl(h, *, rho, beta):
    """KL sparsity penalty on the batch: ``P = beta * sum_j KL(rho || rho_hat_j)``.

    h: (N, n_h) activations in (0, 1) (sigmoid codes), rho in (0, 1) the
    target mean activation. With rho_hat_j = (1/N) sum_n h_nj (n_h,):

        KL(rho || r) = rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r)),
        dKL/dr       = -rho / r + (1 - rho) / (1 - r),

    and since d rho_hat_j / dh_nj = 1/N,

        dh_nj = beta * (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j)) / N.

    Convention: unlike every other loss and penalty in tinyae this is *not*
    a mean over examples of a per-example term -- it is defined on the batch
    (rho_hat is a batch statistic), so P itself has no 1/N; the 1/N in dh
    comes from the mean inside rho_hat. Its value on a batch depends on the
    batch (a small batch estimates rho_hat noisily). P >= 0, with equality
    iff every rho_hat_j = rho. rho_hat is clipped to [SPARSITY_EPS, 1 - SPARSITY_EPS]
    (``tinyae.functional``, 1e-7) to
    keep the logarithms finite; inside that range (always, for healthy
    sigmoid units) the formulas above are exact.

    Returns ``(P, dh)``.
    """
    check_array(h, "h")
    if (h < 0).any() or (h > 1).any():
        raise ValueError(
            f"h must lie in [0, 1] for the KL sparsity penalty (use sigmoid codes), "
            f"got values in [{h.min():.4g}, {h.max():.4g}]")
    rho = float(rho)
    if not 0.0 < rho < 1.0:
        raise ValueError(f"rho must be a number in (0, 1), got {rho!r}")
    beta = check_nonneg_float(beta, "beta")
    return _kl(h, rho, beta)


def _kl(h, rho, beta):
    """Unvalidated core of ``kl``: ``functional.kl_sparsity`` or its twin."""
    return ops.kl_sparsity(h, rho, beta)


#: Penalties that see only the code: name -> f(h, **hyper) -> (value, dh).
CODE_PENALTIES = {"l1": l1, "kl": kl}

#: Every penalty by name. ``contractive`` also needs the encoder's weights.
PENALTIES = {"contractive": contractive, **CODE_PENALTIES}
