"""Exercise 8: the KL sparsity penalty and its gradient: the spec and its
catalogue of mistakes (the source is ``sources/ex08_kl_sparsity.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


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
        ("width 1", _kl_inputs(6, 1, rho=0.2, beta=0.7)), ("batch 50", _kl_inputs(50, 3))]),
    fd=_kl_fd,
    integration=lambda f: [train(f, ("kl_sparsity",), "your KL penalty",
                                 penalty=("kl", 0.05, 1.0))],
    mistakes=(
        Mistake("missing_1_over_n",
                "your dh is N times too large: rho_hat_j is the mean of h_nj over the batch, "
                "so d rho_hat_j / dh_nj = 1/N",
                _kl_variant(grad_n=False),
                (("drho_hat / n", "drho_hat"),),
                forms=((("dh = np.broadcast_to(drho_hat / n, h.shape).astype(h.dtype)",
                         "dh = np.tile(drho_hat, (n, 1)).astype(h.dtype)"),),)),
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
                  "beta * (np.log(rho_hat / rho) - np.log((1 - rho_hat) / (1 - rho)))")),
                forms=((("rho * np.log(rho / rho_hat)\n                                + (1 - rho) * "
                         "np.log((1 - rho) / (1 - rho_hat))",
                         "rho_hat * (np.log(rho_hat) - np.log(rho))\n"
                         "                                + (1 - rho_hat) * (np.log(1 - rho_hat) "
                         "- np.log(1 - rho))"),
                        ("beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))",
                         "beta * np.log(rho_hat * (1 - rho) / (rho * (1 - rho_hat)))")),)),
        Mistake("value_over_n",
                "your P is divided by N: the penalty is a function of the whole batch "
                "(through rho_hat) and has no 1/N of its own; the 1/N is inside rho_hat",
                _kl_variant(value_n=True),
                (("(1 - rho) / (1 - rho_hat))))", "(1 - rho) / (1 - rho_hat)))) / n"),),
                forms=((("    drho_hat = beta * (",
                         "    value = value / h.shape[0]              # per example\n"
                         "    drho_hat = beta * ("),),)),
        Mistake("beta_missing_in_gradient",
                "beta is missing from dh: it multiplies the penalty, so it multiplies its "
                "gradient too",
                _kl_variant(grad_beta=False),
                (("drho_hat = beta * (", "drho_hat = ("),),
                forms=((("drho_hat = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))",
                         "drho_hat = (1 - rho) / (1 - rho_hat) - rho / rho_hat"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Expand the KL,

$$\mathrm{KL}(\rho \,\|\, r) = \rho \log \rho - \rho \log r + (1 - \rho) \log(1 - \rho) - (1 - \rho) \log(1 - r),$$

and differentiate it in $r$: the terms in $\rho$ alone are constants. Then

$$\frac{\partial P}{\partial h_{nj}} = \beta\, \frac{d\,\mathrm{KL}}{dr}\Big|_{r = \hat\rho_j} \frac{\partial \hat\rho_j}{\partial h_{nj}}.$$""",
    r"""$\frac{d}{dr} \mathrm{KL}(\rho \,\|\, r) = -\frac{\rho}{r} + \frac{1 - \rho}{1 - r}$,
and $\hat\rho_j = \frac1N \sum_n h_{nj}$ changes by $1/N$ per unit of $h_{nj}$, for
every $n$ (other units' $\hat\rho$ do not move). So dh has one value per unit, the same
on every row: compute an $(n_h,)$ vector and broadcast it to $h$'s shape
(`np.broadcast_to(v, h.shape).astype(h.dtype)` gives a writable array in $h$'s dtype).""",
    r"""$$\frac{\partial P}{\partial h_{nj}} = \frac{\beta}{N}\left(-\frac{\rho}{\hat\rho_j}
+ \frac{1 - \rho}{1 - \hat\rho_j}\right).$$

This $1/N$ comes from $\hat\rho_j$, not from a batch mean: $P$ itself has none.""",
)
