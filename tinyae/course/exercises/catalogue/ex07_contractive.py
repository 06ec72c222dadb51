"""Exercise 7: the contractive penalty and its gradient: the spec and its
catalogue of mistakes (the source is ``sources/ex07_contractive.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


def _contractive_program(f, h, W, activation, lam):
    value, dh, dW = f["contractive_penalty"](h, W, activation, lam)
    return {"P": value, "dh": dh, "dW": dW}


def _contractive_inputs(n, n_in, n_h, activation):
    def make(rng):
        a = 1.5 * rng.standard_normal((n, n_h))
        h = F.sigmoid(a) if activation == "sigmoid" else np.tanh(a)
        return {"h": h, "W": rng.standard_normal((n_in, n_h)), "activation": activation,
                "lam": 0.3}
    return make


def _contractive_fd(f, rng):
    checks = {}
    for act in ("sigmoid", "tanh"):
        h = rng.uniform(0.1, 0.9, (4, 3)) * (1 if act == "sigmoid" else rng.choice([-1, 1], (4, 3)))
        W = rng.standard_normal((5, 3))
        _, dh, dW = f["contractive_penalty"](h, W, act, 0.3)
        checks[act] = ((lambda h=h, W=W, act=act:
                        float(f["contractive_penalty"](h, W, act, 0.3)[0])),
                       {"h": h, "W": W}, {"h": dh, "W": dW})
    return checks


def _slopes(h, activation, twice=False):
    if activation == "sigmoid":
        if twice:
            s = F.sigmoid(h)
            return s * (1 - s), s * (1 - s) * (1 - 2 * s)
        return h * (1 - h), 1 - 2 * h
    return 1 - h * h, -2 * h


def _contractive_variant(dh_factor=2.0, dW_factor=2.0, per_batch=True, squared=True,
                         twice=False):
    def contractive_penalty(h, W, activation, lam):
        n = h.shape[0] if per_batch else 1
        d, dd = _slopes(h, activation, twice)
        c = np.sum(W * W, axis=0)
        if squared:
            value = lam * float(np.sum(d * d * c)) / n
            dh = (dh_factor * lam / n) * d * dd * c
            dW = (dW_factor * lam / n) * W * np.sum(d * d, axis=0)
        else:
            value = lam * float(np.sum(d * c)) / n
            dh = (lam / n) * dd * c
            dW = (2 * lam / n) * W * np.sum(d, axis=0)
        return value, dh.astype(h.dtype), dW.astype(W.dtype)
    return {"contractive_penalty": contractive_penalty}


CONTRACTIVE = Exercise(
    number=7, slug="contractive", title="the contractive penalty and its gradient",
    functions=("contractive_penalty",),
    reference={"contractive_penalty": F.contractive_penalty},
    program=_contractive_program,
    cases=lambda rng: _cases(rng, [
        ("sigmoid, batch 6, 5 -> 4", _contractive_inputs(6, 5, 4, "sigmoid")),
        ("sigmoid, batch 1", _contractive_inputs(1, 3, 2, "sigmoid")),
        ("tanh, batch 5, 7 -> 3", _contractive_inputs(5, 7, 3, "tanh")),
        ("tanh, width 1", _contractive_inputs(4, 1, 1, "tanh"))]),
    fd=_contractive_fd,
    integration=lambda f: [train(f, ("contractive_penalty",), "your contractive penalty",
                                 penalty=("contractive", 0.1))],
    mistakes=(
        Mistake("dW_half",
                "your dW is half the correct value: d(W_ij^2)/dW_ij = 2 W_ij, so "
                "dP/dW = lam/N * 2 W_ij sum_n d_nj^2",
                _contractive_variant(dW_factor=1.0),
                (("dW = (2 * lam / n) * W", "dW = (lam / n) * W"),),
                forms=((("dW = (2 * lam / n) * W * np.sum(d * d, axis=0)",
                         "dW = W * (lam * np.sum(d * d, axis=0) / n)"),),)),
        Mistake("dh_half",
                "your dh is half the correct value: d(d^2)/dh = 2 d d'(h), so "
                "dP/dh = lam/N * 2 d d' c",
                _contractive_variant(dh_factor=1.0),
                (("dh = (2 * lam / n) * d * dd * c", "dh = (lam / n) * d * dd * c"),),
                forms=((("dh = (2 * lam / n) * d * dd * c", "dh = lam * c * (d * dd) / n"),),)),
        Mistake("summed_over_batch",
                "you summed the penalty over the batch; the convention is a mean over the "
                "batch (P = lam * mean_n ||J_n||_F^2), for the value and both gradients",
                _contractive_variant(per_batch=False),
                (("float(np.sum(d * d * c)) / n", "float(np.sum(d * d * c))"),
                 ("(2 * lam / n)", "(2 * lam)")),
                forms=((("value = lam * float(np.sum(d * d * c)) / n",
                         "value = float(np.sum(lam * (d * d) * c[None, :]))"),
                        ("dh = (2 * lam / n) * d * dd * c", "dh = 2 * lam * d * dd * c"),
                        ("dW = (2 * lam / n) * W * np.sum(d * d, axis=0)",
                         "dW = 2 * lam * W * (d ** 2).sum(axis=0)")),)),
        Mistake("not_squared",
                "your penalty sums act'(a) c_j, not act'(a)^2 c_j: the contractive "
                "penalty is the squared Frobenius norm ||J||_F^2 = sum_j d_j^2 sum_i W_ij^2",
                _contractive_variant(squared=False),
                (("float(np.sum(d * d * c))", "float(np.sum(d * c))"),
                 ("dh = (2 * lam / n) * d * dd * c", "dh = (lam / n) * dd * c"),
                 ("np.sum(d * d, axis=0)", "np.sum(d, axis=0)")),
                forms=((("value = lam * float(np.sum(d * d * c)) / n",
                         "value = lam * float(np.sum(np.abs(d) @ c)) / n"),
                        ("dh = (2 * lam / n) * d * dd * c", "dh = lam * dd * c / n"),
                        ("dW = (2 * lam / n) * W * np.sum(d * d, axis=0)",
                         "dW = 2 * lam * W * d.sum(axis=0) / n")),)),
        Mistake("activation_applied_twice",
                "you applied the sigmoid to h again: h is already s(a), so "
                "act'(a) = h (1 - h) and its h-derivative is 1 - 2 h",
                _contractive_variant(twice=True),
                (("d, dd = h * (1 - h), 1 - 2 * h",
                  "s = 1 / (1 + np.exp(-h))\n        d, dd = s * (1 - s), s * (1 - s) * (1 - 2 * s)"),),
                forms=((("d, dd = h * (1 - h), 1 - 2 * h",
                         "a = 0.5 * (1 + np.tanh(h / 2))             # sigma(h)\n"
                         "        d = a - a * a\n        dd = d * (1 - 2 * a)"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Take one term of the sum, $T_{nj} = \frac{\lambda}{N} d_{nj}^2 c_j$. Only this term
depends on $h_{nj}$, through $d_{nj} = d(h_{nj})$: start by differentiating
$d(h) = h(1 - h)$ and $d(h) = 1 - h^2$ in $h$. For $W_{ij}$, start from
$\partial c_j / \partial W_{ij}$.""",
    r"""Chain rule on the square: $\partial (d^2) / \partial h = 2 d\, d'(h)$, with
$d'(h) = 1 - 2h$ for sigmoid units and $-2h$ for tanh. $W_{ij}$ enters only $c_j$, with
$\partial c_j / \partial W_{ij} = 2 W_{ij}$, and $c_j$ multiplies $d_{nj}^2$ in the term
of every example $n$: sum those over $n$. Shapes: $c$ is $(n_h,)$ and broadcasts along
the rows of both $h$ and $W$.""",
    r"""$$\frac{\partial P}{\partial h_{nj}} = \frac{2\lambda}{N}\, d_{nj}\, d'(h_{nj})\, c_j, \qquad
\frac{\partial P}{\partial W_{ij}} = \frac{2\lambda}{N}\, W_{ij} \sum_n d_{nj}^2.$$

In NumPy, with `c = np.sum(W * W, axis=0)` and `d`, `dd` the values of $d$ and $d'$:
`dh = (2 * lam / n) * d * dd * c`, `dW = (2 * lam / n) * W * np.sum(d * d, axis=0)`.""",
)
