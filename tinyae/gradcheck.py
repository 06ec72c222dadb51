"""Gradient checking: the course's central tool.

A hand-written backward pass is trusted only after it agrees with central
finite differences,

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error is O(h^2) from truncation plus about eps_mach |f| / h from
rounding. In float64 (eps_mach ~ 1e-16) with h = 1e-6 both are around 1e-10;
in float32 (eps_mach ~ 6e-8) the rounding term alone is ~0.1, which is why
every check here refuses anything but float64.

The agreement is measured by a relative error with a floor,

    err = max_i |a_i - n_i| / max(max_i (|a_i| + |n_i|), floor),

(a = analytic, n = numerical): scale-free, and the floor keeps an all-zero
gradient from dividing by zero. A correct float64 gradient gives 1e-8 or
less; a wrong one gives 1e-2 or more. Check away from kinks (ReLU at 0):
there the two one-sided slopes differ and finite differences mean nothing.

Run ``python -m tinyae.gradcheck`` to check every registered layer, loss,
penalty and model; it prints one row each and exits non-zero if any worst
relative error reaches the tolerance (1e-7).
"""

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np

DEFAULT_H = 1e-6
DEFAULT_FLOOR = 1e-10
DEFAULT_TOL = 1e-7


def rel_error(a, n, floor=DEFAULT_FLOOR):
    """``max|a - n| / max(max(|a| + |n|), floor)`` over all elements."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"analytic and numerical gradients differ in shape: "
                         f"{a.shape} vs {n.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n)) / max(float(np.max(np.abs(a) + np.abs(n))), floor))


def _require_float64(x, name):
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(
            f"gradient checks need float64 arrays: {name} has dtype {got}. "
            f"In float32 the rounding error of a finite difference (~1e-1 "
            f"with h=1e-6) swamps any bug.")


def numerical_gradient(f, x, h=DEFAULT_H):
    """Central differences of the scalar function ``f()`` w.r.t. array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored, so
    ``f`` must read ``x`` (for example a model whose parameter it is).
    Returns an array shaped like x.
    """
    _require_float64(x, "x")
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
        return self.worst < tol

    def __str__(self):
        rows = [f"{self.name}: worst relative error {self.worst:.2e} ({self.worst_key})"]
        rows += [f"  {k:<24s} {v:.2e}" for k, v in self.errors.items()]
        return "\n".join(rows)


def check_arrays(f, arrays, analytic, *, name="function", h=DEFAULT_H, floor=DEFAULT_FLOOR):
    """Compare ``analytic[k]`` with finite differences of ``f()`` w.r.t.
    ``arrays[k]`` for every key. Returns a GradReport."""
    report = GradReport(name)
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
    must return df/dx and add df/dparam into ``grads``.
    """
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
    for k, p in layer.params.items():
        _require_float64(p, k)
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
    for k, p in model.params.items():
        _require_float64(p, k)
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
    params = model.params
    for k, p in params.items():
        _require_float64(p, k)
    report = GradReport(name or f"{type(model).__name__} (directional)")
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


# --------------------------------------------------------------------------
# Registry of checks run by ``python -m tinyae.gradcheck``.
# Each case is a function of an rng returning a GradReport, in float64,
# with inputs sampled away from kinks. Later families add their own below.
# --------------------------------------------------------------------------

CASES = {}


def register(name):
    """Decorator: add a check ``fn(rng) -> GradReport`` to the command line."""
    def deco(fn):
        if name in CASES:
            raise ValueError(f"gradcheck case {name!r} registered twice")
        CASES[name] = fn
        return fn
    return deco


def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random values with |v| in [low, high]: no input sits at a kink."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _layer_case(make_layer, n_in=5):
    def case(rng):
        layer = make_layer(rng)
        return check_layer(layer, away_from_zero(rng, (4, n_in)), rng=rng)
    return case


def _register_core():
    from . import losses
    from .layers import ACTIVATIONS, Linear, Sequential, Sigmoid, TiedLinear
    from .models import MLPAutoencoder

    for init in ("glorot", "he", "small"):
        register(f"layer Linear ({init})")(_layer_case(
            lambda rng, init=init: Linear(5, 3, rng=rng, init=init)))
    register("layer Linear (no bias)")(_layer_case(
        lambda rng: Linear(5, 3, rng=rng, bias=False)))
    register("layer Linear (batch 1, width 1)")(
        lambda rng: check_layer(Linear(1, 1, rng=rng), away_from_zero(rng, (1, 1)),
                                rng=rng))
    for act_name, cls in ACTIVATIONS.items():
        register(f"layer {cls.__name__}")(_layer_case(lambda rng, cls=cls: cls()))

    def tied(rng):
        enc = Linear(5, 3, rng=rng)
        return check_layer(Sequential(enc, Sigmoid(), TiedLinear(enc)),
                           away_from_zero(rng, (4, 5)), rng=rng)
    register("layer TiedLinear (in Sequential)")(tied)

    register("loss mse")(lambda rng: check_loss(
        losses.mse, rng.standard_normal((4, 6)), rng.standard_normal((4, 6))))
    register("loss bce_with_logits")(lambda rng: check_loss(
        losses.bce_with_logits, 3 * rng.standard_normal((4, 6)), rng.uniform(size=(4, 6))))
    register("loss gaussian_nll")(lambda rng: check_loss(
        losses.gaussian_nll, rng.standard_normal((4, 6)),
        0.5 * rng.standard_normal((4, 6)), rng.standard_normal((4, 6))))

    def mlp(**kw):
        def case(rng):
            model = MLPAutoencoder(sizes=(6, 5, 3), rng=rng, **kw)
            x = rng.uniform(0.05, 0.95, size=(4, 6))
            return check_model(model, x)
        return case
    register("model MLPAutoencoder (relu, bernoulli)")(mlp(activation="relu"))
    register("model MLPAutoencoder (sigmoid, mse)")(mlp(activation="sigmoid", output="mse"))
    register("model MLPAutoencoder (tanh, tied)")(mlp(activation="tanh", tied=True))

    def mlp_directional(rng):
        model = MLPAutoencoder(sizes=(20, 16, 8, 4), rng=rng, activation="softplus")
        x = rng.uniform(0.05, 0.95, size=(8, 20))
        return directional_check(model, x, rng=rng, n_directions=5)
    register("model MLPAutoencoder (directional)")(mlp_directional)


_register_core()


def _register_denoising():
    from .corruption import CORRUPTIONS
    from .models import DenoisingAutoencoder

    for cname, level in (("gaussian", 0.5), ("masking", 0.3), ("salt_and_pepper", 0.3)):
        def case(rng, cname=cname, level=level):
            model = DenoisingAutoencoder(corruption=CORRUPTIONS[cname](level),
                                         sizes=(6, 5, 3), activation="tanh", rng=rng)
            x = rng.uniform(0.05, 0.95, size=(4, 6))
            noise = model.corruption.sample(x, rng)       # fixed: f is deterministic
            return check_model(model, x, noise=noise)
        register(f"model DenoisingAutoencoder ({cname})")(case)


_register_denoising()


def _register_softmax_stacked():
    from .models import SoftmaxClassifier
    from .models.softmax import softmax_cross_entropy

    def xent(rng):
        labels = rng.integers(0, 4, size=5)
        return check_loss(lambda a: softmax_cross_entropy(a, labels),
                          2 * rng.standard_normal((5, 4)), name="softmax_cross_entropy")
    register("loss softmax_cross_entropy")(xent)

    for label, kw in (("linear", {}), ("linear, weight decay", {"weight_decay": 0.3}),
                      ("hidden tanh", {"hidden": (6,), "activation": "tanh"})):
        def case(rng, kw=kw):
            model = SoftmaxClassifier(n_in=7, n_classes=4, rng=rng, **kw)
            return check_model(model, rng.standard_normal((6, 7)),
                               rng.integers(0, 4, size=6))
        register(f"model SoftmaxClassifier ({label})")(case)

    from .corruption import MaskingNoise
    from .models import StackedAutoencoder

    # Stacks have small first-layer gradients (1e-3 to 1e-5: saturating
    # units), near the h = 1e-6 rounding floor (~5e-10): step h = 1e-5 (tanh,
    # softplus) or 1e-4 (sigmoid), truncation still ~1e-9; three sigmoid
    # levels get the directional check.
    def stacked(sizes, h, **kw):
        def case(rng):
            model = StackedAutoencoder(sizes=sizes, rng=rng, **kw)
            x = rng.uniform(0.05, 0.95, size=(5, sizes[0]))
            noise = model.corruption.sample(x, rng) if model.corruption else None
            return check_model(model, x, noise=noise, h=h)
        return case
    register("model StackedAutoencoder (sigmoid)")(stacked((7, 5, 3), 1e-4))
    register("model StackedAutoencoder (tanh, masking, 3 levels)")(stacked(
        (7, 5, 4, 3), 1e-5, activation="tanh", corruption=MaskingNoise(0.3)))
    register("model StackedAutoencoder (softplus, tied, masking)")(stacked(
        (7, 5, 3), 1e-5, activation="softplus", tied=True, corruption=MaskingNoise(0.3)))

    def stacked_directional(rng):
        model = StackedAutoencoder(sizes=(7, 5, 4, 3), rng=rng, corruption=MaskingNoise(0.3))
        x = rng.uniform(0.05, 0.95, size=(5, 7))
        return directional_check(model, x, rng=rng, n_directions=5,
                                 noise=model.corruption.sample(x, rng))
    register("model StackedAutoencoder (sigmoid, 3 levels, directional)")(stacked_directional)


_register_softmax_stacked()


def _register_linear():
    from .models import LinearAutoencoder

    for label, kw in (("untied", {}), ("tied", {"tied": True}),
                      ("no bias", {"bias": False}),
                      ("tied, no bias", {"tied": True, "bias": False})):
        def case(rng, kw=kw):
            model = LinearAutoencoder(n_in=6, n_code=3, rng=rng, **kw)
            return check_model(model, rng.standard_normal((5, 6)))
        register(f"model LinearAutoencoder ({label})")(case)


_register_linear()


def _register_penalties():
    from . import penalties
    from .models import ContractiveAutoencoder, SparseAutoencoder

    for act in ("sigmoid", "tanh"):
        def contractive(rng, act=act):
            x, W = rng.uniform(-1, 1, size=(5, 7)), rng.standard_normal((7, 4))
            b = 0.5 * rng.standard_normal(4)
            _, dW, db = penalties.contractive(x, W, b, activation=act, lam=0.7)
            return check_arrays(
                lambda: penalties.contractive(x, W, b, activation=act, lam=0.7)[0],
                {"W": W, "b": b}, {"W": dW, "b": db})
        register(f"penalty contractive ({act})")(contractive)
    register("penalty l1")(lambda rng: check_loss(
        lambda h: penalties.l1(h, lam=0.3), away_from_zero(rng, (5, 4)), name="l1"))
    register("penalty kl")(lambda rng: check_loss(
        lambda h: penalties.kl(h, rho=0.1, beta=3.0), rng.uniform(0.02, 0.9, size=(5, 4)),
        name="kl"))

    for act, tied in (("sigmoid", False), ("sigmoid", True), ("tanh", False), ("tanh", True)):
        def cae(rng, act=act, tied=tied):
            model = ContractiveAutoencoder(n_in=6, n_hidden=4, lam=0.8, activation=act,
                                           tied=tied, rng=rng)
            return check_model(model, rng.uniform(0.05, 0.95, size=(5, 6)))
        register(f"model ContractiveAutoencoder ({act}{', tied' if tied else ''})")(cae)
    for pen in ("l1", "kl"):
        def sparse(rng, pen=pen):
            model = SparseAutoencoder(sizes=(6, 5, 4), penalty=pen, lam=0.3, rho=0.1,
                                      beta=2.0, hidden_activation="tanh", rng=rng)
            return check_model(model, rng.uniform(0.05, 0.95, size=(5, 6)))
        register(f"model SparseAutoencoder ({pen})")(sparse)


_register_penalties()


def _register_vae():
    from .models import VAE, ConditionalVAE

    # Fixed eps makes the loss a deterministic function of the parameters;
    # smooth activations (or ReLU on inputs in (0.05, 0.95)) keep off kinks.
    configs = {
        "bernoulli, tanh": dict(activation="tanh"),
        "bernoulli, relu": dict(activation="relu"),
        "bernoulli, two hidden, beta 0.3": dict(hidden=(5, 4), activation="softplus",
                                                beta=0.3),
        "gaussian, fixed variance": dict(likelihood="gaussian", activation="softplus",
                                         fixed_logvar=-1.0),
        "gaussian, learned variance": dict(likelihood="gaussian", activation="tanh",
                                           decoder_variance="learned", fixed_logvar=-0.5),
        "gaussian, learned shared variance": dict(
            likelihood="gaussian", activation="tanh", decoder_variance="learned_shared"),
        "linear-Gaussian (hidden=())": dict(hidden=(), likelihood="gaussian",
                                            decoder_variance="learned_shared"),
        "beta 4": dict(activation="tanh", beta=4.0),
    }
    for label, kw in configs.items():
        def case(rng, kw=kw):
            model = VAE(n_in=6, latent=3, rng=rng, **{"hidden": (5,), **kw})
            x = rng.uniform(0.05, 0.95, size=(4, 6))
            return check_model(model, x, eps=rng.standard_normal((4, 3)))
        register(f"model VAE ({label})")(case)

    def conditional(rng):
        model = ConditionalVAE(n_in=6, hidden=(5,), latent=3, n_cond=2,
                               activation="tanh", rng=rng)
        x = rng.uniform(0.05, 0.95, size=(4, 6))
        c = np.eye(2)[rng.integers(0, 2, size=4)]
        return check_model(model, x, c, eps=rng.standard_normal((4, 3)))
    register("model ConditionalVAE (tanh, one-hot c)")(conditional)

    def directional(rng):
        model = VAE(n_in=20, hidden=(16, 8), latent=4, activation="softplus",
                    likelihood="gaussian", decoder_variance="learned", rng=rng)
        x = rng.standard_normal((8, 20))
        return directional_check(model, x, rng=rng, n_directions=5,
                                 eps=rng.standard_normal((8, 4)))
    register("model VAE (directional)")(directional)


_register_vae()


def run(pattern=None, *, seed=0, tol=DEFAULT_TOL, stream=sys.stdout):
    """Run every registered case (whose name contains ``pattern``).

    Prints a table and returns ``(all_passed, reports)``.
    """
    reports = []
    names = [n for n in CASES if pattern is None or pattern.lower() in n.lower()]
    if not names:
        raise ValueError(f"no gradcheck case matches pattern {pattern!r}")
    width = max(len(n) for n in names)
    print(f"{'case':<{width}s}  {'worst rel. error':>16s}  {'where':<16s}  result",
          file=stream)
    for i, name in enumerate(names):
        rng = np.random.default_rng([seed, i])
        report = CASES[name](rng)
        report.name = name
        reports.append(report)
        status = "ok" if report.passed(tol) else "FAIL"
        print(f"{name:<{width}s}  {report.worst:16.2e}  {report.worst_key:<16s}  {status}",
              file=stream)
    ok = all(r.passed(tol) for r in reports)
    worst = max(reports, key=lambda r: r.worst)
    print(f"\n{len(reports)} checks, worst {worst.worst:.2e} ({worst.name}); "
          f"tolerance {tol:g}: {'all passed' if ok else 'FAILED'}", file=stream)
    return ok, reports


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tinyae.gradcheck",
        description="Check every registered layer, loss, penalty and model "
                    "against central finite differences in float64.")
    parser.add_argument("-k", dest="pattern", default=None,
                        help="only cases whose name contains this text")
    parser.add_argument("--backend", choices=["numpy", "numba"], default=None,
                        help="backend to check (default: the current one)")
    parser.add_argument("--tol", type=float, default=DEFAULT_TOL)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.backend:
        from . import backend
        backend.set_backend(args.backend)
    ok, _ = run(args.pattern, seed=args.seed, tol=args.tol)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
