"""Multi-layer perceptron autoencoder (encoder and mirrored decoder), plain
or denoising.

A denoising autoencoder (Vincent et al., 2008) is this model with a
``corruption``: it reconstructs the clean x from a corrupted copy x_tilde,
``L(x, g(f(x_tilde)))``. The corruption has no parameters, so its gradient
is the plain autoencoder's evaluated at x_tilde: nothing new to derive,
which is what makes the DAE cheap (and why it is a setting, not a class).
"""

import numpy as np

from .._validation import check_choice, check_dtype, check_rng, check_same_shape, check_sizes
from ..backend import ops
from ..corruption import Corruption, corrupt
from ..layers import ACTIVATIONS, INITS, Linear, Sequential, TiedLinear
from ..layers import activation as make_activation
from ..losses import RECONSTRUCTION, check_scale, check_support
from ..penalties import SLOPES, encoder_jacobian
from .base import Model, SplitsOverExamples, batched


def check_corruption(corruption):
    """None (a plain autoencoder) or a ``tinyae.corruption.Corruption``."""
    if corruption is not None and not isinstance(corruption, Corruption):
        raise TypeError(
            f"corruption must be None or a tinyae.corruption.Corruption, e.g. "
            f"GaussianNoise(0.5), got {corruption!r}")
    return corruption


class SplitsWithNoise(SplitsOverExamples):
    """``SplitsOverExamples`` for an autoencoder with an optional
    ``corruption``: its noise, when there is one, is drawn for the whole
    batch as ``corruption.corrupt`` draws it (``corruption.sample(x, rng)``
    on x as given)."""

    _random_input = "noise"

    def _draws_random(self):
        return self.corruption is not None

    def _draw_random(self, data, rng):
        return self.corruption.sample(data[0], rng)


class MLPAutoencoder(SplitsWithNoise, Model):
    """An autoencoder x -> code -> reconstruction built from dense layers.

    sizes = (n_0, n_1, ..., n_k): the encoder maps n_0 -> ... -> n_k (the
    code, ``n_code``), the decoder mirrors it back n_k -> ... -> n_0.

    * hidden layers use ``activation``; the code uses ``code_activation``;
    * ``likelihood="bernoulli"``: the decoder ends in logits and the loss is
      BCE on logits (targets in [0, 1]); ``likelihood="mse"``: the decoder
      ends linearly and the loss is the squared error (a Gaussian with fixed
      variance, constants dropped);
    * ``corruption``: None, or a ``tinyae.corruption.Corruption``
      (GaussianNoise, MaskingNoise, SaltAndPepper): a denoising autoencoder;
    * ``tied=True``: each decoder layer reuses its mirror encoder layer's
      weights transposed (only biases are new).

    Parameter names: ``encoder.<i>.W``, ``decoder.<i>.b``, ... where ``i`` is
    the index in the Sequential (activations take odd indices).
    Loss: sum over pixels, mean over the batch (see ``tinyae.losses``).
    """

    #: its loss is a mean of per-example terms (``SplitsWithNoise``)
    _splits_batch = True

    def __init__(self, *, sizes, rng, activation="relu", code_activation="identity",
                 likelihood="bernoulli", corruption=None, tied=False, init="glorot",
                 dtype=np.float64):
        super().__init__()
        self.sizes = check_sizes(sizes)
        check_rng(rng)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.code_activation = check_choice(code_activation, "code_activation", ACTIVATIONS)
        self.likelihood = check_choice(likelihood, "likelihood", RECONSTRUCTION)
        self.corruption = check_corruption(corruption)
        self.tied = bool(tied)
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)

        n = len(self.sizes) - 1
        enc_linear = [Linear(self.sizes[i], self.sizes[i + 1], rng=rng, init=init,
                             dtype=self.dtype) for i in range(n)]
        enc = []
        for i, lin in enumerate(enc_linear):
            enc += [lin, make_activation(
                self.code_activation if i == n - 1 else self.activation)]
        dec = []
        for i in reversed(range(n)):
            if self.tied:
                lin = TiedLinear(enc_linear[i])
            else:
                lin = Linear(self.sizes[i + 1], self.sizes[i], rng=rng, init=init,
                             dtype=self.dtype)
            dec.append(lin)
            if i > 0:                     # the last decoder layer stays linear
                dec.append(make_activation(self.activation))
        self.encoder = Sequential(*enc)
        self.decoder = Sequential(*dec)
        self.modules = {"encoder": self.encoder, "decoder": self.decoder}
        self._loss_op = RECONSTRUCTION[self.likelihood]

    @property
    def n_in(self):
        return self.sizes[0]

    @property
    def n_code(self):
        return self.sizes[-1]

    # -- inference ---------------------------------------------------------
    def encode(self, x):
        """x: (batch, n_0) -> code: (batch, n_k)."""
        self._check_x(x, self.n_in)
        return batched(self.encoder.forward, x)

    def decode(self, z):
        """code: (batch, n_k) -> reconstruction (probabilities for bernoulli)."""
        self._check_x(z, self.n_code, "z")
        out = batched(self.decoder.forward, z)
        return ops.sigmoid_forward(out)[0] if self.likelihood == "bernoulli" else out

    def reconstruct(self, x):
        """x: (batch, n_0) -> reconstruction: (batch, n_0)."""
        return self.decode(self.encode(x))

    # -- training ----------------------------------------------------------
    def _inputs(self, x, target, noise, rng):
        """(input, target) of one loss evaluation: the corrupted x (for a
        denoising autoencoder) and the clean x, unless ``target`` is given."""
        self._check_x(x, self.n_in)
        if target is None:
            target, target_name = x, "x"
        else:
            self._check_x(target, self.n_in, "target")
            check_same_shape(target, "target", x, "x")
            check_scale(x, "x")
            target_name = "target"
        check_support(target, self.likelihood, target_name)
        return corrupt(self.corruption, x, noise, rng), target

    def loss_and_grad(self, x, *, target=None, noise=None, rng=None):
        """Reconstruction loss of ``target`` (default: the clean ``x``) from
        input ``x``, corrupted by ``noise`` (drawn from ``rng`` unless given,
        shaped like x) when the model has a corruption; see ``Model``.

        x, target: (batch, n_0).
        """
        x_in, target = self._inputs(x, target, noise, rng)
        self.zero_grad()
        code = self.encoder.forward(x_in)              # (batch, n_k)
        out = self.decoder.forward(code)               # (batch, n_0) logits or values
        recon, dout = getattr(ops, self._loss_op)(out, target)
        dcode = self.decoder.backward(dout)            # (batch, n_k)
        penalty, dcode_pen, stats = self._code_penalty(code, grad=True)
        if dcode_pen is not None:
            dcode = dcode + dcode_pen                  # both terms reach the code
        self.encoder.backward(dcode, need_dx=False)    # dL/dx: nobody reads it
        self.last_stats = {"recon": recon, **stats}
        return recon + penalty, self.grads

    def loss(self, x, *, target=None, noise=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        x_in, target = self._inputs(x, target, noise, rng)
        code = self.encoder.forward(x_in)
        recon, _ = getattr(ops, self._loss_op)(self.decoder.forward(code), target)
        penalty, _, stats = self._code_penalty(code, grad=False)
        self.last_stats = {"recon": recon, **stats}
        return recon + penalty

    def reconstruction_loss(self, x):
        """The likelihood term alone on the clean x: no corruption, no code
        penalty; sum over features, mean over the rows of x (a float)."""
        check_support(self._check_x(x, self.n_in), self.likelihood)
        out = batched(lambda xb: self.decoder.forward(self.encoder.forward(xb)), x)
        return getattr(ops, self._loss_op)(out, x)[0]

    def _code_penalty(self, code, grad):
        """A penalty on the code, for subclasses (sparse, contractive).

        code: (batch, n_k). Returns ``(value, dcode, stats)``: the weighted
        penalty added to the loss, its gradient w.r.t. the code (None for no
        penalty), and entries for ``last_stats``. With ``grad`` a subclass
        may also add direct parameter gradients into ``grads`` here (they
        were just zeroed); without it, it must leave ``grads`` alone. The
        plain autoencoder has none.
        """
        return 0.0, None, {}

    # -- diagnostics (one-layer encoders with sigmoid or tanh codes) --------
    def _one_layer_encoder(self):
        """The encoder's Linear, for the Jacobian diagnostics: they need
        h = act(x W + b) with act' a function of h (sigmoid or tanh)."""
        if len(self.sizes) != 2 or self.code_activation not in SLOPES:
            raise ValueError(
                f"the Jacobian diagnostics need a one-layer encoder with a sigmoid or "
                f"tanh code, this model has sizes={self.sizes}, "
                f"code_activation={self.code_activation!r}")
        return self.encoder[0]

    def jacobian(self, x, *, dtype=None):
        """Exact encoder Jacobian per example: x (N, n_in) -> (N, n_code, n_in),
        J_n = diag(act'(a_n)) W^T (``tinyae.penalties.encoder_jacobian``),
        computed in ``dtype`` (default the model's; float64 for spectra of a
        float32 model). Memory N * n_code * n_in: pass small batches."""
        W = self._one_layer_encoder().params["W"]
        dtype = self.dtype if dtype is None else check_dtype(dtype)
        h = self.encode(x).astype(dtype, copy=False)
        return encoder_jacobian(h, W.astype(dtype, copy=False),
                                activation=self.code_activation)

    def jacobian_norm(self, x):
        """||J_f(x_n)||_F per example, (N,), without forming the Jacobian:
        ||J_n||_F^2 = sum_j act'(a_nj)^2 sum_i W_ij^2."""
        W = self._one_layer_encoder().params["W"]
        c = np.sum(W * W, axis=0)                            # (n_code,)

        def norms(xb):
            d, _ = SLOPES[self.code_activation](self.encoder.forward(xb))
            return np.sqrt((d * d) @ c)
        self._check_x(x, self.n_in)
        return batched(norms, x)
