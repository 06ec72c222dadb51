"""Exercise 22: LayerNorm forward and backward (the MAE's normalisation):
the spec and its catalogue of mistakes (the source is
``sources/ex22_layernorm.py``)."""

import numpy as np

from .... import functional as F
from ..specs import F64, Case, Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .small_runs import compare


def _ln_program(f, x, gamma, beta, eps, dout):
    out, cache = f["layernorm_forward"](x, gamma, beta, eps)
    dx, dgamma, dbeta = f["layernorm_backward"](dout, cache)
    return {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}


def _ln_inputs(shape, eps=1e-5, offset=0.0, spread=1.0):
    """Rows of ``offset + spread * N(0, 1)``, random gamma, beta and dout."""
    def make(rng):
        d = shape[-1]
        return {"x": offset + spread * rng.standard_normal(shape),
                "gamma": rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d),
                "beta": rng.standard_normal(d), "eps": eps,
                "dout": rng.standard_normal(shape)}
    return make


def _ln_cases(rng):
    """Both dtypes, and one float64 case of width 2 with entries about 1
    apart: there xhat = +-1 to within eps, so out hardly moves with x and dx
    is of the size of eps, a difference of two numbers near 1 that float32
    cannot resolve (its rounding is 1% of dx)."""
    cases = _cases(rng, [
        ("batch 4, width 6", _ln_inputs((4, 6))),
        ("tokens (N, T, D) = (2, 3, 5)", _ln_inputs((2, 3, 5))),
        ("batch 1, odd width 7", _ln_inputs((1, 7))),
        ("width 1 (variance 0)", _ln_inputs((5, 1))),
        ("width 2, entries 0.003 apart", _ln_inputs((3, 2), spread=0.003)),
        ("tokens (1, 4, 3), eps 0.1", _ln_inputs((1, 4, 3), eps=0.1)),
        ("rows offset by 1000", _ln_inputs((3, 5), offset=1000.0)),
        ("rows of spread 0.003 (variance near eps)", _ln_inputs((4, 9), spread=0.003))])
    return cases + [Case("width 2, float64", F64, _ln_inputs((3, 2))(rng))]


def _ln_fd(f, rng):
    checks = {}
    for label, shape, eps in (("tokens (2, 3, 5)", (2, 3, 5), 1e-5),
                              ("(4, 3), eps 0.1", (4, 3), 0.1)):
        x, r = rng.standard_normal(shape), rng.standard_normal(shape)
        gamma, beta = rng.uniform(0.5, 2.0, shape[-1]), rng.standard_normal(shape[-1])
        dx, dgamma, dbeta = f["layernorm_backward"](r, f["layernorm_forward"](
            x, gamma, beta, eps)[1])

        def loss(x=x, gamma=gamma, beta=beta, eps=eps, r=r):
            return float(np.sum(f["layernorm_forward"](x, gamma, beta, eps)[0] * r))
        checks[f"sum(out r), {label}"] = (loss, {"x": x, "gamma": gamma, "beta": beta},
                                          {"x": dx, "gamma": dgamma, "beta": dbeta})
    return checks


def _ln_variant(dx_terms=("mean", "var"), eps_inside=True, ddof=0, params="rows"):
    """LayerNorm forward and backward with a mistake: ``dx_terms`` the
    correction terms kept in dx ("mean": mu's path, "var": the variance's),
    ``eps_inside`` False for eps added to the standard deviation, None for
    no eps at all,
    ``ddof`` 1 for the unbiased variance, ``params`` how dgamma and dbeta
    collect: "rows" (every row: right), "first" (the first axis only) or
    "mean" (averaged over the rows)."""
    def forward(x, gamma, beta, eps):
        d = x.shape[-1]
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        var = (xc * xc).sum(axis=-1, keepdims=True) / (d - ddof)
        eps = eps if eps_inside is not None else 0.0
        r = 1.0 / np.sqrt(var + eps) if eps_inside is not False else 1.0 / (np.sqrt(var) + eps)
        xhat = xc * r
        return xhat * gamma + beta, (xhat, r, gamma)

    def backward(dout, cache):
        xhat, r, gamma = cache
        g = dout * gamma
        dx = g
        if "mean" in dx_terms:
            dx = dx - g.mean(axis=-1, keepdims=True)
        if "var" in dx_terms:
            dx = dx - xhat * (g * xhat).mean(axis=-1, keepdims=True)
        d = dout.shape[-1]
        if params == "first":
            dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
        else:
            dgamma = (dout * xhat).reshape(-1, d).sum(axis=0)
            dbeta = dout.reshape(-1, d).sum(axis=0)
            if params == "mean":
                rows = dout.size // d
                dgamma, dbeta = dgamma / rows, dbeta / rows
        return r * dx, dgamma, dbeta
    return {"layernorm_forward": forward, "layernorm_backward": backward}


_DX = "dx = r * (g - g.mean(axis=-1, keepdims=True)\n              - xhat * (g * xhat).mean(axis=-1, keepdims=True))"
_PARAMS = ("dgamma = (dout * xhat).reshape(-1, d).sum(axis=0)\n"
           "    dbeta = dout.reshape(-1, d).sum(axis=0)")


LAYERNORM = Exercise(
    number=22, slug="layernorm", title="LayerNorm forward and backward",
    functions=("layernorm_forward", "layernorm_backward"),
    reference={"layernorm_forward": F.layernorm_forward,
               "layernorm_backward": F.layernorm_backward},
    program=_ln_program,
    cases=_ln_cases,
    fd=_ln_fd,
    integration=lambda f: [compare("layernorm", f, ("layernorm_forward", "layernorm_backward"),
                                   what="your LayerNorm")],
    mistakes=(
        Mistake("statistics_held_constant",
                "your dx treats the row's mean and variance as constants: both are "
                "functions of every entry of the row, so each x_j moves every xhat_i of "
                "its row (through mu and through sigma), not only xhat_j",
                _ln_variant(dx_terms=()),
                ((_DX, "dx = r * g"),),
                forms=((("cache = (xhat, r, gamma)", "cache = (xhat, var, gamma, eps)"),
                        ("xhat, r, gamma = cache", "xhat, var, gamma, eps = cache"),
                        (_DX, "dx = dout * gamma / np.sqrt(var + eps)")),)),
        Mistake("variance_path_missing",
                "your dx holds the path through the mean but not the path through the "
                "variance: sigma^2 depends on every x_j too, so differentiate "
                "1 / sqrt(sigma^2 + eps) as well (product rule on (x_i - mu) times it)",
                _ln_variant(dx_terms=("mean",)),
                ((_DX, "dx = r * (g - g.mean(axis=-1, keepdims=True))"),),
                forms=(((_DX, "dx = r * g - r * g.sum(axis=-1, keepdims=True) / "
                              "g.shape[-1]"),),)),
        Mistake("mean_path_missing",
                "your dx holds the path through the variance but not the path through "
                "the mean: x_i - mu changes with every x_j of the row, by -1/D through mu",
                _ln_variant(dx_terms=("var",)),
                ((_DX, "dx = r * (g - xhat * (g * xhat).mean(axis=-1, keepdims=True))"),),
                forms=(((_DX, "dx = r * g - xhat * r * np.einsum('...i,...i->...', g, "
                              "xhat)[..., None] / xhat.shape[-1]"),),)),
        Mistake("eps_outside_sqrt",
                "eps belongs inside the square root, 1 / sqrt(sigma^2 + eps): added to "
                "the standard deviation it is a different normalisation, far off when a "
                "row's variance is near eps",
                _ln_variant(eps_inside=False),
                (("r = 1.0 / np.sqrt(var + eps)", "r = 1.0 / (np.sqrt(var) + eps)"),),
                forms=((("r = 1.0 / np.sqrt(var + eps)",
                         "r = 1.0 / (x.std(axis=-1, keepdims=True) + eps)"),),)),
        Mistake("eps_missing",
                "there is no eps in your normalisation: a row whose entries are all equal "
                "(every row of width 1) has variance 0 and gives 0/0; divide by "
                "sqrt(sigma^2 + eps)",
                _ln_variant(eps_inside=None),
                (("r = 1.0 / np.sqrt(var + eps)", "r = 1.0 / np.sqrt(var)"),),
                forms=((("xhat = xc * r", "xhat = xc / x.std(axis=-1, keepdims=True)"),
                        ("r = 1.0 / np.sqrt(var + eps)", "r = 1.0 / x.std(axis=-1, "
                                                         "keepdims=True)")),)),
        Mistake("unbiased_variance",
                "LayerNorm's variance is the biased one, the mean of (x_i - mu)^2 over the "
                "D entries (divide by D, not D - 1; with D = 1 that is 0/0)",
                _ln_variant(ddof=1),
                (("var = (xc * xc).mean(axis=-1, keepdims=True)",
                  "var = (xc * xc).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1)"),),
                forms=((("var = (xc * xc).mean(axis=-1, keepdims=True)",
                         "var = x.var(axis=-1, ddof=1, keepdims=True)"),),)),
        Mistake("params_summed_over_first_axis_only",
                "gamma and beta act on every row: every example and, for tokens "
                "(N, T, D), every token; sum dgamma and dbeta over all the leading axes, "
                "not only the first (they must have shape (D,))",
                _ln_variant(params="first"),
                ((_PARAMS, "dgamma = (dout * xhat).sum(axis=0)\n    dbeta = dout.sum(axis=0)"),),
                forms=(((_PARAMS, "dgamma = sum(dout * xhat)\n    dbeta = sum(dout)"),),)),
        Mistake("params_averaged",
                "you averaged dgamma and dbeta over the rows: each row's out depends on "
                "gamma and beta and the loss already has its own 1/N, so their gradients "
                "are sums over the rows",
                _ln_variant(params="mean"),
                ((_PARAMS, "dgamma = (dout * xhat).reshape(-1, d).mean(axis=0)\n"
                           "    dbeta = dout.reshape(-1, d).mean(axis=0)"),),
                forms=(((_PARAMS, "rows = dout.size // d\n"
                                  "    dgamma = (dout * xhat).reshape(-1, d).sum(axis=0) / rows\n"
                                  "    dbeta = dout.reshape(-1, d).sum(axis=0) / rows"),),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Write $r = (\sigma^2 + \epsilon)^{-1/2}$, so $\hat x_i = (x_i - \mu)\, r$ with $\mu$
and $r$ both functions of the whole row. Let $g_i = \text{dout}_i \gamma_i$, the gradient
reaching $\hat x_i$. You need $\partial \hat x_i / \partial x_j$ for every pair $(i, j)$
of the same row: differentiate the product $(x_i - \mu) \cdot r$, and find
$\partial \mu / \partial x_j$ and $\partial r / \partial x_j$ first (the second through
$\sigma^2$). Rows do not talk to each other, so one row is enough.""",
    r"""$\partial \mu / \partial x_j = 1/D$. In $\partial \sigma^2 / \partial x_j$ the path
through $\mu$ drops out because $\sum_i (x_i - \mu) = 0$, leaving
$\frac{2}{D}(x_j - \mu)$; then
$\partial r / \partial x_j = -\frac12 r^3\, \partial \sigma^2 / \partial x_j = -r^2 \hat x_j / D$.
The product rule gives
$\partial \hat x_i / \partial x_j = r\,(\delta_{ij} - \frac1D - \hat x_i \hat x_j / D)$.
Multiply by $g_i$ and sum over $i$: each of the three terms becomes a per-row quantity
(`mean(axis=-1, keepdims=True)` keeps it broadcastable). For $\gamma$ and $\beta$,
fold every leading axis into one: `a.reshape(-1, D).sum(axis=0)`.""",
    r"""$$dx_j = r\left(g_j - \frac1D \sum_i g_i - \hat x_j\, \frac1D \sum_i g_i \hat x_i\right),
\qquad g = \text{dout} \odot \gamma,$$

$$d\gamma = \sum_\text{rows} \text{dout} \odot \hat x, \qquad d\beta = \sum_\text{rows} \text{dout}.$$

In NumPy, with `cache = (xhat, r, gamma)`:
`dx = r * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))`,
`dgamma = (dout * xhat).reshape(-1, D).sum(axis=0)`, `dbeta = dout.reshape(-1, D).sum(axis=0)`.
Each row of $dx$ sums to 0 and is orthogonal to $\hat x$.""",
)
