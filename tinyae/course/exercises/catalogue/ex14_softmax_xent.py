"""Exercise 14: softmax cross-entropy on logits and its gradient: the spec
and its catalogue of mistakes (the source is ``sources/ex14_softmax_xent.py``)."""

import numpy as np

from ....models.softmax import softmax_cross_entropy
from ..specs import DTYPES, Case, Exercise, Mistake
from .base import train


def _xent_program(f, logits, labels):
    loss, dlogits = f["softmax_cross_entropy"](logits, labels)
    return {"loss": loss, "dlogits": dlogits}


def _xent_cases(rng, specs):
    """Like ``cases_in_both_dtypes``, with the labels kept as integers."""
    cases = []
    for label, make in specs:
        logits, labels = make(rng)
        for dtype in DTYPES:
            cases.append(Case(f"{label}, {dtype.name}", dtype,
                              {"logits": logits.astype(dtype), "labels": labels}))
    return cases


def _random(n, k, scale=3.0):
    def make(rng):
        return scale * rng.standard_normal((n, k)), rng.integers(0, k, n)
    return make


def _fixed(logits, labels):
    def make(rng):
        return np.array(logits, dtype=float), np.array(labels, dtype=np.int64)
    return make


#: Logits at exactly +-60 and +-100: exp(100) overflows float32 (whose
#: largest number is about e^88.7); a label sits on a -100 logit, on the
#: largest, and on a tie.
EXTREMES = _fixed([[60, -60, 100, -100, 0.5], [-100, 100, -60, 60, -2],
                   [100, 100, -100, -100, 0], [-60, -60, -60, -60, -60]], [3, 2, 0, 1])
#: Logits near 1000 overflow float64 too (e^709.8); in every row the
#: largest lies more than 720 above the row's mean, so no shift but the
#: row's maximum keeps exp finite.
THOUSANDS = _fixed([[1000, 0, -500, 200, 100], [-1000, 800, 0, 0, 0],
                    [900, 900, -900, 0, 10]], [0, 2, 1])
TIES = _fixed([[2, 2, 2, 2], [0, 0, 5, 5], [-1, 3, 3, -1]], [1, 3, 2])


def _xent_fd(f, rng):
    logits, labels = 2 * rng.standard_normal((4, 5)), rng.integers(0, 5, 4)
    _, d = f["softmax_cross_entropy"](logits, labels)
    return {"cross-entropy": (lambda: float(f["softmax_cross_entropy"](logits, labels)[0]),
                              {"logits": logits}, {"logits": d})}


def _xent_variant(shift="row", axis=1, guard=None, over_n=True, onehot=True,
                  textbook=False):
    """softmax_cross_entropy with a mistake: ``shift`` "row" (the row's max),
    "none" or "column" (the batch axis'); ``axis`` the axis normalised over;
    ``guard`` "none", "add" or "max" (log p, unguarded or guarded by 1e-7);
    ``textbook``: p = exp(z) / sum exp(z), then log p, unshifted."""
    def fn(logits, labels):
        n = logits.shape[0]
        rows = np.arange(n)
        if textbook:
            e = np.exp(logits)
            p = e / e.sum(axis=1, keepdims=True)
            logp = np.log(p)
        else:
            top = {"row": logits.max(axis=1, keepdims=True), "none": 0,
                   "column": logits.max(axis=0, keepdims=True)}[shift]
            shifted = logits - top
            logp = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            p = np.exp(logp)
        py = p[rows, labels]
        picked = {None: logp[rows, labels], "none": np.log(py), "add": np.log(py + 1e-7),
                  "max": np.log(np.maximum(py, 1e-7))}[guard]
        loss = -float(picked.sum()) / n
        d = p.copy()
        if onehot:
            d[rows, labels] -= 1.0
        return loss, (d / n if over_n else d).astype(logits.dtype)
    return {"softmax_cross_entropy": fn}


SOFTMAX_XENT = Exercise(
    number=14, slug="softmax_xent", title="softmax cross-entropy and its gradient",
    functions=("softmax_cross_entropy",),
    reference={"softmax_cross_entropy": softmax_cross_entropy},
    program=_xent_program,
    cases=lambda rng: _xent_cases(rng, [
        ("batch 8, 10 classes", _random(8, 10)), ("batch 1, 3 classes", _random(1, 3)),
        ("2 classes", _random(6, 2)), ("1000 classes", _random(3, 1000)),
        ("logits at exactly +-60 and +-100", EXTREMES),
        ("batch 1, logits +-100, label on the largest", _fixed([[-100, 100, 3]], [1])),
        ("logits near 1000", THOUSANDS), ("ties", TIES)]),
    fd=_xent_fd,
    integration=lambda f: [train(f, ("softmax_cross_entropy",), "your cross-entropy",
                                 kind="classifier")],
    mistakes=(
        Mistake("no_max_shift",
                "your loss or gradient is inf or nan for large logits: exp(z) overflows "
                "(above about 88.7 in float32, 709.8 in float64), and shifting by anything "
                "but the row's largest logit (nothing, the mean) can still leave an "
                "exponent that large. Subtract each row's maximum before exp: the softmax "
                "of a row does not change when a constant is subtracted from it, and every "
                "exponent is then <= 0",
                (_xent_variant(shift="none"), _xent_variant(textbook=True)),
                (("shifted = logits - logits.max(axis=1, keepdims=True)",
                  "shifted = logits"),),
                forms=((("shifted = logits - logits.max(axis=1, keepdims=True)",
                         "shifted = logits - logits.mean(axis=1, keepdims=True)"),),
                       (("logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
                         "e = np.exp(logits)\n    logp = np.log(e / e.sum(axis=1, "
                         "keepdims=True))"),))),
        Mistake("softmax_over_batch",
                "your softmax is normalised over the batch (axis 0): each row (one "
                "example) is a distribution over the classes, so the max and the sum run "
                "along axis 1",
                (_xent_variant(shift="column", axis=0), _xent_variant(axis=0)),
                (("logits.max(axis=1, keepdims=True)", "logits.max(axis=0, keepdims=True)"),
                 ("np.exp(shifted).sum(axis=1, keepdims=True)",
                  "np.exp(shifted).sum(axis=0, keepdims=True)")),
                forms=((("np.exp(shifted).sum(axis=1, keepdims=True)",
                         "np.exp(shifted).sum(axis=0)"),),)),
        Mistake("missing_1_over_n",
                "your dlogits is N times too large: the loss is a mean over the batch, so "
                "each example's gradient carries its 1/N",
                _xent_variant(over_n=False),
                (("dlogits = p / n", "dlogits = p"),),
                forms=((("p[rows, labels] -= 1.0\n    dlogits = p / n",
                         "dlogits = np.exp(logp) - np.eye(logits.shape[1], "
                         "dtype=logits.dtype)[labels]"),),)),
        Mistake("onehot_not_subtracted",
                "your dlogits is the softmax alone: the loss also has the term -z[n, y_n], "
                "whose derivative is -1 at the label's entry of each row (so every row of "
                "dlogits sums to 0)",
                _xent_variant(onehot=False),
                (("    p[rows, labels] -= 1.0\n", ""),),
                forms=((("p[rows, labels] -= 1.0\n    dlogits = p / n",
                         "dlogits = np.exp(shifted) / np.exp(shifted).sum(axis=1, "
                         "keepdims=True) / n"),),)),
        Mistake("log_of_softmax",
                "your loss takes the log of a probability you computed: where the label's "
                "probability underflows to 0 (its logit 200 below the row's largest in "
                "float32) that log is -inf, and a guard such as log(p + 1e-7) gives about "
                "-16 instead of the true -200 (and nudges every other value). Write the "
                "log-softmax itself, z - max - log sum exp(z - max): it never takes the "
                "log of 0",
                (_xent_variant(guard="add"), _xent_variant(guard="max"),
                 _xent_variant(guard="none")),
                (("loss = -float(logp[rows, labels].sum()) / n",
                  "loss = -float(np.log(np.exp(logp[rows, labels]) + 1e-7).sum()) / n"),),
                forms=((("loss = -float(logp[rows, labels].sum()) / n",
                         "loss = -np.mean(np.log(np.maximum(np.exp(logp)[rows, labels], "
                         "1e-7)))"),),
                       (("loss = -float(logp[rows, labels].sum()) / n",
                         "probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, "
                         "keepdims=True)\n    loss = -float(np.sum(np.log(probs[rows, labels])))"
                         " / n"),))),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Write one example's term with the log-softmax,
$-\log p_{n y_n} = \log \sum_j e^{z_{nj}} - z_{n y_n}$. The logit $z_{nk}$ appears in
row $n$'s term only (with the weight $1/N$), so differentiate that term in $z_{nk}$:
the log-sum-exp part touches every $k$, the second part only $k = y_n$.""",
    r"""The derivative of the log-sum-exp,
$\frac{\partial}{\partial z_{nk}} \log \sum_j e^{z_{nj}} = \frac{e^{z_{nk}}}{\sum_j e^{z_{nj}}}$,
is the softmax itself, and $\partial z_{n y_n} / \partial z_{nk}$ is 1 when $k = y_n$
and 0 otherwise. For the numbers: subtract each row's max $m_n$ first,
`shifted = logits - logits.max(axis=1, keepdims=True)`; then
$\log p = \text{shifted} - \log \sum \exp(\text{shifted})$ never overflows and never
takes the log of 0. Pick each row's label entry with `logp[np.arange(n), labels]`.""",
    r"""$$L = -\frac1N \sum_n \log p_{n y_n}, \qquad
\frac{\partial L}{\partial z_{nk}} = \frac{p_{nk} - [k = y_n]}{N}.$$

In NumPy: `loss = -float(logp[rows, labels].sum()) / n`, then `p = np.exp(logp)`,
`p[rows, labels] -= 1.0` and `dlogits = p / n`.""",
)
