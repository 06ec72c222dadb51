"""Similarity search on codes: rankings, their scores, and binary hash functions.

A query is answered by ranking a database by distance to it; with labelled
data an item is *relevant* when it has the query's label. For one query
with relevance rel_1, rel_2, ... down the ranking (R relevant items in all),

    precision@k = (1/k) sum_{i<=k} rel_i,
    AP          = (1/R) sum_k rel_k precision@k,

the average of the precisions at the positions of the relevant items (1 if
they all come first), and mAP is the mean of AP over the queries. Ties in a
ranking are broken by database index, so every number is deterministic.

Binary hashes (``b`` bits per item, packed into uint64 words by
``ops.pack_bits``) are ranked by Hamming distance (``ops.hamming_rank``);
two data-independent or nearly so baselines live here:

* ``RandomHyperplaneLSH``: bit j is the side of a random hyperplane through
  the data mean, sign(w_j . (x - mean)) with w_j ~ N(0, I) (Charikar, 2002):
  two items agree on a bit with probability 1 - angle / pi;
* ``PCASignHash``: bit j is the sign of the j-th principal coordinate.

Ranking by Euclidean distance (``euclidean_rank``) is the float baseline.
"""

import time

import numpy as np

from .._validation import check_array, check_positive_int, check_rng
from ..backend import ops
from ..models.linear import PCA


# --------------------------------------------------------------------------
# Rankings
# --------------------------------------------------------------------------

def euclidean_rank(queries, database):
    """Database indices by increasing Euclidean distance to each query.

    queries: (m, d), database: (n, d) -> (m, n) int32. Uses
    ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2 (one matrix product), in the
    inputs' dtype; the query's own ||q||^2 does not change its ranking and is
    left out. Sorted by NumPy's default (introsort: deterministic, 3x faster
    than a stable sort here), so exactly equal distances -- duplicate
    images -- come in an unspecified order.
    """
    check_array(queries, "queries")
    check_array(database, "database", shape=(None, queries.shape[1]),
                dtype=queries.dtype)
    d2 = np.sum(database * database, axis=1) - 2 * (queries @ database.T)   # (m, n)
    return np.argsort(d2, axis=1).astype(np.int32)


def _check_words(words, name, n_words=None):
    if not isinstance(words, np.ndarray) or words.dtype != np.uint64 or words.ndim != 2:
        got = (f"dtype {words.dtype}, shape {words.shape}" if isinstance(words, np.ndarray)
               else type(words).__name__)
        raise TypeError(f"{name} must be a 2-D uint64 array of packed codes "
                        f"(from pack_codes), got {got}")
    if n_words is not None and words.shape[1] != n_words:
        raise ValueError(f"{name} must have {n_words} words per row (as the queries), "
                         f"got {words.shape[1]}")
    return words


def pack_codes(bits):
    """Binary codes (n, b) bool or 0/1 ints -> (n, ceil(b / 64)) uint64 words."""
    if not isinstance(bits, np.ndarray) or bits.ndim != 2 or bits.shape[1] == 0:
        raise ValueError(f"bits must be a 2-D array (n, b) with b >= 1, got "
                         f"{getattr(bits, 'shape', type(bits).__name__)}")
    if bits.dtype != np.bool_ and not (np.issubdtype(bits.dtype, np.integer)
                                       and np.isin(bits, (0, 1)).all()):
        raise ValueError(f"bits must be bool or integers in {{0, 1}}, got dtype "
                         f"{bits.dtype}")
    return ops.pack_bits(bits)


def hamming_rank(queries, database):
    """Database indices by increasing Hamming distance (ties by index).

    queries: (m, w), database: (n, w) uint64 packed codes -> (m, n) int32.
    """
    _check_words(queries, "queries")
    _check_words(database, "database", queries.shape[1])
    return ops.hamming_rank(queries, database)


# --------------------------------------------------------------------------
# Scores of a ranking
# --------------------------------------------------------------------------

def relevance(order, query_labels, database_labels):
    """rel[i, r] = (database_labels[order[i, r]] == query_labels[i]).

    order: (m, n) integer indices into the database, each in [0, n) (a
    negative index would wrap to the end); labels: (m,), (n,) -> (m, n) bool.
    """
    order = np.asarray(order)
    n = len(database_labels)
    if order.ndim != 2 or order.shape[1] != n or order.shape[0] != len(query_labels):
        raise ValueError(
            f"order must have shape (len(query_labels), len(database_labels)) = "
            f"({len(query_labels)}, {n}), got {order.shape}")
    if not np.issubdtype(order.dtype, np.integer):
        raise TypeError(f"order must hold integer indices into the database, got "
                        f"dtype {order.dtype}")
    if order.size and (order.min() < 0 or order.max() >= n):
        raise ValueError(f"order must hold database indices in [0, {n}), got values in "
                         f"[{order.min()}, {order.max()}]")
    return np.asarray(database_labels)[order] == np.asarray(query_labels)[:, None]


def _check_rel(rel):
    if not isinstance(rel, np.ndarray) or rel.dtype != np.bool_ or rel.ndim != 2:
        raise TypeError("rel must be a 2-D bool array (queries, ranked items), e.g. "
                        "from relevance(...)")
    return rel


def precision_at_k(rel, k):
    """Share of relevant items among the first k of each ranking.

    rel: (m, n) bool -> (m,) float64.
    """
    _check_rel(rel)
    k = check_positive_int(k, "k")
    if k > rel.shape[1]:
        raise ValueError(f"k must be <= the number of ranked items {rel.shape[1]}, got {k}")
    return rel[:, :k].mean(axis=1)


def average_precision(rel):
    """AP of each ranking: mean of precision@k over the ranks k of relevant items.

    rel: (m, n) bool -> (m,) float64. Every query needs at least one relevant
    item (otherwise AP is undefined and this raises).
    """
    _check_rel(rel)
    n_rel = rel.sum(axis=1)                                   # (m,)
    if (n_rel == 0).any():
        raise ValueError(f"{int((n_rel == 0).sum())} queries have no relevant item: "
                         f"their average precision is undefined")
    hits = np.cumsum(rel, axis=1)                             # (m, n) relevant so far
    prec = hits / np.arange(1, rel.shape[1] + 1)              # precision@k, k = 1..n
    return (prec * rel).sum(axis=1) / n_rel


def precision_recall(rel, ks):
    """Mean precision and mean recall over the queries at each cutoff k.

    rel: (m, n) bool, ks: increasing whole-number cutoffs in [1, n] ->
    (precision, recall), each (len(ks),): the points of a precision-recall
    curve. Whole numbers held as floats (2.0) are converted; 2.5 is an error.
    """
    _check_rel(rel)
    ks = _check_cutoffs(ks, rel.shape[1], "ks")
    hits = np.cumsum(rel, axis=1)[:, ks - 1]                  # (m, len(ks))
    return (hits / ks).mean(axis=0), (hits / rel.sum(axis=1, keepdims=True)).mean(axis=0)


def _check_cutoffs(ks, n, name):
    """ks: whole-number cutoffs in [1, n] -> (len,) int64; 2.0 converts, 2.5 is refused."""
    ks = np.asarray(ks)
    if ks.ndim != 1 or ks.size == 0 or not (np.issubdtype(ks.dtype, np.integer) or (
            np.issubdtype(ks.dtype, np.floating) and np.all(ks == np.rint(ks)))) \
            or ks.min() < 1 or ks.max() > n:
        raise ValueError(f"{name} must be a 1-D array of whole-number cutoffs in "
                         f"[1, {n}], got {ks!r}")
    return ks.astype(np.int64)


# --------------------------------------------------------------------------
# Baseline hash functions
# --------------------------------------------------------------------------

class RandomHyperplaneLSH:
    """b bits from random hyperplanes through the data mean (Charikar, 2002).

    ``fit(x)`` stores the mean (d,) and draws ``planes_`` (d, b) ~ N(0, 1)
    from ``rng``; ``bits(x)`` -> (n, b) bool, ``(x - mean_) @ planes_ > 0``.
    """

    def __init__(self, n_bits, *, rng):
        self.n_bits = check_positive_int(n_bits, "n_bits")
        self.rng = check_rng(rng)

    def fit(self, x):
        check_array(x, "x")
        self.mean_ = x.mean(axis=0, dtype=np.float64)
        self.planes_ = self.rng.standard_normal((x.shape[1], self.n_bits))
        return self

    def bits(self, x):
        if not hasattr(self, "planes_"):
            raise RuntimeError("this RandomHyperplaneLSH is not fitted yet: call fit(x)")
        check_array(x, "x", shape=(None, self.planes_.shape[0]))
        return (x - self.mean_) @ self.planes_ > 0


class PCASignHash:
    """b bits: the signs of the first b principal coordinates (PCA hashing).

    ``fit(x)`` fits ``tinyae.models.PCA(n_bits)``, or ``fit(pca=p)`` reuses a
    fitted PCA with at least b components (its first b are those of
    PCA(b): the components are nested); ``bits(x)`` -> (n, b) bool. The
    first coordinates carry most variance but the later bits are noisier;
    every bit has equal weight in the Hamming distance, which is PCA-sign's
    weakness as b grows.
    """

    def __init__(self, n_bits):
        self.n_bits = check_positive_int(n_bits, "n_bits")

    def fit(self, x=None, *, pca=None):
        if (x is None) == (pca is None):
            raise ValueError("PCASignHash.fit needs exactly one of x (data to fit a "
                             "PCA on) and pca (a fitted tinyae.models.PCA)")
        if pca is not None:
            if not isinstance(pca, PCA) or not hasattr(pca, "components_") \
                    or pca.n_components < self.n_bits:
                raise ValueError(f"pca must be a fitted tinyae.models.PCA with at least "
                                 f"n_bits={self.n_bits} components, got {pca!r}")
            self.pca_ = pca
        else:
            self.pca_ = PCA(self.n_bits).fit(x)
        return self

    def bits(self, x):
        if not hasattr(self, "pca_"):
            raise RuntimeError("this PCASignHash is not fitted yet: call fit(x)")
        return self.pca_.transform(x)[:, :self.n_bits] > 0


# --------------------------------------------------------------------------
# Evaluating a search method over many queries
# --------------------------------------------------------------------------

def evaluate_ranking(rank, queries, database, query_labels, database_labels, *,
                     k=100, cutoffs=None, chunk=250):
    """Score ``rank(queries, database) -> order`` over all queries, in chunks.

    queries, database: whatever ``rank`` takes (float codes for
    ``euclidean_rank``, packed words for ``hamming_rank``), first axis the
    items; labels: (m,), (n,). Queries are ranked ``chunk`` at a time so the
    (chunk, n) arrays stay small. Returns a dict: ``precision@k`` and
    ``mAP`` (means over queries), ``precision`` and ``recall`` (mean curves
    at ``cutoffs``, default 40 cutoffs spread over [1, n] on a log scale) and
    ``rank_seconds``, the CPU time spent inside ``rank`` only.
    """
    m, n = len(query_labels), len(database_labels)
    chunk = check_positive_int(chunk, "chunk")
    if m == 0:
        raise ValueError("query_labels is empty: there is no query to score (the mean "
                         "precision and mAP of zero queries are undefined)")
    if len(queries) != m or len(database) != n:
        raise ValueError(f"queries/database have {len(queries)}/{len(database)} rows "
                         f"but {m}/{n} labels")
    if cutoffs is None:
        cutoffs = np.unique(np.geomspace(1, n, 40).astype(np.int64))
    cutoffs = _check_cutoffs(cutoffs, n, "cutoffs")
    p_at_k, ap, prec, rec, seconds = [], [], 0.0, 0.0, 0.0
    for s in range(0, m, chunk):
        start = time.process_time()
        order = rank(queries[s:s + chunk], database)              # (b, n)
        seconds += time.process_time() - start
        rel = relevance(order, query_labels[s:s + chunk], database_labels)
        p_at_k.append(precision_at_k(rel, k))
        ap.append(average_precision(rel))
        p, r = precision_recall(rel, cutoffs)
        prec, rec = prec + p * rel.shape[0], rec + r * rel.shape[0]
    return {f"precision@{k}": float(np.mean(np.concatenate(p_at_k))),
            "mAP": float(np.mean(np.concatenate(ap))),
            "precision": prec / m, "recall": rec / m, "cutoffs": cutoffs,
            "rank_seconds": seconds}
