"""t-SNE's $O(n^2)$ ops (van der Maaten and Hinton, 2008): the affinities of
the data, calibrated to a perplexity, and the cost with its gradient with
respect to the embedding. The optimiser around them (symmetrisation, early
exaggeration, momentum, gains) is ``tinyae.analysis.tsne``; the twins are
``tinyae.kernels.tsne``.

Both ops work in float64 (the public ``tinyae.analysis.tsne`` converts):
t-SNE sums $n^2$ terms of very different sizes, and the bisection compares
entropies to $10^{-5}$.
"""

import numpy as np

__all__ = ["tsne_conditional_p", "tsne_knn_conditional_p", "tsne_kl_grad", "PERPLEXITY_TOL",
           "PERPLEXITY_MAX_ITER", "PERPLEXITY_SCALE_BITS"]

#: The bisection stops when $|H_i - \log(\mathrm{perplexity})|$ is below
#: ``PERPLEXITY_TOL`` (nats), or after ``PERPLEXITY_MAX_ITER``
#: halvings/doublings of $\beta_i$.
PERPLEXITY_TOL = 1e-5
PERPLEXITY_MAX_ITER = 200
#: A row whose largest shifted distance lies outside
#: $[2^{-\text{bits}}, 2^{\text{bits}}]$ is scaled by a power of two first
#: (``tsne_conditional_p``): the bisection from $\beta = 1$ would spend most
#: of its ``PERPLEXITY_MAX_ITER`` steps halving or doubling towards the scale.
PERPLEXITY_SCALE_BITS = 64


def tsne_conditional_p(dist2, perplexity):
    r"""Conditional affinities $p_{j|i}$ with a per-point precision found by
    bisection so that every row has the requested perplexity.

    ``dist2: (n, n)`` squared distances $d_{ij} = \|x_i - x_j\|^2$ (the
    diagonal is ignored); ``perplexity``: a float in $(1, n - 1)$. Returns
    ``(p, beta)``: ``p: (n, n)``, each row a distribution over $j \ne i$
    ($p_{i|i} = 0$), and ``beta: (n,)``, the precisions
    $\beta_i = 1 / (2 \sigma_i^2)$.

    Row $i$ is a Gaussian kernel centred on $x_i$,

    $$
    p_{j|i} = \frac{e^{-\beta_i d_{ij}}}{\sum_{k \ne i} e^{-\beta_i d_{ik}}} .
    $$

    Shift the distances by the row's smallest, $d'_{ij} = d_{ij} - \min_{k \ne i} d_{ik}$:
    the shift cancels in $p$ and keeps every exponential $\le 1$. With
    $S_i = \sum_{j \ne i} e^{-\beta_i d'_{ij}}$ we have
    $\log p_{j|i} = -\beta_i d'_{ij} - \log S_i$, so the Shannon entropy of the
    row (in nats) is

    $$
    H_i(\beta_i) = -\sum_j p_{j|i} \log p_{j|i} = \log S_i + \beta_i \sum_j d'_{ij} \, p_{j|i} .
    $$

    $H_i$ falls monotonically from $\log(n - 1)$ ($\beta = 0$, all neighbours
    equal) towards 0 ($\beta \to \infty$, only the nearest), so
    $H_i(\beta) = \log(\mathrm{perplexity})$ has one root, found by bisection:
    start at $\beta = 1$; while the entropy is too high, $\beta$ is too small
    (the lower bound becomes $\beta$, and $\beta$ doubles until an upper bound
    exists, then moves to the midpoint); while it is too low, the upper bound
    becomes $\beta$ and $\beta$ moves to the midpoint of (lower bound,
    $\beta$). Stop when $|H_i - \log(\mathrm{perplexity})| <$
    ``PERPLEXITY_TOL`` or after ``PERPLEXITY_MAX_ITER`` steps (a row whose
    target is unreachable, e.g. more exact duplicates than the perplexity,
    gets the $p$ of its last $\beta$). The perplexity
    $2^{H \text{ in bits}} = e^{H \text{ in nats}}$ is the effective number of
    neighbours.

    The scale of the distances. $p$ depends on $\beta_i d'_{ij}$ only: scaling
    a row's distances by $c$ and $\beta_i$ by $1 / c$ gives the same row. A
    bisection that starts at $\beta = 1$ on distances of $10^{60}$ would spend
    its ``PERPLEXITY_MAX_ITER`` steps halving $\beta$ towards $10^{-60}$ and
    return a row far from its perplexity. So a row whose largest $d'_{ij}$,
    $m_i = 2^{e_i} f$ with $f \in [1/2, 1)$, lies outside
    $[2^{-b}, 2^{b}]$ (``PERPLEXITY_SCALE_BITS`` $= b$) is bisected on
    $d'_{ij} 2^{-e_i}$ (largest in $[1/2, 1)$) and its precision reported as
    $\beta_i 2^{-e_i}$. A power of two scales a float exactly, so this is the
    bisection started at $\beta = 2^{-e_i}$ on the distances as given; rows
    inside the window (all data of ordinary scale) are untouched.

    All rows are bisected together here (a mask of unfinished rows); the
    twin does one row at a time. Each row makes the same decisions in both.
    """
    off = ~np.eye(dist2.shape[0], dtype=bool)                      # (n, n), False on i = j
    return _calibrate(np.where(off, dist2, np.inf), off, perplexity)   # self never a neighbour


def tsne_knn_conditional_p(dist2, perplexity):
    r"""Conditional affinities over each point's nearest neighbours only
    (Barnes-Hut t-SNE's sparse $P$, van der Maaten 2014).

    ``dist2: (n, K)``: row $i$ holds the squared distances from $x_i$ to its
    $K$ nearest neighbours (itself excluded); ``perplexity`` in $(1, K)$.
    Returns ``(p, beta)``: ``p: (n, K)``, row $i$ the distribution
    $p_{j|i}$ over those $K$ neighbours, and ``beta: (n,)``.

    The same Gaussian and the same bisection as ``tsne_conditional_p``, with
    every other point's $p_{j|i}$ set to 0. With $K = \lfloor 3 u \rfloor$ for
    perplexity $u$, what is cut off is small: the kernel's width is set so
    that about $u$ neighbours share the mass, and the $K$-th neighbour already
    lies in its tail.
    """
    return _calibrate(dist2, np.ones(dist2.shape, dtype=bool), perplexity)


def _calibrate(d, valid, perplexity):
    """The bisection of ``tsne_conditional_p`` on rows of squared distances
    d: (n, m), counting only the entries where ``valid`` (n, m) is True."""
    n = d.shape[0]
    target = np.log(perplexity)
    d = d - d.min(axis=1, keepdims=True)                           # (n, m): d'_ij >= 0
    d[~valid] = 0.0                                                # exp(-beta * 0) is masked below
    top = d.max(axis=1)                                            # (n,) m_i
    window = 2.0 ** PERPLEXITY_SCALE_BITS
    far = (top > 0) & ((top < 1.0 / window) | (top > window))
    shift = np.where(far, np.frexp(top)[1], 0)                     # (n,) e_i, 0 inside the window
    d = np.ldexp(d, -shift[:, None])                               # exact: powers of two
    beta = np.ones(n)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    active = np.ones(n, dtype=bool)                                # rows still bisecting
    p = np.zeros(d.shape)
    for _ in range(PERPLEXITY_MAX_ITER):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        e = np.exp(-beta[rows, None] * d[rows]) * valid[rows]      # (r, m)
        s = e.sum(axis=1)                                          # (r,)
        p[rows] = e / s[:, None]
        h = np.log(s) + beta[rows] * (d[rows] * p[rows]).sum(axis=1)
        done = np.abs(h - target) < PERPLEXITY_TOL
        too_flat = (h > target) & ~done                            # beta too small
        too_sharp = (h <= target) & ~done                          # beta too large
        r = rows[too_flat]
        lo[r] = beta[r]
        beta[r] = np.where(np.isinf(hi[r]), 2.0 * beta[r], 0.5 * (beta[r] + hi[r]))
        r = rows[too_sharp]
        hi[r] = beta[r]
        beta[r] = 0.5 * (beta[r] + lo[r])
        active[rows[done]] = False
    rows = np.flatnonzero(active)                                  # ran out of steps:
    if rows.size:                                                  # p at the final beta
        e = np.exp(-beta[rows, None] * d[rows]) * valid[rows]
        p[rows] = e / e.sum(axis=1, keepdims=True)
    with np.errstate(over="ignore"):            # inf: data too small (refused by the caller)
        return p, np.ldexp(beta, -shift)                           # back to the given scale


def tsne_kl_grad(y, p, need_cost=True):
    r"""The t-SNE cost of an embedding and its gradient.

    ``y: (n, k)`` the embedding; ``p: (n, n)`` symmetric, non-negative, zero
    diagonal (the joint affinities, summing to 1, or $\alpha$ times them during
    early exaggeration). Returns ``(cost, dy)``: ``cost`` a float (None if not
    ``need_cost``: it costs two logs per pair, the gradient none),
    ``dy: (n, k)``.

    The embedding's affinities are Student-t (one degree of freedom):

    $$
    w_{ij} &= \frac{1}{1 + \|y_i - y_j\|^2} \quad (w_{ii} = 0), \\
    Z &= \sum_{a \ne b} w_{ab}, \qquad q_{ij} = \frac{w_{ij}}{Z} .
    $$

    The cost is

    $$
    C(y) = \sum_{i \ne j} p_{ij} \log p_{ij} - \sum_{i \ne j} p_{ij} \log w_{ij} + \log Z,
    $$

    which is $\mathrm{KL}(P \,\|\, Q) = \sum p \log(p / q)$ when $P$ sums to 1
    (since $\log q = \log w - \log Z$). With $P$ scaled by $\alpha$ it is not
    $\alpha \, \mathrm{KL}$, but the objective whose gradient is the
    early-exaggeration update below ($\alpha p$ in place of $p$).

    Gradient. $w_{ab}$ depends on $y_i$ only for pairs holding $i$, and

    $$
    \frac{\partial w_{ij}}{\partial y_i} &= -\frac{2 (y_i - y_j)}{(1 + \|y_i - y_j\|^2)^2} = -2 w_{ij}^2 (y_i - y_j), \\
    \frac{\partial \log w_{ij}}{\partial y_i} &= -2 w_{ij} (y_i - y_j).
    $$

    Each unordered pair $\{i, j\}$ appears twice in the sums (as $ij$ and
    $ji$, with $p_{ij} = p_{ji}$), hence

    $$
    \frac{\partial}{\partial y_i} \Big[-\sum_{a \ne b} p_{ab} \log w_{ab}\Big] = 2 \cdot 2 \sum_j p_{ij} w_{ij} (y_i - y_j),
    $$

    $$
    \frac{\partial}{\partial y_i} \log Z &= \frac{1}{Z} \cdot 2 \sum_j \big(-2 w_{ij}^2 (y_i - y_j)\big) \\
    &= -4 \sum_j q_{ij} w_{ij} (y_i - y_j),
    $$

    while $\sum p \log p$ does not depend on $y$. Together

    $$
    \frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij}) \, w_{ij} \, (y_i - y_j),
    $$

    the formula of the paper (its eq. 5, written with
    $(1 + \|y_i - y_j\|^2)^{-1}$ for $w_{ij}$): attraction along $p$, repulsion
    along $q$. Note that the repulsion uses $q$, normalised by $Z$, whatever
    $P$ sums to. $\log w = -\operatorname{log1p}(\|y_i - y_j\|^2)$ keeps the
    cost exact for close pairs; $p \log p$ is taken as 0 where $p = 0$.
    """
    diff = y[:, None, :] - y[None, :, :]                           # (n, n, k): y_i - y_j
    d2 = np.einsum("ijk,ijk->ij", diff, diff)                      # (n, n) squared distances
    w = 1.0 / (1.0 + d2)
    np.fill_diagonal(w, 0.0)
    z = w.sum()
    m = (p - w / z) * w                                            # (n, n): (p_ij - q_ij) w_ij
    dy = 4.0 * np.einsum("ij,ijk->ik", m, diff)                    # (n, k)
    if not need_cost:
        return None, dy
    off = ~np.eye(y.shape[0], dtype=bool)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    cost = float(np.sum(plogp) + np.sum(p * np.log1p(d2) * off) + np.log(z))
    return cost, dy
