"""The gradient checker itself: central differences, the relative error with
a floor, and ``check_layer`` / ``check_loss`` / ``check_model`` /
``directional_check`` (the maths and the thresholds: ``tinyae.gradcheck``)."""

import time
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_positive_float, check_positive_int, check_rng

DEFAULT_H = 1e-6
DEFAULT_FLOOR = 1e-10
DEFAULT_TOL = 1e-7

#: Two evaluations of the loss at the same parameters may differ by this
#: much (relative) and still count as the same number.
_REPEAT_RTOL = 1e-12


class NondeterministicLossError(ValueError):
    """The checked function gave two different values at the same point."""


def rel_error(a, n, floor=DEFAULT_FLOOR):
    """``max|a - n| / max(max(|a| + |n|), floor)`` over all elements.

    Empty arrays are an error (comparing nothing proves nothing); a NaN or
    inf in either gradient gives ``inf`` (a failed check, never a pass).
    """
    floor = check_positive_float(floor, "floor")
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"analytic and numerical gradients differ in shape: "
                         f"{a.shape} vs {n.shape}")
    if a.size == 0:
        raise ValueError(f"rel_error got empty gradients (shape {a.shape}): "
                         f"a check of nothing cannot pass")
    if not (np.isfinite(a).all() and np.isfinite(n).all()):
        return float("inf")
    return float(np.max(np.abs(a - n)) / max(float(np.max(np.abs(a) + np.abs(n))), floor))


def _check_repeatable(f, what):
    """Evaluate ``f()`` twice; raise NondeterministicLossError if they differ."""
    first, second = float(f()), float(f())
    if first != second and not abs(first - second) <= _REPEAT_RTOL * max(
            abs(first), abs(second)):
        raise NondeterministicLossError(
            f"{what} gave two different values at the same parameters "
            f"({first!r} then {second!r}), so finite differences measure its "
            f"noise, not its slope: fix eps/noise (pass the model's noise, "
            f"e.g. eps=... for a VAE or noise=... for a denoising model, "
            f"drawn once) and do not pass rng=")


def _require_float64(x, name, fix=None):
    """``fix``: how to get a float64 array instead (default: convert it)."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        fix = fix or f"convert it with {name}.astype(np.float64)"
        raise TypeError(
            f"gradient checks need float64 arrays: {name} has dtype {got}. "
            f"In float32 the rounding error of a finite difference (~1e-1 "
            f"with h=1e-6) swamps any bug; {fix}.")


def _require_float64_params(owner, kind):
    """Every parameter of a layer or model in float64, else say how to build one:
    the same code in float64 checks the float32 one (the formulas do not change)."""
    for k, p in owner.params.items():
        _require_float64(p, k, f"build the {kind} with dtype=np.float64 to check it, "
                               f"e.g. {type(owner).__name__}(..., dtype=np.float64), "
                               f"and give it float64 inputs (its gradients are the same "
                               f"formulas in float32)")


def numerical_gradient(f, x, h=DEFAULT_H):
    """Central differences of the scalar function ``f()`` w.r.t. array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored, so
    ``f`` must read ``x`` (for example a model whose parameter it is).
    Returns an array shaped like x.
    """
    _require_float64(x, "x")
    h = check_positive_float(h, "h")
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f()
        x[idx] = old - h
        f_minus = f()
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


@dataclass
class GradReport:
    """Worst relative error per checked array (``"x"``, ``"encoder.0.W"``...)."""

    name: str
    errors: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def worst(self):
        return max(self.errors.values()) if self.errors else 0.0

    @property
    def worst_key(self):
        return max(self.errors, key=self.errors.get) if self.errors else "-"

    def passed(self, tol=DEFAULT_TOL):
        """Whether every checked array's error is below ``tol``. A report
        that checked nothing is an error, not a pass."""
        tol = check_positive_float(tol, "tol")
        if not self.errors:
            raise ValueError(f"report {self.name!r} checked no array: it cannot pass")
        return self.worst < tol

    def __str__(self):
        rows = [f"{self.name}: worst relative error {self.worst:.2e} ({self.worst_key})"]
        rows += [f"  {k:<24s} {v:.2e}" for k, v in self.errors.items()]
        return "\n".join(rows)


def check_arrays(f, arrays, analytic, *, name="function", h=DEFAULT_H, floor=DEFAULT_FLOOR):
    """Compare ``analytic[k]`` with finite differences of ``f()`` w.r.t.
    ``arrays[k]`` for every key. Returns a GradReport.

    Refuses an empty ``arrays``, an empty array, and an ``f`` that gives two
    different values at the same point (see NondeterministicLossError)."""
    h = check_positive_float(h, "h")
    floor = check_positive_float(floor, "floor")
    if not arrays:
        raise ValueError(f"{name}: no arrays to check (arrays is empty)")
    for key, x in arrays.items():
        if np.size(x) == 0:
            raise ValueError(f"{name}: array {key!r} is empty (shape "
                             f"{np.shape(x)}); a check of nothing cannot pass")
    report = GradReport(name)
    _check_repeatable(f, name)
    start = time.perf_counter()
    for key, x in arrays.items():
        num = numerical_gradient(f, x, h)
        report.errors[key] = rel_error(analytic[key], num, floor)
    report.seconds = time.perf_counter() - start
    return report


def check_layer(layer, x, *, rng, h=DEFAULT_H, floor=DEFAULT_FLOOR, name=None):
    """Check a layer's ``dx`` and every parameter gradient.

    The scalar checked is ``f = sum(forward(x) * r)`` for a fixed random
    ``r``, whose gradient w.r.t. ``out`` is exactly ``r``: so ``backward(r)``
    must return df/dx and add df/dparam into ``grads``. ``rng``: a numpy
    Generator (draws r). The layer's parameters and x must be float64: a
    float32 layer is checked by building the same layer with dtype=np.float64.
    """
    check_rng(rng)
    _require_float64_params(layer, "layer")
    _require_float64(x, "x")
    x = x.copy()
    r = rng.standard_normal(layer.forward(x).shape)

    def f():
        return float(np.sum(layer.forward(x) * r))

    layer.zero_grad()
    layer.forward(x)
    analytic = {"x": layer.backward(r).copy()}
    analytic.update({k: g.copy() for k, g in layer.grads.items()})
    arrays = {"x": x, **layer.params}
    return check_arrays(f, arrays, analytic, name=name or type(layer).__name__,
                        h=h, floor=floor)


def check_loss(loss_fn, *inputs, h=DEFAULT_H, floor=DEFAULT_FLOOR, name=None):
    """Check a loss ``loss_fn(*inputs) -> (loss, d_input0, d_input1, ...)``.

    The k returned gradients belong to the first k inputs (the target, last,
    gets none).
    """
    inputs = [np.array(v, dtype=np.float64) for v in inputs]
    out = loss_fn(*inputs)
    grads = out[1:]
    arrays = {f"input{i}": inputs[i] for i in range(len(grads))}
    analytic = {f"input{i}": np.array(g) for i, g in enumerate(grads)}

    def f():
        return float(loss_fn(*inputs)[0])

    return check_arrays(f, arrays, analytic, name=name or loss_fn.__name__,
                        h=h, floor=floor)


def check_model(model, *args, h=DEFAULT_H, floor=DEFAULT_FLOOR, name=None, **kwargs):
    """Check every parameter gradient of ``model.loss_and_grad(*args, **kwargs)``.

    Pass anything random (noise, epsilon) in ``kwargs`` so the loss is a
    deterministic function of the parameters.
    """
    _require_float64_params(model, "model")
    _, grads = model.loss_and_grad(*args, **kwargs)
    analytic = {k: g.copy() for k, g in grads.items()}

    def f():
        return float(model.loss_and_grad(*args, **kwargs)[0])

    return check_arrays(f, model.params, analytic, name=name or type(model).__name__,
                        h=h, floor=floor)


def directional_check(model, *args, rng, n_directions=3, h=1e-3,
                      floor=DEFAULT_FLOOR, name=None, **kwargs):
    """Random-direction check for models too large for element-wise checks.

    For a random unit direction d over all parameters, the directional
    derivative ``g . d`` must equal the derivative of ``t -> f(theta + t d)``
    at 0. One scalar carries the rounding error of the whole loss, so this
    uses the fourth-order stencil

        (8 (f(h) - f(-h)) - (f(2h) - f(-2h))) / (12 h),

    whose truncation error is O(h^4): with h = 1e-3 both error terms are
    near 1e-12. Costs four loss evaluations per direction instead of two per
    parameter.
    """
    n_directions = check_positive_int(n_directions, "n_directions")
    h = check_positive_float(h, "h")
    floor = check_positive_float(floor, "floor")
    check_rng(rng)
    params = model.params
    if not params or all(p.size == 0 for p in params.values()):
        raise ValueError(f"{type(model).__name__} has no parameters to check")
    _require_float64_params(model, "model")
    report = GradReport(name or f"{type(model).__name__} (directional)")
    _check_repeatable(lambda: model.loss_and_grad(*args, **kwargs)[0],
                      f"{type(model).__name__}.loss_and_grad")
    start = time.perf_counter()
    _, grads = model.loss_and_grad(*args, **kwargs)
    grads = {k: g.copy() for k, g in grads.items()}
    for j in range(n_directions):
        d = {k: rng.standard_normal(p.shape) for k, p in params.items()}
        norm = np.sqrt(sum(float(np.sum(v * v)) for v in d.values()))
        analytic = sum(float(np.sum(grads[k] * d[k])) for k in params) / norm

        def shifted(t):
            for k, p in params.items():
                p += t * d[k] / norm
            value = float(model.loss_and_grad(*args, **kwargs)[0])
            for k, p in params.items():
                p -= t * d[k] / norm
            return value

        numerical = (8 * (shifted(h) - shifted(-h))
                     - (shifted(2 * h) - shifted(-2 * h))) / (12 * h)
        report.errors[f"direction {j}"] = rel_error(analytic, numerical, floor)
    report.seconds = time.perf_counter() - start
    return report
