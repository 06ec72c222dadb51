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
from .base import batched
from .mlp import MLPAutoencoder


class SemanticHashingAutoencoder(MLPAutoencoder):
    """MLPAutoencoder with a noisy sigmoid code: ``sizes[-1]`` bits per input.

    code_noise: standard deviation s of the Gaussian noise added to the code
    pre-activation during training (0: a plain sigmoid code). Every other
    keyword is MLPAutoencoder's (the encoder itself ends linearly: the
    sigmoid is applied here, after the noise).
    """

    def __init__(self, *, code_noise=4.0, **kwargs):
        if "code_activation" in kwargs:
            raise TypeError("SemanticHashingAutoencoder sets its own code activation "
                            "(a sigmoid after the noise); do not pass code_activation")
        self.code_noise = check_nonneg_float(code_noise, "code_noise")
        super().__init__(code_activation="identity", **kwargs)

    def code_logits(self, x):
        """x: (batch, n_0) -> a: (batch, bits), the pre-sigmoid code."""
        self._check_x(x, self.sizes[0])
        return batched(self.encoder.forward, x)

    def encode(self, x):
        """x: (batch, n_0) -> z = sigmoid(a): (batch, bits), noise-free."""
        return ops.sigmoid_forward(self.code_logits(x))[0]

    def hash(self, x):
        """x: (batch, n_0) -> binary codes a > 0: (batch, bits) bool."""
        return self.code_logits(x) > 0

    def loss_and_grad(self, x, *, noise=None, rng=None):
        """Reconstruction loss of x through z = sigmoid(a + noise).

        x: (batch, n_0); noise: (batch, bits), the noise itself (already
        scaled), or None to draw ``code_noise * N(0, 1)`` from ``rng``.
        Returns (loss, grads).
        """
        self._check_x(x, self.sizes[0])
        shape = (x.shape[0], self.sizes[-1])
        if noise is None:
            if rng is None and self.code_noise > 0:
                raise ValueError("rng must be a numpy Generator when noise is not "
                                 "given (the code noise is random)")
            noise = (self.code_noise * check_rng(rng).standard_normal(shape, dtype=self.dtype)
                     if self.code_noise > 0 else np.zeros(shape, self.dtype))
        else:
            check_array(noise, "noise", shape=shape, dtype=self.dtype)
        self.zero_grad()
        a = self.encoder.forward(x)                        # (batch, bits)
        z, z_cache = ops.sigmoid_forward(a + noise)        # (batch, bits) in (0, 1)
        out = self.decoder.forward(z)                      # (batch, n_0)
        recon, dout = getattr(ops, self._loss_op)(out, x)
        dz = self.decoder.backward(dout)                   # (batch, bits)
        self.encoder.backward(ops.sigmoid_backward(dz, z_cache), need_dx=False)
        self.last_stats = {"recon": recon,
                           "saturated": float(np.mean(np.abs(z - 0.5) > 0.45))}
        return recon, self.grads
