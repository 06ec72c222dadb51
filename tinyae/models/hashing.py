"""Semantic hashing autoencoder (Salakhutdinov & Hinton, 2009): an
autoencoder whose code units learn to be binary.

The code is a sigmoid of the encoder's last affine output a, but during
training noise is added *before* the sigmoid,

    z = sigmoid(a + n),    n ~ N(0, s^2) fixed per example and unit,

(Salakhutdinov & Hinton used variance 16, s = 4). A code unit near 0.5
would pass the decoder a different value on every draw, so the only way to
transmit information reliably is to push |a| well beyond s, where the
sigmoid saturates at 0 or 1 whatever the noise. After training the hash is
the sign of a: ``bits = a > 0`` (z > 1/2 without noise).

The noise is a constant offset for the gradient: with dz from the decoder,

    da = dz * z (1 - z)          (``functional.sigmoid_backward`` at z),

and everything else is the plain autoencoder's backward pass
(``tinyae.models.mlp``).
"""

import numpy as np

from .._validation import check_array, check_nonneg_float, check_rng
from ..backend import ops
from ..losses import check_support
from .base import batched
from .mlp import MLPAutoencoder


class SemanticHashingAutoencoder(MLPAutoencoder):
    """MLPAutoencoder with a noisy sigmoid code: ``sizes[-1]`` bits per input.

    code_noise: standard deviation s of the Gaussian noise added to the code
    pre-activation during training (0: a plain sigmoid code). Every other
    keyword is MLPAutoencoder's, except ``code_activation`` (the encoder
    ends linearly: the sigmoid comes after the noise) and ``corruption``
    (the code noise is this model's only noise).
    """

    def __init__(self, *, code_noise=4.0, **kwargs):
        for name in ("code_activation", "corruption"):
            if name in kwargs:
                raise TypeError(f"SemanticHashingAutoencoder does not take {name} (its "
                                f"code is a sigmoid after the code noise)")
        self.code_noise = check_nonneg_float(code_noise, "code_noise")
        super().__init__(code_activation="identity", **kwargs)

    def code_logits(self, x):
        """x: (batch, n_0) -> a: (batch, bits), the pre-sigmoid code."""
        self._check_x(x, self.n_in)
        return batched(self.encoder.forward, x)

    def encode(self, x):
        """x: (batch, n_0) -> z = sigmoid(a): (batch, bits), noise-free."""
        return ops.sigmoid_forward(self.code_logits(x))[0]

    def hash(self, x):
        """x: (batch, n_0) -> binary codes a > 0: (batch, bits) bool."""
        return self.code_logits(x) > 0

    def _noise(self, x, noise, rng):
        """The code noise of one loss evaluation: (batch, bits); x checked
        against the likelihood's support, as in ``MLPAutoencoder``."""
        check_support(self._check_x(x, self.n_in), self.likelihood)
        shape = (x.shape[0], self.n_code)
        if noise is not None:
            return check_array(noise, "noise", shape=shape, dtype=self.dtype)
        if self.code_noise == 0:
            return np.zeros(shape, self.dtype)
        if rng is None:
            raise ValueError("rng must be a numpy Generator when noise is not given "
                             "(the code noise is random)")
        return self.code_noise * check_rng(rng).standard_normal(shape, dtype=self.dtype)

    def _forward(self, x, noise):
        """Loss of x through z = sigmoid(a + noise): (recon, dout, z, z_cache)."""
        a = self.encoder.forward(x)                        # (batch, bits)
        z, z_cache = ops.sigmoid_forward(a + noise)        # (batch, bits) in (0, 1)
        out = self.decoder.forward(z)                      # (batch, n_0)
        recon, dout = getattr(ops, self._loss_op)(out, x)
        self.last_stats = {"recon": recon,
                           "saturated": float(np.mean(np.abs(z - 0.5) > 0.45))}
        return recon, dout, z_cache

    def loss_and_grad(self, x, *, noise=None, rng=None):
        """Reconstruction loss of x through z = sigmoid(a + noise).

        x: (batch, n_0); noise: (batch, bits), the noise itself (already
        scaled), or None to draw ``code_noise * N(0, 1)`` from ``rng``.
        Returns (loss, grads).
        """
        noise = self._noise(x, noise, rng)
        self.zero_grad()
        recon, dout, z_cache = self._forward(x, noise)
        dz = self.decoder.backward(dout)                   # (batch, bits)
        self.encoder.backward(ops.sigmoid_backward(dz, z_cache), need_dx=False)
        return recon, self.grads

    def loss(self, x, *, noise=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        return self._forward(x, self._noise(x, noise, rng))[0]

    def reconstruction_loss(self, x):
        """The loss with no code noise (z = sigmoid(a)), on the rows of x."""
        check_support(self._check_x(x, self.n_in), self.likelihood)
        out = batched(lambda xb: self.decoder.forward(
            ops.sigmoid_forward(self.encoder.forward(xb))[0]), x)
        return getattr(ops, self._loss_op)(out, x)[0]
