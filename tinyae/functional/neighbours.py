r"""Exact nearest neighbours from rows of distances: the selection and the
ranking that ``tinyae.analysis.embedding_metrics`` runs on blocks of a
distance matrix (t-SNE's sparse affinities, trustworthiness, k-NN accuracy).
The twins are ``tinyae.kernels.neighbours``.

Both order a row by (value, column): the smaller distance first, and of two
equal distances the smaller column first, so duplicates are ranked the same
way every time. A row may hold $+\infty$ (a column left out, such as the
point itself) or $-\infty$ (a column put first).
"""

import numpy as np

__all__ = ["smallest_k", "rank_in_row"]


def smallest_k(d, k):
    r"""The ``k`` smallest entries of each row of ``d: (b, n)``, in order.

    Returns ``(indices, values)``, both ``(b, k)``: ``indices[r]`` the
    columns of row r's k smallest entries by (value, column), ascending, and
    ``values[r]`` those entries. ``1 <= k <= n``.

    Here a stable sort of each whole row, $O(n \log n)$ per row; the twin
    keeps a heap of the k best seen so far, $O(n)$ for the rows of a
    distance matrix (most entries lose to the heap's largest at once).
    """
    indices = np.argsort(d, axis=1, kind="stable")[:, :k]
    return indices, np.take_along_axis(d, indices, axis=1)


def rank_in_row(d, cols):
    r"""Where the given columns fall in their rows' order by (value, column).

    ``d: (b, n)``, ``cols: (b, k)`` int columns -> ``(b, k)`` int64: for
    each ``j = cols[r, m]`` the number of columns $l$ that come before it in
    row r,

    $$
    \#\{l : d_{rl} < d_{rj}\} + \#\{l < j : d_{rl} = d_{rj}\},
    $$

    its 0-based position in ``np.argsort(d[r], kind="stable")``. With the
    point itself at $-\infty$, that is the rank of $j$ among the point's
    neighbours (1 = nearest): the $r(i, j)$ of trustworthiness.
    """
    n = d.shape[1]
    dj = np.take_along_axis(d, cols, axis=1)[:, :, None]          # (b, k, 1)
    row = d[:, None, :]                                            # (b, 1, n)
    before = (row < dj) | ((row == dj) & (np.arange(n) < cols[:, :, None]))
    return np.count_nonzero(before, axis=2).astype(np.int64)
