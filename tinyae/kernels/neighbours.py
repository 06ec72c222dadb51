"""Numba twins of ``tinyae.functional.neighbours`` (how twins are built: see
``tinyae.kernels``).

* ``smallest_k`` scans each row once with a max-heap of the k best
  (value, column) pairs: an entry enters only if it is smaller than the
  heap's largest (the columns come in increasing order, so a tie never
  enters: the earlier column stays), then the heap is sorted in place.
* ``rank_in_row`` counts, for each wanted column, the entries before it,
  in one pass over the row per column.
"""

import numpy as np

from .base import jit

__all__ = ["smallest_k", "rank_in_row"]


@jit
def _larger(va, ia, vb, ib):
    """(va, ia) after (vb, ib) in the order by (value, column)."""
    return va > vb or (va == vb and ia > ib)


@jit
def _sift_down(hv, hi, top, size):
    """Restore the max-heap hv, hi (by (value, column)) below ``top``."""
    while True:
        big = top
        for child in (2 * top + 1, 2 * top + 2):
            if child < size and _larger(hv[child], hi[child], hv[big], hi[big]):
                big = child
        if big == top:
            return
        hv[top], hv[big] = hv[big], hv[top]
        hi[top], hi[big] = hi[big], hi[top]
        top = big


@jit
def _smallest_k(d, k):
    b, n = d.shape
    indices = np.empty((b, k), dtype=np.int64)
    values = np.empty((b, k), dtype=d.dtype)
    for r in range(b):
        hv, hi = values[r], indices[r]              # the heap lives in the output row
        for j in range(k):
            hv[j], hi[j] = d[r, j], j
        for top in range(k // 2 - 1, -1, -1):
            _sift_down(hv, hi, top, k)
        for j in range(k, n):
            if d[r, j] < hv[0]:                     # smaller than the largest kept
                hv[0], hi[0] = d[r, j], j
                _sift_down(hv, hi, 0, k)
        for size in range(k - 1, 0, -1):            # heap sort: ascending
            hv[0], hv[size] = hv[size], hv[0]
            hi[0], hi[size] = hi[size], hi[0]
            _sift_down(hv, hi, 0, size)
    return indices, values


def smallest_k(d, k):
    """The k smallest entries of each row of d: (b, n), by (value, column)
    (twin of ``functional.smallest_k``) -> (indices (b, k), values (b, k))."""
    return _smallest_k(np.ascontiguousarray(d), int(k))


@jit
def _rank_in_row(d, cols):
    b, n = d.shape
    k = cols.shape[1]
    out = np.empty((b, k), dtype=np.int64)
    for r in range(b):
        for m in range(k):
            j = cols[r, m]
            v = d[r, j]
            count = 0
            for l in range(n):
                if d[r, l] < v or (d[r, l] == v and l < j):
                    count += 1
            out[r, m] = count
    return out


def rank_in_row(d, cols):
    """Position of each cols[r, m] in row r's order by (value, column) (twin
    of ``functional.rank_in_row``): d (b, n), cols (b, k) -> (b, k) int64."""
    return _rank_in_row(np.ascontiguousarray(d), np.ascontiguousarray(cols, dtype=np.int64))
