"""Numba twins of the hot ops of ``tinyae.functional.vq`` (how twins are
built: see ``tinyae.kernels``): the nearest-code search, whose (M, K)
distance matrix the reference materialises and the twin never does, and the
per-code counts and sums (a scatter-add, ``np.add.at`` in the reference)."""

import numpy as np

from .base import jit


@jit
def _nearest(cross, z2, e2):
    """Row-wise argmin of (z2[m] - 2 cross[m, k]) + e2[k], in one pass.

    The same arithmetic, in the same order, as the reference's distance
    matrix, so both pick the same code (ties: the lowest k)."""
    m_rows, k_codes = cross.shape
    two = cross.dtype.type(2)
    zero = cross.dtype.type(0)
    idx = np.empty(m_rows, np.int64)
    dist = np.empty(m_rows, cross.dtype)
    for m in range(m_rows):
        best = (z2[m] - two * cross[m, 0]) + e2[0]
        arg = 0
        for k in range(1, k_codes):
            d = (z2[m] - two * cross[m, k]) + e2[k]
            if d < best:
                best, arg = d, k
        idx[m] = arg
        dist[m] = best if best > zero else zero
    return idx, dist


def vq_nearest(z, codebook):
    """Nearest codebook row of each vector (twin of ``functional.vq_nearest``).

    z: (M, D), codebook: (K, D) -> idx: (M,) int64, dist: (M,). The cross
    terms z e^T are NumPy's BLAS and the squared norms NumPy's sums (as in
    the reference); the combination and argmin are one Numba pass.
    """
    cross = z @ codebook.T                              # (M, K), C-contiguous
    z2 = np.sum(z * z, axis=1)
    e2 = np.sum(codebook * codebook, axis=1)
    return _nearest(cross, z2, e2)


@jit
def _code_stats(z, idx, n_codes):
    counts = np.zeros(n_codes, z.dtype)
    sums = np.zeros((n_codes, z.shape[1]), z.dtype)
    one = z.dtype.type(1)
    for m in range(z.shape[0]):
        k = idx[m]
        counts[k] += one
        for j in range(z.shape[1]):
            sums[k, j] += z[m, j]
    return counts, sums


def vq_code_stats(z, idx, n_codes):
    """Counts (K,) and sums (K, D) of the vectors choosing each code (twin of
    ``functional.vq_code_stats``), one pass over z in order."""
    return _code_stats(np.ascontiguousarray(z), np.ascontiguousarray(idx, dtype=np.int64),
                       int(n_codes))
