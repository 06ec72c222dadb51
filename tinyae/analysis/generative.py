"""Autoencoders as generators, and a distance between samples.

A Gaussian fitted to codes (lesson 14)
--------------------------------------
A plain autoencoder says nothing about where its codes lie, so draws from
N(0, I) may land where its decoder never was. The repair: fit N(m, C) to
the training codes z_1..z_n (``fit_gaussian``: the mean and the unbiased
sample covariance) and draw through the Cholesky factor C = L L^T
(``sample_gaussian``): z = m + L eps with eps ~ N(0, I) has mean m and
covariance L I L^T = C. For rows of eps that is z = m + eps L^T.

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

__all__ = ["fit_gaussian", "gsn_chain", "mmd2", "sample_gaussian"]


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


def fit_gaussian(codes):
    r"""The Gaussian fitted to the rows of ``codes`` (n, d), n >= 2: its mean
    and its unbiased covariance,

    $$m = \frac1n \sum_i z_i, \qquad
    C = \frac{1}{n - 1} \sum_i (z_i - m)(z_i - m)^\top,$$

    as ``(m (d,), C (d, d))`` in the codes' dtype (computed in float64). This
    is ``np.cov(codes, rowvar=False)``, except that C stays (d, d) when d = 1
    (np.cov returns a 0-d array) and keeps float32 codes in float32.
    """
    check_array(codes, "codes")
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"codes needs at least 2 rows to fit a covariance (it divides "
                         f"by n - 1), got shape {codes.shape}")
    z = codes.astype(np.float64)
    m = z.mean(axis=0)
    centred = z - m
    cov = centred.T @ centred / (n - 1)
    return m.astype(codes.dtype), cov.astype(codes.dtype)


def sample_gaussian(mean, cov, eps):
    r"""Draws from $\mathcal N(m, C)$ given standard-normal ``eps`` (N, d):

    $$z_i = m + L \epsilon_i, \qquad C = L L^\top,$$

    with L the Cholesky factor (lower triangular, positive diagonal), so
    ``z = mean + eps @ L.T``: (N, d) in eps's dtype (computed in float64).
    ``mean`` (d,), ``cov`` (d, d) symmetric positive definite: a covariance
    fitted to n <= d codes, or to codes on a subspace, is singular, and is
    refused when its factorisation fails.
    """
    check_array(eps, "eps")
    d = eps.shape[1]
    check_array(mean, "mean", ndim=1, shape=(d,))
    check_array(cov, "cov", shape=(d, d))
    c = cov.astype(np.float64)
    scale = max(float(np.max(np.abs(c))), np.finfo(np.float64).tiny)
    if np.max(np.abs(c - c.T)) > 1e-6 * scale:
        raise ValueError(f"cov must be symmetric: cov - cov.T reaches "
                         f"{np.max(np.abs(c - c.T)):.3g} (largest entry {scale:.3g})")
    try:
        factor = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise ValueError(f"cov ({d} x {d}) is not positive definite, so it has no "
                         f"Cholesky factor: was it fitted to n <= d codes, or to codes "
                         f"that lie in a subspace?") from None
    return (mean.astype(np.float64) + eps.astype(np.float64) @ factor.T).astype(eps.dtype)
