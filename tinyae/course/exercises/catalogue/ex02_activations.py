"""Exercise 2: sigmoid, tanh and ReLU backward: the spec and its catalogue of
mistakes (the source is ``sources/ex02_activations.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake, attempt
from ..specs import cases_in_both_dtypes as _cases
from .base import train


ACTS = ("sigmoid", "tanh", "relu")


def _away(rng, shape, low=0.2, high=2.0):
    """Values with |v| in [low, high] (no kinks for finite differences)."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _act_program(f, x, dout):
    outs = {}
    for act in ACTS:
        out, cache = f[f"{act}_forward"](x)
        outs[f"d{act}"] = attempt(f[f"{act}_backward"], dout, cache)
    return outs


def _act_inputs(shape, scale=2.0):
    def make(rng):
        return {"x": scale * rng.standard_normal(shape), "dout": rng.standard_normal(shape)}
    return make


def _act_fd(f, rng):
    checks = {}
    for act in ACTS:
        x = _away(rng, (3, 4))
        r = rng.standard_normal((3, 4))
        dx = f[f"{act}_backward"](r, f[f"{act}_forward"](x)[1])
        checks[act] = ((lambda act=act, x=x, r=r:
                        float(np.sum(f[f"{act}_forward"](x)[0] * r))), {"x": x}, {"x": dx})
    return checks


def _act_integration(f):
    names = [f"{a}_{d}" for a in ACTS for d in ("forward", "backward")]
    return [train(f, names, f"your {act} backward", activation=act) for act in ACTS]


ACTIVATIONS = Exercise(
    number=2, slug="activations", title="sigmoid, tanh and ReLU backward",
    functions=tuple(f"{a}_{d}" for a in ACTS for d in ("forward", "backward")),
    reference={f"{a}_{d}": getattr(F, f"{a}_{d}") for a in ACTS
               for d in ("forward", "backward")},
    program=_act_program,
    cases=lambda rng: _cases(rng, [
        ("batch 4 x 6", _act_inputs((4, 6))), ("batch 1", _act_inputs((1, 5))),
        ("width 1", _act_inputs((7, 1))), ("images (2, 1, 3, 3)", _act_inputs((2, 1, 3, 3))),
        ("large x", _act_inputs((3, 4), scale=30.0))]),
    fd=_act_fd, integration=_act_integration,
    mistakes=(
        Mistake("sigmoid_applied_twice",
                "the cache holds out = s(x), not x: you applied the sigmoid to it again. "
                "s'(x) = s(x) (1 - s(x)) = out (1 - out)",
                {"sigmoid_backward": lambda dout, out: dout * F.sigmoid(out) * (1 - F.sigmoid(out))},
                (("return dout * out * (1 - out)",
                  "return dout * sigmoid(out) * (1 - sigmoid(out))"),),
                forms=((("return dout * out * (1 - out)",
                         "s = 1 / (1 + np.exp(-out))\n    return dout * s * (1 - s)"),),)),
        Mistake("sigmoid_missing_factor",
                "your sigmoid backward has only one of the two factors of "
                "s'(x) = out (1 - out): dout * out or dout * (1 - out)",
                ({"sigmoid_backward": lambda dout, out: dout * out},
                 {"sigmoid_backward": lambda dout, out: dout * (1 - out)}),
                (("return dout * out * (1 - out)", "return dout * out"),),
                forms=((("return dout * out * (1 - out)", "return dout * (1 - out)"),),)),
        Mistake("tanh_not_squared",
                "tanh'(x) = 1 - tanh(x)^2 = 1 - out^2: you wrote 1 - out",
                {"tanh_backward": lambda dout, out: dout * (1 - out)},
                (("return dout * (1 - out * out)", "return dout * (1 - out)"),),
                forms=((("return dout * (1 - out * out)", "return dout - dout * out"),),)),
        Mistake("tanh_applied_twice",
                "the cache holds out = tanh(x), not x: you applied tanh to it again. "
                "tanh'(x) = 1 - out^2",
                {"tanh_backward": lambda dout, out: dout * (1 - np.tanh(out) ** 2)},
                (("return dout * (1 - out * out)", "return dout * (1 - np.tanh(out) ** 2)"),),
                forms=((("return dout * (1 - out * out)", "return dout / np.cosh(out) ** 2"),),)),
        Mistake("relu_leaks",
                "your ReLU passes the gradient where x < 0: out = max(x, 0) >= 0 is always "
                "true, so the mask must be out > 0",
                {"relu_backward": lambda dout, out: dout * (out >= 0)},
                (("return dout * (out > 0)", "return dout * (out >= 0)"),),
                forms=((("return dout * (out > 0)", "return np.where(out >= 0, dout, 0.0)"),),)),
        Mistake("relu_mask_only",
                "your ReLU backward returns the mask [x > 0] alone: the chain rule "
                "multiplies it by the upstream gradient, dx = dout * [x > 0]",
                {"relu_backward": lambda dout, out: (out > 0).astype(dout.dtype)},
                (("return dout * (out > 0)", "return (out > 0).astype(dout.dtype)"),),
                forms=((("return dout * (out > 0)", "return np.sign(out)"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""The activation acts entry by entry, so every term of the chain-rule sum but $m = k$
vanishes: $dx = \text{dout} \cdot \text{act}'(x)$, a product entry by entry (`*`, not
`@`), for an array of any shape. What is left is the derivative of each activation,
written with out.""",
    r"""Differentiate, then replace $x$ by out. Sigmoid:
$s'(x) = e^{-x} / (1 + e^{-x})^2 = s(x) \cdot \frac{e^{-x}}{1 + e^{-x}}$; what is
$\frac{e^{-x}}{1 + e^{-x}}$ in terms of $s(x)$? Tanh: $\tanh' x = 1 / \cosh^2 x$, and
$\cosh^2 x - \sinh^2 x = 1$. ReLU: the slope is 1 where $x > 0$ and 0 elsewhere, and
$x > 0$ exactly where $\max(x, 0) > 0$.""",
    r"""$$\text{sigmoid: } dx = \text{dout} \cdot \text{out}\,(1 - \text{out}), \qquad
\text{tanh: } dx = \text{dout} \cdot (1 - \text{out}^2), \qquad
\text{ReLU: } dx = \text{dout} \cdot [\text{out} > 0].$$

In NumPy: `dout * out * (1 - out)`, `dout * (1 - out * out)`, `dout * (out > 0)`.""",
)
