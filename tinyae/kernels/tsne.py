"""Numba twins of ``tinyae.functional.tsne`` (how twins are built: see
``tinyae.kernels``; the formulas are derived in the reference).

* ``tsne_conditional_p`` and ``tsne_knn_conditional_p`` bisect one row at
  a time, with the reference's start, moves, stopping rule and power-of-two
  scaling of a row far from 1, so each row takes the same decisions;
* ``tsne_kl_grad`` visits each unordered pair {i, j} once (p is symmetric)
  and accumulates, per point, the attraction A_i = sum_j p_ij w_ij (y_i - y_j),
  the repulsion B_i = sum_j w_ij^2 (y_i - y_j) and Z = sum w; then
  dy_i = 4 (A_i - B_i / Z). One pass, no (n, n) temporary: the reference
  builds three (n, n) arrays and an (n, n, k) one.
"""

import math

import numpy as np

from ..functional.tsne import PERPLEXITY_MAX_ITER, PERPLEXITY_SCALE_BITS, PERPLEXITY_TOL
from .base import jit


__all__ = ["tsne_conditional_p", "tsne_knn_conditional_p", "tsne_kl_grad"]


@jit
def _row_entropy(d, i, skip, beta, p_row):
    """Fill p_row with exp(-beta d[i, j]) / S (p_row[skip] = 0); return H in nats.

    d: (n, m) shifted squared distances d'_ij >= 0; skip: the column that is
    not a neighbour (i itself in a dense row, -1 for none)."""
    m = d.shape[1]
    s = 0.0
    for j in range(m):
        p_row[j] = 0.0 if j == skip else np.exp(-beta * d[i, j])
        s += p_row[j]
    hd = 0.0
    for j in range(m):
        p_row[j] /= s
        hd += d[i, j] * p_row[j]
    return np.log(s) + beta * hd


@jit
def _conditional_p(dist2, target, tol, max_iter, window, dense):
    """Bisect each row of dist2 (n, m); ``dense``: m = n and column i of row
    i is the point itself (skipped), else every column is a neighbour."""
    n, m = dist2.shape
    p = np.zeros((n, m))
    beta = np.ones(n)
    d = np.empty((n, m))
    for i in range(n):
        skip = i if dense else -1
        lowest = np.inf
        for j in range(m):
            if j != skip and dist2[i, j] < lowest:
                lowest = dist2[i, j]
        top = 0.0
        for j in range(m):
            d[i, j] = 0.0 if j == skip else dist2[i, j] - lowest
            top = max(top, d[i, j])
        shift = 0                               # the reference's power-of-two scaling
        if top > 0.0 and (top < 1.0 / window or top > window):
            shift = math.frexp(top)[1]
            for j in range(m):
                d[i, j] = math.ldexp(d[i, j], -shift)
        b, lo, hi = 1.0, 0.0, np.inf
        done = False
        for _ in range(max_iter):
            h = _row_entropy(d, i, skip, b, p[i])
            if abs(h - target) < tol:
                done = True
                break
            if h > target:                      # too flat: beta up
                lo = b
                b = 2.0 * b if hi == np.inf else 0.5 * (b + hi)
            else:                               # too sharp: beta down
                hi = b
                b = 0.5 * (b + lo)
        if not done:
            _row_entropy(d, i, skip, b, p[i])   # p at the final beta
        beta[i] = math.ldexp(b, -shift)
    return p, beta


def tsne_conditional_p(dist2, perplexity):
    """Conditional affinities p_{j|i} by per-row bisection (twin of
    ``functional.tsne_conditional_p``). dist2: (n, n) -> (p (n, n), beta (n,))."""
    return _conditional_p(np.ascontiguousarray(dist2, dtype=np.float64),
                          float(np.log(perplexity)), PERPLEXITY_TOL, PERPLEXITY_MAX_ITER,
                          2.0 ** PERPLEXITY_SCALE_BITS, True)


def tsne_knn_conditional_p(dist2, perplexity):
    """Affinities over each point's K nearest neighbours (twin of
    ``functional.tsne_knn_conditional_p``). dist2: (n, K) -> (p (n, K), beta (n,))."""
    return _conditional_p(np.ascontiguousarray(dist2, dtype=np.float64),
                          float(np.log(perplexity)), PERPLEXITY_TOL, PERPLEXITY_MAX_ITER,
                          2.0 ** PERPLEXITY_SCALE_BITS, False)


@jit
def _kl_grad(y, p, need_cost):
    n, k = y.shape
    att = np.zeros((n, k))                      # A_i = sum_j p_ij w_ij (y_i - y_j)
    rep = np.zeros((n, k))                      # B_i = sum_j w_ij^2 (y_i - y_j)
    z = 0.0
    plogp = 0.0
    plogd = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d2 = 0.0
            for c in range(k):
                t = y[i, c] - y[j, c]
                d2 += t * t
            w = 1.0 / (1.0 + d2)
            z += 2.0 * w                        # w_ij and w_ji
            pij = p[i, j]
            a = pij * w
            r = w * w
            for c in range(k):                  # y_i - y_j again: cheaper than a scratch array
                t = y[i, c] - y[j, c]
                att[i, c] += a * t
                att[j, c] -= a * t
                rep[i, c] += r * t
                rep[j, c] -= r * t
            if need_cost:
                if pij > 0.0:
                    plogp += 2.0 * pij * np.log(pij)
                plogd += 2.0 * pij * np.log1p(d2)
    dy = np.empty((n, k))
    for i in range(n):
        for c in range(k):
            dy[i, c] = 4.0 * (att[i, c] - rep[i, c] / z)
    return plogp + plogd + np.log(z), dy


def tsne_kl_grad(y, p, need_cost=True):
    """t-SNE cost and gradient ``dy_i = 4 sum_j (p_ij - q_ij) w_ij (y_i - y_j)``
    (twin of ``functional.tsne_kl_grad``). y: (n, k), p: (n, n) symmetric ->
    (cost or None, dy (n, k))."""
    cost, dy = _kl_grad(np.ascontiguousarray(y, dtype=np.float64),
                        np.ascontiguousarray(p, dtype=np.float64), bool(need_cost))
    return (float(cost) if need_cost else None), dy
