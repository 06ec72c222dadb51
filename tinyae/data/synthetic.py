"""Synthetic data with known answers: Gaussian mixtures with exact densities
and scores, rings, swiss rolls, two moons, and non-digit images."""

from __future__ import annotations


import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.special import logsumexp

from tinyae._validation import (
    check_dtype,
    check_nonneg_float,
    check_positive_float,
    check_positive_int,
    check_rng,
)


# --------------------------------------------------------------------------
# Gaussian mixtures: exact densities and scores
# --------------------------------------------------------------------------


class GaussianMixture:
    r"""A mixture of k Gaussians in d dimensions with exact density and score.

    Density:

    $$
    p(x) = \sum_k w_k \, \mathcal{N}(x; \mu_k, \Sigma_k),
    $$

    $$
    \mathcal{N}(x; \mu, \Sigma) = (2\pi)^{-d/2} |\Sigma|^{-1/2}
    \exp\bigl(-\tfrac12 (x - \mu)^\top \Sigma^{-1} (x - \mu)\bigr).
    $$

    Log-density, computed stably with logsumexp over components:

    $$
    \log p(x) = \operatorname{logsumexp}_k
    \bigl[\log w_k + \log \mathcal{N}(x; \mu_k, \Sigma_k)\bigr].
    $$

    Responsibilities (posterior of the component given x):

    $$
    r_k(x) = \frac{w_k \, \mathcal{N}(x; \mu_k, \Sigma_k)}{p(x)}, \qquad \sum_k r_k(x) = 1.
    $$

    Score (gradient of the log-density in x):

    $$
    \nabla_x \log p(x) = \sum_k r_k(x) \bigl(-\Sigma_k^{-1} (x - \mu_k)\bigr).
    $$

    Gaussian smoothing: if $x \sim p$ and $y = x + \sigma \epsilon$,
    $\epsilon \sim \mathcal{N}(0, I)$, then $y$ is again a mixture with the
    same weights and means and covariances $\Sigma_k + \sigma^2 I$;
    ``smoothed(sigma)`` returns it, so ``smoothed(sigma).score(y)`` is the
    exact score of the noise-smoothed density (the target of denoising score
    matching); ``smoothed(sigma, scale=a)`` is the mixture of
    $a x + \sigma \epsilon$ (means $a \mu_k$, covariances
    $a^2 \Sigma_k + \sigma^2 I$), the density a diffusion model noises x to.

    Moments: mean $m = \sum_k w_k \mu_k$; covariance
    $\sum_k w_k (\Sigma_k + \mu_k \mu_k^\top) - m m^\top$.

    Parameters
    ----------
    - weights : (k,) positive, summing to 1 (to 1e-6; renormalised exactly).
    - means : (k, d).
    - covs : (k, d, d) symmetric positive-definite.

    For 1-D mixtures use d = 1: means (k, 1), covs (k, 1, 1), points x (n, 1).
    Attributes ``weights``, ``means``, ``covs`` are read-only float64 copies.
    """

    def __init__(self, weights, means, covs):
        w = np.array(weights, dtype=np.float64)
        mu = np.array(means, dtype=np.float64)
        S = np.array(covs, dtype=np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"weights must have shape (k,) with k >= 1, got shape {w.shape}")
        k = w.size
        if not (np.all(np.isfinite(w)) and np.all(w > 0)):
            raise ValueError(f"weights must all be finite and > 0, got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {w.tolist()} (sum {w.sum()!r})")
        if mu.ndim != 2 or mu.shape[0] != k or mu.shape[1] == 0:
            raise ValueError(
                f"means must have shape (k, d) = ({k}, d) to match weights, got shape {mu.shape}"
            )
        d = mu.shape[1]
        if S.shape != (k, d, d):
            raise ValueError(f"covs must have shape (k, d, d) = ({k}, {d}, {d}), got shape {S.shape}")
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(S))):
            raise ValueError("means and covs must be finite")
        if not np.allclose(S, np.swapaxes(S, 1, 2), rtol=1e-10, atol=1e-12):
            raise ValueError("covs must be symmetric: covs[k] == covs[k].T for every component")
        chol = np.empty_like(S)  # (k, d, d), lower triangular: Sigma_k = L_k L_k^T
        for j in range(k):
            try:
                chol[j] = np.linalg.cholesky(S[j])
            except np.linalg.LinAlgError:
                eig = np.linalg.eigvalsh(S[j])
                raise ValueError(
                    f"covs[{j}] must be positive-definite, got eigenvalues {eig.tolist()}"
                ) from None

        self.weights = w / w.sum()
        self.means = mu
        self.covs = S
        self._chol = chol
        # log|Sigma_k| = 2 sum_i log L_k[i, i]
        self._logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)  # (k,)
        eye = np.eye(d)
        self._prec = np.stack([cho_solve((chol[j], True), eye) for j in range(k)])  # (k, d, d)
        for a in (self.weights, self.means, self.covs, self._chol, self._logdet, self._prec):
            a.flags.writeable = False

    @property
    def n_components(self):
        return self.weights.shape[0]

    @property
    def dim(self):
        return self.means.shape[1]

    def __repr__(self):
        return f"GaussianMixture(n_components={self.n_components}, dim={self.dim})"

    # -- helpers ---------------------------------------------------------
    def _check_x(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            hint = " (for a 1-D mixture pass x[:, None])" if self.dim == 1 else ""
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {x.shape}{hint}")
        return x

    def _log_joint(self, x):
        """log w_k + log N(x; mu_k, Sigma_k) for every point and component: (n, k)."""
        n, d = x.shape
        out = np.empty((n, self.n_components))
        for j in range(self.n_components):
            diff = x - self.means[j]  # (n, d)
            z = solve_triangular(self._chol[j], diff.T, lower=True)  # (d, n): L^{-1}(x - mu)
            maha = np.einsum("dn,dn->n", z, z)  # (n,): (x-mu)^T Sigma^{-1} (x-mu)
            out[:, j] = np.log(self.weights[j]) - 0.5 * (d * np.log(2 * np.pi) + self._logdet[j] + maha)
        return out

    # -- densities -------------------------------------------------------
    def log_density(self, x):
        """log p(x). x: (n, d) -> (n,) float64."""
        return logsumexp(self._log_joint(self._check_x(x)), axis=1)

    def density(self, x):
        """p(x). x: (n, d) -> (n,) float64."""
        return np.exp(self.log_density(x))

    def responsibilities(self, x):
        """r_k(x) = w_k N(x; mu_k, Sigma_k) / p(x). x: (n, d) -> (n, k), rows sum to 1."""
        lj = self._log_joint(self._check_x(x))  # (n, k)
        return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))

    def score(self, x):
        """grad_x log p(x) = sum_k r_k(x) (-Sigma_k^{-1} (x - mu_k)). x: (n, d) -> (n, d) float64."""
        x = self._check_x(x)
        lj = self._log_joint(x)  # (n, k)
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))  # (n, k)
        out = np.zeros_like(x)  # (n, d)
        for j in range(self.n_components):
            # -(x - mu_j) Sigma_j^{-1}, row by row (Sigma_j^{-1} is symmetric)
            out += r[:, j:j + 1] * (-(x - self.means[j]) @ self._prec[j])
        return out

    def smoothed(self, sigma, *, scale=1.0):
        """The mixture of scale * x + sigma * eps, eps ~ N(0, I): means ->
        scale * means, covs -> scale^2 covs + sigma^2 I. ``scale`` = 1 is
        Gaussian smoothing; scale = sqrt(alpha_bar), sigma = sqrt(1 -
        alpha_bar) is a diffusion model's noised density at that level."""
        s = check_nonneg_float(sigma, "sigma")
        a = check_positive_float(scale, "scale")
        return GaussianMixture(self.weights, a * self.means,
                               a * a * self.covs + s * s * np.eye(self.dim))

    def mean(self):
        """m = sum_k w_k mu_k: (d,)."""
        return self.weights @ self.means

    def cov(self):
        """sum_k w_k (Sigma_k + mu_k mu_k^T) - m m^T: (d, d)."""
        m = self.mean()
        second = np.einsum("k,kij->ij", self.weights, self.covs) + np.einsum(
            "k,ki,kj->ij", self.weights, self.means, self.means
        )
        return second - np.outer(m, m)

    # -- sampling --------------------------------------------------------
    def sample(self, n, *, rng, dtype=np.float64):
        """Draw n points: component c ~ Categorical(w), then x = mu_c + L_c eps, eps ~ N(0, I).

        rng: numpy.random.Generator (required). Returns (n, d) in ``dtype``.
        """
        n = check_positive_int(n, "n")
        check_rng(rng)
        dt = check_dtype(dtype)
        comp = rng.choice(self.n_components, size=n, p=self.weights)  # (n,)
        eps = rng.standard_normal((n, self.dim))  # (n, d)
        x = self.means[comp] + np.einsum("nij,nj->ni", self._chol[comp], eps)  # (n, d)
        return x.astype(dt, copy=False)


def mixture_1d():
    """A two-component 1-D mixture, deliberately asymmetric and bimodal.

    p(x) = 0.3 N(x; -2, 0.5^2) + 0.7 N(x; 1.5, 0.8^2).
    Mean 0.45, variance 3.0955. Points are (n, 1).
    """
    return GaussianMixture(
        weights=[0.3, 0.7],
        means=[[-2.0], [1.5]],
        covs=[[[0.5**2]], [[0.8**2]]],
    )


def mixture_2d():
    """A three-component 2-D mixture with differently shaped covariances.

    weights 0.4, 0.35, 0.25;
    means (-1.5, 0), (1.5, 0.5), (0, -1.5);
    covs [[0.30, 0.15], [0.15, 0.20]] (tilted up), [[0.20, -0.10], [-0.10, 0.40]]
    (tilted down), [[0.50, 0], [0, 0.05]] (flat and wide).
    """
    return GaussianMixture(
        weights=[0.4, 0.35, 0.25],
        means=[[-1.5, 0.0], [1.5, 0.5], [0.0, -1.5]],
        covs=[
            [[0.30, 0.15], [0.15, 0.20]],
            [[0.20, -0.10], [-0.10, 0.40]],
            [[0.50, 0.00], [0.00, 0.05]],
        ],
    )


# --------------------------------------------------------------------------
# synthetic point clouds
# --------------------------------------------------------------------------


def _check_sampler_args(n, rng, dtype, noise):
    n = check_positive_int(n, "n")
    check_rng(rng)
    dt = check_dtype(dtype)
    noise = check_nonneg_float(noise, "noise")
    return n, dt, noise


def ring(n, *, rng, radius=1.0, noise=0.05, dtype=np.float64):
    """Points near a circle: x = radius (cos theta, sin theta) + noise * eps,
    theta ~ Uniform[0, 2 pi), eps ~ N(0, I_2). Returns (n, 2).

    The mean distance to the origin is about radius + noise^2 / (2 radius).
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    radius = check_positive_float(radius, "radius")
    theta = rng.uniform(0.0, 2 * np.pi, size=n)  # (n,)
    x = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (n, 2)
    x += noise * rng.standard_normal((n, 2))
    return x.astype(dt, copy=False)


_ROLL_T0, _ROLL_T1 = 1.5 * np.pi, 4.5 * np.pi  # the angle t runs over 1.5 turns


def swiss_roll_2d(n, *, rng, noise=0.05, dtype=np.float64):
    """A 2-D spiral: t ~ Uniform[1.5 pi, 4.5 pi),
    x = (t cos t, t sin t) / (4.5 pi) + noise * eps, eps ~ N(0, I_2).

    Scaled so the outer end lies on the unit circle; successive arms are
    2 pi / (4.5 pi) ~ 0.44 apart. Returns (n, 2).
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    t = rng.uniform(_ROLL_T0, _ROLL_T1, size=n)  # (n,)
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / _ROLL_T1  # (n, 2)
    x += noise * rng.standard_normal((n, 2))
    return x.astype(dt, copy=False)


def swiss_roll_3d(n, *, rng, noise=0.05, return_t=False, dtype=np.float64):
    """The swiss roll: a curved 2-D sheet in 3-D, with manifold coordinates (t, h).

    t ~ Uniform[1.5 pi, 4.5 pi), h ~ Uniform[-1, 1),
    x = (t cos t / (4.5 pi), h, t sin t / (4.5 pi)) + noise * eps, eps ~ N(0, I_3).

    (The layout of scikit-learn's make_swiss_roll, scaled so the roll fits in
    the unit cylinder.) Returns x (n, 3), or (x, t) with t (n,) float64 if
    ``return_t`` -- the coordinate along the roll, e.g. to colour a plot.
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    t = rng.uniform(_ROLL_T0, _ROLL_T1, size=n)  # (n,)
    h = rng.uniform(-1.0, 1.0, size=n)  # (n,)
    x = np.stack([t * np.cos(t) / _ROLL_T1, h, t * np.sin(t) / _ROLL_T1], axis=1)  # (n, 3)
    x += noise * rng.standard_normal((n, 3))
    x = x.astype(dt, copy=False)
    return (x, t) if return_t else x


def two_moons(n, *, rng, noise=0.1, dtype=np.float64):
    """Two interleaved half circles.

    Label 0 (ceil(n/2) points):  (cos theta, sin theta),
    label 1 (floor(n/2) points): (1 - cos theta, 0.5 - sin theta),
    theta ~ Uniform[0, pi), plus noise * eps, eps ~ N(0, I_2); the order of
    points is shuffled. Returns x (n, 2) and labels (n,) int64.
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    labels = np.zeros(n, dtype=np.int64)
    labels[(n + 1) // 2:] = 1
    labels = rng.permutation(labels)  # (n,)
    theta = rng.uniform(0.0, np.pi, size=n)  # (n,)
    c, s = np.cos(theta), np.sin(theta)
    x = np.where(labels[:, None] == 0, np.stack([c, s], 1), np.stack([1.0 - c, 0.5 - s], 1))  # (n, 2)
    x += noise * rng.standard_normal((n, 2))
    return x.astype(dt, copy=False), labels


def rectangle_outlines(n, *, rng, count=2, stroke=2, dtype=np.float32):
    """Images of a kind MNIST never shows: ``count`` rectangle outlines each.

    Each 28 x 28 image (flattened to 784, like ``load_mnist``) holds
    ``count`` axis-aligned rectangles drawn as white outlines ``stroke``
    pixels wide (pixels 1.0 on 0.0), overlapping freely. A rectangle's top
    left corner is uniform on rows and columns 4..13 and its height and width
    uniform on 6..11, so every outline lies inside the central 20 x 20 box
    where MNIST's digits live (MNIST centres each digit's mass in that box).
    Returns (n, 784) with values in {0, 1}.
    """
    n = check_positive_int(n, "n")
    check_rng(rng)
    count = check_positive_int(count, "count")
    stroke = check_positive_int(stroke, "stroke")
    if stroke > 2:
        raise ValueError(f"stroke must be 1 or 2 (the smallest rectangle is 6 pixels "
                         f"wide), got {stroke}")
    dt = check_dtype(dtype)
    images = np.zeros((n, 28, 28), dtype=dt)
    corner = rng.integers(4, 14, size=(n, count, 2))            # (n, count, [row, col])
    extent = rng.integers(6, 12, size=(n, count, 2))            # (n, count, [height, width])
    for i in range(n):
        for (r, c), (h, w) in zip(corner[i], extent[i]):   # four bands per rectangle
            images[i, r:r + stroke, c:c + w] = 1
            images[i, r + h - stroke:r + h, c:c + w] = 1
            images[i, r:r + h, c:c + stroke] = 1
            images[i, r:r + h, c + w - stroke:c + w] = 1
    return images.reshape(n, 784)
