r"""Barnes-Hut t-SNE's $O(n \log n)$ ops (van der Maaten, JMLR 15, 2014): a
quadtree over a 2-D embedding, and the t-SNE cost and gradient with the
attraction taken over a sparse $P$ and the repulsion summarised cell by cell.
The twins are ``tinyae.kernels.tsne_bh``; the optimiser around them is
``tinyae.analysis.tsne`` (``TSNE(method="barnes_hut")``).

The exact gradient (``tinyae.functional.tsne.tsne_kl_grad``) splits into an
attraction and a repulsion,

$$
\frac{\partial C}{\partial y_i} = 4 \Big( \underbrace{\sum_j p_{ij} w_{ij} (y_i - y_j)}_{A_i}
 - \frac{1}{Z} \underbrace{\sum_{j \ne i} w_{ij}^2 (y_i - y_j)}_{B_i} \Big),
\qquad Z = \sum_i \underbrace{\sum_{j \ne i} w_{ij}}_{Z_i},
$$

with $w_{ij} = (1 + \|y_i - y_j\|^2)^{-1}$. $A_i$ is cheap when $P$ is sparse
(each point's $\lfloor 3u \rfloor$ nearest neighbours, ``tsne_knn_conditional_p``):
$O(n u)$. $B_i$ and $Z_i$ sum over every other point: that is the $O(n^2)$.

Barnes and Hut's idea (1986, for gravity): the points of a cell $C$ that is
small and far from $y_i$ pull on $y_i$ almost as $N_C$ points at their centre
of mass $y_C$ would,

$$
\sum_{j \in C} w_{ij}^2 (y_i - y_j) \approx N_C\, w_{iC}^2 (y_i - y_C), \qquad
\sum_{j \in C} w_{ij} \approx N_C\, w_{iC}, \qquad w_{iC} = \frac{1}{1 + \|y_i - y_C\|^2}.
$$

Expanding $w_{ij}$ around $y_C$, the first-order terms are proportional to
$\sum_{j \in C} (y_j - y_C) = 0$ (that is why the centre of mass, not the
cell's centre): the error of a cell is second order in its size over its
distance. The cells come from a quadtree (``tsne_quadtree``), and the
traversal for $y_i$ starts at the root and uses a cell as a summary when

$$
\frac{r_C}{\|y_i - y_C\|} < \theta ,
$$

$r_C$ the length of the cell's diagonal; otherwise it opens the cell and
visits its children. A leaf's points are always taken one by one, exactly.
$\theta = 0$ opens every cell: the repulsion is then the exact one (to
rounding), in $O(n^2)$; $\theta = 0.5$ visits $O(\log n)$ cells per point.
For $\theta \le 1$ a cell containing $y_i$ is never a summary (its diagonal
is at least the distance from $y_i$ to its centre of mass, which lies in the
cell), so a point never repels itself.
"""

from collections import namedtuple

import numpy as np

__all__ = ["tsne_quadtree", "tsne_bh_kl_grad", "Quadtree", "MAX_DEPTH"]

#: A cell deeper than this is a leaf whatever it holds. Cells of depth 53 or
#: more are narrower than the last bit of coordinates of the root's size,
#: and a split can stop separating points that differ in their last bits
#: (the midpoint rounds onto one of them): without a limit it would recurse
#: for ever. Leaf points are taken one by one, so a deep leaf is slow, not wrong.
MAX_DEPTH = 64

#: The tree as arrays over its m cells, in breadth-first order (the root is
#: cell 0; each cell's children in quadrant order, the children of a cell
#: after those of every cell before it). ``order`` (n,): the point indices
#: sorted so that every cell's points are the consecutive run
#: ``order[start[c]:start[c] + count[c]]``; ``start, count`` (m,) int64;
#: ``centre`` (m, 2) and ``half`` (m,): the cell is the square
#: ``centre +- half``; ``com`` (m, 2): the centre of mass of its points;
#: ``children`` (m, 4) int64: the cell of each quadrant (0: x < centre and
#: y < centre, 1: x >=, y <, 2: x <, y >=, 3: both >=), -1 where the
#: quadrant is empty; a leaf has no children.
Quadtree = namedtuple("Quadtree", "order start count centre half com children")


def tsne_quadtree(y):
    r"""The quadtree of the points ``y: (n, 2)``, as a ``Quadtree`` of arrays.

    The root is the smallest square around the points: centre the middle of
    their bounding box, half-side half its longer side. A cell is split in
    four quadrants at its centre, a point going to the upper half of an axis
    when its coordinate is $\ge$ the centre's. A cell stays a leaf when it
    holds one point, when all its points lie at the same location (no split
    would ever separate them: duplicates, or points that have collapsed onto
    each other), or at depth ``MAX_DEPTH``. Each cell's centre of mass is
    the sum of its points in ``order``, one after the other, over their
    number.

    Built here one level at a time: every cell of a level that splits sorts
    its run of ``order`` by quadrant (a stable sort), and its non-empty
    quadrants become the next level's cells. The twin builds the same tree
    (same cells, same order, same sums) one cell at a time.
    """
    n = y.shape[0]
    lo, hi = y.min(axis=0), y.max(axis=0)
    order = np.arange(n)
    # the current level's cells: start, count, centre, half; their ids from `first`
    start, count = np.array([0]), np.array([n])
    centre, half = ((lo + hi) / 2)[None, :], np.array([np.max(hi - lo) / 2])
    levels, links = [], []                  # per level: arrays; (parent, quadrant, child)
    first = 0
    for depth in range(MAX_DEPTH + 1):
        m = start.size
        cell = np.repeat(np.arange(m), count)                      # (P,) cell of each position
        pos = np.repeat(start - (np.cumsum(count) - count), count) + np.arange(cell.size)
        pts = y[order[pos]]                                        # (P, 2) in run order
        com = np.stack([np.bincount(cell, pts[:, a], minlength=m) for a in (0, 1)], 1)
        levels.append((start, count, centre, half, com / count[:, None]))
        runs = np.cumsum(count) - count
        same = np.all(np.minimum.reduceat(pts, runs) == np.maximum.reduceat(pts, runs), axis=1)
        split = (count > 1) & ~same & (depth < MAX_DEPTH)          # (m,)
        moving = split[cell]                                       # positions in split cells
        quadrant = ((pts[:, 0] >= centre[cell, 0]).astype(np.int64)
                    + 2 * (pts[:, 1] >= centre[cell, 1]))          # (P,)
        key = 4 * cell[moving] + quadrant[moving]                  # cell-major, quadrant-minor
        order[pos[moving]] = order[pos[moving]][np.argsort(key, kind="stable")]
        sizes = np.bincount(key, minlength=4 * m).reshape(m, 4)    # (m, 4) points per quadrant
        parent, q = np.nonzero(sizes)                              # the non-empty quadrants
        if parent.size == 0:
            break
        offset = np.cumsum(sizes, axis=1) - sizes                  # (m, 4) start within the run
        sign = np.stack([np.where(q & 1, 1.0, -1.0), np.where(q & 2, 1.0, -1.0)], 1)
        child_half = half[parent] / 2
        links.append((first + parent, q, first + m + np.arange(parent.size)))
        first += m
        start, count = start[parent] + offset[parent, q], sizes[parent, q]
        centre, half = centre[parent] + sign * child_half[:, None], child_half
    start, count, centre, half, com = (np.concatenate(f) for f in zip(*levels))
    children = np.full((start.size, 4), -1)
    for parent, q, child in links:
        children[parent, q] = child
    return Quadtree(order, start, count, centre, half, com, children)


def tsne_bh_kl_grad(y, indptr, indices, p, theta, need_cost=True):
    r"""Barnes-Hut t-SNE cost and gradient of the embedding ``y: (n, 2)``.

    $P$ is sparse and symmetric, in compressed rows: the non-zero $p_{ij}$ of
    row $i$ are ``p[indptr[i]:indptr[i + 1]]`` in the columns
    ``indices[indptr[i]:indptr[i + 1]]`` (no diagonal entry; ``p`` sums to
    1, or to $\alpha$ during early exaggeration). ``theta`` in $[0, 1]$.
    Returns ``(cost, dy)``: ``cost`` a float (None if not ``need_cost``),
    ``dy: (n, 2)``.

    The gradient is $4 (A_i - B_i / Z)$ of the module docstring: $A_i$ over
    the stored $p_{ij}$, exactly; $B_i$ and $Z_i$ by a traversal of
    ``tsne_quadtree(y)`` per point that summarises a cell $C$ (not a leaf)
    when $r_C^2 < \theta^2 \|y_i - y_C\|^2$, with $r_C^2 = 8\,\mathrm{half}_C^2$
    (the squared diagonal of a square of side $2\,\mathrm{half}_C$), and
    takes the points of a leaf one by one (skipping $y_i$ itself).

    The cost is the one of ``tsne_kl_grad``,

    $$
    C = \sum_{p_{ij} > 0} p_{ij} \log p_{ij} + \sum_{p_{ij} > 0} p_{ij} \log (1 + \|y_i - y_j\|^2) + \log \hat Z,
    $$

    which is $\mathrm{KL}(P \,\|\, Q)$ when $P$ sums to 1: exact in the
    sparse $P$ (the pairs with $p_{ij} = 0$ add nothing to a KL), with
    $\hat Z = \sum_i \hat Z_i$ the tree's estimate of $Z$ at this $\theta$
    (exact at $\theta = 0$). It costs a log per stored pair; the traversal
    that estimates $Z$ is the gradient's own.

    Here all points traverse together, a level of cells at a time: a list
    of (point, cell) pairs still to visit, each either summarised, taken
    point by point (a leaf), or replaced by its children. The twin walks
    the tree depth-first, one point at a time: the same cells and the same
    decisions, the sums in another order.
    """
    n = y.shape[0]
    tree = tsne_quadtree(y)
    leaf = np.all(tree.children < 0, axis=1)                       # (m,)
    diag2 = 8.0 * tree.half * tree.half                            # (m,) r_C^2
    theta2 = theta * theta
    z_i = np.zeros(n)                                              # Z_i
    rep = np.zeros((n, 2))                                         # B_i
    point, cell = np.arange(n), np.zeros(n, dtype=np.int64)        # pairs still to visit
    while point.size:
        # a leaf: its points one by one, the point itself left out
        at = leaf[cell]
        c, s = tree.count[cell[at]], tree.start[cell[at]]
        i = np.repeat(point[at], c)
        j = tree.order[np.repeat(s - (np.cumsum(c) - c), c) + np.arange(i.size)]
        i, j = i[i != j], j[i != j]
        _accumulate(z_i, rep, i, y[i] - y[j], 1.0)
        # a cell far enough: its centre of mass, for all its points
        i, c = point[~at], cell[~at]
        diff = y[i] - tree.com[c]                                  # (r, 2) y_i - y_C
        far = diag2[c] < theta2 * (diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1])
        _accumulate(z_i, rep, i[far], diff[far], tree.count[c[far]].astype(np.float64))
        # the others: their children
        kids = tree.children[c[~far]]                              # (o, 4)
        point, cell = np.repeat(i[~far], np.sum(kids >= 0, axis=1)), kids[kids >= 0]
    z = z_i.sum()
    rows = np.repeat(np.arange(n), np.diff(indptr))                # (nnz,) i of each stored p_ij
    diff = y[rows] - y[indices]                                    # (nnz, 2) y_i - y_j
    d2 = diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1]
    att = np.stack([np.bincount(rows, p / (1.0 + d2) * diff[:, a], minlength=n)
                    for a in (0, 1)], 1)                           # A_i
    dy = 4.0 * (att - rep / z)
    if not need_cost:
        return None, dy
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return float(np.sum(plogp) + np.sum(p * np.log1p(d2)) + np.log(z)), dy


def _accumulate(z_i, rep, i, diff, mass):
    """Add ``mass`` points at offset ``diff`` (r, 2) from y_i to Z_i and B_i:
    Z_i += mass w, B_i += mass w^2 (y_i - y_C), w = 1 / (1 + |diff|^2)."""
    n = z_i.size
    w = 1.0 / (1.0 + (diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1]))
    z_i += np.bincount(i, mass * w, minlength=n)
    for a in (0, 1):
        rep[:, a] += np.bincount(i, mass * w * w * diff[:, a], minlength=n)
