"""Multi-layer perceptron autoencoder (encoder and mirrored decoder)."""

import numpy as np

from .._validation import check_choice, check_dtype, check_positive_int, check_rng
from ..backend import ops
from ..layers import ACTIVATIONS, INITS, Linear, Sequential, TiedLinear
from ..layers import activation as make_activation
from ..losses import RECONSTRUCTION
from .base import Model, batched


class MLPAutoencoder(Model):
    """An autoencoder x -> code -> reconstruction built from dense layers.

    sizes = (n_0, n_1, ..., n_k): the encoder maps n_0 -> ... -> n_k (the
    code), the decoder mirrors it back n_k -> ... -> n_0.

    * hidden layers use ``activation``; the code uses ``code_activation``;
    * ``output="bernoulli"``: the decoder ends in logits and the loss is BCE
      on logits (targets in [0, 1]); ``output="mse"``: the decoder ends
      linearly and the loss is the squared error;
    * ``tied=True``: each decoder layer reuses its mirror encoder layer's
      weights transposed (only biases are new).

    Parameter names: ``encoder.<i>.W``, ``decoder.<i>.b``, ... where ``i`` is
    the index in the Sequential (activations take odd indices).
    Loss: sum over pixels, mean over the batch (see ``tinyae.losses``).
    """

    def __init__(self, *, sizes, rng, activation="relu", code_activation="identity",
                 output="bernoulli", tied=False, init="glorot", dtype=np.float64):
        super().__init__()
        self.sizes = tuple(sizes)
        if len(self.sizes) < 2:
            raise ValueError(f"sizes must have at least 2 entries, got {sizes!r}")
        for i, n in enumerate(self.sizes):
            check_positive_int(n, f"sizes[{i}]")
        check_rng(rng)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.code_activation = check_choice(code_activation, "code_activation", ACTIVATIONS)
        self.output = check_choice(output, "output", RECONSTRUCTION)
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
        self._loss_op = RECONSTRUCTION[self.output]

    # -- inference ---------------------------------------------------------
    def encode(self, x):
        """x: (batch, n_0) -> code: (batch, n_k)."""
        self._check_x(x, self.sizes[0])
        return batched(self.encoder.forward, x)

    def decode(self, z):
        """code: (batch, n_k) -> reconstruction (probabilities for bernoulli)."""
        self._check_x(z, self.sizes[-1], "z")
        out = batched(self.decoder.forward, z)
        return ops.sigmoid_forward(out)[0] if self.output == "bernoulli" else out

    def reconstruct(self, x):
        """x: (batch, n_0) -> reconstruction: (batch, n_0)."""
        return self.decode(self.encode(x))

    # -- training ----------------------------------------------------------
    def loss_and_grad(self, x, *, target=None, rng=None):
        """Reconstruction loss of ``target`` (default ``x``) from input ``x``.

        x, target: (batch, n_0). Returns (loss, grads) with grads the flat
        dict of this model (same keys as ``params``). ``rng`` is unused
        (the plain autoencoder is deterministic).
        """
        self._check_x(x, self.sizes[0])
        if target is None:
            target = x
        else:
            self._check_x(target, self.sizes[0], "target")
        self.zero_grad()
        code = self.encoder.forward(x)                 # (batch, n_k)
        out = self.decoder.forward(code)               # (batch, n_0) logits or values
        recon, dout = getattr(ops, self._loss_op)(out, target)
        dcode = self.decoder.backward(dout)            # (batch, n_k)
        penalty, dcode_pen, stats = self._code_penalty(code)
        if dcode_pen is not None:
            dcode = dcode + dcode_pen                  # both terms reach the code
        self.encoder.backward(dcode, need_dx=False)     # dL/dx: nobody reads it
        self.last_stats = {"recon": recon, **stats}
        return recon + penalty, self.grads

    def _code_penalty(self, code):
        """A penalty on the code, for subclasses (sparse, contractive).

        code: (batch, n_k). Returns ``(value, dcode, stats)``: the weighted
        penalty added to the loss, its gradient w.r.t. the code (None for no
        penalty), and entries for ``last_stats``. A subclass may also add
        direct parameter gradients into ``grads`` here (they were just
        zeroed). The plain autoencoder has none.
        """
        return 0.0, None, {}
