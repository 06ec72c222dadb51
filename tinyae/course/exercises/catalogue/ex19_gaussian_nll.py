"""Exercise 19: the Gaussian NLL with a learned variance, and the variance
floor of lesson 15: the spec and its catalogue of mistakes (the source is
``sources/ex19_gaussian_nll.py``)."""

import numpy as np

from .... import functional as F
from .. import harness
from ..specs import Exercise, Mistake, Raised, attempt
from ..specs import cases_in_both_dtypes as _cases
from .base import compare_runs, dense_params

NAMES = ("gaussian_nll_loss", "logvar_floor_forward", "logvar_floor_backward")
REFERENCE = {name: getattr(F, name) for name in NAMES}


def _nll_program(f, mu, raw, target, var_floor):
    """The NLL on its own (raw as the log-variance), then the floor and the
    chain the variance-network VAE runs: floor, NLL at s, floor backward
    (each output Raised on its own when the function it needs raises)."""
    nll = attempt(f["gaussian_nll_loss"], mu, raw, target)
    L, dmu, dlogvar = (nll,) * 3 if isinstance(nll, Raised) else nll
    floor = attempt(f["logvar_floor_forward"], raw, var_floor)
    if isinstance(floor, Raised):
        return {"L": L, "dmu": dmu, "dlogvar": dlogvar, "s": floor, "draw": floor}
    s, cache = floor
    draw = attempt(lambda: f["logvar_floor_backward"](f["gaussian_nll_loss"](mu, s, target)[2],
                                                      cache))
    return {"L": L, "dmu": dmu, "dlogvar": dlogvar, "s": s, "draw": draw}


def _nll_inputs(n, d, var_floor, raw=(-7.0, 2.0), noise=1.0, exact=0.0):
    """mu ~ N(0, 1), target = mu + noise * N(0, 1) (a share ``exact`` of the
    entries with target == mu: blank pixels), raw ~ U(raw)."""
    def make(rng):
        mu = rng.standard_normal((n, d))
        target = mu + noise * rng.standard_normal((n, d))
        target = np.where(rng.random((n, d)) < exact, mu, target)
        return {"mu": mu, "raw": rng.uniform(*raw, (n, d)), "target": target,
                "var_floor": var_floor}
    return make


def _below_floor(rng):
    """Blank pixels (r = 0 exactly) whose raw log-variance has run far below
    the floor's log 0.01 = -4.6, beside ordinary ones: the floor holds s up
    (slope near 0), and the NLL at raw is where the likelihood runs away."""
    mu = rng.standard_normal((4, 5))
    target = mu + 0.3 * rng.standard_normal((4, 5))
    target[:, :2] = mu[:, :2]
    raw = rng.uniform(-3.0, 1.0, (4, 5))
    raw[:, :2] = rng.uniform(-30.0, -12.0, (4, 2))
    return {"mu": mu, "raw": raw, "target": target, "var_floor": 0.01}


def _nll_fd(f, rng):
    mu, logvar, target = (rng.standard_normal((4, 3)), rng.uniform(-1.0, 1.0, (4, 3)),
                          rng.standard_normal((4, 3)))
    _, dmu, dlogvar = f["gaussian_nll_loss"](mu, logvar, target)
    raw, r = rng.uniform(-6.0, 0.0, (3, 5)), rng.standard_normal((3, 5))  # l = log 0.05 = -3
    _, cache = f["logvar_floor_forward"](raw, 0.05)
    draw = f["logvar_floor_backward"](r, cache)
    return {
        "nll": (lambda: float(f["gaussian_nll_loss"](mu, logvar, target)[0]),
                {"mu": mu, "logvar": logvar}, {"mu": dmu, "logvar": dlogvar}),
        "sum(floor(raw) r)": (lambda: float(np.sum(f["logvar_floor_forward"](raw, 0.05)[0] * r)),
                              {"raw": raw}, {"raw": draw})}


def _nll_variant(log2pi=True, half=0.5, per_feature=False, std=False, mu_sign=-1.0,
                 slope=True, logged=True):
    """The three functions, each with the mistakes chosen (``std``: exp(s)
    taken as the standard deviation, so the variance is exp(2 s))."""
    k = 2.0 if std else 1.0

    def gaussian_nll_loss(mu, logvar, target):
        n = mu.size if per_feature else mu.shape[0]
        r = target - mu
        inv_v = np.exp(-k * logvar)
        r2v = r * r * inv_v
        value = float(np.sum(0.5 * ((F.LOG_2PI if log2pi else 0.0) + k * logvar + r2v))) / n
        dmu = mu_sign * (r * inv_v) / n
        dlogvar = half * k * (1.0 - r2v) / n
        return value, dmu.astype(mu.dtype), dlogvar.astype(mu.dtype)

    def logvar_floor_forward(raw, var_floor):
        log_floor = raw.dtype.type(np.log(var_floor) if logged else var_floor)
        u = raw - log_floor
        return log_floor + F.softplus(u), u

    def logvar_floor_backward(ds, cache):
        return ds * F.sigmoid(cache) if slope else ds.copy()
    return {"gaussian_nll_loss": gaussian_nll_loss,
            "logvar_floor_forward": logvar_floor_forward,
            "logvar_floor_backward": logvar_floor_backward}


# --------------------------------------------------------------------------
# The integration run: an autoencoder with a mean head and a variance head
# --------------------------------------------------------------------------

def _train_gaussian_decoder(funcs, *, steps=300, hidden=32, var_floor=0.01, seed=0):
    """Train 196 -> hidden (tanh) -> (mean, raw log-variance) heads on the
    harness's digits with Adam, the loss the NLL of the digit under
    N(mean, exp(floor(raw))); ``funcs`` supplies the three functions.
    Returns the loss of every step, (steps,). MNIST's border pixels are 0 in
    every digit: their variance runs down to the floor."""
    x = harness.digits()
    rng = np.random.default_rng(seed)
    n = x.shape[1]
    params = dense_params(rng, {"1": (n, hidden), "m": (hidden, n), "s": (hidden, n)})
    state, losses = {}, []
    for t, idx in enumerate(harness._batches(rng, steps), start=1):
        xb = x[idx]
        a, c1 = F.linear_forward(xb, params["W1"], params["b1"])
        h, ch = F.tanh_forward(a)
        mean, cm = F.linear_forward(h, params["Wm"], params["bm"])
        raw, cs = F.linear_forward(h, params["Ws"], params["bs"])
        s, cache = funcs["logvar_floor_forward"](raw, var_floor)
        loss, dmean, ds = funcs["gaussian_nll_loss"](mean, s, xb)
        dh_m, dWm, dbm = F.linear_backward(dmean, cm)
        dh_s, dWs, dbs = F.linear_backward(funcs["logvar_floor_backward"](ds, cache), cs)
        _, dW1, db1 = F.linear_backward(F.tanh_backward(dh_m + dh_s, ch), c1)
        grads = {"W1": dW1, "b1": db1, "Wm": dWm, "bm": dbm, "Ws": dWs, "bs": dbs}
        harness._adam_step(harness.REFERENCE_OPS, params, grads, state, t)
        losses.append(float(loss))
    return np.array(losses)


def _nll_integration(f):
    return compare_runs(_train_gaussian_decoder, f, REFERENCE, lambda mine, ref, steps: (
        f"your NLL and floor train the Gaussian-decoder autoencoder (variance floor 0.01) "
        f"for {steps} steps to {mine:.3f} nats per digit, the reference to {ref:.3f}"))


GAUSSIAN_NLL = Exercise(
    number=19, slug="gaussian_nll",
    title="the Gaussian NLL with a learned variance, and a variance floor",
    functions=NAMES, reference=REFERENCE,
    program=_nll_program,
    cases=lambda rng: _cases(rng, [
        ("batch 5 x 4, floor 0.01", _nll_inputs(5, 4, 0.01)),
        ("batch 1, floor 0.05", _nll_inputs(1, 6, 0.05)),
        ("width 1, floor 1", _nll_inputs(6, 1, 1.0, raw=(-3.0, 3.0))),
        ("7 x 3, small variances, large residuals, floor 1e-4",
         _nll_inputs(7, 3, 1e-4, raw=(-11.0, -6.0), noise=3.0)),
        ("raw far below the floor on blank pixels (r = 0), floor 0.01", _below_floor),
        ("3 x 5, a third of the residuals exactly 0, floor 0.01",
         _nll_inputs(3, 5, 0.01, exact=0.33))]),
    fd=_nll_fd,
    integration=_nll_integration,
    mistakes=(
        Mistake("dlogvar_missing_half",
                "your dlogvar is twice the correct value: every term of the NLL carries the "
                "factor 1/2, the one with s in the exponent too",
                _nll_variant(half=1.0),
                (("dlogvar = 0.5 * (1.0 - r2v) / n", "dlogvar = (1.0 - r2v) / n"),),
                forms=((("dlogvar = 0.5 * (1.0 - r2v) / n",
                         "dlogvar = (1.0 - r * r / np.exp(logvar)) / n"),),)),
        Mistake("floor_gradient_let_through",
                "your draw ignores the floor: where raw lies far below log(var_floor) the "
                "floor holds s up, and lowering raw barely moves s; the slope of "
                "s = l + softplus(raw - l) in raw lies between 0 and 1, and your backward "
                "used 1",
                _nll_variant(slope=False),
                (("    draw = ds * slope\n", "    draw = ds\n"),),
                forms=((("slope = 1 / (1 + np.exp(-u))                         # softplus'(u)",
                         "slope = np.ones_like(u)            # the floor only shifts s"),),)),
        Mistake("log_2pi_dropped",
                "your L lacks the constant: minus the log of the normal density has "
                "1/2 log(2 pi) in every term; it has no gradient, but L in nats needs it "
                "(likelihoods of different models are compared by it)",
                _nll_variant(log2pi=False),
                (("0.5 * (np.log(2 * np.pi) + logvar + r2v)", "0.5 * (logvar + r2v)"),),
                forms=((("value = float(np.sum(0.5 * (np.log(2 * np.pi) + logvar + r2v))) / n",
                         "value = 0.5 * float(np.sum(logvar) + np.sum(r2v)) / n"),),)),
        Mistake("mean_over_features",
                "you averaged over the features too: the convention is a sum over an "
                "example's features and a mean over the batch, for L and its gradients",
                _nll_variant(per_feature=True),
                (("    n = mu.shape[0]\n", "    n = mu.size\n"),),
                forms=((("value = float(np.sum(0.5 * (np.log(2 * np.pi) + logvar + r2v))) / n",
                         "value = float(np.mean(0.5 * (np.log(2 * np.pi) + logvar + r2v)))"),
                        ("dmu = -(r * inv_v) / n", "dmu = -(r * inv_v) / (n * mu.shape[1])"),
                        ("dlogvar = 0.5 * (1.0 - r2v) / n",
                         "dlogvar = 0.5 * (1.0 - r2v) / r2v.size")),)),
        Mistake("variance_as_std",
                "you took exp(s) as the standard deviation: s is the log-variance, so "
                "exp(s) is the variance and the standard deviation is exp(s / 2)",
                _nll_variant(std=True),
                (("inv_v = np.exp(-logvar)", "inv_v = np.exp(-2 * logvar)"),
                 ("np.log(2 * np.pi) + logvar + r2v", "np.log(2 * np.pi) + 2 * logvar + r2v"),
                 ("dlogvar = 0.5 * (1.0 - r2v) / n", "dlogvar = (1.0 - r2v) / n")),
                forms=((("    r = target - mu\n",
                         "    r = target - mu\n    sigma = np.exp(logvar)\n"),
                        ("inv_v = np.exp(-logvar)", "inv_v = 1 / (sigma * sigma)"),
                        ("0.5 * (np.log(2 * np.pi) + logvar + r2v)",
                         "0.5 * np.log(2 * np.pi) + np.log(sigma) + 0.5 * r2v"),
                        ("dlogvar = 0.5 * (1.0 - r2v) / n",
                         "dlogvar = (1.0 - r * r / sigma ** 2) / n")),)),
        Mistake("dmu_sign",
                "your dmu has the wrong sign: the residual is r = x - mu, so r falls as mu "
                "rises (dr/dmu = -1)",
                _nll_variant(mu_sign=1.0),
                (("dmu = -(r * inv_v) / n", "dmu = (r * inv_v) / n"),),
                forms=((("dmu = -(r * inv_v) / n", "dmu = (mu - target) * -inv_v / n"),),)),
        Mistake("floor_not_logged",
                "your floor sits at l = var_floor: the floor is on the variance e^s, so on "
                "the log-variance s it sits at l = log(var_floor)",
                _nll_variant(logged=False),
                (("log_floor = raw.dtype.type(np.log(var_floor))",
                  "log_floor = raw.dtype.type(var_floor)"),),
                forms=((("    s = log_floor + np.maximum(u, 0) + np.log1p(np.exp(-np.abs(u)))",
                         "    s = np.logaddexp(raw.dtype.type(var_floor), raw)"),
                        ("    u = raw - log_floor\n",
                         "    u = raw - raw.dtype.type(var_floor)\n")),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Write one term, $\ell_{nj} = \frac{1}{2N}\left(\log 2\pi + s_{nj} + r_{nj}^2\, e^{-s_{nj}}\right)$
with $r_{nj} = x_{nj} - \mu_{nj}$: it holds $\mu_{nj}$ and $s_{nj}$ and no other entry, so
each gradient is one such derivative per entry. Write $1/e^{s}$ as $e^{-s}$ before you
differentiate in $s$. For the floor, differentiate $\log(1 + e^{u})$ in $u$; what function
of $u$ is that?""",
    r"""In $\mu$: $\partial (r^2) / \partial \mu = -2r$. In $s$: two places, the $s$ itself
(derivative 1) and $e^{-s}$ (derivative $-e^{-s}$); both keep the factor $\frac{1}{2N}$.
$\frac{d}{du} \log(1 + e^{u}) = \frac{e^{u}}{1 + e^{u}}$, the logistic function $\sigma(u)$
of $u = \text{raw} - l$: near 1 far above the floor, near 0 far below it. The backward
multiplies $ds$ by that slope entry by entry; keep $u$ (or raw) in the cache.""",
    r"""$$\frac{\partial L}{\partial \mu} = -\frac{r\, e^{-s}}{N}, \qquad
\frac{\partial L}{\partial s} = \frac{1}{2N}\left(1 - r^2 e^{-s}\right), \qquad
\frac{\partial L}{\partial\,\text{raw}} = \frac{\partial L}{\partial s}\, \sigma(\text{raw} - l).$$

In NumPy, with `inv_v = np.exp(-logvar)` and `r2v = r * r * inv_v`:
`dmu = -(r * inv_v) / n`, `dlogvar = 0.5 * (1.0 - r2v) / n`, and in the floor's backward
`draw = ds / (1 + np.exp(-u))` with `u = raw - l`.""",
)
