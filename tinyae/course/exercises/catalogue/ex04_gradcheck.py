"""Exercise 4: the finite-difference checker itself: the spec and its catalogue
of mistakes (the source is ``sources/ex04_gradcheck.py``)."""

import numpy as np

from .... import backend
from ....gradcheck import core as gradcheck_core
from ....layers import Linear, Sigmoid
from ..specs import F32, F64, Case, Exercise, Mistake, attempt
from ..specs import cast_inputs as _cast


FD_H = 1e-5


def _fd_target(x, r):
    """A smooth function with curvature: sum(exp(x) r) + sum(x^3)."""
    return float(np.sum(np.exp(x) * r) + np.sum(x ** 3))


def _fd_program(f, x, r, a, n):
    x0 = x.copy()
    grad = attempt(f["numerical_gradient"], lambda: _fd_target(x, r), x, FD_H)
    # x's change, 0 when every entry is put back exactly: a change of one
    # rounding step (x restored by arithmetic) shows here, not only h
    return {"numerical gradient": grad, "change of x": x - x0,
            "relative error": attempt(f["rel_error"], a, n)}


def _fd_inputs(x_shape, pair):
    def make(rng):
        x, r = rng.standard_normal(x_shape), rng.standard_normal(x_shape)
        a, n = pair(rng)
        return {"x": x, "r": r, "a": a, "n": n}
    return make


def _pair_close(rng):
    n = rng.standard_normal((3, 4))
    return n + 1e-9 * rng.standard_normal((3, 4)), n


def _pair_too_small(rng):
    n = rng.uniform(0.5, 2.0, (2, 3))
    return 0.5 * n, n


def _pair_tiny_entry(rng):
    n = rng.standard_normal(5)
    a = n.copy()
    n[2], a[2] = 2e-6, 1e-6
    return a, n


def _numerical_gradient_variant(forward=False, denominator=2.0, restore=True):
    def numerical_gradient(f, x, h=1e-6):
        grad = np.zeros_like(x)
        for idx in np.ndindex(*x.shape):
            old = x[idx]
            x[idx] = old + h
            f_plus = f()
            x[idx] = old if forward else old - h
            f_minus = f()
            if restore:
                x[idx] = old
            grad[idx] = (f_plus - f_minus) / (denominator * h)
        return grad
    return {"numerical_gradient": numerical_gradient}


def _restored_by_arithmetic(f, x, h=1e-6):
    """x[i] + h - 2h + h: back to x[i] only up to rounding (one step, often)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        x[idx] += h
        f_plus = f()
        x[idx] -= 2 * h
        f_minus = f()
        x[idx] += h
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def _rel_error_nan(a, n, floor=1e-10):
    """Without the floor, in NumPy scalars: 0/0 is nan, not an exception."""
    return float(np.max(np.abs(a - n)) / np.max(np.abs(a) + np.abs(n)))


def _rel_error_no_floor(a, n, floor=1e-10):
    scale = float(np.max(np.abs(a) + np.abs(n)))
    return float(np.max(np.abs(a - n))) / scale


def _fd_integration(f):
    """The student's checker on the library's Linear + Sigmoid: it must
    certify the true gradient and flag one that is 1% off."""
    with backend.use("numpy"):
        return _fd_integration_numpy(f)


def _fd_integration_numpy(f):
    rng = np.random.default_rng(0)
    lin, act = Linear(5, 3, rng=rng), Sigmoid()
    x, r = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    W = lin.params["W"]
    lin.zero_grad()
    act.forward(lin.forward(x))
    lin.backward(act.backward(r))
    dW = lin.grads["W"].copy()

    def loss():
        return float(np.sum(act.forward(lin.forward(x)) * r))

    num = f["numerical_gradient"](loss, W, 1e-6)
    good, bad = f["rel_error"](dW, num), f["rel_error"](1.01 * dW, num)
    ref_good = gradcheck_core.rel_error(dW, gradcheck_core.numerical_gradient(loss, W, 1e-6))
    passed = bool(good < gradcheck_core.DEFAULT_TOL and bad > 1e-3)
    return [{"passed": passed, "student": float(good), "reference": float(ref_good),
             "tol": gradcheck_core.DEFAULT_TOL,
             "text": f"your checker on tinyae's Linear + Sigmoid gives {good:.1e} for the "
                     f"true dW (the library's: {ref_good:.1e}; must be < "
                     f"{gradcheck_core.DEFAULT_TOL:g}) and {bad:.1e} for a dW 1% off (must "
                     f"be > 1e-3): {'pass' if passed else 'FAIL'}"}]


GRADCHECK = Exercise(
    number=4, slug="gradcheck", title="the finite-difference checker itself",
    functions=("numerical_gradient", "rel_error"),
    reference={"numerical_gradient": gradcheck_core.numerical_gradient,
               "rel_error": gradcheck_core.rel_error},
    program=_fd_program, restores=("x",),
    cases=lambda rng: [Case(label, F64, _cast(F64, **make(rng))) for label, make in [
        ("x (3, 4), a close to n", _fd_inputs((3, 4), _pair_close)),
        ("x (1,); rel_error of a = n = 0", _fd_inputs((1,), lambda rng: (np.zeros(3),
                                                                          np.zeros(3)))),
        ("x (2, 1, 3), analytic too small", _fd_inputs((2, 1, 3), _pair_too_small)),
        ("x (5,), one tiny entry off", _fd_inputs((5,), _pair_tiny_entry))]],
    integration=_fd_integration,
    rtol={F64: 1e-8, F32: 1e-8},
    mistakes=(
        Mistake("forward_difference",
                "you used a forward difference (f(x + h) - f(x)) / h: its error is O(h) "
                "(about 1e-5 here), the central difference's O(h^2); evaluate at x + h "
                "and x - h and divide by 2h",
                _numerical_gradient_variant(forward=True, denominator=1.0),
                (("x[idx] = old - h", "x[idx] = old"),
                 ("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / h")),
                forms=((("        x[idx] = old + h\n        f_plus = f()\n"
                         "        x[idx] = old - h\n        f_minus = f()\n"
                         "        x[idx] = old\n"
                         "        grad[idx] = (f_plus - f_minus) / (2 * h)\n",
                         "        f_here = f()\n        x[idx] = old + h\n"
                         "        f_plus = f()\n        x[idx] = old\n"
                         "        grad[idx] = (f_plus - f_here) / h\n"),),)),
        Mistake("step_not_doubled",
                "your gradient is twice the true one: divide the difference of the two "
                "values of f by the distance between the two points you evaluated it at "
                "(x + h and x - h are 2h apart)",
                _numerical_gradient_variant(denominator=1.0),
                (("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / h"),),
                forms=((("x[idx] = old + h", "x[idx] = old + 2 * h"),
                        ("x[idx] = old - h", "x[idx] = old - 2 * h")),)),
        Mistake("x_not_restored",
                "you did not put x[i] back exactly after perturbing it: every later entry "
                "is measured at a shifted point and x comes back changed (x[i] + h - 2h + h "
                "is x[i] only up to rounding; save the entry and assign it back)",
                (_numerical_gradient_variant(restore=False),
                 {"numerical_gradient": _restored_by_arithmetic}),
                (("        x[idx] = old\n", ""),),
                forms=((("        x[idx] = old + h\n        f_plus = f()\n"
                         "        x[idx] = old - h\n        f_minus = f()\n"
                         "        x[idx] = old\n",
                         "        x[idx] += h\n        f_plus = f()\n"
                         "        x[idx] -= 2 * h\n        f_minus = f()\n"
                         "        x[idx] += h\n"),),)),
        Mistake("no_floor",
                "two zero gradients give 0/0: without the floor, max(max(|a| + |n|), "
                "floor), the relative error is undefined exactly when both agree",
                ({"rel_error": _rel_error_no_floor}, {"rel_error": _rel_error_nan}),
                (("scale = max(float(np.max(np.abs(a) + np.abs(n))), floor)",
                  "scale = float(np.max(np.abs(a) + np.abs(n)))"),),
                forms=((("scale = max(float(np.max(np.abs(a) + np.abs(n))), floor)\n"
                         "    return float(np.max(np.abs(a - n))) / scale",
                         "return float(np.max(np.abs(a - n)) / np.max(np.abs(a) + "
                         "np.abs(n)))"),),)),
        Mistake("no_absolute_value",
                "your error can be negative: take max |a - n|, not max (a - n) (a gradient "
                "that is too small everywhere would otherwise pass)",
                {"rel_error": lambda a, n, floor=1e-10: float(np.max(a - n)) / max(
                    float(np.max(np.abs(a) + np.abs(n))), floor)},
                (("float(np.max(np.abs(a - n)))", "float(np.max(a - n))"),),
                forms=((("float(np.max(np.abs(a - n)))", "float((a - n).max())"),),)),
        Mistake("per_entry_ratio",
                "you took the largest per-entry ratio |a_i - n_i| / (|a_i| + |n_i|): an "
                "entry near zero (where finite differences have no relative accuracy) "
                "then decides the verdict; divide the largest difference by the largest "
                "magnitude instead",
                {"rel_error": lambda a, n, floor=1e-10: float(np.max(
                    np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)))},
                (("scale = max(float(np.max(np.abs(a) + np.abs(n))), floor)\n"
                  "    return float(np.max(np.abs(a - n))) / scale",
                  "return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), "
                  "floor)))"),),
                forms=((("scale = max(float(np.max(np.abs(a) + np.abs(n))), floor)\n"
                         "    return float(np.max(np.abs(a - n))) / scale",
                         "return float(np.max(np.abs(a - n) / (np.abs(a) + np.abs(n) + "
                         "floor)))"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Expand in a Taylor series:

$$f(x \pm h e_i) = f(x) \pm h\, \partial_i f + \frac{h^2}{2} \partial_i^2 f \pm \frac{h^3}{6} \partial_i^3 f + \dots$$

Subtract the two expansions: which terms are left? For the code, at each index: remember
the entry, set it to the entry plus $h$, call `f()`, set it to the entry minus $h$, call
`f()`, and put the entry back.""",
    r"""The even terms cancel, so the central difference is $\partial_i f + O(h^2)$, while the
forward difference is only $\partial_i f + O(h)$. In the code, `x[idx] = ...` changes
the caller's array, which is exactly what `f` reads; forgetting to restore the entry
shifts every later derivative, so save it first (`old = x[idx]` is a copy of one
number). For `rel_error`: the numerator is the largest $|a_i - n_i|$, the denominator
the largest $|a_i| + |n_i|$, raised to the floor if it is smaller.""",
    r"""$$\text{grad}_i = \frac{f(x + h e_i) - f(x - h e_i)}{2h}, \qquad
\text{err} = \frac{\max_i |a_i - n_i|}{\max\left(\max_i (|a_i| + |n_i|),\ \text{floor}\right)}.$$

In the loop: `old = x[idx]`, `x[idx] = old + h`, `f_plus = f()`, `x[idx] = old - h`,
`f_minus = f()`, `x[idx] = old`, `grad[idx] = (f_plus - f_minus) / (2 * h)`; and
`float(np.max(np.abs(a - n))) / max(float(np.max(np.abs(a) + np.abs(n))), floor)`.""",
)
