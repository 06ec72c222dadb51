"""Exercise 5: Adam's update, in place: the spec and its catalogue of mistakes
(the source is ``sources/ex05_adam.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


def _adam_program(f, p, g1, g2, g3, m, v, lr, b1, b2, eps):
    p0 = p.copy()
    for t, g in enumerate((g1, g2, g3), start=1):
        f["adam_update"](p, g, m, v, lr, b1, b2, eps, t)
    return {"step": p - p0, "m": m.copy(), "v": v.copy()}


def _adam_inputs(shape, gscale=1.0):
    def make(rng):
        gs = {f"g{i}": gscale * rng.standard_normal(shape) for i in (1, 2, 3)}
        return {"p": rng.standard_normal(shape), **gs, "m": np.zeros(shape),
                "v": np.zeros(shape), "lr": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8}
    return make


def _adam_variant(bias_correction=True, eps_inside=False, stale=False, in_place=True):
    def adam_update(p, g, m, v, lr, b1, b2, eps, t):
        c1 = 1 - b1 ** t if bias_correction else 1.0
        c2 = 1 - b2 ** t if bias_correction else 1.0
        if stale:
            p -= lr * (m / c1) / (np.sqrt(v / c2) + eps)
        m_new = b1 * m + (1 - b1) * g
        v_new = b2 * v + (1 - b2) * g * g
        if not in_place:
            return
        m[...], v[...] = m_new, v_new
        if not stale:
            denom = np.sqrt(v / c2 + eps) if eps_inside else np.sqrt(v / c2) + eps
            p -= lr * (m / c1) / denom
    return {"adam_update": adam_update}


ADAM_EXERCISE = Exercise(
    number=5, slug="adam", title="Adam's update, in place",
    functions=("adam_update",), reference={"adam_update": F.adam_update},
    program=_adam_program, in_place=("p", "m", "v"),
    cases=lambda rng: _cases(rng, [
        ("(5, 3)", _adam_inputs((5, 3))), ("(1,)", _adam_inputs((1,))),
        ("tiny gradients 1e-9", _adam_inputs((4,), gscale=1e-9)),
        ("large gradients 1e3", _adam_inputs((2, 2), gscale=1e3))]),
    integration=lambda f: [train(f, ("adam_update",), "your Adam")],
    mistakes=(
        Mistake("no_bias_correction",
                "no bias correction: m and v start at 0, so for small t they are too small "
                "by the factors (1 - b1^t) and (1 - b2^t); divide by them",
                _adam_variant(bias_correction=False),
                (("m_hat = m / (1 - b1 ** t)", "m_hat = m"),
                 ("v_hat = v / (1 - b2 ** t)", "v_hat = v")),
                forms=((("p -= lr * m_hat / (np.sqrt(v_hat) + eps)",
                         "p -= lr * m / (np.sqrt(v) + eps)"),),)),
        Mistake("eps_inside_sqrt",
                "eps is inside the square root: Adam divides by sqrt(v_hat) + eps; "
                "sqrt(v_hat + eps) is at least sqrt(eps) = 1e-4, which shrinks the steps "
                "of every parameter whose gradients are smaller than that",
                _adam_variant(eps_inside=True),
                (("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)"),),
                forms=((("(np.sqrt(v_hat) + eps)", "(v_hat + eps) ** 0.5"),),)),
        Mistake("stale_moments",
                "you stepped p with the moments of the previous step: update m and v with "
                "this g first, then use them",
                _adam_variant(stale=True),
                (("    p -= lr * m_hat / (np.sqrt(v_hat) + eps)\n", ""),
                 ("    m *= b1\n", "    p -= lr * (m / (1 - b1 ** t)) / "
                  "(np.sqrt(v / (1 - b2 ** t)) + eps)\n    m *= b1\n")),
                forms=((("    m *= b1\n", "    m_old, v_old = m.copy(), v.copy()\n"
                         "    m *= b1\n"),
                        ("m_hat = m / (1 - b1 ** t)", "m_hat = m_old / (1 - b1 ** t)"),
                        ("v_hat = v / (1 - b2 ** t)", "v_hat = v_old / (1 - b2 ** t)")),)),
        Mistake("not_in_place",
                "your update does not reach the caller's arrays: `m = b1 * m + ...` (or "
                "`p = p - ...`) binds a new local array and leaves the caller's as it was; "
                "update p, m and v in place (p -= ..., m *= b1, m += ...)",
                _adam_variant(in_place=False),
                (("m *= b1\n    m += (1 - b1) * g", "m = b1 * m + (1 - b1) * g"),
                 ("v *= b2\n    v += (1 - b2) * (g * g)", "v = b2 * v + (1 - b2) * (g * g)"),
                 ("p -= lr * m_hat", "p = p - lr * m_hat")),
                forms=((("    m *= b1\n", "    p, m, v = p.copy(), m.copy(), v.copy()\n"
                         "    m *= b1\n"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Unroll from $m_0 = 0$: $m_1 = (1 - \beta_1) g_1$,
$m_2 = \beta_1 (1 - \beta_1) g_1 + (1 - \beta_1) g_2$, and in general
$m_t = (1 - \beta_1) \sum_{\tau=1}^{t} \beta_1^{t - \tau} g_\tau$. Take the expectation
with $E[g_\tau] = E[g]$ for every $\tau$.""",
    r"""The weights $(1 - \beta_1)\beta_1^{t-\tau}$ form a geometric series; its sum over
$\tau = 1, \dots, t$ is the factor in $E[m_t] = (\dots)\, E[g]$, and dividing $m_t$ by
it removes the bias. In the code, update `m` and `v` in place first (`m *= b1`, then
`m += (1 - b1) * g`), then form the corrected values (new arrays are fine for those),
then `p -= ...`.""",
    r"""$$\hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t},
\qquad p \leftarrow p - \text{lr}\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$

$\epsilon$ is added to $\sqrt{\hat v_t}$, not inside the square root; in NumPy,
`m_hat = m / (1 - b1 ** t)`, `v_hat = v / (1 - b2 ** t)`,
`p -= lr * m_hat / (np.sqrt(v_hat) + eps)`.""",
)
