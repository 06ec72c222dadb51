r"""Binary codes as machine words, and Hamming ranking (semantic hashing).

A $b$-bit binary code is stored in $\lceil b / 64 \rceil$ unsigned 64-bit
words, so the Hamming distance between two codes is a handful of machine
instructions,

$$
d_H(a, b) = \sum_w \operatorname{popcount}(a_w \oplus b_w),
$$

instead of the $2d$ floating-point operations of a Euclidean distance in
$d$ dimensions (Salakhutdinov & Hinton, 2009, "Semantic hashing").
Distances are small integers in $[0, b]$, so ranking a database by distance
needs no comparison sort: a counting sort (histogram of the $b + 1$
possible distances, prefix sums, one placement pass) orders $n$ items in
$O(n + b)$.

Ops (integer arithmetic: the Numba twins in ``tinyae.kernels.hashing`` agree
exactly):

* ``pack_bits(bits)``: ``(n, b)`` 0/1 -> ``(n, ceil(b / 64))`` uint64; bit
  $j$ of a row is bit $j \bmod 64$ of word $\lfloor j / 64 \rfloor$ (unused
  high bits are 0);
* ``hamming_distance(q, db)``: ``(m, w), (n, w)`` uint64 -> ``(m, n)`` int32;
* ``hamming_rank(q, db)``: ``(m, w), (n, w)`` -> ``(m, n)`` int32 indices of
  ``db`` in increasing distance, ties in increasing index (a stable sort).
"""

import numpy as np

__all__ = ["pack_bits", "hamming_distance", "hamming_rank"]

WORD_BITS = 64


def pack_bits(bits):
    r"""Pack rows of 0/1 values into uint64 words.

    ``bits: (n, b)`` bool or integers in $\{0, 1\}$ -> ``words: (n, ceil(b / 64))``
    uint64,

    $$
    \mathrm{words}_{i, w} = \sum_{k=0}^{63} \mathrm{bits}_{i, 64 w + k} \, 2^k
    $$

    (bit $k$ of the word set by a shift ``<< k``; zero padding past $b$).
    """
    n, b = bits.shape
    n_words = -(-b // WORD_BITS)                               # ceil(b / 64)
    padded = np.zeros((n, n_words * WORD_BITS), dtype=np.uint64)
    padded[:, :b] = bits != 0
    shifts = np.arange(WORD_BITS, dtype=np.uint64)             # (64,)
    # (n, n_words, 64): one bit per slot, shifted to its place and OR-ed
    return np.bitwise_or.reduce(padded.reshape(n, n_words, WORD_BITS) << shifts,
                                axis=2)


def hamming_distance(q, db):
    r"""Hamming distances between packed codes.

    ``q: (m, w)`` uint64, ``db: (n, w)`` uint64 -> ``(m, n)`` int32,

    $$
    d_{ij} = \sum_w \operatorname{popcount}(q_{i, w} \oplus \mathrm{db}_{j, w}) .
    $$
    """
    d = np.zeros((q.shape[0], db.shape[0]), dtype=np.int32)
    for w in range(q.shape[1]):                                # one word at a time
        d += np.bitwise_count(q[:, w, None] ^ db[None, :, w])  # (m, n)
    return d


def hamming_rank(q, db):
    """Database indices ordered by Hamming distance to each query.

    ``q: (m, w)``, ``db: (n, w)`` uint64 -> ``(m, n)`` int32; row $i$ lists the
    indices of ``db`` by increasing ``hamming_distance(q, db)[i]``, ties by
    increasing index.
    """
    return np.argsort(hamming_distance(q, db), axis=1, kind="stable").astype(np.int32)
