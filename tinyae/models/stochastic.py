"""Stochastic decoders: a mean network AND a variance network.

The VAE tutorial's Gaussian decoder (Doersch, 2016; Kingma and Welling,
2014, appendix C.2) is

    p(x | z) = N(x; mu(z), diag exp(s(z))),

with the log-variance s(z) an output of the network like the mean, not one
learned constant: the model can say "this pixel is certain here, uncertain
there". One trunk h = trunk(z) feeds two linear heads,

    mu = h W_mu + b_mu,     raw = h W_s + b_s,     s = floor(raw),

and the loss per example is the Gaussian NLL summed over features,
``functional.gaussian_nll_loss(mu, s, x)`` (its docstring has dL/dmu and
dL/ds; the per-element log-variance is exactly what it takes).

The pathology, and the floor
----------------------------
On a feature that is (nearly) constant in the data, e.g. MNIST's border
pixels (always 0), the mean network can hit the value exactly; then the NLL
of that feature, 0.5 (log 2 pi + s + r^2 / exp(s)) with r = 0, decreases
without bound as s -> -inf. The likelihood is unbounded: training drives
the log-variance of such features down forever and the reported NLL runs
away to -inf, saying nothing about the model. The fix used here is a floor
on the variance, v >= var_floor, written smoothly so it stays differentiable:

    s = l + softplus(raw - l),   l = log(var_floor),
    ds/draw = sigmoid(raw - l)                       (in (0, 1)),

(``functional.logvar_floor_forward`` and ``logvar_floor_backward``), so
s > l always and s ~ raw when raw >> l. ``var_floor=None`` (the default)
leaves s = raw, unbounded, to show the pathology.

Two models share this decoder (``GaussianNet``):

* ``VarianceNetworkVAE``: a VAE (encoder, reparameterisation and KL as in
  ``models.vae``) whose decoder is the Gaussian net of z (its encoder, a
  trunk with mu and logvar heads, is a ``GaussianNet`` too, without a floor);
* ``GaussianDenoiser``: a denoising autoencoder whose output is a Gaussian
  reconstruction distribution p(x | x_tilde) of the clean x given the
  corrupted x_tilde = x + sigma e; the Markov chain of a generative
  stochastic network samples from it (``tinyae.analysis.generative.gsn_chain``).
"""

import numbers

import numpy as np

from .._validation import check_choice, check_dtype, check_nonneg_float, check_rng, check_sizes
from ..backend import ops
from ..corruption import GaussianNoise, corrupt
from ..distributions import log_normal
from ..functional import gaussian_kl, logvar_floor_backward, logvar_floor_forward
from ..layers import ACTIVATIONS, INITS, Linear, dense_stack
from ..losses import check_overflow, check_support
from .base import Model, batched, draw_eps


def _check_floor(var_floor):
    if var_floor is None:
        return None
    if isinstance(var_floor, bool) or not isinstance(var_floor, numbers.Real) \
            or not np.isfinite(var_floor) or var_floor <= 0:
        raise ValueError(f"var_floor must be None (no floor) or a finite number > 0, "
                         f"got {var_floor!r}")
    return float(var_floor)


class GaussianNet:
    """u -> (mu, s): a trunk of dense layers and two linear heads (mean and
    log-variance, the latter floored when ``var_floor`` is set; module
    docstring). Not a Layer (two outputs): the owning model registers
    ``trunk``, ``mean`` and ``logvar`` as its modules (``modules(prefix)``
    names them ``prefix``, ``prefix_mean``, ``prefix_logvar``; ``mean="mu"``
    names the mean head ``prefix_mu``, as a VAE's encoder calls it).

    forward(u): (n, n_u) -> (mu, s), each (n, n_out).
    backward(dmu, ds, need_du): adds the parameter gradients, returns du or None.
    """

    def __init__(self, sizes, n_out, *, activation, var_floor, rng, init, dtype):
        kw = dict(rng=rng, init=init, dtype=dtype)
        self.trunk = dense_stack(sizes, activation, final_activation=True, **kw)
        self.mean = Linear(sizes[-1], n_out, **kw)
        self.logvar = Linear(sizes[-1], n_out, **kw)
        self.var_floor = var_floor
        self._floor = None

    def modules(self, prefix, *, mean="mean"):
        return {prefix: self.trunk, f"{prefix}_{mean}": self.mean,
                f"{prefix}_logvar": self.logvar}

    def forward(self, u):
        """u: (n, n_u) -> (mu, s), each (n, n_out); keeps the caches for backward."""
        h = self.trunk.forward(u)                              # (n, hidden)
        mu, raw = self.mean.forward(h), self.logvar.forward(h)
        if self.var_floor is None:
            self._floor = None
            return mu, raw
        s, self._floor = logvar_floor_forward(raw, self.var_floor)
        return mu, s

    def backward(self, dmu, ds, need_du=True):
        if self._floor is not None:                            # through the floor
            ds = logvar_floor_backward(ds, self._floor)
        dh = self.mean.backward(dmu) + self.logvar.backward(ds)
        return self.trunk.backward(dh, need_dx=need_du)

    def predict(self, u):
        """(mu, s) for many rows, in chunks (no gradients kept)."""
        both = batched(lambda b: np.concatenate(self.forward(b), axis=1), u)
        k = both.shape[1] // 2
        return both[:, :k], both[:, k:]


class VarianceNetworkVAE(Model):
    """A VAE whose Gaussian decoder has a mean network and a variance network.

    Encoder (as ``models.VAE``): sizes = (n_in, hidden..., n_code), hidden
    layers ``activation``, then the mu and logvar heads, the ``GaussianNet``
    ``q_net`` (no floor); z = mu + exp(logvar / 2) eps. Decoder: the
    ``GaussianNet`` ``p_net``, n_code -> decoder_hidden... -> (mean,
    log-variance), each n_in. Loss: NLL(x | z) + beta KL(q || N(0, I)) in
    nats per example; ``last_stats``: ``recon``, ``kl`` and ``min_logvar``
    (the smallest decoder log-variance in the batch: the one the pathology
    drives to -inf).

    Hyperparameters (keyword-only): sizes (at least one hidden width), rng,
    activation, decoder_hidden (default: the hidden widths reversed; at
    least one), beta, var_floor (None: unbounded variance; a number > 0:
    v >= var_floor), init, dtype. Modules (and attributes): ``encoder``,
    ``encoder_mu``, ``encoder_logvar``, ``decoder``, ``decoder_mean``,
    ``decoder_logvar``.
    """

    def __init__(self, *, sizes, rng, activation="relu", decoder_hidden=None, beta=1.0,
                 var_floor=None, init="glorot", dtype=np.float64):
        super().__init__()
        self.sizes = check_sizes(sizes, min_len=3)
        self.n_in, self.hidden, self.n_code = self.sizes[0], self.sizes[1:-1], self.sizes[-1]
        self.decoder_hidden = (tuple(reversed(self.hidden)) if decoder_hidden is None
                               else check_sizes(decoder_hidden, "decoder_hidden", min_len=1))
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.beta = check_nonneg_float(beta, "beta")
        self.var_floor = _check_floor(var_floor)
        check_rng(rng)
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        kw = dict(rng=rng, init=init, dtype=self.dtype)
        self.q_net = GaussianNet(self.sizes[:-1], self.n_code, activation=activation,
                                 var_floor=None, **kw)
        self.p_net = GaussianNet((self.n_code,) + self.decoder_hidden, self.n_in,
                                 activation=activation, var_floor=self.var_floor, **kw)
        self.encoder, self.encoder_mu, self.encoder_logvar = (
            self.q_net.trunk, self.q_net.mean, self.q_net.logvar)
        self.decoder, self.decoder_mean, self.decoder_logvar = (
            self.p_net.trunk, self.p_net.mean, self.p_net.logvar)
        self.modules = {**self.q_net.modules("encoder", mean="mu"),
                        **self.p_net.modules("decoder")}

    def encode(self, x):
        """x: (n, n_in) -> (mu, logvar) of q(z | x), each (n, n_code)."""
        self._check_x(x, self.n_in)
        return self.q_net.predict(x)

    def decode(self, z):
        """z: (n, n_code) -> (mean, log-variance) of p(x | z), each (n, n_in)."""
        self._check_x(z, self.n_code, "z")
        return self.p_net.predict(z)

    def _forward(self, x, eps):
        """Shared forward pass: returns (loss, recon, kl, dmean, ds, rep_cache),
        the loss refused when it overflowed (``losses.check_overflow``)."""
        mu, logvar = self.q_net.forward(x)                     # (n, n_code) each
        z, kl, rep_cache = ops.reparameterize_kl(mu, logvar, eps)
        mean, s = self.p_net.forward(z)                        # (n, n_in) each
        recon, dmean, ds = ops.gaussian_nll_loss(mean, s, x)
        self.last_stats = {"recon": recon, "kl": kl, "min_logvar": float(s.min())}
        loss = check_overflow(recon + self.beta * kl, x, {
            "the encoder's log-variance": logvar, "the decoder's log-variance": s},
            self.params)
        return loss, dmean, ds, rep_cache

    def loss_and_grad(self, x, *, eps=None, rng=None):
        """-ELBO (beta-weighted) and its gradients. x: (n, n_in); eps: (n,
        n_code) fixes the reparameterisation noise, else drawn from rng."""
        self._check_target(x)
        eps = draw_eps(eps, rng, (x.shape[0], self.n_code), self.dtype)
        self.zero_grad()
        loss, dmean, ds, rep_cache = self._forward(x, eps)
        dz = self.p_net.backward(dmean, ds)
        dmu, dlogvar = ops.reparameterize_kl_backward(dz, rep_cache, self.beta)
        self.q_net.backward(dmu, dlogvar, need_du=False)
        return loss, self.grads

    def loss(self, x, *, eps=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        self._check_target(x)
        return self._forward(x, draw_eps(eps, rng, (x.shape[0], self.n_code), self.dtype))[0]

    def _check_target(self, x):
        """x: (n, n_in), the data a Gaussian NLL is taken of: refused when so
        large that the squared error overflows (``losses.check_support``, as
        every Gaussian model)."""
        return check_support(self._check_x(x, self.n_in), "gaussian")

    def kl(self, x):
        """KL(q(z | x) || N(0, I)) per example: (n,)."""
        return gaussian_kl(*self.encode(x))

    def recon_nll(self, x):
        """-log p(x | z = posterior mean) per example, float64: (n, n_in) -> (n,)."""
        self._check_target(x)
        mean, s = self.decode(self.encode(x)[0])
        return -log_normal(x.astype(np.float64), mean.astype(np.float64),
                           s.astype(np.float64))


class GaussianDenoiser(Model):
    """A denoising autoencoder with a Gaussian reconstruction distribution:

        x_tilde = x + sigma e,   p(x | x_tilde) = N(mu(x_tilde), diag exp(s(x_tilde))),

    trained on the NLL of the clean x (sum over features, mean over the
    batch). With a learned variance, sampling x ~ p(x | x_tilde) is the
    second half of the generative stochastic network's chain
    (``tinyae.analysis.generative.gsn_chain``; Bengio et al., 2013).

    Hyperparameters (keyword-only): sizes = (n_in, hidden...) the trunk's
    widths (at least one hidden; the two heads map back to n_in), sigma >= 0
    (the corruption level), rng, activation="tanh", var_floor, init, dtype.
    Modules (and attributes): ``net``, ``net_mean``, ``net_logvar``; the
    corruption is ``corruption = GaussianNoise(sigma)`` (``tinyae.corruption``,
    drawn and applied as in ``MLPAutoencoder``).
    """

    def __init__(self, *, sizes, sigma, rng, activation="tanh", var_floor=None,
                 init="glorot", dtype=np.float64):
        super().__init__()
        self.sizes = check_sizes(sizes)
        self.n_in = self.sizes[0]
        self.sigma = check_nonneg_float(sigma, "sigma")
        self.corruption = GaussianNoise(self.sigma)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.var_floor = _check_floor(var_floor)
        check_rng(rng)
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        self.gaussian = GaussianNet(self.sizes, self.n_in, activation=activation,
                                    var_floor=self.var_floor, rng=rng, init=init,
                                    dtype=self.dtype)
        self.net, self.net_mean, self.net_logvar = (
            self.gaussian.trunk, self.gaussian.mean, self.gaussian.logvar)
        self.modules = self.gaussian.modules("net")

    def reconstruction_distribution(self, x_tilde):
        """(mean, log-variance) of p(x | x_tilde): (n, n_in) -> two (n, n_in)."""
        self._check_x(x_tilde, self.n_in, "x_tilde")
        return self.gaussian.predict(x_tilde)

    def loss_and_grad(self, x, *, noise=None, rng=None):
        """NLL of clean x under p(x | x + sigma noise). x: (n, n_in); noise
        (shaped like x) fixes the corruption, else e ~ N(0, I) from rng."""
        self.zero_grad()
        loss, dmean, ds = self._forward(x, noise, rng)
        self.gaussian.backward(dmean, ds, need_du=False)
        return loss, self.grads

    def loss(self, x, *, noise=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        return self._forward(x, noise, rng)[0]

    def _forward(self, x, noise, rng):
        """(loss, dmean, ds) of clean x under p(x | x_tilde); x refused when too
        large, before the pass (``losses.check_support``) or after it
        (``losses.check_overflow``: exp(-s) overflowed), as every Gaussian model."""
        check_support(self._check_x(x, self.n_in), "gaussian")
        mean, s = self.gaussian.forward(corrupt(self.corruption, x, noise, rng))
        loss, dmean, ds = ops.gaussian_nll_loss(mean, s, x)
        self.last_stats = {"recon": loss}
        check_overflow(loss, x, {"the log-variance": s}, self.params)
        return loss, dmean, ds
