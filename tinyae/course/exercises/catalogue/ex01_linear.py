"""Exercise 1: the linear layer, forward and backward: the spec and its
catalogue of mistakes (the source is ``sources/ex01_linear.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


def _linear_program(f, x, W, b, dout):
    out, cache = f["linear_forward"](x, W, b)
    dx, dW, db = f["linear_backward"](dout, cache)
    return {"out": out, "dx": dx, "dW": dW, "db": db}


def _linear_inputs(n, n_in, n_out, scale=1.0):
    def make(rng):
        return {"x": scale * rng.standard_normal((n, n_in)),
                "W": rng.standard_normal((n_in, n_out)) / np.sqrt(n_in),
                "b": rng.standard_normal(n_out), "dout": rng.standard_normal((n, n_out))}
    return make


def _linear_fd(f, rng):
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    r = rng.standard_normal((3, 2))
    _, cache = f["linear_forward"](x, W, b)
    dx, dW, db = f["linear_backward"](r, cache)
    return {"linear": (lambda: float(np.sum(f["linear_forward"](x, W, b)[0] * r)),
                       {"x": x, "W": W, "b": b}, {"x": dx, "W": dW, "b": db})}


def _linear_backward_variant(dx=None, dW=None, db=None):
    def backward(dout, cache):
        x, W = cache
        return (dout @ W.T if dx is None else dx(dout, x, W),
                x.T @ dout if dW is None else dW(dout, x, W),
                dout.sum(axis=0) if db is None else db(dout, x, W))
    return {"linear_backward": backward}


LINEAR = Exercise(
    number=1, slug="linear", title="the linear layer, forward and backward",
    functions=("linear_forward", "linear_backward"),
    reference={"linear_forward": F.linear_forward, "linear_backward": F.linear_backward},
    program=_linear_program,
    cases=lambda rng: _cases(rng, [
        ("batch 5, 7 -> 3", _linear_inputs(5, 7, 3)),
        ("batch 1", _linear_inputs(1, 4, 6)),
        ("width 1", _linear_inputs(6, 1, 1)),
        ("large x", _linear_inputs(4, 5, 2, scale=1e3))]),
    fd=_linear_fd,
    integration=lambda f: [train(f, ("linear_forward", "linear_backward"),
                                 "your linear layer")],
    mistakes=(
        Mistake("db_mean",
                "the bias gradient must be summed over the batch: you took the mean "
                "(db = dout.mean(axis=0)). The loss already carries the 1/N; each "
                "example adds its own dout to db",
                _linear_backward_variant(db=lambda dout, x, W: dout.mean(axis=0)),
                (("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"),),
                forms=((("db = dout.sum(axis=0)", "db = dout.sum(axis=0) / x.shape[0]"),),)),
        Mistake("db_not_summed",
                "db is not summed over the batch: it has one row (or one entry) per "
                "example. The bias gradient must be summed over the batch, "
                "db = dout.sum(axis=0), shape (n_out,) like b",
                (_linear_backward_variant(db=lambda dout, x, W: dout),
                 _linear_backward_variant(db=lambda dout, x, W: dout.sum(axis=1))),
                (("db = dout.sum(axis=0)", "db = dout"),),
                forms=((("db = dout.sum(axis=0)", "db = np.sum(dout, axis=1)"),),)),
        Mistake("dW_over_batch",
                "dW is divided by the batch size: the 1/N belongs to the loss (its dout "
                "already has it), so the layer must not divide again: dW = x^T dout",
                _linear_backward_variant(dW=lambda dout, x, W: x.T @ dout / x.shape[0]),
                (("dW = x.T @ dout", "dW = x.T @ dout / x.shape[0]"),),
                forms=((("dW = x.T @ dout", "dW = np.dot(x.T, dout) / len(dout)"),),)),
        Mistake("dW_transposed",
                "dW is transposed: you computed dout^T x, shape (n_out, n_in); "
                "dW = x^T dout has the shape of W, (n_in, n_out)",
                _linear_backward_variant(dW=lambda dout, x, W: dout.T @ x),
                (("dW = x.T @ dout", "dW = dout.T @ x"),),
                forms=((("dW = x.T @ dout", "dW = (x.T @ dout).T"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Start from one entry, $\text{out}_{nj} = \sum_i x_{ni} W_{ij} + b_j$. The weight
$W_{ij}$ appears in column $j$ of out, once for every example $n$, and in no other
column, so the chain rule leaves
$dW_{ij} = \sum_n \text{dout}_{nj}\, \partial \text{out}_{nj} / \partial W_{ij}$. What
is that partial derivative?""",
    r"""$\partial \text{out}_{nj} / \partial W_{ij} = x_{ni}$, so
$dW_{ij} = \sum_n x_{ni}\, \text{dout}_{nj}$: a sum over the batch index, which is what
a matrix product of an $(n_\text{in}, N)$ and an $(N, n_\text{out})$ array computes.
Likewise $x_{ni}$ appears in $\text{out}_{nj}$ for every $j$ (its own row only), with
slope $W_{ij}$, and $b_j$ in $\text{out}_{nj}$ for every $n$, with slope 1. Let the
shapes decide where the transposes go: dx is $(N, n_\text{in})$, dW is
$(n_\text{in}, n_\text{out})$, db is $(n_\text{out},)$.""",
    r"""$$dx = \text{dout}\, W^\top, \qquad dW = x^\top \text{dout}, \qquad db_j = \sum_n \text{dout}_{nj}.$$

In NumPy: `dx = dout @ W.T`, `dW = x.T @ dout`, `db = dout.sum(axis=0)`. No $1/N$: it is
already inside dout.""",
)
