"""t-SNE's cost w.r.t. the embedding (``functional.tsne.tsne_kl_grad``),
through the backend in use, on odd shapes: plain P (KL(P || Q)), P scaled by
the early exaggeration, two and three points, one embedding dimension,
three; and Barnes-Hut's (``functional.tsne_bh.tsne_bh_kl_grad``) at theta =
0, where it is the exact cost of a sparse P (at theta > 0 the tree's cells
change with y: the cost is not differentiable there), with coincident
points."""

import numpy as np

from ..core import check_loss
from . import register


def _joint(rng, n, scale=1.0):
    """A random symmetric P: (n, n), zero diagonal, summing to ``scale``."""
    a = rng.uniform(0.1, 1.0, size=(n, n))
    p = a + a.T
    np.fill_diagonal(p, 0.0)
    return scale * p / p.sum()


def _case(n, k, scale=1.0):
    def case(rng):
        from ...backend import ops
        y = rng.standard_normal((n, k))
        p = _joint(rng, n, scale)
        return check_loss(lambda y, p: ops.tsne_kl_grad(y, p), y, p,
                          name=f"tsne_kl_grad (n={n}, k={k}, sum P={scale:g})")
    return case


register("tsne KL cost w.r.t. y (n=7, k=2)")(_case(7, 2))
register("tsne KL cost w.r.t. y (exaggerated x12, n=9, k=2)")(_case(9, 2, 12.0))
register("tsne KL cost w.r.t. y (three points, k=1)")(_case(3, 1))
# two points: KL(P || Q) is 0 for any y (q = p = 1/2); exaggerated it is not
register("tsne KL cost w.r.t. y (two points, exaggerated x4, k=1)")(_case(2, 1, 4.0))
register("tsne KL cost w.r.t. y (n=5, k=3)")(_case(5, 3))


def _sparse_case(n, scale=1.0, coincident=False):
    def case(rng):
        from ...backend import ops
        y = rng.standard_normal((n, 2))
        if coincident:
            y[1] = y[0]
        p = _joint(rng, n, scale) * (rng.uniform(size=(n, n)) < 0.5)
        p = np.triu(p, 1)
        p = scale * (p + p.T) / (2 * p.sum())
        rows, cols = np.nonzero(p)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        return check_loss(lambda y, v: ops.tsne_bh_kl_grad(y, indptr, cols, v, 0.0), y,
                          p[rows, cols], name=f"tsne_bh_kl_grad (n={n}, theta=0)")
    return case


register("tsne Barnes-Hut cost at theta 0 w.r.t. y (n=9)")(_sparse_case(9))
register("tsne Barnes-Hut cost at theta 0 w.r.t. y (exaggerated x12, n=6, "
         "two points at one place)")(_sparse_case(6, 12.0, coincident=True))
