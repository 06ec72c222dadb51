r"""Probability densities and the likelihoods of a decoder.

* log densities summed over the last axis (any leading shape): Gaussian,
  standard normal, Bernoulli from logits;
* ``LIKELIHOODS``: for each likelihood a model can have, how the decoder's
  last affine output becomes a training loss (value and gradient), a
  per-example $\log p(x \mid z)$, the mean of $p(x \mid z)$, and
  $\partial \log p / \partial\,\mathrm{output}$. The formulas behind the
  losses are derived in ``tinyae.functional`` (``bce_with_logits_loss``,
  ``gaussian_nll_loss``).
"""

import numpy as np

from .backend import ops
from .functional import LOG_2PI, sigmoid, softplus


def log_normal(z, mu, logvar):
    r"""$\log \mathcal{N}(z; \mu, \operatorname{diag} e^{\mathrm{logvar}})$ summed over the last axis.

    ``z, mu, logvar`` broadcast to ``(..., d)`` -> ``(...,)``,

    $$
    &\log \mathcal{N}(z; \mu, \operatorname{diag} e^{\mathrm{logvar}}) \\
    &\quad = -\frac12 \sum_d \left(\log 2\pi + \mathrm{logvar}_d + \frac{(z_d - \mu_d)^2}{e^{\mathrm{logvar}_d}}\right).
    $$
    """
    r = z - mu
    return -0.5 * np.sum(LOG_2PI + logvar + r * r * np.exp(-logvar), axis=-1)


def log_standard_normal(z):
    r"""$\log \mathcal{N}(z; 0, I) = -\frac12 \sum_d (\log 2\pi + z_d^2)$, summed over
    the last axis: ``(..., d)`` -> ``(...,)``.
    """
    return -0.5 * np.sum(LOG_2PI + z * z, axis=-1)


def log_bernoulli_logits(x, logits):
    r"""$\log \mathrm{Bernoulli}(x; s(l))$ summed over the last axis, $s$ the
    sigmoid and $l$ the logits.

    ``x, logits`` broadcast to ``(..., d)`` -> ``(...,)``. Per element,
    $x \log s(l) + (1 - x) \log(1 - s(l)) = -(\operatorname{softplus}(l) - x l)$
    (``functional.bce_with_logits_loss`` derives it), so the sum is

    $$
    \log p(x) = -\sum_d \big(\operatorname{softplus}(l_d) - x_d \, l_d\big)
    $$

    ($x$ may be grey levels in $[0, 1]$: then it is minus the cross-entropy).
    """
    return -np.sum(softplus(logits) - x * logits, axis=-1)


# --------------------------------------------------------------------------
# Likelihood registry: how the decoder output becomes a loss, a density and
# a mean. ``out`` is the decoder's last affine output.
# --------------------------------------------------------------------------

def _bernoulli_recon(model, out, x, grad):
    """BCE on logits: ``(loss, dout)``; see ``functional.bce_with_logits_loss``."""
    return ops.bce_with_logits_loss(out, x)


def _gaussian_recon(model, out, x, grad):
    r"""Gaussian NLL with the model's decoder log-variance (``model._logvar_x()``)
    broadcast to ``(batch, n_in)``.

    $\partial L / \partial\,\mathrm{logvar}_\mathrm{dec}$ is summed over the
    batch (and over the features when the variance is shared) and added into
    ``decoder_logvar.logvar``'s gradient when ``grad`` (a forward-only loss
    leaves the gradients alone).
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
    r"""$\partial \log p(x \mid z) / \partial l = x - s(l)$ per element, $l$ the
    logits: the derivative of $-(\operatorname{softplus}(l) - x l)$.
    """
    return x - sigmoid(out)


def _gaussian_dlogp(model, out, x):
    r"""$\partial \log p(x \mid z) / \partial\,\mathrm{mean} = (x - \mathrm{mean}) / v$
    per element, $v = e^{\mathrm{logvar}}$ the decoder's variance.
    """
    return (x - out) * np.exp(-model._logvar_x())


def _bernoulli_mean(out):
    return sigmoid(out)


def _gaussian_mean(out):
    return out


#: likelihood name -> (recon loss and grad, per-example $\log p(x \mid z)$,
#: mean of $p(x \mid z)$, $\partial \log p(x \mid z) / \partial\,\mathrm{output}$
#: of the decoder).
LIKELIHOODS = {
    "bernoulli": (_bernoulli_recon, _bernoulli_logp, _bernoulli_mean, _bernoulli_dlogp),
    "gaussian": (_gaussian_recon, _gaussian_logp, _gaussian_mean, _gaussian_dlogp),
}
