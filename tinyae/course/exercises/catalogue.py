"""The exercises, in course order, each with its known mistakes.

For every exercise: the library's reference, the program that runs the
student's functions on one case, the random cases (float64 and float32,
ordinary and awkward shapes), the finite-difference check of the student's
backward against the student's own forward, the integration run, and the
catalogue of mistakes. A mistake's ``variant`` is a working implementation
of the mistake; its ``plant`` turns the solution source into that mistake
(``tests/test_exercises.py`` plants each one and checks it is named).

``EXERCISES`` maps the exercise number to its ``Exercise``.
"""

import numpy as np
from scipy.special import logsumexp, softmax

from ... import backend
from ... import functional as F
from ...gradcheck import core as gradcheck_core
from ...layers import Linear, Sigmoid
from . import harness
from .catalogue_conv import CONV2D, MAX_POOL
from .specs import DTYPES, F32, F64, Case, Exercise, Mistake, attempt
from .specs import cast_inputs as _cast
from .specs import cases_in_both_dtypes as _cases



def _away(rng, shape, low=0.2, high=2.0):
    """Values with |v| in [low, high] (no kinks for finite differences)."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _train(funcs, names, what, **settings):
    ops = {n: funcs[n] for n in names}
    return harness.compare_training("autoencoder", ops, what=what, **settings)


# ==========================================================================
# 1. The linear layer
# ==========================================================================

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
    integration=lambda f: [_train(f, ("linear_forward", "linear_backward"),
                                  "your linear layer")],
    mistakes=(
        Mistake("db_mean",
                "the bias gradient must be summed over the batch: you took the mean "
                "(db = dout.mean(axis=0)). The loss already carries the 1/N; each "
                "example adds its own dout to db",
                _linear_backward_variant(db=lambda dout, x, W: dout.mean(axis=0)),
                (("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"),)),
        Mistake("db_not_summed",
                "db has one row per example: the bias gradient must be summed over the "
                "batch, db = dout.sum(axis=0), shape (n_out,) like b",
                _linear_backward_variant(db=lambda dout, x, W: dout),
                (("db = dout.sum(axis=0)", "db = dout"),)),
        Mistake("dW_over_batch",
                "dW is divided by the batch size: the 1/N belongs to the loss (its dout "
                "already has it), so the layer must not divide again: dW = x^T dout",
                _linear_backward_variant(dW=lambda dout, x, W: x.T @ dout / x.shape[0]),
                (("dW = x.T @ dout", "dW = x.T @ dout / x.shape[0]"),)),
        Mistake("dW_transposed",
                "dW is transposed: you computed dout^T x, shape (n_out, n_in); "
                "dW = x^T dout has the shape of W, (n_in, n_out)",
                _linear_backward_variant(dW=lambda dout, x, W: dout.T @ x),
                (("dW = x.T @ dout", "dW = dout.T @ x"),)),
    ))


# ==========================================================================
# 2. Activations
# ==========================================================================

ACTS = ("sigmoid", "tanh", "relu")


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
    return [_train(f, names, f"your {act} backward", activation=act) for act in ACTS]


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
                  "return dout * sigmoid(out) * (1 - sigmoid(out))"),)),
        Mistake("sigmoid_missing_factor",
                "your sigmoid backward is dout * out: the (1 - out) factor of "
                "s'(x) = out (1 - out) is missing",
                {"sigmoid_backward": lambda dout, out: dout * out},
                (("return dout * out * (1 - out)", "return dout * out"),)),
        Mistake("tanh_not_squared",
                "tanh'(x) = 1 - tanh(x)^2 = 1 - out^2: you wrote 1 - out",
                {"tanh_backward": lambda dout, out: dout * (1 - out)},
                (("return dout * (1 - out * out)", "return dout * (1 - out)"),)),
        Mistake("tanh_applied_twice",
                "the cache holds out = tanh(x), not x: you applied tanh to it again. "
                "tanh'(x) = 1 - out^2",
                {"tanh_backward": lambda dout, out: dout * (1 - np.tanh(out) ** 2)},
                (("return dout * (1 - out * out)", "return dout * (1 - np.tanh(out) ** 2)"),)),
        Mistake("relu_leaks",
                "your ReLU passes the gradient where x < 0: out = max(x, 0) >= 0 is always "
                "true, so the mask must be out > 0",
                {"relu_backward": lambda dout, out: dout * (out >= 0)},
                (("return dout * (out > 0)", "return dout * (out >= 0)"),)),
        Mistake("relu_mask_only",
                "your ReLU backward returns the mask [x > 0] alone: the chain rule "
                "multiplies it by the upstream gradient, dx = dout * [x > 0]",
                {"relu_backward": lambda dout, out: (out > 0).astype(dout.dtype)},
                (("return dout * (out > 0)", "return (out > 0).astype(dout.dtype)"),)),
    ))


# ==========================================================================
# 3. Binary cross-entropy on logits
# ==========================================================================

def _bce_program(f, logits, target):
    loss, dlogits = f["bce_with_logits_loss"](logits, target)
    return {"loss": loss, "dlogits": dlogits}


def _bce_inputs(shape, scale=3.0):
    def make(rng):
        return {"logits": scale * rng.standard_normal(shape),
                "target": rng.uniform(0, 1, shape)}
    return make


def _bce_fd(f, rng):
    logits, target = 3 * rng.standard_normal((4, 5)), rng.uniform(0, 1, (4, 5))
    _, d = f["bce_with_logits_loss"](logits, target)
    return {"bce": (lambda: float(f["bce_with_logits_loss"](logits, target)[0]),
                    {"logits": logits}, {"logits": d})}


def _bce_variant(loss=None, grad=None):
    def fn(logits, target):
        n = logits.shape[0]
        ref_loss, ref_grad = F.bce_with_logits_loss(logits, target)
        return (ref_loss if loss is None else loss(logits, target, n),
                ref_grad if grad is None else grad(logits, target, n).astype(logits.dtype))
    return {"bce_with_logits_loss": fn}


def _naive_bce(z, t, n):
    s = F.sigmoid(z)
    return float(np.sum(-t * np.log(s) - (1 - t) * np.log(1 - s))) / n


BCE = Exercise(
    number=3, slug="bce_logits", title="binary cross-entropy on logits, numerically safe",
    functions=("bce_with_logits_loss",),
    reference={"bce_with_logits_loss": F.bce_with_logits_loss},
    program=_bce_program,
    cases=lambda rng: _cases(rng, [
        ("batch 5 x 8", _bce_inputs((5, 8))), ("batch 1", _bce_inputs((1, 6))),
        ("width 1", _bce_inputs((6, 1))), ("large logits", _bce_inputs((4, 5), scale=60.0))]),
    fd=_bce_fd,
    integration=lambda f: [_train(f, ("bce_with_logits_loss",), "your loss")],
    mistakes=(
        Mistake("mean_over_pixels",
                "you averaged over the pixels too; the convention is sum over the pixels, "
                "mean over the batch (L = (1/N) sum_n sum_d l), so divide by N only",
                _bce_variant(lambda z, t, n: float(np.sum(F.softplus(z) - t * z)) / z.size,
                             lambda z, t, n: (F.sigmoid(z) - t) / z.size),
                (("softplus - target * logits)) / n", "softplus - target * logits)) / logits.size"),
                 ("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = (sigmoid(logits) - target) / logits.size"))),
        Mistake("summed_over_batch",
                "you summed over the batch; the convention is sum over the pixels, mean "
                "over the batch: divide the loss and its gradient by N",
                _bce_variant(lambda z, t, n: float(np.sum(F.softplus(z) - t * z)),
                             lambda z, t, n: F.sigmoid(z) - t),
                (("softplus - target * logits)) / n", "softplus - target * logits))"),
                 ("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = sigmoid(logits) - target"))),
        Mistake("unsafe_log",
                "your loss is inf or nan for large logits: log(sigmoid(z)) and "
                "log(1 - sigmoid(z)) hit log(0) once sigmoid rounds to 0 or 1 (|z| > 17 in "
                "float32, > 37 in float64). Use the identity l = softplus(z) - t z, with "
                "softplus(z) = max(z, 0) + log1p(exp(-|z|))",
                _bce_variant(_naive_bce),
                (("loss = float(np.sum(softplus - target * logits)) / n",
                  "s = sigmoid(logits)\n    loss = float(np.sum(-target * np.log(s) - "
                  "(1 - target) * np.log(1 - s))) / n"),)),
        Mistake("gradient_sign",
                "the sign of dlogits is flipped: d/dz (softplus(z) - t z) = s(z) - t",
                _bce_variant(grad=lambda z, t, n: (t - F.sigmoid(z)) / n),
                (("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = (target - sigmoid(logits)) / n"),)),
        Mistake("gradient_without_sigmoid",
                "your dlogits is (z - t) / N, the gradient of a squared error; for BCE on "
                "logits it is (s(z) - t) / N, since softplus'(z) = s(z)",
                _bce_variant(grad=lambda z, t, n: (z - t) / n),
                (("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = (logits - target) / n"),)),
    ))


# ==========================================================================
# 4. The finite-difference checker itself
# ==========================================================================

FD_H = 1e-5


def _fd_target(x, r):
    """A smooth function with curvature: sum(exp(x) r) + sum(x^3)."""
    return float(np.sum(np.exp(x) * r) + np.sum(x ** 3))


def _fd_program(f, x, r, a, n):
    grad = attempt(f["numerical_gradient"], lambda: _fd_target(x, r), x, FD_H)
    return {"numerical gradient": grad, "x after": x.copy(),
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
    program=_fd_program,
    cases=lambda rng: [Case(label, F64, _cast(F64, **make(rng))) for label, make in [
        ("x (3, 4), a close to n", _fd_inputs((3, 4), _pair_close)),
        ("x (1,), both gradients zero", _fd_inputs((1,), lambda rng: (np.zeros(3), np.zeros(3)))),
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
                 ("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / h"))),
        Mistake("step_not_doubled",
                "your gradient is twice the true one: x + h and x - h are 2h apart, so "
                "divide the difference by 2h, not h",
                _numerical_gradient_variant(denominator=1.0),
                (("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / h"),)),
        Mistake("x_not_restored",
                "you did not put x[i] back after perturbing it: every later entry is "
                "measured at a shifted point and x comes back changed",
                _numerical_gradient_variant(restore=False),
                (("        x[idx] = old\n", ""),)),
        Mistake("no_floor",
                "two zero gradients give 0/0: without the floor, max(max(|a| + |n|), "
                "floor), the relative error is undefined exactly when both agree",
                {"rel_error": _rel_error_no_floor},
                (("scale = max(float(np.max(np.abs(a) + np.abs(n))), floor)",
                  "scale = float(np.max(np.abs(a) + np.abs(n)))"),)),
        Mistake("no_absolute_value",
                "your error can be negative: take max |a - n|, not max (a - n) (a gradient "
                "that is too small everywhere would otherwise pass)",
                {"rel_error": lambda a, n, floor=1e-10: float(np.max(a - n)) / max(
                    float(np.max(np.abs(a) + np.abs(n))), floor)},
                (("float(np.max(np.abs(a - n)))", "float(np.max(a - n))"),)),
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
                  "floor)))"),)),
    ))


# ==========================================================================
# 5. Adam
# ==========================================================================

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
    integration=lambda f: [_train(f, ("adam_update",), "your Adam")],
    mistakes=(
        Mistake("no_bias_correction",
                "no bias correction: m and v start at 0, so for small t they are too small "
                "by the factors (1 - b1^t) and (1 - b2^t); divide by them",
                _adam_variant(bias_correction=False),
                (("m_hat = m / (1 - b1 ** t)", "m_hat = m"),
                 ("v_hat = v / (1 - b2 ** t)", "v_hat = v"))),
        Mistake("eps_inside_sqrt",
                "eps is inside the square root: Adam divides by sqrt(v_hat) + eps; "
                "sqrt(v_hat + eps) is at least sqrt(eps) = 1e-4, which shrinks the steps "
                "of every parameter whose gradients are smaller than that",
                _adam_variant(eps_inside=True),
                (("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)"),)),
        Mistake("stale_moments",
                "you stepped p with the moments of the previous step: update m and v with "
                "this g first, then use them",
                _adam_variant(stale=True),
                (("    p -= lr * m_hat / (np.sqrt(v_hat) + eps)\n", ""),
                 ("    m *= b1\n", "    p -= lr * (m / (1 - b1 ** t)) / "
                  "(np.sqrt(v / (1 - b2 ** t)) + eps)\n    m *= b1\n"))),
        Mistake("not_in_place",
                "p, m and v did not change: `p = p - ...` makes a new local array; update "
                "the caller's arrays in place (p -= ..., m *= b1, m += ...)",
                _adam_variant(in_place=False),
                (("m *= b1\n    m += (1 - b1) * g", "m = b1 * m + (1 - b1) * g"),
                 ("v *= b2\n    v += (1 - b2) * (g * g)", "v = b2 * v + (1 - b2) * (g * g)"),
                 ("p -= lr * m_hat", "p = p - lr * m_hat"))),
    ))


# ==========================================================================
# 6. Corruption
# ==========================================================================

def _corrupt_program(f, x, u, e, fraction, sigma):
    return {"masked": attempt(f["masking_corrupt"], x, u, fraction),
            "noisy": attempt(f["gaussian_corrupt"], x, e, sigma)}


def _corrupt_inputs(shape, fraction, sigma):
    def make(rng):
        return {"x": rng.uniform(0, 1, shape), "fraction": fraction, "sigma": sigma}
    return make


def _corrupt_cases(rng):
    cases = []
    for label, shape, fraction, sigma in [("batch 4 x 10", (4, 10), 0.25, 0.3),
                                          ("batch 1, half masked", (1, 12), 0.5, 1.5),
                                          ("width 1", (6, 1), 0.3, 0.5),
                                          ("images (2, 1, 4, 4)", (2, 1, 4, 4), 0.4, 0.2)]:
        x = rng.uniform(0, 1, shape)
        # the draws are float64 whatever x's dtype, as tinyae.corruption makes them
        u, e = rng.random(shape), rng.standard_normal(shape)
        for dtype in DTYPES:
            cases.append(Case(f"{label}, {dtype.name}", dtype,
                              {"x": x.astype(dtype), "u": u, "e": e, "fraction": fraction,
                               "sigma": sigma}))
    return cases


CORRUPTION = Exercise(
    number=6, slug="corruption", title="masking and Gaussian corruption",
    functions=("masking_corrupt", "gaussian_corrupt"),
    reference={"masking_corrupt": F.masking_corrupt, "gaussian_corrupt": F.gaussian_corrupt},
    program=_corrupt_program, cases=_corrupt_cases,
    integration=lambda f: [
        _train(f, ("masking_corrupt",), "your masking", corruption=("masking", 0.25)),
        _train(f, ("gaussian_corrupt",), "your Gaussian noise", corruption=("gaussian", 0.3))],
    mistakes=(
        Mistake("mask_inverted",
                "you kept the inputs you should drop: an input is dropped where u < "
                "fraction, so it survives with probability 1 - fraction",
                {"masking_corrupt": lambda x, u, fraction: x * (u < fraction).astype(x.dtype)},
                (("x * (u >= fraction).astype(x.dtype)", "x * (u < fraction).astype(x.dtype)"),)),
        Mistake("mask_rescaled",
                "you divided the kept inputs by 1 - fraction (inverted dropout): a denoising "
                "autoencoder's corruption only drops; the clean x is the target",
                {"masking_corrupt": lambda x, u, fraction:
                    x * (u >= fraction).astype(x.dtype) / (1 - fraction)},
                (("x * (u >= fraction).astype(x.dtype)",
                  "x * (u >= fraction).astype(x.dtype) / (1 - fraction)"),)),
        Mistake("noise_sigma_squared",
                "your noise has standard deviation sigma^2: sigma is the standard "
                "deviation, so add sigma * e",
                {"gaussian_corrupt": lambda x, e, sigma: (x + sigma ** 2 * e).astype(x.dtype)},
                (("(x + sigma * e)", "(x + sigma ** 2 * e)"),)),
        Mistake("noise_upcast",
                "your noisy x is float64 for a float32 x: the draws e are float64 and "
                "x + sigma * e is promoted; cast back with .astype(x.dtype)",
                {"gaussian_corrupt": lambda x, e, sigma: x + sigma * e},
                (("(x + sigma * e).astype(x.dtype)", "x + sigma * e"),)),
    ))


# ==========================================================================
# 7. Contractive penalty
# ==========================================================================

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
    integration=lambda f: [_train(f, ("contractive_penalty",), "your contractive penalty",
                                  penalty=("contractive", 0.1))],
    mistakes=(
        Mistake("dW_half",
                "your dW is half the correct value: d(W_ij^2)/dW_ij = 2 W_ij, so "
                "dP/dW = lam/N * 2 W_ij sum_n d_nj^2",
                _contractive_variant(dW_factor=1.0),
                (("dW = (2 * lam / n) * W", "dW = (lam / n) * W"),)),
        Mistake("dh_half",
                "your dh is half the correct value: d(d^2)/dh = 2 d d'(h), so "
                "dP/dh = lam/N * 2 d d' c",
                _contractive_variant(dh_factor=1.0),
                (("dh = (2 * lam / n) * d * dd * c", "dh = (lam / n) * d * dd * c"),)),
        Mistake("summed_over_batch",
                "you summed the penalty over the batch; the convention is a mean over the "
                "batch (P = lam * mean_n ||J_n||_F^2), for the value and both gradients",
                _contractive_variant(per_batch=False),
                (("float(np.sum(d * d * c)) / n", "float(np.sum(d * d * c))"),
                 ("(2 * lam / n)", "(2 * lam)"))),
        Mistake("not_squared",
                "your penalty sums act'(a) c_j, not act'(a)^2 c_j: the contractive "
                "penalty is the squared Frobenius norm ||J||_F^2 = sum_j d_j^2 sum_i W_ij^2",
                _contractive_variant(squared=False),
                (("float(np.sum(d * d * c))", "float(np.sum(d * c))"),
                 ("dh = (2 * lam / n) * d * dd * c", "dh = (lam / n) * dd * c"),
                 ("np.sum(d * d, axis=0)", "np.sum(d, axis=0)"))),
        Mistake("activation_applied_twice",
                "you applied the sigmoid to h again: h is already s(a), so "
                "act'(a) = h (1 - h) and its h-derivative is 1 - 2 h",
                _contractive_variant(twice=True),
                (("d, dd = h * (1 - h), 1 - 2 * h",
                  "s = 1 / (1 + np.exp(-h))\n        d, dd = s * (1 - s), s * (1 - s) * (1 - 2 * s)"),)),
    ))


# ==========================================================================
# 8. KL sparsity penalty
# ==========================================================================

def _kl_program(f, h, rho, beta):
    value, dh = f["kl_sparsity"](h, rho, beta)
    return {"P": value, "dh": dh}


def _kl_inputs(n, n_h, rho=0.05, beta=3.0):
    def make(rng):
        return {"h": rng.uniform(0.02, 0.98, (n, n_h)), "rho": rho, "beta": beta}
    return make


def _kl_fd(f, rng):
    h = rng.uniform(0.1, 0.9, (5, 4))
    _, dh = f["kl_sparsity"](h, 0.2, 3.0)
    return {"kl": (lambda: float(f["kl_sparsity"](h, 0.2, 3.0)[0]), {"h": h}, {"h": dh})}


def _kl_variant(grad_n=True, reverse=False, value_n=False, grad_beta=True):
    def kl_sparsity(h, rho, beta):
        n = h.shape[0]
        r = h.mean(axis=0, dtype=np.float64)
        if reverse:
            value = beta * float(np.sum(r * np.log(r / rho) + (1 - r) * np.log((1 - r) / (1 - rho))))
            drho = beta * (np.log(r / rho) - np.log((1 - r) / (1 - rho)))
        else:
            value = beta * float(np.sum(rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))))
            drho = (beta if grad_beta else 1.0) * (-rho / r + (1 - rho) / (1 - r))
        if value_n:
            value /= n
        dh = np.broadcast_to(drho / n if grad_n else drho, h.shape).astype(h.dtype)
        return value, dh
    return {"kl_sparsity": kl_sparsity}


KL_SPARSITY = Exercise(
    number=8, slug="kl_sparsity", title="the KL sparsity penalty and its gradient",
    functions=("kl_sparsity",), reference={"kl_sparsity": F.kl_sparsity},
    program=_kl_program,
    cases=lambda rng: _cases(rng, [
        ("batch 8 x 5", _kl_inputs(8, 5)), ("batch 1", _kl_inputs(1, 4, rho=0.3)),
        ("width 1", _kl_inputs(6, 1, rho=0.5, beta=0.7)), ("batch 50", _kl_inputs(50, 3))]),
    fd=_kl_fd,
    integration=lambda f: [_train(f, ("kl_sparsity",), "your KL penalty",
                                  penalty=("kl", 0.05, 1.0))],
    mistakes=(
        Mistake("missing_1_over_n",
                "your dh is N times too large: rho_hat_j is the mean of h_nj over the batch, "
                "so d rho_hat_j / dh_nj = 1/N",
                _kl_variant(grad_n=False),
                (("drho_hat / n", "drho_hat"),)),
        Mistake("reversed_kl",
                "you computed KL(rho_hat || rho); the sparsity penalty is "
                "KL(rho || rho_hat) = rho log(rho / rho_hat) + (1 - rho) log((1 - rho) / "
                "(1 - rho_hat)), which is not symmetric",
                _kl_variant(reverse=True),
                (("rho * np.log(rho / rho_hat)\n                                + (1 - rho) * "
                  "np.log((1 - rho) / (1 - rho_hat))",
                  "rho_hat * np.log(rho_hat / rho)\n                                + (1 - rho_hat) * "
                  "np.log((1 - rho_hat) / (1 - rho))"),
                 ("beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))",
                  "beta * (np.log(rho_hat / rho) - np.log((1 - rho_hat) / (1 - rho)))"))),
        Mistake("value_over_n",
                "your P is divided by N: the penalty is a function of the whole batch "
                "(through rho_hat) and has no 1/N of its own; the 1/N is inside rho_hat",
                _kl_variant(value_n=True),
                (("(1 - rho) / (1 - rho_hat))))", "(1 - rho) / (1 - rho_hat)))) / n"),)),
        Mistake("beta_missing_in_gradient",
                "beta is missing from dh: it multiplies the penalty, so it multiplies its "
                "gradient too",
                _kl_variant(grad_beta=False),
                (("drho_hat = beta * (", "drho_hat = ("),)),
    ))


# ==========================================================================
# 9. Reparameterisation and the Gaussian KL
# ==========================================================================

def _vae_program(f, mu, logvar, eps, dz, beta):
    z, kl, cache = f["reparameterize_kl"](mu, logvar, eps)
    dmu, dlogvar = f["reparameterize_kl_backward"](dz, cache, beta)
    return {"z": z, "KL": kl, "dmu": dmu, "dlogvar": dlogvar}


def _vae_inputs(n, latent, beta):
    def make(rng):
        return {"mu": rng.standard_normal((n, latent)),
                "logvar": rng.uniform(-2, 1.5, (n, latent)),
                "eps": rng.standard_normal((n, latent)),
                "dz": rng.standard_normal((n, latent)), "beta": beta}
    return make


def _vae_fd(f, rng):
    mu, logvar = rng.standard_normal((4, 3)), rng.uniform(-2, 1.5, (4, 3))
    eps, r, beta = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), 0.7
    _, _, cache = f["reparameterize_kl"](mu, logvar, eps)
    dmu, dlogvar = f["reparameterize_kl_backward"](r, cache, beta)

    def loss():
        z, kl, _ = f["reparameterize_kl"](mu, logvar, eps)
        return float(np.sum(z * r)) + beta * float(kl)
    return {"sum(z r) + beta KL": (loss, {"mu": mu, "logvar": logvar},
                                   {"mu": dmu, "logvar": dlogvar})}


def _vae_variant(std_exp=False, sample_half=0.5, kl_half=0.5, per_batch=True, beta_grad=True):
    def forward(mu, logvar, eps):
        n = mu.shape[0] if per_batch else 1
        sigma = np.exp(logvar) if std_exp else np.exp(0.5 * logvar)
        z = mu + sigma * eps
        kl = 0.5 * float(np.sum(np.exp(logvar) + mu * mu - 1.0 - logvar)) / n
        return z, kl, (mu, logvar, eps, sigma)

    def backward(dz, cache, beta):
        mu, logvar, eps, sigma = cache
        n = mu.shape[0] if per_batch else 1
        b = (beta if beta_grad else 1.0) / n
        dsample = (1.0 if std_exp else sample_half) * dz * eps * sigma
        return dz + b * mu, dsample + kl_half * b * (np.exp(logvar) - 1.0)
    return {"reparameterize_kl": forward, "reparameterize_kl_backward": backward}


def _vae_integration(f):
    ops = {n: f[n] for n in ("reparameterize_kl", "reparameterize_kl_backward")}
    return [harness.compare_training("vae", ops, what="your reparameterisation")]


REPARAM = Exercise(
    number=9, slug="reparam_kl", title="reparameterisation, the Gaussian KL and their backward",
    functions=("reparameterize_kl", "reparameterize_kl_backward"),
    reference={"reparameterize_kl": F.reparameterize_kl,
               "reparameterize_kl_backward": F.reparameterize_kl_backward},
    program=_vae_program,
    cases=lambda rng: _cases(rng, [
        ("batch 6, latent 4, beta 2", _vae_inputs(6, 4, 2.0)),
        ("batch 1, beta 0.5", _vae_inputs(1, 3, 0.5)),
        ("latent 1, beta 2", _vae_inputs(5, 1, 2.0))]),
    fd=_vae_fd, integration=_vae_integration,
    mistakes=(
        Mistake("exp_logvar_as_std",
                "your samples have variance exp(logvar)^2: you used exp(logvar) as the "
                "standard deviation; logvar is a log-variance, so sigma = exp(logvar / 2). "
                "(A finite-difference check cannot see this: your forward and backward "
                "agree, they just sample the wrong distribution.)",
                _vae_variant(std_exp=True),
                (("sigma = np.exp(0.5 * logvar)", "sigma = np.exp(logvar)"),
                 ("sigma * sigma + mu * mu", "np.exp(logvar) + mu * mu"),
                 ("0.5 * dz * eps * sigma", "dz * eps * sigma"),
                 ("(sigma * sigma - 1.0)", "(sigma - 1.0)"))),
        Mistake("dlogvar_doubled",
                "your dlogvar is twice the correct value: the 1/2 from sigma = "
                "exp(logvar / 2) is missing (dz/dlogvar = eps sigma / 2, dKL/dlogvar = "
                "(exp(logvar) - 1) / 2)",
                _vae_variant(sample_half=1.0, kl_half=1.0),
                (("0.5 * dz * eps * sigma + 0.5 * beta", "dz * eps * sigma + beta"),)),
        Mistake("sample_path_missing_half",
                "the sample path of your dlogvar lacks the 1/2: z = mu + exp(logvar / 2) "
                "eps, so dz/dlogvar = eps sigma / 2",
                _vae_variant(sample_half=1.0),
                (("0.5 * dz * eps * sigma", "dz * eps * sigma"),)),
        Mistake("kl_summed_over_batch",
                "you summed the KL over the batch; the convention is sum over the latent "
                "dimensions, mean over the batch (and its gradients carry the same 1/N)",
                _vae_variant(per_batch=False),
                (("1.0 - logvar)) / n", "1.0 - logvar))"),
                 ("dmu = dz + beta * mu / n", "dmu = dz + beta * mu"),
                 ("(sigma * sigma - 1.0) / n", "(sigma * sigma - 1.0)"))),
        Mistake("beta_missing_in_gradient",
                "beta is missing from the KL's gradients: the loss is recon + beta KL, so "
                "dmu and dlogvar get beta times the KL's derivatives",
                _vae_variant(beta_grad=False),
                (("dmu = dz + beta * mu / n", "dmu = dz + mu / n"),
                 ("0.5 * beta * (sigma", "0.5 * (sigma"))),
    ))


# ==========================================================================
# 10. The importance-weighted bound
# ==========================================================================

def _iw_reference(log_w):
    """L_k = logsumexp(log w) - log k per column and the normalised weights
    (scipy's logsumexp and softmax, in float64, cast back)."""
    lw = log_w.astype(np.float64)
    bound = logsumexp(lw, axis=0) - np.log(lw.shape[0])
    return bound.astype(log_w.dtype), softmax(lw, axis=0).astype(log_w.dtype)


def _iw_program(f, log_w):
    bound, weights = f["iw_bound"](log_w)
    return {"L_k": bound, "weights": weights}


def _iw_inputs(k, n, center=-100.0, spread=3.0, offsets=None):
    def make(rng):
        lw = center + spread * rng.standard_normal((k, n))
        if offsets is not None:
            lw += np.asarray(offsets, dtype=float)[None, :]
        return {"log_w": lw}
    return make


def _iw_fd(f, rng):
    log_w, r = -5 + 2 * rng.standard_normal((4, 3)), rng.standard_normal(3)
    _, w = f["iw_bound"](log_w)
    return {"sum(L_k r)": (lambda: float(np.sum(f["iw_bound"](log_w)[0] * r)),
                           {"log_w": log_w}, {"log_w": np.asarray(w) * r[None, :]})}


def _iw_variant(shift="column", minus_log_k=True, mean_log=False, weight_axis=0):
    def iw_bound(log_w):
        k = log_w.shape[0]
        top = {"column": log_w.max(axis=0), "global": log_w.max(),
               "none": np.zeros(log_w.shape[1], log_w.dtype)}[shift]
        shifted = np.exp(log_w - top)
        total = shifted.sum(axis=0)
        bound = top + np.log(total) - (np.log(k) if minus_log_k else 0.0)
        weights = shifted / shifted.sum(axis=weight_axis, keepdims=True)
        if mean_log:
            bound, weights = log_w.mean(axis=0), np.full_like(log_w, 1.0 / k)
        return bound.astype(log_w.dtype), weights.astype(log_w.dtype)
    return {"iw_bound": iw_bound}


def _iw_integration(f):
    params = harness.trained_vae_params()
    x = harness.digits()[:64]
    rng = np.random.default_rng(1)
    rows, ok = [], True
    means = []
    for k in (1, 10, 100):
        log_w = harness.vae_log_weights(params, x, k, rng)
        mine, ref = np.asarray(f["iw_bound"](log_w)[0]), _iw_reference(log_w)[0]
        agree = mine.shape == ref.shape and np.allclose(mine, ref, rtol=1e-9, atol=1e-9)
        ok = ok and agree
        means.append(float(np.mean(mine)))
        rows.append(f"L_{k} = {np.mean(mine):.3f} (reference {np.mean(ref):.3f})")
    monotone = means[0] <= means[1] <= means[2]
    passed = bool(ok and monotone)
    return [{"passed": passed, "student": means[-1], "reference": None, "tol": 1e-9,
             "text": f"on a VAE trained for 300 steps, mean over 64 digits: "
                     f"{', '.join(rows)}; " + ("agree and grow with k" if passed else
                                                "they must agree and grow with k")
                     + f": {'pass' if passed else 'FAIL'}"}]


IW_BOUND = Exercise(
    number=10, slug="iw_bound", title="the importance-weighted bound (log-sum-exp)",
    functions=("iw_bound",), reference={"iw_bound": _iw_reference},
    program=_iw_program,
    cases=lambda rng: _cases(rng, [
        ("k 5, batch 3", _iw_inputs(5, 3)), ("k 1", _iw_inputs(1, 4)),
        ("batch 1", _iw_inputs(6, 1)), ("log w near -1000", _iw_inputs(4, 3, center=-1000.0)),
        ("examples 1000 nats apart", _iw_inputs(5, 2, offsets=[0.0, -1000.0]))]),
    fd=_iw_fd, integration=_iw_integration,
    mistakes=(
        Mistake("no_max_shift",
                "exp(log w) underflowed to 0 (log of 0 is -inf): a VAE's log weights are "
                "hundreds of nats below 0 and exp(-1000) = 0 in floating point; subtract "
                "each example's largest log w before exponentiating (log-sum-exp)",
                _iw_variant(shift="none"),
                (("top = log_w.max(axis=0)",
                  "top = np.zeros(log_w.shape[1], dtype=log_w.dtype)"),)),
        Mistake("global_max",
                "you shifted by one maximum over the whole array: an example whose log "
                "weights lie far below another's still underflows; shift each column "
                "(example) by its own max",
                _iw_variant(shift="global"),
                (("top = log_w.max(axis=0)", "top = log_w.max()"),)),
        Mistake("log_sum_not_mean",
                "you computed log sum w, not log mean w: subtract log k (otherwise L_k "
                "grows by log k with k and exceeds log p(x))",
                _iw_variant(minus_log_k=False),
                (("np.log(total / k)", "np.log(total)"),)),
        Mistake("mean_of_log_weights",
                "you averaged the log weights: that is the ELBO estimate mean log w, which "
                "L_k = log mean w bounds from above (Jensen); the weights are not uniform",
                _iw_variant(mean_log=True),
                (("bound = top + np.log(total / k)", "bound = log_w.mean(axis=0)"),
                 ("weights = shifted / total", "weights = np.full_like(log_w, 1.0 / k)"))),
        Mistake("weights_over_batch",
                "your weights are normalised over the batch; dL_k/dlog w_i is w_i / sum_j "
                "w_j over the k samples of the same example (each column sums to 1)",
                _iw_variant(weight_axis=1),
                (("weights = shifted / total",
                  "weights = shifted / shifted.sum(axis=1, keepdims=True)"),)),
    ))


#: Exercise number -> Exercise, in course order (the image exercises are in
#: ``catalogue_conv``).
EXERCISES = {ex.number: ex for ex in (LINEAR, ACTIVATIONS, BCE, GRADCHECK, ADAM_EXERCISE,
                                      CORRUPTION, CONTRACTIVE, KL_SPARSITY, REPARAM,
                                      IW_BOUND, CONV2D, MAX_POOL)}
