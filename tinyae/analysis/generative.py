"""Autoencoders as generators, and a distance between samples.

Generative stochastic networks (Bengio, Yao, Alain and Vincent, 2013)
---------------------------------------------------------------------
A denoising autoencoder trained to model the reconstruction distribution
P(x | x_tilde) of a clean x given a corrupted x_tilde = x + sigma e defines a
Markov chain that alternates the two halves,

    x_tilde_t ~ C(x_tilde | x_t) = N(x_t, sigma^2 I)      (corrupt)
    x_{t+1}   ~ P(x | x_tilde_t)                          (denoise, sampling),

whose stationary distribution is the data distribution when P is the true
posterior of x given x_tilde (their Theorem 1). With a Gaussian
reconstruction distribution (``models.GaussianDenoiser``: a mean network and
a variance network) that is only an approximation: the true posterior is
nearly Gaussian when sigma is small compared with the data's structure, and
multimodal (so badly fitted) when sigma is large. Small sigma has its own
cost: each step moves about sigma, so the chain mixes slowly between modes.
``gsn_chain`` runs many chains in parallel.

Maximum mean discrepancy (Gretton et al., 2012)
-----------------------------------------------
With the Gaussian kernel k(a, b) = exp(-||a - b||^2 / (2 h^2)),

    MMD^2(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y),   x, x' ~ P, y, y' ~ Q,

zero if and only if P = Q. ``mmd2`` is the unbiased estimate (the diagonal
terms i = j left out of the first two means), so for two samples of one
distribution it scatters around 0 and can be slightly negative.
"""

import numpy as np

from .._validation import check_array, check_positive_float, check_positive_int, check_rng
from .embedding_metrics import squared_distances

__all__ = ["gsn_chain", "mmd2"]


def gsn_chain(model, x0, *, steps, rng, record=None):
    """Run the GSN Markov chain from the rows of x0 (one chain per row).

    model: has ``sigma`` and ``reconstruction_distribution(x_tilde) ->
    (mean, logvar)`` (``models.GaussianDenoiser``). x0: (n, d) in the model's
    dtype. Each step: x_tilde = x + sigma e, then x = mean + exp(logvar / 2) e'
    with e, e' ~ N(0, I) from ``rng``. Returns the states after ``steps``
    steps, (n, d), or with ``record`` (a collection of step numbers) also a
    dict step -> states at that step (step 0 is x0).
    """
    steps = check_positive_int(steps, "steps")
    check_rng(rng)
    x = check_array(x0, "x0").copy()
    kept = {} if record is None else {0: x.copy()} if 0 in record else {}
    for t in range(1, steps + 1):
        x_tilde = (x + model.sigma * rng.standard_normal(x.shape)).astype(x.dtype)
        mean, logvar = model.reconstruction_distribution(x_tilde)
        x = (mean + np.exp(0.5 * logvar) * rng.standard_normal(x.shape)).astype(x.dtype)
        if record is not None and t in record:
            kept[t] = x.copy()
    return x if record is None else (x, kept)


def mmd2(x, y, *, bandwidth):
    """Unbiased MMD^2 between samples x (n, d) and y (m, d), n, m >= 2, with
    the Gaussian kernel of width ``bandwidth`` (module docstring). float64."""
    h = check_positive_float(bandwidth, "bandwidth")
    check_array(x, "x")
    check_array(y, "y", shape=(None, x.shape[1]))
    for a, name in ((x, "x"), (y, "y")):
        if a.shape[0] < 2:
            raise ValueError(f"{name} needs at least 2 rows for the unbiased MMD, "
                             f"got shape {a.shape}")
    x, y = x.astype(np.float64), y.astype(np.float64)
    n, m = x.shape[0], y.shape[0]
    kxx = np.exp(-squared_distances(x) / (2 * h * h))
    kyy = np.exp(-squared_distances(y) / (2 * h * h))
    kxy = np.exp(-squared_distances(x, y) / (2 * h * h))
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2.0 * kxy.mean())
