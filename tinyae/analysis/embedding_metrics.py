"""How faithful is a low-dimensional embedding? Trustworthiness and k-NN
accuracy, exact (all pairwise distances), with no scikit-learn.

Trustworthiness (Venna and Kaski, 2001) asks whether the neighbours one sees
in the embedding are real. Let r(i, j) be the rank of j among the
neighbours of i in the *input* space (1 = nearest), and U_k(i) the points
that are among the k nearest neighbours of i in the embedding but not in the
input. Each intruder is penalised by how far it really is:

    T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_k(i)} (r(i, j) - k).

T = 1 when every embedded neighbourhood is a true one; the normalisation
makes the worst case (every intruder as far as possible) 0, for k < n / 2.
T is local: it never looks beyond the k nearest neighbours, so an embedding
that cuts the data into pieces and scatters them keeps T near 1 (only points
at the cuts suffer). It says nothing about the global arrangement.

k-NN accuracy: the share of points whose label is the majority label among
their k nearest neighbours in the embedding (leave-one-out: a point is not
its own neighbour). Ties between labels go to the smallest label.

Distance ties (duplicates) are broken by index, in the input-space ranks and
among the embedded neighbours. The blocked searches (``nearest_neighbours``,
trustworthiness without ``ranks``) order a row by ||x_j||^2 - 2 x_i . x_j,
the squared distance less a constant: two distances equal only up to
rounding may come out in either order.
"""

import numpy as np

from .._validation import check_array, check_positive_int
from ..backend import ops

__all__ = ["squared_distances", "nearest_neighbours", "neighbour_ranks", "trustworthiness",
           "knn_accuracy"]


def squared_distances(a, b=None):
    """All squared Euclidean distances, float64.

    a: (n, d), b: (m, d) (default a) -> (n, m) with entry ||a_i - b_j||^2,
    computed as ||a||^2 + ||b||^2 - 2 a b^T (one matrix product) and clipped
    at 0; with b = None the diagonal is exactly 0.
    """
    a = np.asarray(check_array(a, "a"), dtype=np.float64)
    same = b is None
    b = a if same else np.asarray(check_array(b, "b", shape=(None, a.shape[1])),
                                  dtype=np.float64)
    sq_a = np.einsum("ij,ij->i", a, a)                      # (n,)
    sq_b = sq_a if same else np.einsum("ij,ij->i", b, b)    # (m,)
    d2 = sq_a[:, None] + sq_b[None, :] - 2.0 * (a @ b.T)   # (n, m)
    np.maximum(d2, 0.0, out=d2)
    if same:
        np.fill_diagonal(d2, 0.0)
    return d2


#: Entries of a block of distances in the blocked searches: 2^22 float64
#: (32 MB). Measured on 10,000 x 30 (one thread): 0.55 s for 90 neighbours
#: with blocks of 2^22 entries, 0.69 s with 2^24, 0.60 s with 2^20.
BLOCK_ENTRIES = 2 ** 22


def _shifted_distance_blocks(x, rows_per_block):
    """Yield ``(rows, block, sq)`` over blocks of rows of x: (n, d), with
    ``block[r, j] = ||x_j||^2 - 2 x_i . x_j`` for i = rows[r], which is
    ``||x_i - x_j||^2 - ||x_i||^2``: the squared distances shifted by a
    constant per row, so in the same order along a row, and one matrix
    product with nothing after it ([x_i, 1] . [-2 x_j, ||x_j||^2]). ``sq``
    (n,): the squared norms, to shift back."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    sq = np.einsum("ij,ij->i", x, x)
    left = np.hstack([x, np.ones((n, 1))])                  # (n, d + 1)
    right = np.hstack([-2.0 * x, sq[:, None]]).T.copy()     # (d + 1, n)
    for b0 in range(0, n, rows_per_block):
        rows = np.arange(b0, min(b0 + rows_per_block, n))
        yield rows, left[rows] @ right, sq


def nearest_neighbours(x, k):
    """Each row's k nearest other rows, exactly, a block of rows at a time.

    x: (n, d) -> ``(indices, d2)``, both (n, k): ``indices[i]`` the k
    nearest rows j != i, nearest first (of equal distances, the smaller j
    first), ``d2[i]`` their squared distances (float64, clipped at 0).
    Time O(n^2 d) in matrix products plus a pass over each row
    (``backend.ops.smallest_k``); memory ``BLOCK_ENTRIES`` per block, never
    the (n, n) matrix.
    """
    x = check_array(x, "x")
    n = x.shape[0]
    k = _check_k(k, n)
    indices = np.empty((n, k), dtype=np.int64)
    d2 = np.empty((n, k))
    for rows, block, sq in _shifted_distance_blocks(x, max(1, BLOCK_ENTRIES // n)):
        block[np.arange(rows.size), rows] = np.inf          # never its own neighbour
        indices[rows], shifted = ops.smallest_k(block, k)
        d2[rows] = np.maximum(shifted + sq[rows, None], 0.0)
    return indices, d2


def _neighbour_order(x, k=None):
    """(n, k): for each row i, its k nearest other points, nearest first
    (default k = n - 1: all of them, ties broken by index)."""
    if k is not None:
        return nearest_neighbours(x, k)[0]
    d2 = squared_distances(x)
    np.fill_diagonal(d2, -1.0)                              # self sorts first, then dropped
    return np.argsort(d2, axis=1, kind="stable")[:, 1:]


def _ranks_of(x, nn):
    """r(i, j) for the j in ``nn[i]`` (n, k): the rank of j among the
    neighbours of i in x (1 = nearest, ties by index), without the (n, n)
    ranks of ``neighbour_ranks``: blocks of distances and
    ``backend.ops.rank_in_row``, the point itself put first."""
    n, k = nn.shape
    ranks = np.empty((n, k), dtype=np.int64)
    for rows, block, _ in _shifted_distance_blocks(x, max(1, BLOCK_ENTRIES // n)):
        block[np.arange(rows.size), rows] = -np.inf         # self before all: ranks from 1
        ranks[rows] = ops.rank_in_row(block, nn[rows])
    return ranks


def neighbour_ranks(x):
    """r(i, j): rank of j among the neighbours of i (1 = nearest, r(i, i) = 0).

    x: (n, d) -> (n, n) int64. Exact; O(n^2 log n) time and O(n^2) memory.
    """
    order = _neighbour_order(x)                             # (n, n - 1)
    n = order.shape[0]
    ranks = np.zeros((n, n), dtype=np.int64)
    rows = np.arange(n)[:, None]
    ranks[rows, order] = np.arange(1, n)[None, :]
    return ranks


def _check_k(k, n, *, half=False):
    k = check_positive_int(k, "k")
    if (half and 2 * k >= n) or k > n - 1:
        what = "k < n / 2" if half else "k <= n - 1"
        raise ValueError(f"k must satisfy {what} for n = {n} points, got k = {k}")
    return k


def trustworthiness(x, embedding, k, *, ranks=None):
    """T(k) of ``embedding`` (n, q) for the data ``x`` (n, d); a float in [0, 1].

    ``ranks``: optional ``neighbour_ranks(x)``, to reuse the input-space ranks
    across several embeddings of the same data (they are the O(n^2 log n)
    part, and O(n^2) memory). Without them only the ranks of the k embedded
    neighbours are computed, from blocks of distances: O(n k) memory, for
    n in the tens of thousands. Needs k < n / 2 (the normalisation's domain).
    """
    y = check_array(embedding, "embedding")
    n = y.shape[0]
    if n < 3:
        raise ValueError(f"trustworthiness needs at least 3 points, got {n}")
    k = _check_k(k, n, half=True)
    if ranks is not None and (not isinstance(ranks, np.ndarray) or ranks.shape != (n, n)):
        raise ValueError(f"ranks must be neighbour_ranks(x), an (n, n) = ({n}, {n}) "
                         f"array, got {getattr(ranks, 'shape', type(ranks).__name__)}")
    if ranks is None:
        x = check_array(x, "x", shape=(n, None))
    nn = _neighbour_order(y, k)                             # (n, k) embedded neighbours
    r = (_ranks_of(x, nn) if ranks is None                  # (n, k) their input ranks
         else ranks[np.arange(n)[:, None], nn])
    penalty = np.sum(np.maximum(r - k, 0))                  # intruders only (rank > k)
    return float(1.0 - 2.0 * penalty / (n * k * (2.0 * n - 3.0 * k - 1.0)))


def knn_accuracy(embedding, labels, k):
    """Leave-one-out k-NN accuracy of ``labels`` (n,) ints >= 0 in
    ``embedding`` (n, q): the share of points whose neighbours' majority
    label (ties to the smallest) is their own."""
    y = check_array(embedding, "embedding")
    n = y.shape[0]
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer) \
            or (n and labels.min() < 0):
        raise ValueError(f"labels must be ({n},) non-negative integers (one per point), "
                         f"got shape {labels.shape} and dtype {labels.dtype}")
    if n < 2:
        raise ValueError(f"knn_accuracy needs at least 2 points, got {n}")
    k = _check_k(k, n)
    nn = _neighbour_order(y, k)                             # (n, k)
    n_classes = int(labels.max()) + 1
    votes = np.zeros((n, n_classes), dtype=np.int64)
    np.add.at(votes, (np.repeat(np.arange(n), k), labels[nn].ravel()), 1)
    predicted = votes.argmax(axis=1)                        # first maximum: smallest label
    return float(np.mean(predicted == labels))
