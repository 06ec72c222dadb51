"""Numba twins of ``tinyae.functional.tsne_bh`` (how twins are built: see
``tinyae.kernels``; the algorithm is derived in the reference).

* ``tsne_quadtree`` builds the reference's tree one cell at a time, in the
  order the cells are numbered (breadth first): a cell that splits sorts its
  run of ``order`` by quadrant (a stable counting sort) and appends its
  non-empty quadrants as new cells. Same cells, same order, same sums.
* ``tsne_bh_kl_grad`` walks the tree depth-first for each point, with a
  stack of cells to visit, in the order of ``order`` (neighbouring points
  walk nearly the same cells, which then stay in cache), reading each cell
  from two packed rows (``_pack``); a one-point leaf is taken as a mass of
  one at its centre of mass, which is its point, exactly. Z and the cost
  are summed over the points at the end, in index order. The build's
  tables grow by doubling as it needs them.

Measured at n = 10,000 (lesson 12's final map, one thread): the walk took
25 ms a gradient with the cells' fields in separate arrays and every leaf
through its run of ``order``, 18 ms packed as here; the build 2 ms.
A ``prange`` walk over chunks of points (the same result to the bit) did not
pay on the project's shared 2-core machine (``docs/performance.md``).
"""

import numpy as np

from ..functional.tsne_bh import MAX_DEPTH, Quadtree
from .base import jit

__all__ = ["tsne_quadtree", "tsne_bh_kl_grad"]

# columns of the cells' float and int tables
_CX, _CY, _HALF, _MX, _MY = 0, 1, 2, 3, 4
_START, _COUNT, _DEPTH, _KID = 0, 1, 2, 3            # children in columns 3..6


@jit
def _grow(fcell, icell):
    """The two tables with twice the rows (the new rows' children -1)."""
    f = np.empty((2 * fcell.shape[0], fcell.shape[1]))
    i = np.full((2 * icell.shape[0], icell.shape[1]), -1, dtype=np.int64)
    f[:fcell.shape[0]] = fcell
    i[:icell.shape[0]] = icell
    return f, i


@jit
def _build(y, max_depth):
    """The quadtree of y: (n, 2) -> (order (n,), fcell (m, 5), icell (m, 7))."""
    n = y.shape[0]
    order = np.arange(n)
    scratch = np.empty(n, dtype=np.int64)
    fcell = np.empty((max(2 * n, 16), 5))
    icell = np.full((max(2 * n, 16), 7), -1, dtype=np.int64)
    lo0, lo1, hi0, hi1 = np.inf, np.inf, -np.inf, -np.inf
    for j in range(n):
        lo0, hi0 = min(lo0, y[j, 0]), max(hi0, y[j, 0])
        lo1, hi1 = min(lo1, y[j, 1]), max(hi1, y[j, 1])
    fcell[0, _CX], fcell[0, _CY] = (lo0 + hi0) / 2, (lo1 + hi1) / 2
    fcell[0, _HALF] = max(hi0 - lo0, hi1 - lo1) / 2
    icell[0, _START], icell[0, _COUNT], icell[0, _DEPTH] = 0, n, 0
    m = 1
    c = 0
    while c < m:                                 # cells in the order they were made
        s, cnt = icell[c, _START], icell[c, _COUNT]
        sx, sy = 0.0, 0.0
        first0, first1 = y[order[s], 0], y[order[s], 1]
        same = True
        for pos in range(s, s + cnt):
            j = order[pos]
            sx += y[j, 0]
            sy += y[j, 1]
            if y[j, 0] != first0 or y[j, 1] != first1:
                same = False
        fcell[c, _MX], fcell[c, _MY] = sx / cnt, sy / cnt
        if cnt > 1 and not same and icell[c, _DEPTH] < max_depth:
            cx, cy = fcell[c, _CX], fcell[c, _CY]
            sizes = np.zeros(4, dtype=np.int64)
            for pos in range(s, s + cnt):
                j = order[pos]
                sizes[(1 if y[j, 0] >= cx else 0) + (2 if y[j, 1] >= cy else 0)] += 1
            at = np.zeros(4, dtype=np.int64)     # where each quadrant's run begins
            for q in range(1, 4):
                at[q] = at[q - 1] + sizes[q - 1]
            fill = at.copy()
            for pos in range(s, s + cnt):        # a stable counting sort of the run
                j = order[pos]
                q = (1 if y[j, 0] >= cx else 0) + (2 if y[j, 1] >= cy else 0)
                scratch[fill[q]] = j
                fill[q] += 1
            for k in range(cnt):
                order[s + k] = scratch[k]
            if m + 4 > fcell.shape[0]:
                fcell, icell = _grow(fcell, icell)
            half = fcell[c, _HALF] / 2
            for q in range(4):
                if sizes[q] == 0:
                    continue
                fcell[m, _CX] = cx + (1.0 if q & 1 else -1.0) * half
                fcell[m, _CY] = cy + (1.0 if q & 2 else -1.0) * half
                fcell[m, _HALF] = half
                icell[m, _START], icell[m, _COUNT] = s + at[q], sizes[q]
                icell[m, _DEPTH] = icell[c, _DEPTH] + 1
                icell[c, _KID + q] = m
                m += 1
        c += 1
    return order, fcell[:m], icell[:m]


def tsne_quadtree(y):
    """The quadtree of ``y: (n, 2)`` (twin of ``functional.tsne_quadtree``):
    a ``Quadtree`` of arrays over its cells, breadth first."""
    order, fcell, icell = _build(np.ascontiguousarray(y, dtype=np.float64), MAX_DEPTH)
    return Quadtree(order, icell[:, _START].copy(), icell[:, _COUNT].copy(),
                    fcell[:, _CX:_HALF].copy(), fcell[:, _HALF].copy(),
                    fcell[:, _MX:_MY + 1].copy(), icell[:, _KID:].copy())


@jit
def _pack(order, fcell, icell):
    """What the walk reads of each cell, in two rows per cell: cf (m, 4) =
    (centre of mass x, y, squared diagonal 8 half^2, number of points) and
    ci (m, 7) = (children 0..3, start, count, kind), kind the point of a
    one-point leaf, -2 for a leaf of several points, -1 for a cell with
    children. A one-point leaf's centre of mass is its point, exactly (a
    sum of one number, divided by 1)."""
    m = fcell.shape[0]
    cf = np.empty((m, 4))
    ci = np.empty((m, 7), dtype=np.int64)
    for c in range(m):
        cf[c, 0], cf[c, 1] = fcell[c, _MX], fcell[c, _MY]
        cf[c, 2] = 8.0 * fcell[c, _HALF] * fcell[c, _HALF]
        cf[c, 3] = icell[c, _COUNT]
        leaf = True
        for q in range(4):
            ci[c, q] = icell[c, _KID + q]
            if ci[c, q] >= 0:
                leaf = False
        ci[c, 4], ci[c, 5] = icell[c, _START], icell[c, _COUNT]
        ci[c, 6] = -1 if not leaf else (order[ci[c, 4]] if ci[c, 5] == 1 else -2)
    return cf, ci


@jit
def _bh_kl_grad(y, indptr, indices, p, theta2, need_cost, max_depth):
    """The tree, then for each point in ``order``: Z_i and B_i by a
    depth-first walk, A_i over row i of P and row i's share of the cost
    (p log p + p log(1 + d^2)); then Z and the cost summed in index order
    and dy = 4 (A - B / Z)."""
    n = y.shape[0]
    order, fcell, icell = _build(y, max_depth)
    cf, ci = _pack(order, fcell, icell)
    z_i, cost_i = np.empty(n), np.zeros(n)
    rep, att = np.empty((n, 2)), np.empty((n, 2))
    stack = np.empty(3 * max_depth + 8, dtype=np.int64)
    for k in range(n):
        i = order[k]
        yi0, yi1 = y[i, 0], y[i, 1]
        zs, r0, r1 = 0.0, 0.0, 0.0
        stack[0] = 0
        top = 1
        while top > 0:
            top -= 1
            c = stack[top]
            kind = ci[c, 6]
            if kind == -2:                       # a leaf of several points: one by one
                for pos in range(ci[c, 4], ci[c, 4] + ci[c, 5]):
                    j = order[pos]
                    if j == i:
                        continue
                    d0, d1 = yi0 - y[j, 0], yi1 - y[j, 1]
                    w = 1.0 / (1.0 + (d0 * d0 + d1 * d1))
                    zs += w
                    r0 += w * w * d0
                    r1 += w * w * d1
                continue
            if kind == i:                        # the point itself
                continue
            d0, d1 = yi0 - cf[c, 0], yi1 - cf[c, 1]
            d2 = d0 * d0 + d1 * d1
            # a one-point leaf (exact), or a cell far enough: the cell as one mass
            if kind >= 0 or cf[c, 2] < theta2 * d2:
                w = 1.0 / (1.0 + d2)
                mw = cf[c, 3] * w
                zs += mw
                r0 += mw * w * d0
                r1 += mw * w * d1
                continue
            for q in range(3, -1, -1):           # quadrant 0 popped first
                if ci[c, q] >= 0:
                    stack[top] = ci[c, q]
                    top += 1
        z_i[i], rep[i, 0], rep[i, 1] = zs, r0, r1
        a0, a1, cost = 0.0, 0.0, 0.0             # A_i = sum_j p_ij w_ij (y_i - y_j)
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            d0, d1 = yi0 - y[j, 0], yi1 - y[j, 1]
            d2 = d0 * d0 + d1 * d1
            a = p[e] / (1.0 + d2)
            a0 += a * d0
            a1 += a * d1
            if need_cost:
                if p[e] > 0.0:
                    cost += p[e] * np.log(p[e])
                cost += p[e] * np.log1p(d2)
        att[i, 0], att[i, 1], cost_i[i] = a0, a1, cost
    z, cost = 0.0, 0.0
    for i in range(n):
        z += z_i[i]
        cost += cost_i[i]
    dy = np.empty((n, 2))
    for i in range(n):
        dy[i, 0] = 4.0 * (att[i, 0] - rep[i, 0] / z)
        dy[i, 1] = 4.0 * (att[i, 1] - rep[i, 1] / z)
    return cost + np.log(z), dy


def tsne_bh_kl_grad(y, indptr, indices, p, theta, need_cost=True):
    """Barnes-Hut t-SNE cost and gradient (twin of
    ``functional.tsne_bh_kl_grad``): y (n, 2), P in compressed rows
    (indptr (n + 1,), indices (nnz,), p (nnz,)), theta in [0, 1] ->
    (cost or None, dy (n, 2))."""
    cost, dy = _bh_kl_grad(np.ascontiguousarray(y, dtype=np.float64),
                           np.ascontiguousarray(indptr, dtype=np.int64),
                           np.ascontiguousarray(indices, dtype=np.int64),
                           np.ascontiguousarray(p, dtype=np.float64),
                           float(theta) * float(theta), bool(need_cost), MAX_DEPTH)
    return (float(cost) if need_cost else None), dy
