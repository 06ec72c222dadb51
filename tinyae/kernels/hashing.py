"""Numba twins of ``tinyae.functional.hashing`` (how twins are built: see
``tinyae.kernels``). Integer arithmetic: the results equal the reference's
exactly."""

import numpy as np

from ..functional.hashing import WORD_BITS
from .base import jit

__all__ = ["pack_bits", "hamming_distance", "hamming_rank"]

@jit
def _popcount(v):
    """Number of set bits of a uint64 by the SWAR (SIMD within a register)
    method: add neighbouring 1-, 2-, 4-bit fields, then sum the 8 bytes with
    one multiplication (the top byte of v * 0x0101...01 is their sum)."""
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (v * np.uint64(0x0101010101010101)) >> np.uint64(56)


@jit
def _pack_bits(bits, n_words):
    n, b = bits.shape
    out = np.zeros((n, n_words), dtype=np.uint64)
    for i in range(n):
        for j in range(b):
            if bits[i, j] != 0:
                out[i, j // WORD_BITS] |= np.uint64(1) << np.uint64(j % WORD_BITS)
    return out


@jit
def _hamming_distance(q, db):
    m, w = q.shape
    n = db.shape[0]
    d = np.empty((m, n), dtype=np.int32)
    for i in range(m):
        for j in range(n):
            s = np.uint64(0)
            for k in range(w):
                s += _popcount(q[i, k] ^ db[j, k])
            d[i, j] = s
    return d


@jit
def _hamming_rank(q, db):
    """Counting sort per query: histogram of the w * 64 + 1 possible
    distances, exclusive prefix sums as start offsets, one stable pass."""
    m, w = q.shape
    n = db.shape[0]
    n_dist = w * WORD_BITS + 1
    order = np.empty((m, n), dtype=np.int32)
    dist = np.empty(n, dtype=np.int64)
    start = np.empty(n_dist, dtype=np.int64)
    for i in range(m):
        start[:] = 0
        for j in range(n):
            s = np.uint64(0)
            for k in range(w):
                s += _popcount(q[i, k] ^ db[j, k])
            dist[j] = s
            start[s] += 1
        total = 0
        for t in range(n_dist):                   # counts -> first slot of each distance
            c = start[t]
            start[t] = total
            total += c
        for j in range(n):                        # increasing j: ties stay in index order
            order[i, start[dist[j]]] = j
            start[dist[j]] += 1
    return order


def pack_bits(bits):
    """(n, b) 0/1 -> (n, ceil(b / 64)) uint64 (twin of ``functional.pack_bits``)."""
    bits = np.ascontiguousarray(bits)
    if bits.dtype == np.bool_:
        bits = bits.view(np.uint8)
    return _pack_bits(bits, -(-bits.shape[1] // WORD_BITS))


def hamming_distance(q, db):
    """(m, w), (n, w) uint64 -> (m, n) int32 Hamming distances."""
    return _hamming_distance(np.ascontiguousarray(q), np.ascontiguousarray(db))


def hamming_rank(q, db):
    """(m, w), (n, w) uint64 -> (m, n) int32 indices by distance, ties by index."""
    return _hamming_rank(np.ascontiguousarray(q), np.ascontiguousarray(db))
