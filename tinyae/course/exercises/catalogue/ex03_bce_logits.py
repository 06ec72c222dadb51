"""Exercise 3: binary cross-entropy on logits, numerically safe: the spec and
its catalogue of mistakes (the source is ``sources/ex03_bce_logits.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


def _bce_program(f, logits, target):
    loss, dlogits = f["bce_with_logits_loss"](logits, target)
    return {"loss": loss, "dlogits": dlogits}


def _bce_inputs(shape, scale=3.0):
    def make(rng):
        return {"logits": scale * rng.standard_normal(shape),
                "target": rng.uniform(0, 1, shape)}
    return make


def _bce_extremes(rng):
    """Logits at exactly +-60 and +-100 (with ordinary ones between): exp(100)
    overflows float32, so log(1 + exp(z)) fails on every draw."""
    logits = np.array([[60.0, -60.0, 100.0, -100.0, 0.5],
                       [-100.0, 100.0, -60.0, 60.0, -2.0]])
    return {"logits": logits, "target": rng.uniform(0, 1, logits.shape)}


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


def _naive_bce(guard=0.0):
    """The textbook loss on s = sigmoid(z): log(0) = -inf once s rounds to 0
    or 1, or, with a guard added inside the logs, a wrong finite value."""
    def loss(z, t, n):
        s = F.sigmoid(z)
        return float(np.sum(-t * np.log(s + guard) - (1 - t) * np.log(1 - s + guard))) / n
    return loss


BCE = Exercise(
    number=3, slug="bce_logits", title="binary cross-entropy on logits, numerically safe",
    functions=("bce_with_logits_loss",),
    reference={"bce_with_logits_loss": F.bce_with_logits_loss},
    program=_bce_program,
    cases=lambda rng: _cases(rng, [
        ("batch 5 x 8", _bce_inputs((5, 8))), ("batch 1", _bce_inputs((1, 6))),
        ("width 1", _bce_inputs((6, 1))), ("large logits", _bce_inputs((4, 5), scale=60.0)),
        ("logits at exactly +-60 and +-100", _bce_extremes)]),
    fd=_bce_fd,
    integration=lambda f: [train(f, ("bce_with_logits_loss",), "your loss")],
    mistakes=(
        Mistake("mean_over_pixels",
                "you averaged over the pixels too; the convention is sum over the pixels, "
                "mean over the batch (L = (1/N) sum_n sum_d l), so divide by N only",
                _bce_variant(lambda z, t, n: float(np.sum(F.softplus(z) - t * z)) / z.size,
                             lambda z, t, n: (F.sigmoid(z) - t) / z.size),
                (("softplus - target * logits)) / n", "softplus - target * logits)) / logits.size"),
                 ("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = (sigmoid(logits) - target) / logits.size")),
                forms=((("loss = float(np.sum(softplus - target * logits)) / n",
                         "loss = float(np.mean(softplus - target * logits))"),
                        ("dlogits = (sigmoid(logits) - target) / n",
                         "dlogits = (sigmoid(logits) - target) / (n * logits.shape[1])")),)),
        Mistake("summed_over_batch",
                "you summed over the batch; the convention is sum over the pixels, mean "
                "over the batch: divide the loss and its gradient by N",
                _bce_variant(lambda z, t, n: float(np.sum(F.softplus(z) - t * z)),
                             lambda z, t, n: F.sigmoid(z) - t),
                (("softplus - target * logits)) / n", "softplus - target * logits))"),
                 ("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = sigmoid(logits) - target")),
                forms=((("loss = float(np.sum(softplus - target * logits)) / n",
                         "loss = float(np.sum(softplus - target * logits, axis=1).sum())"),
                        ("dlogits = (sigmoid(logits) - target) / n",
                         "dlogits = np.subtract(sigmoid(logits), target)")),)),
        Mistake("unsafe_log",
                "your loss breaks for large logits: log(sigmoid(z)) and log(1 - sigmoid(z)) "
                "hit log(0) once sigmoid rounds to 0 or 1 (|z| > 17 in float32, > 37 in "
                "float64), which gives inf or nan, and a guard such as log(s + 1e-7) only "
                "turns the inf into a wrong finite number. Use the identity "
                "l = softplus(z) - t z, with softplus(z) = max(z, 0) + log1p(exp(-|z|))",
                (_bce_variant(_naive_bce()), _bce_variant(_naive_bce(1e-7))),
                (("loss = float(np.sum(softplus - target * logits)) / n",
                  "s = sigmoid(logits)\n    loss = float(np.sum(-target * np.log(s) - "
                  "(1 - target) * np.log(1 - s))) / n"),),
                forms=((("loss = float(np.sum(softplus - target * logits)) / n",
                         "s = sigmoid(logits)\n    loss = float(np.sum(-target * np.log(s + 1e-7)"
                         " - (1 - target) * np.log(1 - s + 1e-7))) / n"),),
                       (("loss = float(np.sum(softplus - target * logits)) / n",
                         "p = 1 / (1 + np.exp(-logits))\n    loss = -float(np.sum(target * "
                         "np.log(p) + (1 - target) * np.log1p(-p))) / n"),))),
        Mistake("gradient_sign",
                "the sign of dlogits is flipped: d/dz (softplus(z) - t z) = s(z) - t",
                _bce_variant(grad=lambda z, t, n: (t - F.sigmoid(z)) / n),
                (("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = (target - sigmoid(logits)) / n"),),
                forms=((("dlogits = (sigmoid(logits) - target) / n",
                         "dlogits = (sigmoid(-logits) + target - 1) / n"),),)),
        Mistake("gradient_without_sigmoid",
                "your dlogits is the gradient of a squared error, (z - t) / N up to a "
                "factor 2; for BCE on logits it is (s(z) - t) / N, since softplus'(z) = s(z)",
                (_bce_variant(grad=lambda z, t, n: (z - t) / n),
                 _bce_variant(grad=lambda z, t, n: 2 * (z - t) / n)),
                (("dlogits = (sigmoid(logits) - target) / n",
                  "dlogits = (logits - target) / n"),),
                forms=((("dlogits = (sigmoid(logits) - target) / n",
                         "dlogits = 2 * (logits - target) / n"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Each logit appears in exactly one term of $L$, with the weight $1/N$:
$\partial L / \partial z_{nk} = \frac1N\, \partial \ell(z_{nk}, t_{nk}) / \partial z$.
So differentiate $\ell(z, t) = \text{softplus}(z) - t z$ in $z$; the $-tz$ part is easy.""",
    r"""$\frac{d}{dz} \log(1 + e^z) = \frac{e^z}{1 + e^z} = \frac{1}{1 + e^{-z}}$: the
derivative of softplus is the sigmoid. Compute it with the `sigmoid` the exercise
imports (`tinyae.functional.sigmoid`, which never overflows), not with
`1 / (1 + np.exp(-z))`, which overflows with a warning for large negative $z$. For the
loss use the right-hand form of softplus with `np.maximum`, `np.abs` and `np.log1p`, sum
everything, and divide by $N$ once.""",
    r"""$$L = \frac1N \sum_{n,k} \Big(\max(z_{nk}, 0) + \log\big(1 + e^{-|z_{nk}|}\big) - t_{nk} z_{nk}\Big),
\qquad \frac{\partial L}{\partial z} = \frac{s(z) - t}{N}.$$

In NumPy: `loss = float(np.sum(softplus - target * logits)) / n` and
`dlogits = (sigmoid(logits) - target) / n`.""",
)
