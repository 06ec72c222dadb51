"""Denoising autoencoder (Vincent et al., 2008): reconstruct x from a
corrupted copy x_tilde.

The loss is the plain autoencoder's reconstruction loss of the *clean* x from
the *corrupted* input, ``L(x, g(f(x_tilde)))``; the corruption has no
parameters, so the gradient is the plain autoencoder's gradient evaluated at
x_tilde (there is nothing new to derive, which is what makes the DAE cheap).
"""

from .._validation import check_array, check_rng
from ..corruption import Corruption
from .mlp import MLPAutoencoder


class DenoisingAutoencoder(MLPAutoencoder):
    """An MLPAutoencoder trained to undo ``corruption``.

    corruption: a ``tinyae.corruption.Corruption`` (GaussianNoise,
    MaskingNoise, SaltAndPepper). Every other keyword is MLPAutoencoder's.
    """

    def __init__(self, *, corruption, **kwargs):
        if not isinstance(corruption, Corruption):
            raise TypeError(
                f"corruption must be a tinyae.corruption.Corruption, e.g. "
                f"GaussianNoise(0.5), got {corruption!r}")
        self.corruption = corruption
        super().__init__(**kwargs)

    def loss_and_grad(self, x, *, noise=None, rng=None):
        """Reconstruction loss of clean x from ``corruption.apply(x, noise)``.

        x: (batch, n_in). ``noise`` (shaped like x) fixes the corruption, for
        deterministic checks; otherwise it is drawn from ``rng``.
        """
        self._check_x(x, self.sizes[0])
        if noise is None:
            if rng is None:
                raise ValueError(
                    "rng must be a numpy Generator when noise is not given "
                    "(the corruption is random)")
            noise = self.corruption.sample(x, check_rng(rng))
        else:
            check_array(noise, "noise", shape=x.shape)
        x_tilde = self.corruption.apply(x, noise)
        return super().loss_and_grad(x_tilde, target=x)
