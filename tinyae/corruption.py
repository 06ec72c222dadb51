"""Input corruptions for denoising autoencoders.

A corruption is split in two so that training can be made deterministic:

* ``sample(x, rng) -> noise`` draws everything random (from an explicit
  Generator), shaped like x;
* ``apply(x, noise) -> x_tilde`` is a plain function of its inputs.

``corruption(x, rng)`` does both. A model's ``loss_and_grad(x, noise=...)``
accepts a fixed ``noise`` so a gradient check sees one fixed function.

x: (batch, features) in every method; the output has x's shape and dtype.
"""

import numpy as np

from ._validation import check_array, check_fraction, check_nonneg_float, check_rng
from .backend import ops


class Corruption:
    """Base class: ``__call__(x, rng) = apply(x, sample(x, rng))``."""

    def sample(self, x, rng):
        raise NotImplementedError

    def apply(self, x, noise):
        raise NotImplementedError

    def __call__(self, x, rng):
        return self.apply(x, self.sample(x, check_rng(rng)))


class GaussianNoise(Corruption):
    """Additive isotropic noise: ``x_tilde = x + sigma * e``, e ~ N(0, I).

    This is the corruption under which the optimal denoiser r(x) satisfies
    ``(r(x) - x) / sigma^2 ~ grad log p_sigma(x)``, the score of the data
    density smoothed by N(0, sigma^2 I) (lesson 03).
    """

    def __init__(self, sigma):
        self.sigma = check_nonneg_float(sigma, "sigma")

    def sample(self, x, rng):
        """noise = e ~ N(0, I), shaped like x (float64 draws)."""
        return check_rng(rng).standard_normal(x.shape)

    def apply(self, x, noise):
        """``x + sigma * noise`` in one pass (``ops.gaussian_corrupt``)."""
        return ops.gaussian_corrupt(x, noise, self.sigma)

    def __repr__(self):
        return f"GaussianNoise(sigma={self.sigma})"


class MaskingNoise(Corruption):
    """Set a random ``fraction`` of the inputs to zero.

    noise is u ~ U[0, 1) per input; an input is dropped where
    u < fraction: ``x_tilde = x * [u >= fraction]`` (so noise of all ones
    keeps everything and noise of all zeros drops everything).
    """

    def __init__(self, fraction):
        self.fraction = check_fraction(fraction, "fraction")

    def sample(self, x, rng):
        """noise = u ~ U[0, 1), shaped like x."""
        return check_rng(rng).random(x.shape)

    def apply(self, x, noise):
        """``x * [noise >= fraction]`` in one pass (``ops.masking_corrupt``)."""
        return ops.masking_corrupt(x, noise, self.fraction)

    def __repr__(self):
        return f"MaskingNoise(fraction={self.fraction})"


class SaltAndPepper(Corruption):
    """Set a random ``fraction`` of the inputs to 0 or 1 (each with
    probability 1/2).

    noise holds +1 (salt: set to 1), -1 (pepper: set to 0) or 0 (keep).
    """

    def __init__(self, fraction):
        self.fraction = check_fraction(fraction, "fraction")

    def sample(self, x, rng):
        hit = check_rng(rng).random(x.shape) < self.fraction
        sign = np.where(rng.random(x.shape) < 0.5, 1.0, -1.0)
        return (hit * sign).astype(x.dtype)

    def apply(self, x, noise):
        return np.where(noise > 0, 1.0, np.where(noise < 0, 0.0, x)).astype(x.dtype)

    def __repr__(self):
        return f"SaltAndPepper(fraction={self.fraction})"


def corrupt(corruption, x, noise=None, rng=None):
    """The input a model sees: x itself when ``corruption`` is None, else
    ``corruption.apply(x, noise)`` with ``noise`` (shaped like x) as given
    or drawn from ``rng``. The one place models check that pair (noise
    without a corruption, or neither noise nor rng, is an error)."""
    if corruption is None:
        if noise is not None:
            raise ValueError("noise was given but this autoencoder has no "
                             "corruption (corruption=None)")
        return x
    if noise is None:
        if rng is None:
            raise ValueError("rng must be a numpy Generator when noise is not given "
                             "(the corruption is random)")
        noise = corruption.sample(x, check_rng(rng))
    else:
        check_array(noise, "noise", ndim=x.ndim, shape=x.shape)
    return corruption.apply(x, noise)


#: Registry: corruption name -> class (constructed with its one parameter).
CORRUPTIONS = {"gaussian": GaussianNoise, "masking": MaskingNoise,
               "salt_and_pepper": SaltAndPepper}
