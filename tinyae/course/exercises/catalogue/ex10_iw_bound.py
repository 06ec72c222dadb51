"""Exercise 10: the importance-weighted bound (log-sum-exp): the spec and its
catalogue of mistakes (the source is ``sources/ex10_iw_bound.py``)."""

import numpy as np
from scipy.special import logsumexp, softmax

from .. import harness
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases


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


def _iw_spread(k, n, low=-1510.0, high=-10.0):
    """Log weights spread over ``high - low`` nats within each column: half
    the samples near ``high``, half near ``low`` (a VAE's log weights for a
    digit it reconstructs badly). A log-sum-exp shifted by anything but the
    column's max overflows or underflows on them."""
    def make(rng):
        near = np.where(np.arange(k)[:, None] % 2 == 0, high, low)
        return {"log_w": near + rng.uniform(-5, 0, (k, n))}
    return make


def _iw_fd(f, rng):
    log_w, r = -5 + 2 * rng.standard_normal((4, 3)), rng.standard_normal(3)
    _, w = f["iw_bound"](log_w)
    return {"sum(L_k r)": (lambda: float(np.sum(f["iw_bound"](log_w)[0] * r)),
                           {"log_w": log_w}, {"log_w": np.asarray(w) * r[None, :]})}


def _iw_variant(shift="column", minus_log_k=True, mean_log=False, weight_axis=0,
                guard=0.0, batch_softmax=False):
    """iw_bound with a mistake; ``guard`` is added inside the log (and to the
    weights' denominator), as a student guarding log(0) does."""
    def iw_bound(log_w):
        k = log_w.shape[0]
        top = {"column": log_w.max(axis=0), "global": log_w.max(),
               "none": np.zeros(log_w.shape[1], log_w.dtype)}[shift]
        shifted = np.exp(log_w - top)
        total = shifted.sum(axis=0)
        bound = top + np.log(total / k if minus_log_k else total)
        if guard:
            bound = top + np.log(total / k + guard)
        weights = shifted / (shifted.sum(axis=weight_axis, keepdims=True) + guard)
        if batch_softmax:                       # a softmax over the batch, shifted by row
            e = np.exp(log_w - log_w.max(axis=1, keepdims=True))
            weights = e / e.sum(axis=1, keepdims=True)
        if mean_log:
            bound, weights = log_w.mean(axis=0), np.full_like(log_w, 1.0 / k)
        return np.asarray(bound).astype(log_w.dtype), weights.astype(log_w.dtype)
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
        ("examples 1000 nats apart", _iw_inputs(5, 2, offsets=[0.0, -1000.0])),
        ("log w spread over 1500 nats", _iw_spread(4, 3)),
        ("log w spread over 1500 nats, batch 1", _iw_spread(6, 1))]),
    fd=_iw_fd, integration=_iw_integration,
    mistakes=(
        Mistake("no_max_shift",
                "exp(log w) underflowed to 0 (log of 0 is -inf; a log guarded by a small "
                "constant gives the log of that constant instead): a VAE's log weights are "
                "hundreds of nats below 0 and exp(-1000) = 0 in floating point; subtract "
                "each example's largest log w before exponentiating (log-sum-exp)",
                (_iw_variant(shift="none"), _iw_variant(shift="none", guard=1e-7)),
                (("top = log_w.max(axis=0)",
                  "top = np.zeros(log_w.shape[1], dtype=log_w.dtype)"),),
                forms=((("top = log_w.max(axis=0)", "top = 0.0"),
                        ("np.log(total / k)", "np.log(total / k + 1e-7)"),
                        ("weights = shifted / total", "weights = shifted / (total + 1e-7)")),
                       (("bound = top + np.log(total / k)",
                         "bound = np.log(np.exp(log_w).mean(axis=0))"),
                        ("weights = shifted / total",
                         "weights = np.exp(log_w) / np.exp(log_w).sum(axis=0)")))),
        Mistake("global_max",
                "you shifted by one maximum over the whole array: an example whose log "
                "weights lie far below another's still underflows; shift each column "
                "(example) by its own max",
                _iw_variant(shift="global"),
                (("top = log_w.max(axis=0)", "top = log_w.max()"),),
                forms=((("top = log_w.max(axis=0)", "top = log_w.max(axis=0).max()"),),)),
        Mistake("log_sum_not_mean",
                "you computed log sum w, not log mean w: subtract log k (otherwise L_k "
                "grows by log k with k and exceeds log p(x))",
                _iw_variant(minus_log_k=False),
                (("np.log(total / k)", "np.log(total)"),),
                forms=((("bound = top + np.log(total / k)",
                         "from scipy.special import logsumexp\n"
                         "    bound = logsumexp(log_w, axis=0)"),),)),
        Mistake("mean_of_log_weights",
                "you averaged the log weights: that is the ELBO estimate mean log w, which "
                "L_k = log mean w bounds from above (Jensen); the weights are not uniform",
                _iw_variant(mean_log=True),
                (("bound = top + np.log(total / k)", "bound = log_w.mean(axis=0)"),
                 ("weights = shifted / total", "weights = np.full_like(log_w, 1.0 / k)")),
                forms=((("bound = top + np.log(total / k)", "bound = log_w.sum(axis=0) / k"),
                        ("weights = shifted / total", "weights = np.ones_like(log_w) / k")),)),
        Mistake("weights_over_batch",
                "your weights are normalised over the batch; dL_k/dlog w_i is w_i / sum_j "
                "w_j over the k samples of the same example (each column sums to 1)",
                (_iw_variant(weight_axis=1), _iw_variant(batch_softmax=True)),
                (("weights = shifted / total",
                  "weights = shifted / shifted.sum(axis=1, keepdims=True)"),),
                forms=((("weights = shifted / total",
                         "e = np.exp(log_w - log_w.max(axis=1, keepdims=True))\n"
                         "    weights = e / e.sum(axis=1, keepdims=True)"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Write $\ell_i = \log w_i$, so $L_k = \log S - \log k$ with $S = \sum_j e^{\ell_j}$. By
the chain rule
$\partial L_k / \partial \ell_i = \frac{1}{S}\, \partial S / \partial \ell_i$, and only
the term $j = i$ of $S$ depends on $\ell_i$.""",
    r"""$\partial L_k / \partial \ell_i = e^{\ell_i} / \sum_j e^{\ell_j}$: positive, and summing
to 1 over the $k$ samples of an example. Compute it shifted, multiplying top and bottom
by $e^{-m}$: the same number, with no overflow and no underflow to 0/0. The shift
cancels exactly in $L_k$ whatever $m$ is, which is why it adds nothing to the gradient.
Work per column: `max(axis=0)` and `sum(axis=0)` give `(batch,)` arrays, and
broadcasting handles `(k, batch) - (batch,)`.""",
    r"""$$\frac{\partial L_k}{\partial \log w_i} = \frac{w_i}{\sum_j w_j}
= \frac{e^{\log w_i - m}}{\sum_j e^{\log w_j - m}},$$

the softmax of the log weights over the $k$ samples. With `top = log_w.max(axis=0)`,
`shifted = np.exp(log_w - top)` and `total = shifted.sum(axis=0)`:
`bound = top + np.log(total / k)` and `weights = shifted / total`.""",
)
