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

Distance ties (duplicates) are broken by index in the input-space ranks; a
tie exactly at the k-th embedded neighbour may be broken either way.
"""

import numpy as np

from .._validation import check_array, check_positive_int

__all__ = ["squared_distances", "neighbour_ranks", "trustworthiness", "knn_accuracy"]


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


def _neighbour_order(x, k=None):
    """(n, k): for each row i, its k nearest other points, nearest first
    (default k = n - 1: all of them, ties broken by index)."""
    d2 = squared_distances(x)
    n = d2.shape[0]
    np.fill_diagonal(d2, -1.0)                              # self sorts first, then dropped
    if k is not None and k + 1 < n:
        near = np.argpartition(d2, k, axis=1)[:, :k + 1]    # the k + 1 smallest, unordered
        # order them by (distance, index): a stable sort of the index-sorted candidates
        near.sort(axis=1)
        rows = np.arange(n)[:, None]
        return near[rows, np.argsort(d2[rows, near], axis=1, kind="stable")][:, 1:]
    return np.argsort(d2, axis=1, kind="stable")[:, 1:]


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
    part). Needs k < n / 2 (the normalisation's domain).
    """
    y = check_array(embedding, "embedding")
    n = y.shape[0]
    if n < 3:
        raise ValueError(f"trustworthiness needs at least 3 points, got {n}")
    k = _check_k(k, n, half=True)
    if ranks is None:
        x = check_array(x, "x", shape=(n, None))
        ranks = neighbour_ranks(x)
    elif not isinstance(ranks, np.ndarray) or ranks.shape != (n, n):
        raise ValueError(f"ranks must be neighbour_ranks(x), an (n, n) = ({n}, {n}) "
                         f"array, got {getattr(ranks, 'shape', type(ranks).__name__)}")
    nn = _neighbour_order(y, k)                             # (n, k) embedded neighbours
    r = ranks[np.arange(n)[:, None], nn]                    # (n, k) their input ranks
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
