"""Exact t-SNE from scratch (van der Maaten and Hinton, JMLR 2008).

t-SNE places n points y_i in 2-D so that their neighbourhoods match those of
the data x_i. It turns both into probabilities over pairs:

* in the data, a Gaussian around each x_i whose width is chosen so that the
  distribution over its neighbours has a given *perplexity* (an effective
  number of neighbours, e.g. 30): ``p_{j|i}`` (``tsne_conditional_p``, a
  bisection per point), made symmetric as ``p_ij = (p_{j|i} + p_{i|j}) / 2n``;
* in the embedding, a Student-t with one degree of freedom,
  ``q_ij = (1 + ||y_i - y_j||^2)^{-1} / Z``, whose heavy tail lets moderately
  distant points sit far apart (the "crowding problem" of the Gaussian SNE);

and minimises KL(P || Q) by gradient descent on y. The cost and its gradient
``dC/dy_i = 4 sum_j (p_ij - q_ij) w_ij (y_i - y_j)`` are derived in
``tinyae.functional.tsne.tsne_kl_grad`` (checked by ``python -m
tinyae.gradcheck -k tsne``). Both O(n^2) ops run through ``tinyae.backend``:
the Numba twin by default, the NumPy reference under ``backend.use("numpy")``.

The optimiser is the paper's:

* **early exaggeration**: for the first ``exaggeration_iter`` steps, P is
  multiplied by ``exaggeration`` (12): the attraction dominates, and the
  clusters form tight and far apart before the fine arrangement;
* **momentum** 0.5 during exaggeration, 0.8 afterwards:
  ``update <- momentum update - lr gains * grad``, ``y <- y + update``;
* **gains** (Jacobs' delta-bar-delta): a coordinate's gain grows by 0.2 while
  its gradient keeps its sign (the steps keep going downhill) and shrinks by
  a factor 0.8 when the sign flips (the last step overshot), never below
  ``min_gain``;
* the learning rate ``"auto"`` is ``max(n / exaggeration / 4, 50)``
  (Belkina et al., 2019; the 200 of the paper suits n of a few thousand).

Exact t-SNE costs O(n^2) time and memory per step: a few seconds for
n = 2,000 and a few hundred steps. ``method="barnes_hut"`` (van der Maaten,
JMLR 15, 2014) makes a step O(n log n), with the same optimiser:

* P is sparse: each point's affinities are calibrated over its
  K = floor(3 perplexity) nearest neighbours only (found exactly, from
  blocks of distances: ``embedding_metrics.nearest_neighbours``), then
  symmetrised as above; ``sparse_joint_probabilities``;
* the repulsion is summarised by the cells of a quadtree over the
  embedding, as far as the criterion r_cell / ||y_i - y_cell|| < ``theta``
  allows (``tinyae.functional.tsne_bh``); theta = 0 is the exact repulsion.

Its ``kl_divergence_`` is KL(P || Q) for the sparse P, computed exactly
over P's non-zero pairs, with the normalisation Z of Q estimated by the
same tree (exact at theta = 0): the quantity it minimises, which differs
from the exact method's KL(P || Q) by the affinities beyond the K
neighbours that the sparse P leaves out.
"""

import numpy as np

from .._validation import check_array, check_choice, check_fraction, check_positive_float, \
    check_positive_int, check_rng
from ..backend import ops
from .embedding_metrics import nearest_neighbours, squared_distances
from ..models.linear import PCA

__all__ = ["TSNE", "conditional_probabilities", "joint_probabilities", "neighbours_for",
           "sparse_joint_probabilities", "row_perplexity"]

INITS = ("pca", "random")
METHODS = ("exact", "barnes_hut")


def _check_perplexity(perplexity, n):
    perplexity = check_positive_float(perplexity, "perplexity")
    if not 1.0 < perplexity < n - 1:
        raise ValueError(f"perplexity must lie in (1, n - 1) = (1, {n - 1}) for n = {n} "
                         f"points (it is an effective number of neighbours), "
                         f"got {perplexity!r}")
    return perplexity


def conditional_probabilities(x, perplexity):
    """p_{j|i} for the data x: (n, d), each row calibrated to ``perplexity``.

    Returns ``(p, beta)``: p (n, n) rows summing to 1 with p[i, i] = 0, beta
    (n,) the Gaussian precisions 1 / (2 sigma_i^2) found by bisection.

    p does not depend on the scale of x (beta takes it up), and the
    bisection works at any scale (``functional.tsne_conditional_p`` scales a
    row of distances far from 1 by a power of two): x and 1e100 x give the
    same rows, each within ``PERPLEXITY_TOL`` of its perplexity. Data so
    large that a squared distance overflows float64 (|x| ~ 1e154), or so
    small that the distances leave its normal range (|x| ~ 1e-154) and beta
    overflows, is an error: rescale it.
    """
    x = check_array(x, "x")
    perplexity = _check_perplexity(perplexity, x.shape[0])
    d2 = _distances(x)
    p, beta = ops.tsne_conditional_p(d2, perplexity)
    _check_small(x, d2, beta)
    return p, beta


def _check_small(x, d2, beta):
    """Refuse data whose squared distances d2 leave float64's normal range,
    so that the precisions beta overflow (or every distance is 0 although
    the rows differ)."""
    if not np.isfinite(beta).all() or (d2.max() < np.finfo(np.float64).tiny
                                       and np.ptp(x, axis=0).max() > 0):
        raise ValueError(
            f"x is too small: it holds values up to {float(np.max(np.abs(x))):.3g} in "
            f"magnitude, and the squared distances between its rows (at most "
            f"{float(d2.max()):.3g}) fall below float64's normal range (~2.2e-308), so the "
            f"precisions beta = 1 / (2 sigma^2) cannot be represented; rescale the data "
            f"(e.g. standardise it)")


def _distances(x):
    """Squared distances (n, n) of the rows of x, refused when they overflow
    float64: an inf distance makes its row of P NaN, and the embedding with it
    (the error below replaces NumPy's overflow warnings)."""
    with np.errstate(over="ignore", invalid="ignore"):
        d2 = squared_distances(x)
    _check_large(x, d2)
    return d2


def _check_large(x, d2):
    """Refuse squared distances d2 that overflowed float64."""
    if not np.isfinite(d2).all():
        big = float(np.max(np.abs(x)))
        raise ValueError(
            f"x is too large: it holds values up to {big:.3g} in magnitude, and the "
            f"squared distances between its rows overflow float64 (beyond ~1.8e+308), "
            f"so the affinities P would be NaN; rescale the data (e.g. standardise it)")


def joint_probabilities(x, perplexity):
    """Symmetric joint affinities ``p_ij = (p_{j|i} + p_{i|j}) / (2n)``:
    (n, n), zero diagonal, summing to 1."""
    p, _ = conditional_probabilities(x, perplexity)
    return _symmetrise(p)


def _symmetrise(p_cond):
    """(p_{j|i} + p_{i|j}) / 2n: (n, n) conditional -> joint, summing to 1."""
    return (p_cond + p_cond.T) / (2.0 * p_cond.shape[0])


def neighbours_for(perplexity, n):
    """K = floor(3 perplexity) neighbours per point (at most n - 1): where
    Barnes-Hut t-SNE cuts the Gaussian of each point off."""
    return min(n - 1, int(np.floor(3.0 * perplexity)))


def sparse_joint_probabilities(x, perplexity):
    """The sparse joint affinities of Barnes-Hut t-SNE, in compressed rows.

    Each point's p_{j|i} over its K = ``neighbours_for(perplexity, n)``
    nearest neighbours (``functional.tsne_knn_conditional_p``), then
    ``p_ij = (p_{j|i} + p_{i|j}) / 2n`` over the union of the two patterns
    (a pair is stored when either point is among the other's neighbours).
    Returns ``(indptr (n + 1,), indices (nnz,), p (nnz,), beta (n,))``:
    row i's non-zero p_ij are ``p[indptr[i]:indptr[i + 1]]`` in the columns
    ``indices[...]`` (increasing); P is symmetric, with no diagonal, and
    sums to 1.
    """
    x = check_array(x, "x")
    n = x.shape[0]
    perplexity = _check_perplexity(perplexity, n)
    k = neighbours_for(perplexity, n)
    with np.errstate(over="ignore", invalid="ignore"):
        near, d2 = nearest_neighbours(x, k)                         # (n, k) each
    _check_large(x, d2)
    p_cond, beta = ops.tsne_knn_conditional_p(d2, perplexity)       # (n, k) rows sum to 1
    _check_small(x, d2, beta)
    rows = np.repeat(np.arange(n), k)
    cols = near.ravel()
    # p_{j|i} at (i, j) and at (j, i); a pair stored twice is summed
    key = np.concatenate([rows * n + cols, cols * n + rows])
    pairs, slot = np.unique(key, return_inverse=True)
    p = np.bincount(slot, np.concatenate([p_cond.ravel(), p_cond.ravel()])) / (2.0 * n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // n, minlength=n), out=indptr[1:])
    return indptr, pairs % n, p, beta


def row_perplexity(p):
    """exp(H_i), H_i = -sum_j p_ij log p_ij in nats: p (n, m) rows -> (n,)."""
    p = np.asarray(check_array(p, "p"), dtype=np.float64)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.exp(-plogp.sum(axis=1))


class TSNE:
    """t-SNE, exact or Barnes-Hut. ``TSNE(perplexity=30).fit_transform(x, rng=rng)`` -> (n, 2).

    Hyperparameters (keyword-only, stored as given):

    * ``n_components`` (2): dimension of the embedding (2 for Barnes-Hut);
    * ``perplexity`` (30.0): effective number of neighbours, in (1, n - 1);
    * ``n_iter`` (500): gradient steps in all; ``exaggeration_iter`` (125) of
      them with P multiplied by ``exaggeration`` (12.0) and ``momentum``
      (0.5), the rest with ``final_momentum`` (0.8);
    * ``learning_rate``: a float > 0, or "auto" = max(n / exaggeration / 4, 50);
    * ``min_gain`` (0.01): floor of the per-coordinate gains;
    * ``init``: "pca" (the first principal components of x, scaled so the
      first has standard deviation 1e-4: deterministic, keeps the global
      layout) or "random" (N(0, 1e-4^2 I) from ``rng``);
    * ``cost_every`` (50): record KL(P || Q) every so many steps (each costs
      two logs per pair; the gradient alone needs none);
    * ``method``: "exact" (dense P, O(n^2) per step) or "barnes_hut"
      (sparse P over floor(3 perplexity) neighbours, repulsion from a
      quadtree, O(n log n) per step); the optimiser is the same;
    * ``theta`` (0.5): Barnes-Hut's accuracy, in [0, 1]: a cell stands for
      its points when its diagonal is below theta times its distance
      (0: exact repulsion); unused by "exact".

    Fitted attributes: ``embedding_`` (n, n_components), ``kl_divergence_``
    (the final KL(P || Q); for Barnes-Hut, of the sparse P with Z estimated
    by the tree: see the module docstring), ``cost_history_`` (list of
    (step, KL(P || Q) before that step), without exaggeration), ``beta_``
    (n,), ``learning_rate_``, ``n_iter_``.
    """

    def __init__(self, *, n_components=2, perplexity=30.0, n_iter=500, exaggeration=12.0,
                 exaggeration_iter=125, learning_rate="auto", momentum=0.5,
                 final_momentum=0.8, min_gain=0.01, init="pca", cost_every=50,
                 method="exact", theta=0.5):
        self.n_components = check_positive_int(n_components, "n_components")
        self.perplexity = check_positive_float(perplexity, "perplexity")
        self.n_iter = check_positive_int(n_iter, "n_iter")
        self.exaggeration = check_positive_float(exaggeration, "exaggeration")
        if isinstance(exaggeration_iter, bool) or not isinstance(exaggeration_iter, int) \
                or not 0 <= exaggeration_iter <= self.n_iter:
            raise ValueError(f"exaggeration_iter must be an integer in [0, n_iter] = "
                             f"[0, {self.n_iter}], got {exaggeration_iter!r}")
        self.exaggeration_iter = exaggeration_iter
        if learning_rate != "auto":
            check_positive_float(learning_rate, "learning_rate")
        self.learning_rate = learning_rate
        for name, value in (("momentum", momentum), ("final_momentum", final_momentum)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        self.momentum, self.final_momentum = float(momentum), float(final_momentum)
        self.min_gain = check_positive_float(min_gain, "min_gain")
        self.init = check_choice(init, "init", INITS)
        self.cost_every = check_positive_int(cost_every, "cost_every")
        self.method = check_choice(method, "method", METHODS)
        self.theta = check_fraction(theta, "theta")
        if self.method == "barnes_hut" and self.n_components != 2:
            raise ValueError(f"method='barnes_hut' needs n_components = 2 (its tree is a "
                             f"quadtree over the plane), got n_components = {n_components}; "
                             f"use method='exact'")

    def _initial(self, x, rng):
        n, k = x.shape[0], self.n_components
        if self.init == "random":
            return 1e-4 * rng.standard_normal((n, k))
        if k > min(x.shape):
            raise ValueError(f"init='pca' needs n_components <= min(n, d) = "
                             f"{min(x.shape)}, got {k}; use init='random'")
        y = PCA(k).fit(x).transform(np.asarray(x, dtype=np.float64))   # (n, k)
        std = y[:, 0].std()
        return y * (1e-4 / std) if std > 0 else y

    def _affinities(self, x):
        """P and the cost-and-gradient of the method: (p, cost_grad(y, p,
        need_cost)); p is what early exaggeration multiplies."""
        if self.method == "exact":
            p_cond, self.beta_ = conditional_probabilities(x, self.perplexity)
            return _symmetrise(p_cond), ops.tsne_kl_grad       # (n, n), sums to 1
        indptr, indices, p, self.beta_ = sparse_joint_probabilities(x, self.perplexity)
        theta = self.theta

        def cost_grad(y, p, need_cost):
            return ops.tsne_bh_kl_grad(y, indptr, indices, p, theta, need_cost)
        return p, cost_grad                                     # (nnz,), sums to 1

    def fit_transform(self, x, *, rng=None):
        """Embed x: (n, d) -> (n, n_components) float64. ``rng`` (a numpy
        Generator) is needed for init="random" only."""
        x = check_array(x, "x")
        n = x.shape[0]
        if n < 3:
            raise ValueError(f"t-SNE needs at least 3 points, got x with shape {x.shape}")
        _check_perplexity(self.perplexity, n)
        if self.init == "random":
            check_rng(rng)
        p, cost_grad = self._affinities(x)
        lr = (max(n / self.exaggeration / 4.0, 50.0) if self.learning_rate == "auto"
              else float(self.learning_rate))
        self.learning_rate_ = lr

        y = self._initial(x, rng)                           # (n, k)
        update = np.zeros_like(y)
        gains = np.ones_like(y)
        self.cost_history_ = []
        exaggerated = p * self.exaggeration
        for step in range(1, self.n_iter + 1):
            early = step <= self.exaggeration_iter
            cost, grad = cost_grad(y, exaggerated if early else p,
                                   not early and step % self.cost_every == 0)
            if step % self.cost_every == 0:                 # always KL(P || Q), unexaggerated
                if early:
                    cost, _ = cost_grad(y, p, True)
                self.cost_history_.append((step, cost))
            # the last update went along -grad_old; a gradient now of the
            # update's sign has flipped: that coordinate overshot
            overshot = np.sign(grad) == np.sign(update)
            gains = np.where(overshot, gains * 0.8, gains + 0.2)
            np.maximum(gains, self.min_gain, out=gains)
            momentum = self.momentum if early else self.final_momentum
            update = momentum * update - lr * gains * grad
            y = y + update
        self.kl_divergence_, _ = cost_grad(y, p, True)
        self.embedding_ = y
        self.n_iter_ = self.n_iter
        return y
