"""Variational autoencoders (Kingma and Welling, 2014; Rezende et al., 2014),
plain and conditional, with the reparameterisation gradient written out.

The model
---------
A latent z ~ p(z) = N(0, I) (latent dims) generates x through a decoder
network, p(x | z) = Bernoulli(sigmoid(logits(z))) or N(mean(z), diag v). The
encoder network gives a Gaussian approximate posterior

    q(z | x) = N(mu(x), diag exp(logvar(x)))          (two linear heads)

and both are trained together by maximising the evidence lower bound

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z))  <=  log p(x),

i.e. by minimising ``loss = recon + beta * KL`` in nats per example (sum over
dimensions, mean over the batch; ``beta = 1`` is the true negative ELBO).

The sample z = mu + exp(logvar / 2) eps (the reparameterisation trick) and
the closed-form KL, with their derivatives, are derived once, in
``tinyae.functional.reparameterize``, ``gaussian_kl`` and
``reparameterize_kl_backward``; the training step runs the fused op
``reparameterize_kl`` (Numba twin in ``tinyae.kernels``). Sampling with
exp(logvar) as the standard deviation would pass a finite-difference check
and still be wrong: ``tests/test_vae.py`` has a moment test for that.

Files of the VAE family: this one (the model, generation, diagnostics);
``tinyae.distributions`` (log densities and the decoder likelihoods);
``tinyae.bounds`` (log p(x | z), the ELBO and the importance-weighted
bounds of Burda et al., 2016, as the mixin ``LatentBounds``).

Conditional VAE (Sohn et al., 2015): with ``n_cond > 0`` a conditioning
vector c (e.g. a one-hot label) is appended to the encoder input, (x, c), and
to the decoder input, (z, c). ``tinyae.train.fit(model, (x, c), ...)`` passes
both positionally.

Parameter names: ``encoder.<i>.W`` (hidden layers), ``encoder_mu.W``,
``encoder_logvar.W``, ``decoder.<i>.W``, and ``decoder_logvar.logvar`` when the
Gaussian decoder's variance is learned.
"""

import numbers

import numpy as np

from .._validation import (check_array, check_choice, check_dtype,
                           check_nonneg_float, check_positive_int, check_rng,
                           check_sizes)
from ..backend import ops
from ..bounds import LatentBounds
from ..distributions import LIKELIHOODS
from ..functional import gaussian_kl, reparameterize
from ..layers import ACTIVATIONS, INITS, Layer, Linear, dense_stack
from ..losses import check_overflow, check_support
from .base import Model, SplitsWithEps, batched, draw_eps


#: decoder_variance -> shape of the learned log-variance (None: fixed, no parameter).
DECODER_VARIANCES = {"fixed": None, "learned": "n_in", "learned_shared": 1}


class DecoderLogVariance(Layer):
    """The Gaussian decoder's learned log-variance: one parameter ``logvar``
    of shape (n_in,) (per feature) or (1,) (one variance shared by all
    features, as in probabilistic PCA). It has no forward pass of its own;
    the VAE reads ``params["logvar"]`` and adds into ``grads["logvar"]``."""

    def __init__(self, size, *, init, dtype):
        super().__init__()
        self._add_param("logvar", np.full(size, init, dtype=dtype))

    def __repr__(self):
        return f"DecoderLogVariance(size={self.params['logvar'].size})"


class VAE(SplitsWithEps, LatentBounds, Model):
    """Variational autoencoder with a Gaussian encoder and a Bernoulli or
    Gaussian decoder (see the module docstring for the maths).

    ``sizes = (n_in, *hidden, n_code)``, as every tinyae autoencoder: e.g.
    (784, 400, 20). Encoder: (n_in + n_cond) -> hidden... -> [encoder_mu,
    encoder_logvar] (n_code each). Decoder: (n_code + n_cond) ->
    decoder_hidden... -> n_in (logits for ``likelihood="bernoulli"``, the
    mean for ``"gaussian"``). ``decoder_hidden`` defaults to ``hidden``
    reversed. ``sizes=(n_in, n_code)`` gives the linear-Gaussian VAE
    (encoder and decoder affine), which with ``likelihood="gaussian",
    decoder_variance="learned_shared"`` is probabilistic PCA's model.

    Hyperparameters (keyword-only):

    - sizes: layer widths, code last.
    - decoder_hidden: the decoder's hidden widths.
    - activation: a key of ``layers.ACTIVATIONS``.
    - likelihood: "bernoulli" (x in [0, 1], BCE on logits) or "gaussian".
    - decoder_variance: "fixed" (log-variance ``fixed_logvar``), "learned"
      (one log-variance per feature, initialised at fixed_logvar) or
      "learned_shared" (one scalar for all features). Gaussian only.
    - beta: weight of the KL term (beta-VAE; 1 is the ELBO).
    - n_cond: width of the conditioning vector c (0: unconditional).
    - rng: numpy Generator for the initial weights.
    - init: a key of ``INITS``.

    Loss: ``recon + beta * KL`` in nats per example; ``last_stats`` holds
    ``{"recon", "kl"}`` of the last call.
    """

    #: a mean of per-example terms (recon and KL of each example); eps is
    #: drawn for the whole batch (``SplitsWithEps``)
    _splits_batch = True

    def __init__(self, *, sizes, rng, activation="relu", likelihood="bernoulli",
                 decoder_variance="fixed", fixed_logvar=0.0, beta=1.0, n_cond=0,
                 decoder_hidden=None, init="glorot", dtype=np.float64):
        super().__init__()
        self.sizes = check_sizes(sizes)
        self.n_in, self.hidden, self.n_code = self.sizes[0], self.sizes[1:-1], self.sizes[-1]
        self.decoder_hidden = (tuple(reversed(self.hidden)) if decoder_hidden is None
                               else check_sizes(decoder_hidden, "decoder_hidden", min_len=0))
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.likelihood = check_choice(likelihood, "likelihood", LIKELIHOODS)
        self.decoder_variance = check_choice(decoder_variance, "decoder_variance",
                                             DECODER_VARIANCES)
        if likelihood == "bernoulli" and decoder_variance != "fixed":
            raise ValueError(
                f"decoder_variance={decoder_variance!r} needs likelihood='gaussian' "
                f"(a Bernoulli decoder has no variance parameter)")
        if isinstance(fixed_logvar, bool) or not isinstance(fixed_logvar, numbers.Real) \
                or not np.isfinite(fixed_logvar):
            raise ValueError(f"fixed_logvar must be a finite number, got {fixed_logvar!r}")
        self.fixed_logvar = float(fixed_logvar)
        self.beta = check_nonneg_float(beta, "beta")
        if isinstance(n_cond, bool) or not isinstance(n_cond, numbers.Integral) or n_cond < 0:
            raise ValueError(f"n_cond must be an integer >= 0, got {n_cond!r}")
        self.n_cond = int(n_cond)
        check_rng(rng)
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)

        kw = dict(rng=rng, init=init, dtype=self.dtype)
        enc_sizes = (self.n_in + self.n_cond,) + self.hidden
        self.encoder = dense_stack(enc_sizes, activation, final_activation=True, **kw)
        self.encoder_mu = Linear(enc_sizes[-1], self.n_code, **kw)
        self.encoder_logvar = Linear(enc_sizes[-1], self.n_code, **kw)
        dec_sizes = (self.n_code + self.n_cond,) + self.decoder_hidden + (self.n_in,)
        self.decoder = dense_stack(dec_sizes, activation, final_activation=False, **kw)
        self.modules = {"encoder": self.encoder, "encoder_mu": self.encoder_mu,
                        "encoder_logvar": self.encoder_logvar, "decoder": self.decoder}
        size = DECODER_VARIANCES[self.decoder_variance]
        if size is not None:
            self.decoder_logvar = DecoderLogVariance(
                self.n_in if size == "n_in" else size, init=self.fixed_logvar,
                dtype=self.dtype)
            self.modules["decoder_logvar"] = self.decoder_logvar
        self._fixed_lv = np.full(1, self.fixed_logvar, dtype=self.dtype)
        self._recon, self._logp, self._mean, self._dlogp = LIKELIHOODS[self.likelihood]

    # -- input checks and plumbing -------------------------------------------
    def _logvar_x(self):
        """Decoder log-variance: (n_in,) or (1,), broadcast against (..., n_in)."""
        if self.decoder_variance == "fixed":
            return self._fixed_lv
        return self.decoder_logvar.params["logvar"]

    def _check_data(self, x, c, name="x"):
        """Validate x: (batch, n_in) and c: (batch, n_cond) (or None)."""
        self._check_x(x, self.n_in, name)
        check_support(x, self.likelihood, name)
        return self._check_c(c, x.shape[0])

    def _check_c(self, c, n):
        if self.n_cond == 0:
            if c is not None:
                raise ValueError(
                    "c must be None for an unconditional VAE (n_cond=0), got an "
                    f"array of shape {getattr(c, 'shape', type(c).__name__)}")
            return None
        if c is None:
            raise ValueError(
                f"c is required: this VAE is conditional (n_cond={self.n_cond}); "
                f"pass c of shape ({n}, {self.n_cond})")
        return check_array(c, "c", shape=(n, self.n_cond), dtype=self.dtype)

    def _cat(self, a, c):
        """concat(a, c) along features (a itself when unconditional)."""
        return a if c is None else np.concatenate([a, c], axis=1)

    def _check_eps(self, eps, shape):
        check_array(eps, "eps", ndim=len(shape), shape=shape, dtype=self.dtype)
        return eps

    def _heads(self, xc):
        """xc: (batch, n_in + n_cond) -> (mu, logvar), each (batch, n_code)."""
        h = self.encoder.forward(xc)
        return self.encoder_mu.forward(h), self.encoder_logvar.forward(h)

    # -- training --------------------------------------------------------------
    def loss_and_grad(self, x, c=None, *, eps=None, rng=None):
        """Negative (beta-)ELBO with one reparameterised sample per example.

        x: (batch, n_in); c: (batch, n_cond) or None; eps: (batch, n_code)
        (drawn from ``rng`` when None; pass it for a deterministic loss).

            loss = recon + beta * KL,  recon = (1/N) sum_n -log p(x_n | z_n),
            KL = (1/N) sum_n KL(q(z | x_n) || N(0, I)),  z_n = mu_n + sigma_n eps_n.

        Backward: the decoder returns dz; ``reparameterize_kl_backward``
        (derived in ``tinyae.functional``) turns it into dmu and dlogvar,
        which flow into the two heads and the shared encoder body.
        Returns (loss, grads) with grads the flat dict (keys of ``params``).
        """
        c = self._check_data(x, c)
        n = x.shape[0]
        eps = draw_eps(eps, rng, (n, self.n_code), self.dtype)
        self.zero_grad()
        mu, logvar = self._heads(self._cat(x, c))               # (N, n_code) each
        # z = mu + exp(logvar / 2) eps and the mean KL, in one op
        z, kl, rep_cache = ops.reparameterize_kl(mu, logvar, eps)
        out = self.decoder.forward(self._cat(z, c))              # (N, n_in)
        recon, dout = self._recon(self, out, x, grad=True)       # mean over batch
        loss = self._total(recon, kl, x, logvar)
        dz = self.decoder.backward(dout)[:, :self.n_code]        # drop dc
        dmu, dlogvar = ops.reparameterize_kl_backward(dz, rep_cache, self.beta)
        dh = self.encoder_mu.backward(dmu) + self.encoder_logvar.backward(dlogvar)
        self.encoder.backward(dh, need_dx=False)                 # nobody needs dL/dx
        return loss, self.grads

    def loss(self, x, c=None, *, eps=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        c = self._check_data(x, c)
        eps = draw_eps(eps, rng, (x.shape[0], self.n_code), self.dtype)
        mu, logvar = self._heads(self._cat(x, c))
        z, kl, _ = ops.reparameterize_kl(mu, logvar, eps)
        recon, _ = self._recon(self, self.decoder.forward(self._cat(z, c)), x, grad=False)
        return self._total(recon, kl, x, logvar)

    def _total(self, recon, kl, x, logvar):
        """recon + beta KL, refused when it overflowed on finite data
        (``losses.check_overflow``: exp(logvar) in the KL and in z)."""
        self.last_stats = {"recon": recon, "kl": kl}
        return check_overflow(recon + self.beta * kl, x,
                              {"the encoder's log-variance": logvar}, self.params)

    # -- inference and generation ------------------------------------------------
    def encode(self, x, c=None):
        """x: (batch, n_in) -> (mu, logvar) of q(z | x), each (batch, n_code)."""
        c = self._check_data(x, c)
        both = batched(lambda xc: np.concatenate(self._heads(xc), axis=1),
                       self._cat(x, c))
        return both[:, :self.n_code], both[:, self.n_code:]

    def sample_posterior(self, x, c=None, *, rng=None, eps=None):
        """One draw z ~ q(z | x) per row: mu + exp(logvar / 2) * eps.

        x: (batch, n_in) -> z: (batch, n_code); eps: (batch, n_code) or None.
        """
        mu, logvar = self.encode(x, c)
        eps = draw_eps(eps, rng, mu.shape, self.dtype)
        return reparameterize(mu, logvar, eps)[0]

    def _decode_out(self, z, c):
        """z: (rows, n_code), c: (rows, n_cond) or None -> decoder output (rows, n_in)."""
        return batched(self.decoder.forward, self._cat(z, c))

    def decode(self, z, c=None):
        """z: (batch, n_code) -> mean of p(x | z): probabilities (bernoulli)
        or Gaussian means, (batch, n_in)."""
        self._check_x(z, self.n_code, "z")
        c = self._check_c(c, z.shape[0])
        return self._mean(self._decode_out(z, c))

    def reconstruct(self, x, c=None, *, rng=None):
        """Decode the posterior mean (or, with ``rng``, one posterior sample)."""
        if rng is None:
            return self.decode(self.encode(x, c)[0], c)
        return self.decode(self.sample_posterior(x, c, rng=rng), c)

    def sample(self, n, *, rng, c=None):
        """n draws z ~ N(0, I) decoded to means of p(x | z): (n, n_in).

        c: (n, n_cond) for a conditional VAE (e.g. one label per row).
        """
        n = check_positive_int(n, "n")
        check_rng(rng)
        return self.decode(rng.standard_normal((n, self.n_code), dtype=self.dtype), c)

    def interpolate(self, x_a, x_b, steps, *, mode="linear", c=None):
        """Decode ``steps`` points on the path between the posterior means of
        x_a and x_b.

        x_a, x_b: (n_in,) -> (steps, n_in), or (m, n_in) -> (m, steps, n_in).
        mode "linear": z(t) = (1 - t) a + t b; "slerp": along the great
        circle, z(t) = [sin((1-t) W) a + sin(t W) b] / sin W with W the angle
        between a and b (linear when W ~ 0), which keeps the norm typical of
        N(0, I) draws. t runs over linspace(0, 1, steps). c: (n_cond,) or
        (m, n_cond), used for both endpoints and the path.
        """
        check_choice(mode, "mode", _PATHS)
        steps = check_positive_int(steps, "steps")
        single = isinstance(x_a, np.ndarray) and x_a.ndim == 1
        xa = x_a[None] if single else x_a
        xb = x_b[None] if isinstance(x_b, np.ndarray) and x_b.ndim == 1 else x_b
        self._check_x(xa, self.n_in, "x_a")
        self._check_x(xb, self.n_in, "x_b")
        if xa.shape != xb.shape:
            raise ValueError(f"x_a and x_b must have the same shape, got "
                             f"{xa.shape} and {xb.shape}")
        m = xa.shape[0]
        if c is not None and isinstance(c, np.ndarray) and c.ndim == 1:
            c = np.broadcast_to(c, (m, c.shape[0]))
        a = self.encode(xa, c)[0]                        # (m, n_code)
        b = self.encode(xb, c)[0]
        t = np.linspace(0.0, 1.0, steps, dtype=self.dtype)[None, :, None]   # (1, steps, 1)
        z = _PATHS[mode](a[:, None, :], b[:, None, :], t)                   # (m, steps, n_code)
        cc = None if c is None else np.repeat(c, steps, axis=0)              # (m*steps, n_cond)
        out = self.decode(np.ascontiguousarray(z.reshape(m * steps, self.n_code),
                                               dtype=self.dtype), cc)
        out = out.reshape(m, steps, self.n_in)           # rows back to (m, steps, n_in)
        return out[0] if single else out

    def decode_grid(self, n=20, *, c=None, quantiles=(0.05, 0.95)):
        """Decode an n x n grid of a 2-latent model's latent space.

        The grid coordinates are standard-normal quantiles of
        ``linspace(*quantiles, n)`` in each dimension (so the grid covers the
        prior's mass evenly, as in Kingma and Welling's Fig. 4). Row r of the
        grid has z_2 decreasing from the top; column j has z_1 increasing.
        Returns (images (n*n, n_in) in row-major order, z (n*n, 2)).
        c: (n_cond,) used for every cell of a conditional model.
        """
        from scipy.special import ndtri

        if self.n_code != 2:
            raise ValueError(f"decode_grid needs a model with n_code=2, this one has "
                             f"n_code={self.n_code}")
        n = check_positive_int(n, "n")
        lo, hi = quantiles
        if not 0 < lo < hi < 1:
            raise ValueError(f"quantiles must satisfy 0 < lo < hi < 1, got {quantiles!r}")
        g = ndtri(np.linspace(lo, hi, n))
        z1, z2 = np.meshgrid(g, g[::-1])                 # (n, n) each, row-major
        z = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(self.dtype)
        cc = None if c is None else np.broadcast_to(c, (n * n, np.shape(c)[-1]))
        return self.decode(z, None if cc is None else np.ascontiguousarray(cc)), z

    # -- diagnostics ----------------------------------------------------------------
    def kl_per_dimension(self, x, c=None):
        """Mean over the rows of x of each latent dimension's KL to N(0, 1):
        (n_code,), ``0.5 mean_n (exp(logvar) + mu^2 - 1 - logvar)``. Sums to
        the model's mean KL; dims near 0 are unused ("posterior collapse")."""
        mu, logvar = (a.astype(np.float64) for a in self.encode(x, c))
        return gaussian_kl(mu[..., None], logvar[..., None]).mean(axis=0)

    def active_units(self, x, c=None, *, threshold=0.01):
        """Active latent units (Burda et al., 2016): A_d = Cov_x(E_q[z_d]) =
        Var over the rows of x of mu_d(x); a unit is active if A_d > threshold.

        Returns (count, A) with A: (n_code,).
        """
        threshold = check_nonneg_float(threshold, "threshold")
        mu = self.encode(x, c)[0].astype(np.float64)
        values = mu.var(axis=0)
        return int(np.sum(values > threshold)), values


def _lerp(a, b, t):
    return (1 - t) * a + t * b


def _slerp(a, b, t):
    """Spherical interpolation; a, b: (m, 1, n_code), t: (1, steps, 1)."""
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    nb = np.linalg.norm(b, axis=-1, keepdims=True)
    cos = np.sum(a * b, axis=-1, keepdims=True) / np.maximum(na * nb, 1e-30)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))          # (m, 1, 1)
    so = np.sin(omega)
    small = so < 1e-6
    so = np.where(small, 1.0, so)
    out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / so
    return np.where(small, _lerp(a, b, t), out)


#: interpolation mode -> path function (a, b, t) -> z(t).
_PATHS = {"linear": _lerp, "slerp": _slerp}


class ConditionalVAE(VAE):
    """A VAE conditioned on c (Sohn et al., 2015): encoder q(z | x, c) sees
    concat(x, c), decoder p(x | z, c) sees concat(z, c). Same arguments as
    VAE; ``n_cond`` (the width of c, e.g. 10 for one-hot digits) is required
    and must be positive. Train with ``fit(model, (x, c), ...)``."""

    _splits_batch = True        #: as ``VAE``'s, c sliced with x

    def __init__(self, *, n_cond, **kwargs):
        if isinstance(n_cond, bool) or not isinstance(n_cond, numbers.Integral) or n_cond < 1:
            raise ValueError(f"n_cond must be a positive integer for a ConditionalVAE, "
                             f"got {n_cond!r}")
        super().__init__(n_cond=n_cond, **kwargs)
