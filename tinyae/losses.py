r"""Reconstruction losses: value and gradient together, validated.

One reduction convention, used by every loss and model in tinyae:
**sum over the dimensions of an example, mean over the batch**,

$$
L = \frac{1}{N} \sum_n \sum_d \ell(\mathrm{pred}_{nd}, \mathrm{target}_{nd}),
$$

so the number reported on MNIST is "per image" (e.g. a squared error of 13.87
per test image for PCA with 30 components), and a VAE's loss is in nats per
example. The formulas and derivatives are in ``tinyae.functional``.
"""

import math

import numpy as np

from ._validation import check_array, check_same_shape
from .backend import ops

#: Likelihood name -> the interval its targets must lie in (None: any real).
#: The one home of the support check: the loss functions below and every
#: model with a ``likelihood`` call ``check_support`` on their targets.
SUPPORT = {"bernoulli": (0.0, 1.0), "gaussian": None, "mse": None}


def check_support(x, likelihood, name="x"):
    """Raise ValueError if ``x`` lies outside the support of ``likelihood``.

    A bounded likelihood (``SUPPORT``: Bernoulli, $[0, 1]$) refuses values
    outside its interval, e.g. grey levels 0..255, which drive a Bernoulli
    loss negative without bound. An unbounded one (Gaussian / squared
    error) refuses values so large that the loss overflows
    (``check_scale``). Returns ``x``.

    The one rule for every model with a Gaussian likelihood (a squared
    error or Gaussian NLL of its data): data on which the loss cannot be
    represented is refused with "x is too large", naming the values and
    asking to rescale. Where the loss is quadratic in x, the bound depends
    on x alone and is checked here, before the forward pass. Where it also
    exponentiates a network output (a log-variance: the VAEs' KL term, the
    variance network's NLL), no bound on x alone exists (grey levels 0..255
    already overflow a variance-network VAE), so ``check_overflow`` refuses
    the loss after the forward pass.
    """
    if likelihood not in SUPPORT:
        raise ValueError(f"likelihood must be one of {sorted(SUPPORT)}, got {likelihood!r}")
    bounds = SUPPORT[likelihood]
    if bounds is None:
        return check_scale(x, name)
    lo, hi = x.min(), x.max()
    if lo < bounds[0] or hi > bounds[1]:
        hint = " (grey levels 0..255? divide by 255)" if hi > 1.5 else ""
        raise ValueError(
            f"{name} must lie in [{bounds[0]:g}, {bounds[1]:g}] for "
            f"likelihood={likelihood!r}, got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


def check_scale(x, name="x"):
    r"""Raise ValueError if ``x`` is so large that the squared norm of one of
    its rows overflows its dtype.

    With $w$ the width of a row and $M$ the largest finite number of the dtype,
    $\sum_i x_i^2 \le w \max_i x_i^2$ stays finite while
    $\max_i |x_i| \le \sqrt{M / w}$: about $10^{154} / \sqrt{w}$ in float64 and
    $10^{19} / \sqrt{w}$ in float32. Beyond it, a row of such values makes a
    squared error, a Gaussian likelihood or a first layer's product
    infinite. Returns ``x``.
    """
    row = int(np.prod(x.shape[1:]))
    limit = float(np.sqrt(np.finfo(x.dtype).max / max(row, 1)))
    big = float(np.max(np.abs(x)))
    if big > limit:
        raise ValueError(
            f"{name} is too large: it holds values up to {big:.3g} in magnitude, and "
            f"beyond {limit:.2g} the squared norm of a row of {row} {x.dtype} values "
            f"overflows, so the loss would be infinite; rescale the data (e.g. "
            f"standardise it)")
    return x


class LossOverflowError(ValueError):
    """A loss that exponentiates a network output overflowed on finite data
    and finite weights (``check_overflow``)."""


def check_overflow(loss, x, logvars, params, name="x"):
    r"""Raise LossOverflowError if ``loss`` is not finite although ``x`` and
    every array of ``params`` are: the second half of the "too large" check
    (``check_support``), for models whose loss exponentiates a network
    output. ``logvars``: label -> the log-variances the loss exponentiated
    (named in the message with their range). A non-finite parameter is left
    to ``tinyae.train.fit``, which names it. Returns ``loss``.

    ``fit`` treats this error as the data's fault only at its first step,
    while the weights are the initial ones; later it reports a non-finite
    loss with its learning-rate advice.
    """
    if math.isfinite(loss) or not all(np.isfinite(p).all() for p in params.values()):
        return loss
    limit = math.log(np.finfo(x.dtype).max)
    spans = ", ".join(f"{label} spans [{float(v.min()):.3g}, {float(v.max()):.3g}]"
                      for label, v in logvars.items())
    raise LossOverflowError(
        f"{name} is too large for this model: with values in [{float(x.min()):.4g}, "
        f"{float(x.max()):.4g}] the loss overflowed to {loss} ({spans}; exp overflows "
        f"{x.dtype} beyond +-{limit:.4g}); rescale the data (e.g. standardise it, or divide "
        f"grey levels 0..255 by 255), or, if training brought the weights here, lower the "
        f"learning rate")


def _check_pair(pred, pred_name, target):
    check_array(pred, pred_name)
    check_array(target, "target", dtype=pred.dtype)
    check_same_shape(pred, pred_name, target, "target")


def mse(pred, target):
    r"""Squared error summed over features, mean over the batch:
    $L = \frac{1}{N} \sum_{n,d} (\mathrm{pred}_{nd} - \mathrm{target}_{nd})^2$
    (``functional.mse_loss``).

    ``pred, target: (batch, d)`` -> ``(loss, dpred)`` with ``dpred: (batch, d)``.
    """
    _check_pair(pred, "pred", target)
    return ops.mse_loss(pred, target)


def bce_with_logits(logits, target):
    r"""Bernoulli negative log-likelihood from logits (targets in $[0, 1]$),
    $\ell(z, t) = \operatorname{softplus}(z) - t z$ per element
    (``functional.bce_with_logits_loss``).

    ``logits, target: (batch, d)`` -> ``(loss, dlogits)``. Finite for any logit.
    """
    _check_pair(logits, "logits", target)
    check_support(target, "bernoulli", "target")
    return ops.bce_with_logits_loss(logits, target)


def gaussian_nll(mu, logvar, target):
    r"""Gaussian negative log-likelihood with per-element log-variance,
    $\ell = \frac12 (\log 2\pi + \mathrm{logvar} + (\mathrm{target} - \mu)^2 / e^{\mathrm{logvar}})$
    (``functional.gaussian_nll_loss``).

    ``mu, logvar, target: (batch, d)`` -> ``(loss, dmu, dlogvar)``.
    """
    _check_pair(mu, "mu", target)
    check_array(logvar, "logvar", dtype=mu.dtype)
    check_same_shape(logvar, "logvar", mu, "mu")
    return ops.gaussian_nll_loss(mu, logvar, target)


#: Reconstruction likelihood name -> the backend op behind ``bce_with_logits``
#: or ``mse``. Models call the op directly on inputs they have already
#: validated (the public functions above re-check them).
RECONSTRUCTION = {"bernoulli": "bce_with_logits_loss", "mse": "mse_loss"}
