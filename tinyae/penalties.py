r"""Regularisation penalties on an encoder: value and gradient together.

Three penalties, each added to a reconstruction loss:

* ``contractive`` -- the squared Frobenius norm of the encoder's Jacobian,
  $\lambda \, \|J_f(x)\|_F^2$ (Rifai et al., 2011), exact and cheap for a
  one-layer encoder $h = \mathrm{act}(x W + b)$;
* ``l1`` -- the L1 activity penalty $\lambda \sum_j |h_j|$;
* ``kl`` -- the KL sparsity penalty
  $\beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)$, where $\hat\rho_j$ is
  unit $j$'s mean activation over the batch.

Reduction convention (the same as ``tinyae.losses``): **sum over the units of
an example, mean over the batch**, so a penalty is "per example" and can be
added to a reconstruction loss directly. The one exception is ``kl``, which
is a function of the batch as a whole (through the batch means
$\hat\rho_j$) and is *not* a mean of per-example terms: it is computed once
per batch.

Every function here returns ``(value, d...)`` with ``value`` a Python float
that already includes the weight ($\lambda$ = ``lam`` or $\beta$ =
``beta``), and gradients with the shape and dtype of the array they belong
to. ``h`` is always the encoder output (the code), ``h: (N, n_h)``.

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

#: Activation name -> ``f(h)`` returning $\mathrm{act}'(a)$ as a function
#: $d(h)$ of the output, and its derivative $d'(h)$, from
#: ``functional.ACTIVATIONS``: sigmoid and tanh.
SLOPES = {name: ACTIVATIONS[name][2] for name in SLOPE_ACTIVATIONS}

#: Activation name -> the function itself (for ``contractive``'s own forward pass).
_ACT = {"sigmoid": sigmoid, "tanh": np.tanh}


def encoder_jacobian(h, W, *, activation):
    r"""Exact Jacobian of the one-layer encoder $h = \mathrm{act}(x W + b)$, per example.

    ``h: (N, n_h)`` the codes, ``W: (n_in, n_h)`` -> ``J: (N, n_h, n_in)``.
    By the chain rule through $a = x W + b$, with
    $\partial a_{nj} / \partial x_{ni} = W_{ij}$,

    $$
    J_{n, j, i} &= \frac{\partial h_{nj}}{\partial x_{ni}} = \mathrm{act}'(a_{nj}) \, W_{ij}, \\
    \text{i.e.} \quad J_n &= \operatorname{diag}\big(\mathrm{act}'(a_n)\big) \, W^\top .
    $$
    """
    check_choice(activation, "activation", SLOPES)
    d, _ = SLOPES[activation](h)                      # (N, n_h)
    return d[:, :, None] * W.T[None, :, :]            # (N, n_h, 1) * (1, n_h, n_in)


def contractive_from_code(h, W, *, activation, lam):
    r"""Contractive penalty of $h = \mathrm{act}(x W + b)$, with $h$ and $W$ as
    separate inputs.

    ``h: (N, n_h)``, ``W: (n_in, n_h)``. With $d_{nj} = \mathrm{act}'(a_{nj})$
    (a function of $h_{nj}$, see ``SLOPES``) and the squared column norms
    $c_j = \sum_i W_{ij}^2$, ``(n_h,)``, the Jacobian
    $J_n = \operatorname{diag}(d_n) W^\top$ (``encoder_jacobian``) gives

    $$
    \|J_n\|_F^2 &= \sum_j \sum_i (d_{nj} W_{ij})^2 = \sum_j d_{nj}^2 c_j, \\
    P &= \frac{\lambda}{N} \sum_n \sum_j d_{nj}^2 c_j \quad \text{(a scalar)},
    $$

    i.e. $\big(h_j (1 - h_j)\big)^2 \sum_i W_{ij}^2$ for sigmoid units and
    $(1 - h_j^2)^2 \sum_i W_{ij}^2$ for tanh units. No ``(N, n_h, n_in)``
    Jacobian is formed: the cost is one pass over ``h`` and one over ``W``,
    about one matmul's worth of memory traffic.

    Returns ``(P, dh, dW)``, the partial derivatives holding the other
    argument fixed. With $d'$ the derivative of $d$ in $h$,
    $\partial (d_{nj}^2) / \partial h_{nj} = 2 d_{nj} d'(h_{nj})$ and
    $\partial c_j / \partial W_{ij} = 2 W_{ij}$, so

    $$
    \frac{\partial P}{\partial h_{nj}} &= \frac{\lambda}{N} \, c_j \, 2 d_{nj} d'(h_{nj}), \\
    \frac{\partial P}{\partial W_{ij}} &= \frac{\lambda}{N} \, 2 W_{ij} \sum_n d_{nj}^2,
    $$

    of shapes ``(N, n_h)`` and ``(n_in, n_h)``.

    The full gradient with respect to $W$ also has a part *through h*, since
    $h$ depends on $W$: the caller sends ``dh`` back through the encoder (the
    activation multiplies by $\partial h / \partial a = d$, the Linear layer
    by $x$), which adds

    $$
    &\sum_n \Big[\frac{\lambda}{N} \, c_j \, 2 d_{nj} d'(h_{nj})\Big] \, d_{nj} \, x_{ni} \quad \text{to } \frac{\partial P}{\partial W_{ij}}, \\
    &\sum_n \Big[\frac{\lambda}{N} \, c_j \, 2 d_{nj} d'(h_{nj})\Big] \, d_{nj} \quad \text{to } \frac{\partial P}{\partial b_j},
    $$

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
    arithmetic is ``functional.contractive_penalty`` or its Numba twin.
    """
    return ops.contractive_penalty(h, W, activation, lam)


def contractive(x, W, b, *, activation, lam):
    r"""Contractive penalty as a function of the encoder's parameters.

    ``x: (N, n_in)``, ``W: (n_in, n_h)``, ``b: (n_h,)``;
    $h = \mathrm{act}(x W + b)$ with ``act`` "sigmoid" or "tanh". Returns
    ``(P, dW, db)`` with $P$ as in ``contractive_from_code`` and the *total*
    derivatives. $W$ reaches $P$ directly (through the column norms $c_j$) and
    through $h$; $b$ only through $h$. Write
    $d_{nj} = \mathrm{act}'(a_{nj}) = \partial h_{nj} / \partial a_{nj}$ and

    $$
    g_{nj} = \frac{\partial (d_{nj}^2 c_j)}{\partial h_{nj}} = c_j \, 2 d_{nj} d'(h_{nj}) ;
    $$

    then, with $\partial a_{nj} / \partial W_{ij} = x_{ni}$ and
    $\partial a_{nj} / \partial b_j = 1$,

    $$
    \frac{\partial P}{\partial W_{ij}} &= \frac{\lambda}{N} \Big[\underbrace{2 W_{ij} \sum_n d_{nj}^2}_\text{direct}
    + \underbrace{\sum_n g_{nj} \, d_{nj} \, x_{ni}}_{\text{through } h}\Big], \\
    \frac{\partial P}{\partial b_j} &= \frac{\lambda}{N} \sum_n g_{nj} \, d_{nj} .
    $$

    This is the function a gradient check compares with finite differences of
    $P$ in $W$ and $b$.
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
    r"""L1 activity penalty $P = \lambda \, \frac{1}{N} \sum_n \sum_j |h_{nj}|$.

    ``h: (N, n_h)`` -> ``(P, dh)`` with
    $\partial P / \partial h = \lambda \operatorname{sign}(h) / N$, ``(N, n_h)``.

    $|h|$ has a kink at $h = 0$, where we take the subgradient 0
    (``np.sign(0) = 0``). For sigmoid codes ($h > 0$) the kink is never reached
    and $P = \lambda \, \frac{1}{N} \sum_{n,j} h_{nj}$ is smooth; for ReLU codes
    the units at exactly 0 get 0, which the ReLU's own backward (derivative 0
    there) would give anyway. The penalty pushes every unit towards 0 at a
    constant rate, so many end up exactly (ReLU) or nearly (sigmoid) off.
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
    r"""KL sparsity penalty on the batch: $P = \beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)$.

    ``h: (N, n_h)`` activations in $(0, 1)$ (sigmoid codes), $\rho \in (0, 1)$
    the target mean activation. With $\hat\rho_j = \frac{1}{N} \sum_n h_{nj}$,
    ``(n_h,)``:

    $$
    \mathrm{KL}(\rho \,\|\, r) &= \rho \log\frac{\rho}{r} + (1 - \rho) \log\frac{1 - \rho}{1 - r}, \\
    \frac{\partial\,\mathrm{KL}}{\partial r} &= -\frac{\rho}{r} + \frac{1 - \rho}{1 - r},
    $$

    and since $\partial \hat\rho_j / \partial h_{nj} = 1/N$,

    $$
    \frac{\partial P}{\partial h_{nj}} = \frac{\beta}{N} \left(-\frac{\rho}{\hat\rho_j} + \frac{1 - \rho}{1 - \hat\rho_j}\right).
    $$

    Convention: unlike every other loss and penalty in tinyae this is *not*
    a mean over examples of a per-example term -- it is defined on the batch
    ($\hat\rho$ is a batch statistic), so $P$ itself has no $1/N$; the $1/N$ in
    ``dh`` comes from the mean inside $\hat\rho$. Its value on a batch depends
    on the batch (a small batch estimates $\hat\rho$ noisily). $P \ge 0$, with
    equality iff every $\hat\rho_j = \rho$. $\hat\rho$ is clipped to
    ``[SPARSITY_EPS, 1 - SPARSITY_EPS]`` (``tinyae.functional``, $10^{-7}$) to
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


#: Penalties that see only the code: name -> ``f(h, **hyper) -> (value, dh)``.
CODE_PENALTIES = {"l1": l1, "kl": kl}

#: Every penalty by name. ``contractive`` also needs the encoder's weights.
PENALTIES = {"contractive": contractive, **CODE_PENALTIES}
