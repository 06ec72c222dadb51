"""Reconstruction losses: value and gradient together, validated.

One reduction convention, used by every loss and model in tinyae:
**sum over the dimensions of an example, mean over the batch**,

    L = (1/N) sum_n sum_d l(pred[n, d], target[n, d]),

so the number reported on MNIST is "per image" (e.g. a squared error of 13.87
per test image for PCA with 30 components), and a VAE's loss is in nats per
example. The formulas and derivatives are in ``tinyae.functional``.
"""

import numpy as np

from ._validation import check_array, check_same_shape
from .backend import ops

#: Likelihood name -> the interval its targets must lie in (None: any real).
#: The one home of the support check: the loss functions below and every
#: model with a ``likelihood`` call ``check_support``.
SUPPORT = {"bernoulli": (0.0, 1.0), "gaussian": None, "mse": None}


def check_support(x, likelihood, name="x"):
    """Raise ValueError if ``x`` has values outside the support of
    ``likelihood`` (``SUPPORT``), e.g. grey levels 0..255 given to a
    Bernoulli model, which drive its loss negative without bound. Returns x."""
    if likelihood not in SUPPORT:
        raise ValueError(f"likelihood must be one of {sorted(SUPPORT)}, got {likelihood!r}")
    bounds = SUPPORT[likelihood]
    if bounds is None or x.size == 0:
        return x
    lo, hi = x.min(), x.max()
    if lo < bounds[0] or hi > bounds[1]:
        hint = " (grey levels 0..255? divide by 255)" if hi > 1.5 else ""
        raise ValueError(
            f"{name} must lie in [{bounds[0]:g}, {bounds[1]:g}] for "
            f"likelihood={likelihood!r}, got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


def check_finite_loss(loss, inputs):
    """Raise ValueError if ``loss`` is not finite although the ``inputs``
    (dict name -> array, already checked finite) are: values so large that
    the arithmetic overflows. Returns loss."""
    if np.isfinite(loss):
        return loss
    name, x = max(inputs.items(), key=lambda kv: float(np.max(np.abs(kv[1]), initial=0)))
    big = float(np.max(np.abs(x), initial=0))
    raise ValueError(
        f"the loss is {loss} although every input is finite: {name} holds values "
        f"up to {big:.3g} in magnitude ({x.dtype}), too large for the arithmetic "
        f"(squares overflow beyond ~{np.sqrt(np.finfo(x.dtype).max):.0e}); "
        f"rescale the data, e.g. standardise it")


def _check_pair(pred, pred_name, target):
    check_array(pred, pred_name)
    check_array(target, "target", dtype=pred.dtype)
    check_same_shape(pred, pred_name, target, "target")


def mse(pred, target):
    """Squared error summed over features, mean over the batch.

    pred, target: (batch, d) -> (loss, dpred) with dpred: (batch, d).
    """
    _check_pair(pred, "pred", target)
    return ops.mse_loss(pred, target)


def bce_with_logits(logits, target):
    """Bernoulli negative log-likelihood from logits (targets in [0, 1]).

    logits, target: (batch, d) -> (loss, dlogits). Finite for any logit.
    """
    _check_pair(logits, "logits", target)
    check_support(target, "bernoulli", "target")
    return ops.bce_with_logits_loss(logits, target)


def gaussian_nll(mu, logvar, target):
    """Gaussian negative log-likelihood with per-element log-variance.

    mu, logvar, target: (batch, d) -> (loss, dmu, dlogvar).
    """
    _check_pair(mu, "mu", target)
    check_array(logvar, "logvar", dtype=mu.dtype)
    check_same_shape(logvar, "logvar", mu, "mu")
    return ops.gaussian_nll_loss(mu, logvar, target)


#: Reconstruction likelihood name -> the backend op behind ``bce_with_logits``
#: or ``mse``. Models call the op directly on inputs they have already
#: validated (the public functions above re-check them).
RECONSTRUCTION = {"bernoulli": "bce_with_logits_loss", "mse": "mse_loss"}
