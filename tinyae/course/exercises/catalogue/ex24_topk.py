"""Exercise 24: the top-k activation, forward and backward (lesson 20's
sparse autoencoder): the spec and its catalogue of mistakes (the source is
``sources/ex24_topk.py``)."""

import numpy as np

from .... import functional as F
from ....gradcheck.cases.dense import spaced_rows
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .small_runs import compare


def _topk_program(f, x, k, dout):
    out, cache = f["topk_forward"](x, k)
    return {"out": out, "dx": f["topk_backward"](dout, cache)}


def _topk_inputs(shape, k, values=None, offset=0.0, first=None):
    """Normal entries (plus ``offset``), or entries drawn from ``values``
    (ties), with ``first`` as the first row when given; dout ~ N(0, 1)."""
    def make(rng):
        x = offset + rng.standard_normal(shape) if values is None else \
            rng.choice(values, size=shape)
        if first is not None:
            x.reshape(-1, shape[-1])[0] = first
        return {"x": x, "k": k, "dout": rng.standard_normal(shape)}
    return make


_TIES = [-1.0, 0.0, 0.0, 0.5, 1.0]          # ReLU-like rows: zeros tie, so do the rest


def _topk_fd(f, rng):
    """Rows of distinct values 0.1 apart (``spaced_rows``), each row shifted
    by its own multiple of 0.03 and all by 0.021: no two entries of the
    array within 0.01 of each other, no two magnitudes within 0.002, so no
    step of the finite differences (1e-6) crosses a tie, whatever set a
    forward chooses (per row, over the whole array, by magnitude)."""
    checks = {}
    for shape, k in (((3, 7), 3), ((2, 2, 5), 2)):
        rows = int(np.prod(shape[:-1]))
        shift = 0.021 + 0.03 * np.arange(rows).reshape(shape[:-1] + (1,))
        x, r = spaced_rows(rng, shape) + shift, rng.standard_normal(shape)
        dx = f["topk_backward"](r, f["topk_forward"](x, k)[1])
        checks[f"sum(out r), x {shape}, k {k}"] = (
            lambda x=x, k=k, r=r: float(np.sum(f["topk_forward"](x, k)[0] * r)),
            {"x": x}, {"x": dx})
    return checks


def _chosen(x, k, how):
    """The kept set of every row as a boolean mask, chosen ``how``: right
    ("stable"), or with a mistake. The sorts a student reaches for that
    break ties otherwise than by the lower index (NumPy's default sort and
    np.argpartition are not stable; what they pick among equals depends on
    the machine, but the checker runs them on the student's inputs and
    machine, so they give the student's very choice)."""
    d = x.shape[-1]
    if how == "batch":                                  # k of the whole array
        mask = np.zeros(x.size, dtype=bool)
        mask[np.argsort(-x, axis=None, kind="stable")[:k]] = True
        return mask.reshape(x.shape)
    if how == "threshold":                              # every entry >= the k-th largest
        return x >= np.sort(x, axis=-1)[..., d - k:d - k + 1]
    order = {"stable": lambda: np.argsort(-x, axis=-1, kind="stable")[..., :k],
             "magnitude": lambda: np.argsort(-np.abs(x), axis=-1, kind="stable")[..., :k],
             "higher": lambda: np.argsort(x, axis=-1, kind="stable")[..., d - k:],
             "default_sort": lambda: np.argsort(-x, axis=-1)[..., :k],
             "default_sort_last": lambda: np.argsort(x, axis=-1)[..., d - k:],
             "partition": lambda: np.argpartition(-x, k - 1, axis=-1)[..., :k],
             "partition_last": lambda: np.argpartition(x, d - k, axis=-1)[..., d - k:]}[how]()
    mask = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def _topk_variant(how="stable", backward="mask", relu=False):
    """Top-k with a mistake: the kept set chosen ``how`` (``_chosen``), a
    ReLU after it, and the backward: "mask" (right), "all" (dout
    everywhere), "dout" (the top-k of dout), or the gradient scattered in
    sorted order, "first_k" (dout's first k entries put at the kept
    positions) or "into_first_k" (the kept entries' dout put in the first k
    positions)."""
    def forward(x, k):
        mask = _chosen(x, k, how)
        if relu:
            mask = mask & (x > 0)
        order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
        return np.where(mask, x, 0).astype(x.dtype), (mask, k, order)

    def backward_(dout, cache):
        mask, k, order = cache
        if backward == "all":
            return dout.copy()
        if backward == "dout":
            return F.topk_forward(dout, k)[0]
        dx = np.zeros_like(dout)
        if backward == "first_k":
            np.put_along_axis(dx, order, dout[..., :k], axis=-1)
        elif backward == "into_first_k":
            dx[..., :k] = np.take_along_axis(dout, order, axis=-1)
        else:
            dx = dout * mask
        return dx
    return {"topk_forward": forward, "topk_backward": backward_}


_ORDER = 'order = np.argsort(-x, axis=-1, kind="stable")[..., :k]'
_SET = (_ORDER + "   # (..., k) positions of S\n    mask = np.zeros(x.shape, dtype=bool)\n"
        "    np.put_along_axis(mask, order, True, axis=-1)")
_BACK = "mask = cache\n    dx = dout * mask"


TOPK = Exercise(
    number=24, slug="topk", title="the top-k activation, forward and backward",
    functions=("topk_forward", "topk_backward"),
    reference={"topk_forward": F.topk_forward, "topk_backward": F.topk_backward},
    program=_topk_program,
    cases=lambda rng: _cases(rng, [
        ("batch 4, width 10, k 3", _topk_inputs((4, 10), 3)),
        ("k 1", _topk_inputs((3, 6), 1)),
        ("k = width", _topk_inputs((2, 5), 5)),
        ("width 1, k 1", _topk_inputs((4, 1), 1)),
        ("batch 1, width 9, k 4", _topk_inputs((1, 9), 4)),
        ("tokens (2, 3, 7), k 2", _topk_inputs((2, 3, 7), 2)),
        ("negative entries only, k 2", _topk_inputs((3, 6), 2, offset=-4.0)),
        ("ties, width 8, k 3", _topk_inputs((5, 8), 3, values=_TIES,
                                            first=[0.5, 1.0, 0.5, -1.0, 0.5, 0.0, 0.0, 1.0])),
        ("ties, width 20, k 5", _topk_inputs((3, 20), 5, values=_TIES))]),
    fd=_topk_fd,
    integration=lambda f: [compare("topk", f, ("topk_forward", "topk_backward"),
                                   what="your top-k")],
    mistakes=(
        Mistake("gradient_not_masked",
                "your dx passes dout to every entry: an entry outside the kept set does "
                "not reach out at all (out is 0 there whatever it is), so its gradient is 0",
                _topk_variant(backward="all"),
                ((_BACK, "dx = dout"),),
                forms=(((_BACK, "dx = dout.copy()"),),)),
        Mistake("top_by_magnitude",
                "you chose the k entries of largest magnitude: top-k keeps the k largest "
                "values, so a large negative entry is not kept",
                _topk_variant(how="magnitude"),
                ((_ORDER, 'order = np.argsort(-np.abs(x), axis=-1, kind="stable")[..., :k]'),),
                forms=(((_ORDER, 'order = np.argsort(-(x * x), axis=-1, kind="stable")[..., :k]'),),)),
        Mistake("kept_set_from_dout",
                "your backward chooses its own top k from dout: the entries that get a "
                "gradient are the ones the forward kept, chosen from x (keep them in the "
                "cache)",
                _topk_variant(backward="dout"),
                (("cache = mask", "cache = k"), (_BACK, "dx = topk_forward(dout, cache)[0]")),
                forms=((("cache = mask", "cache = k"),
                        (_BACK, "kth = np.sort(dout, axis=-1)[..., -cache:][..., :1]\n"
                                "    dx = np.where(dout >= kth, dout, 0)")),)),
        Mistake("scattered_in_sorted_order",
                "your dx mixes up positions: the kept entries' gradients belong at the "
                "positions the forward kept (where each x_j is), not in the order of the "
                "sort, and each is dout at that same position",
                (_topk_variant(backward="first_k"), _topk_variant(backward="into_first_k")),
                (("cache = mask", "cache = order"),
                 (_BACK, "dx = np.zeros_like(dout)\n"
                         "    np.put_along_axis(dx, cache, dout[..., :cache.shape[-1]], axis=-1)")),
                forms=((("cache = mask", "cache = order"),
                        (_BACK, "dx = np.zeros_like(dout)\n    dx[..., :cache.shape[-1]] = "
                                "np.take_along_axis(dout, cache, axis=-1)")),)),
        Mistake("whole_batch_not_per_row",
                "you kept the k largest entries of the whole array: top-k chooses k "
                "entries in every row (every example, every token)",
                _topk_variant(how="batch"),
                ((_SET, "mask = np.zeros(x.size, dtype=bool)\n"
                        '    mask[np.argsort(-x, axis=None, kind="stable")[:k]] = True\n'
                        "    mask = mask.reshape(x.shape)"),),
                forms=(((_SET, "mask = np.isin(np.arange(x.size), np.argsort(-x.ravel(), "
                               'kind="stable")[:k])\n    mask = mask.reshape(x.shape)'),),)),
        Mistake("relu_added",
                "your out is 0 at kept negative entries: top-k keeps the k largest entries "
                "as they are, negative ones too (in lesson 20's autoencoder a ReLU layer "
                "follows it; it is not part of top-k)",
                _topk_variant(relu=True),
                (("out = np.where(mask, x, 0)", "mask &= x > 0\n    out = np.where(mask, x, 0)"),),
                forms=((("out = np.where(mask, x, 0).astype(x.dtype)",
                         "out = np.maximum(np.where(mask, x, 0), 0).astype(x.dtype)"),),)),
        Mistake("ties_not_to_lower_index",
                "among equal entries you did not keep the lower index first: at a tie "
                "for the k-th place the entry with the smaller index is kept (sort with "
                "a stable sort, largest first)",
                tuple(_topk_variant(how=how) for how in (
                    "higher", "default_sort", "default_sort_last", "partition",
                    "partition_last")),
                ((_ORDER, 'order = np.argsort(x, axis=-1, kind="stable")[..., -k:]'),),
                forms=(((_SET, "mask = np.zeros(x.shape, dtype=bool)\n"
                               "    for i in np.ndindex(x.shape[:-1]):\n"
                               "        keep = sorted(range(x.shape[-1]), key=lambda j: x[i][j])[-k:]\n"
                               "        mask[i][keep] = True"),),)),
        Mistake("ties_all_kept",
                "you kept every entry at least as large as the k-th largest: when entries "
                "tie at the k-th place that is more than k; keep exactly k (the lower "
                "index first among equals)",
                _topk_variant(how="threshold"),
                ((_SET, "kth = np.sort(x, axis=-1)[..., -k:][..., :1]   # the k-th largest\n"
                        "    mask = x >= kth"),),
                forms=(((_SET, "mask = x >= np.partition(x, -k, axis=-1)[..., [-k]]"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the rule): Markdown with $...$
#: maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Away from ties, a small enough move of any $x_j$ leaves the order of the row's
entries, and so the set $S(x)$, as it is. With $S$ fixed, top-k is a very simple map:
each $\text{out}_i$ is either $x_i$ itself or the constant 0. Differentiate that map
entry by entry, then apply the chain rule. For the forward, a stable sort of $-x$ along
the last axis lists a row's positions from the largest value down, equal values in the
order of their positions.""",
    r"""$\partial \text{out}_i / \partial x_j$ is 0 for $i \ne j$; for $i = j$ it is 1 when
$j \in S(x)$ and 0 otherwise. So $dx$ is $\text{dout}$ where the forward kept the entry
and 0 elsewhere: a mask, like ReLU's, but the mask of the chosen set, which only the
forward knows. Keep it in the cache (a boolean array shaped like $x$). To build it:
`np.argsort(-x, axis=-1, kind="stable")[..., :k]` gives the $k$ positions of every row,
and `np.put_along_axis(mask, order, True, axis=-1)` marks them.""",
    r"""$$dx_j = \text{dout}_j\, [\,j \in S(x)\,]$$

with $S(x)$ the set the forward chose (the $k$ largest of the row, ties to the lower
index). In NumPy: in the forward, `order = np.argsort(-x, axis=-1, kind="stable")[..., :k]`,
`mask = np.zeros(x.shape, dtype=bool)`, `np.put_along_axis(mask, order, True, axis=-1)`,
`out = np.where(mask, x, 0).astype(x.dtype)`, cache the mask; in the backward,
`dx = dout * mask`.""",
)
