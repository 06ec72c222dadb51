"""Exercise 23: the diffusion model's noise-prediction loss and its gradient
(with the noised input and the score estimate): the spec and its catalogue
of mistakes (the source is ``sources/ex23_noise_loss.py``)."""

import numpy as np

from .... import functional as F
from ....models.diffusion import alpha_bars, diffuse, noise_to_score
from ..specs import Exercise, Mistake, Raised, attempt
from ..specs import cases_in_both_dtypes as _cases
from .small_runs import compare

#: Lesson 19's ladder: alpha_bar of levels 1..100, from 0.998 down to 4.3e-5.
_LADDER = alpha_bars(100)


def _noise_program(f, x0, eps, alpha_bar, eps_hat):
    x_t = attempt(f["diffuse"], x0, eps, alpha_bar)
    loss_grad = attempt(f["mse_loss"], eps_hat, eps)
    loss, deps_hat = (loss_grad, loss_grad) if isinstance(loss_grad, Raised) else loss_grad
    score = attempt(f["noise_to_score"], eps_hat, alpha_bar)
    return {"x_t": x_t, "loss": loss, "deps_hat": deps_hat, "score": score}


def _noise_inputs(n, d, levels=None, error=0.5):
    """x0 of scale 2, eps ~ N(0, 1), a level per row (random in 1..100, or
    ``levels``) and a prediction eps_hat = eps + ``error`` N(0, 1)."""
    def make(rng):
        t = rng.integers(1, 101, size=n) if levels is None else np.resize(levels, n)
        eps = rng.standard_normal((n, d))
        return {"x0": 2 * rng.standard_normal((n, d)), "eps": eps,
                "alpha_bar": _LADDER[t - 1],
                "eps_hat": eps + error * rng.standard_normal((n, d))}
    return make


def _noise_fd(f, rng):
    eps_hat, eps = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, deps_hat = f["mse_loss"](eps_hat, eps)
    return {"mse_loss(eps_hat, eps)": (lambda: float(f["mse_loss"](eps_hat, eps)[0]),
                                       {"eps_hat": eps_hat}, {"eps_hat": deps_hat})}


def _noise_variant(shrink=0.5, spread=0.5, per_row=True, average="batch", two=2.0,
                   half_loss=False, score="divide"):
    """The three functions with a mistake: ``shrink`` and ``spread`` the
    powers of alpha_bar and 1 - alpha_bar (0.5: the square roots), ``per_row``
    False for alpha_bar broadcast along the last axis, ``average`` "batch",
    "all" (every entry) or "none", ``two`` the factor of the gradient,
    ``half_loss`` a loss with 1/2 in front, ``score`` "divide" (right),
    "plus" (the sign lost) or "times" (multiplied by sigma)."""
    def level(alpha_bar):
        return alpha_bar[:, None] if per_row else alpha_bar

    def diffuse_(x0, eps, alpha_bar):
        ab = level(alpha_bar)
        return ab ** shrink * x0 + (1 - ab) ** spread * eps

    def mse_loss(pred, target):
        diff = pred - target
        count = {"batch": pred.shape[0], "all": diff.size, "none": 1}[average]
        loss = float(np.sum(diff * diff)) / count * (0.5 if half_loss else 1.0)
        return loss, two * diff / count

    def noise_to_score(eps_hat, alpha_bar):
        sigma = (1 - level(alpha_bar)) ** spread
        return {"divide": -eps_hat / sigma, "plus": eps_hat / sigma,
                "times": -eps_hat * sigma}[score]
    return {"diffuse": diffuse_, "mse_loss": mse_loss, "noise_to_score": noise_to_score}


_X_T = "x_t = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps"
_SCORE = "score = -eps_hat / sigma"
_LOSS = "loss = float(np.sum(diff * diff)) / n"
_GRAD = "dpred = 2 * diff / n"


NOISE_LOSS = Exercise(
    number=23, slug="noise_loss", title="the noise-prediction loss and its gradient",
    functions=("diffuse", "mse_loss", "noise_to_score"),
    reference={"diffuse": diffuse, "mse_loss": F.mse_loss, "noise_to_score": noise_to_score},
    program=_noise_program,
    cases=lambda rng: _cases(rng, [
        ("batch 8, 2-D points (lesson 19's)", _noise_inputs(8, 2)),
        ("batch 5, D 7", _noise_inputs(5, 7)),
        ("batch 1, D 4", _noise_inputs(1, 4)),
        ("width 1 (D 1), batch 6", _noise_inputs(6, 1)),
        ("batch 3, D 3 (square)", _noise_inputs(3, 3)),
        ("levels 1 and 100 (nearly clean, pure noise)", _noise_inputs(4, 5, levels=[1, 100])),
        ("an untrained network (eps_hat far from eps)", _noise_inputs(6, 3, error=5.0)),
        ("digit-sized rows, D 196, batch 2", _noise_inputs(2, 196))]),
    fd=_noise_fd,
    integration=lambda f: [compare("diffusion", f, ("diffuse", "mse_loss"),
                                   what="your diffuse and mse_loss")],
    mistakes=(
        Mistake("alpha_bar_not_sqrt",
                "your x_t shrinks x0 by alpha_bar: the closed form shrinks it by "
                "sqrt(alpha_bar) (each step multiplies by sqrt(alpha_t), and the alpha_t "
                "multiply up to alpha_bar)",
                _noise_variant(shrink=1.0),
                ((_X_T, "x_t = ab * x0 + np.sqrt(1 - ab) * eps"),),
                forms=(((_X_T, "x_t = alpha_bar[:, None] * x0 "
                               "+ np.sqrt(1 - alpha_bar[:, None]) * eps"),),)),
        Mistake("noise_level_not_sqrt",
                "1 - alpha_bar is the variance of the noise in x_t; its standard deviation, "
                "sigma = sqrt(1 - alpha_bar), is what multiplies eps (and relates the "
                "noise to the score)",
                _noise_variant(spread=1.0),
                ((_X_T, "x_t = np.sqrt(ab) * x0 + (1 - ab) * eps"),
                 ("sigma = np.sqrt(1 - alpha_bar)[:, None]", "sigma = (1 - alpha_bar)[:, None]")),
                forms=(((_SCORE, "score = -eps_hat / (1.0 - alpha_bar[:, None])"),),
                       ((_X_T, "x_t = np.sqrt(ab) * x0 + eps * (1 - ab)"),))),
        Mistake("level_not_per_row",
                "alpha_bar has one entry per row, shape (N,): against an (N, D) array it "
                "broadcasts along the last axis (one level per column, or a shape error); "
                "make it (N, 1) first",
                _noise_variant(per_row=False),
                (("ab = alpha_bar[:, None]", "ab = alpha_bar"),
                 ("sigma = np.sqrt(1 - alpha_bar)[:, None]", "sigma = np.sqrt(1 - alpha_bar)")),
                forms=(((_X_T, "x_t = np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * eps"),),
                       ((_SCORE, "score = -eps_hat * (1 / np.sqrt(1 - alpha_bar))"),))),
        Mistake("mean_over_dimensions",
                "you averaged over the D dimensions too: the course's loss (and "
                "DiffusionModel's) is summed over an example's dimensions and averaged "
                "over the batch only, and its gradient has the same 1/N",
                _noise_variant(average="all"),
                ((_LOSS, "loss = float(np.mean(diff * diff))"),
                 (_GRAD, "dpred = 2 * diff / diff.size")),
                forms=(((_LOSS, "loss = float(np.sum(diff * diff)) / (n * pred.shape[1])"),
                        (_GRAD, "dpred = 2 * diff / (n * pred.shape[1])")),)),
        Mistake("factor_2_missing",
                "your dpred is half the gradient: d/de (e - eps)^2 = 2 (e - eps). (A loss "
                "written with 1/2 in front has no 2 in its gradient, but this loss has no "
                "1/2)",
                (_noise_variant(two=1.0), _noise_variant(two=1.0, half_loss=True)),
                ((_GRAD, "dpred = diff / n"),),
                forms=(((_LOSS, "loss = 0.5 * float(np.sum(diff * diff)) / n"),
                        (_GRAD, "dpred = (pred - target) / n")),)),
        Mistake("no_batch_mean",
                "your loss (or its gradient) is summed over the batch: the loss is a mean "
                "over the N examples, so every term, and every entry of dpred, has a 1/N",
                _noise_variant(average="none"),
                ((_LOSS, "loss = float(np.sum(diff * diff))"), (_GRAD, "dpred = 2 * diff")),
                forms=(((_LOSS, "loss = float((diff ** 2).sum())"), (_GRAD, "dpred = diff + diff")),)),
        Mistake("score_sign",
                "your score has the wrong sign: the noise that was added points away from "
                "where the density is high, so the score is minus the predicted noise over "
                "sigma",
                _noise_variant(score="plus"),
                ((_SCORE, "score = eps_hat / sigma"),),
                forms=(((_SCORE, "score = eps_hat * (1 / sigma)"),),)),
        Mistake("score_times_sigma",
                "you multiplied by sigma: eps_hat estimates -sigma times the score, so the "
                "score is eps_hat divided by -sigma",
                _noise_variant(score="times"),
                ((_SCORE, "score = -sigma * eps_hat"),),
                forms=(((_SCORE, "score = -eps_hat * np.sqrt(1 - alpha_bar[:, None])"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Only one term of $L = \frac1N \sum_{n, d} (\hat\epsilon_{nd} - \epsilon_{nd})^2$
contains a given $\hat\epsilon_{nd}$: the term with that $n$ and that $d$. Differentiate
it like $u^2$ in $u$, and keep the $1/N$ in front. For the score, start from
$\hat\epsilon \approx -\sigma \nabla \log p_t$ and solve for $\nabla \log p_t$. For
$x_t$, `alpha_bar[:, None]` has shape $(N, 1)$ and broadcasts along each row.""",
    r"""The derivative of $(\hat\epsilon_{nd} - \epsilon_{nd})^2$ in $\hat\epsilon_{nd}$ is
twice the difference; the $1/N$ of the batch mean stays, and no $1/D$ appears (the
dimensions are summed). So `dpred` is the difference times one number. The score is the
prediction divided by the noise level, with a minus sign; the noise level is
$\sigma = \sqrt{1 - \bar\alpha}$ (a standard deviation, not the variance
$1 - \bar\alpha$).""",
    r"""$$x_t = \sqrt{\bar\alpha}\, x_0 + \sqrt{1 - \bar\alpha}\, \epsilon, \qquad
\frac{\partial L}{\partial \hat\epsilon_{nd}} = \frac{2}{N}\big(\hat\epsilon_{nd} - \epsilon_{nd}\big),
\qquad s = -\frac{\hat\epsilon}{\sqrt{1 - \bar\alpha}},$$

each with $\bar\alpha$ of the row. In NumPy: `ab = alpha_bar[:, None]`,
`x_t = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps`; `diff = pred - target`,
`loss = float(np.sum(diff * diff)) / n`, `dpred = 2 * diff / n`;
`score = -eps_hat / np.sqrt(1 - alpha_bar)[:, None]`.""",
)
