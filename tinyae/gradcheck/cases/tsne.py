"""t-SNE's cost w.r.t. the embedding (``functional.tsne.tsne_kl_grad``),
through the backend in use, on odd shapes: plain P (KL(P || Q)), P scaled by
the early exaggeration, two and three points, one embedding dimension,
three."""

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
