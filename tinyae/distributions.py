"""Probability densities and the likelihoods of a decoder.

* log densities summed over the last axis (any leading shape): Gaussian,
  standard normal, Bernoulli from logits;
* ``LIKELIHOODS``: for each likelihood a model can have, how the decoder's
  last affine output becomes a training loss (value and gradient), a
  per-example log p(x | z), the mean of p(x | z), and d log p / d output.
  The formulas behind the losses are derived in ``tinyae.functional``
  (``bce_with_logits_loss``, ``gaussian_nll_loss``).
"""

import numpy as np

from .backend import ops
from .functional import LOG_2PI, sigmoid, softplus


def log_normal(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)) summed over the last axis.

    z, mu, logvar broadcast to (..., d) -> (...,),
    ``-0.5 sum_d (log 2 pi + logvar + (z - mu)^2 / exp(logvar))``.
    """
    r = z - mu
    return -0.5 * np.sum(LOG_2PI + logvar + r * r * np.exp(-logvar), axis=-1)


def log_standard_normal(z):
    """log N(z; 0, I) summed over the last axis: (..., d) -> (...,)."""
    return -0.5 * np.sum(LOG_2PI + z * z, axis=-1)


def log_bernoulli_logits(x, logits):
    """log Bernoulli(x; sigmoid(logits)) summed over the last axis.

    x, logits broadcast to (..., d) -> (...,), ``-sum_d softplus(l) - x l``
    (x may be grey levels in [0, 1]: then it is minus the cross-entropy).
    """
    return -np.sum(softplus(logits) - x * logits, axis=-1)


# --------------------------------------------------------------------------
# Likelihood registry: how the decoder output becomes a loss, a density and
# a mean. ``out`` is the decoder's last affine output.
# --------------------------------------------------------------------------

def _bernoulli_recon(model, out, x, grad):
    """BCE on logits: (loss, dout); see ``functional.bce_with_logits_loss``."""
    return ops.bce_with_logits_loss(out, x)


def _gaussian_recon(model, out, x, grad):
    """Gaussian NLL with the model's decoder log-variance (``model._logvar_x()``)
    broadcast to (batch, n_in).

    dL/dlogvar_dec is summed over the batch (and over the features when the
    variance is shared) and added into ``decoder_logvar.logvar``'s gradient
    when ``grad`` (a forward-only loss leaves the gradients alone).
    """
    lv = np.broadcast_to(model._logvar_x(), out.shape)
    loss, dout, dlv = ops.gaussian_nll_loss(out, lv, x)
    if grad and model.decoder_variance != "fixed":
        g = model.decoder_logvar.grads["logvar"]
        g += dlv.sum(axis=0) if g.size > 1 else dlv.sum()
    return loss, dout


def _bernoulli_logp(model, out, x):
    return log_bernoulli_logits(x, out)


def _gaussian_logp(model, out, x):
    return log_normal(x, out, model._logvar_x())


def _bernoulli_dlogp(model, out, x):
    """d log p(x | z) / d logits = x - sigmoid(logits), per element."""
    return x - sigmoid(out)


def _gaussian_dlogp(model, out, x):
    """d log p(x | z) / d mean = (x - mean) / v, per element."""
    return (x - out) * np.exp(-model._logvar_x())


def _bernoulli_mean(out):
    return sigmoid(out)


def _gaussian_mean(out):
    return out


#: likelihood name -> (recon loss and grad, per-example log p(x|z), mean of
#: p(x|z), d log p(x|z) / d decoder output).
LIKELIHOODS = {
    "bernoulli": (_bernoulli_recon, _bernoulli_logp, _bernoulli_mean, _bernoulli_dlogp),
    "gaussian": (_gaussian_recon, _gaussian_logp, _gaussian_mean, _gaussian_dlogp),
}
