"""Reconstruction losses: value and gradient together, validated.

One reduction convention, used by every loss and model in tinyae:
**sum over the dimensions of an example, mean over the batch**,

    L = (1/N) sum_n sum_d l(pred[n, d], target[n, d]),

so the number reported on MNIST is "per image" (e.g. a squared error of 13.87
per test image for PCA with 30 components), and a VAE's loss is in nats per
example. The formulas and derivatives are in ``tinyae.functional``.
"""

from ._validation import check_array, check_same_shape
from .backend import ops


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
    if (target < 0).any() or (target > 1).any():
        raise ValueError(
            f"target must lie in [0, 1] for a Bernoulli likelihood, got values "
            f"in [{target.min():.4g}, {target.max():.4g}]")
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
