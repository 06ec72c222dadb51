"""Exercise 9: reparameterisation, the Gaussian KL and their backward: the spec
and its catalogue of mistakes (the source is
``sources/ex09_reparam_kl.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


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
    fd=_vae_fd,
    integration=lambda f: [train(f, ("reparameterize_kl", "reparameterize_kl_backward"),
                                 "your reparameterisation", kind="vae")],
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
                 ("(sigma * sigma - 1.0)", "(sigma - 1.0)")),
                forms=((("z = mu + sigma * eps", "z = mu + np.exp(logvar) * eps"),
                        ("0.5 * dz * eps * sigma", "dz * eps * sigma * sigma")),)),
        Mistake("dlogvar_doubled",
                "your dlogvar is twice the correct value: the 1/2 from sigma = "
                "exp(logvar / 2) is missing (dz/dlogvar = eps sigma / 2, dKL/dlogvar = "
                "(exp(logvar) - 1) / 2)",
                _vae_variant(sample_half=1.0, kl_half=1.0),
                (("0.5 * dz * eps * sigma + 0.5 * beta", "dz * eps * sigma + beta"),),
                forms=((("dlogvar = 0.5 * dz * eps * sigma + 0.5 * beta * (sigma * sigma - 1.0) / n",
                         "dlogvar = (n * dz * eps * sigma + beta * (sigma ** 2 - 1.0)) / n"),),)),
        Mistake("sample_path_missing_half",
                "the sample path of your dlogvar lacks the 1/2: z = mu + exp(logvar / 2) "
                "eps, so dz/dlogvar = eps sigma / 2",
                _vae_variant(sample_half=1.0),
                (("0.5 * dz * eps * sigma", "dz * eps * sigma"),),
                forms=((("dlogvar = 0.5 * dz * eps * sigma + 0.5 * beta * (sigma * sigma - 1.0) / n",
                         "dlogvar = dz * (eps * sigma) + beta * (sigma * sigma - 1.0) / (2 * n)"),),)),
        Mistake("kl_summed_over_batch",
                "you summed the KL over the batch; the convention is sum over the latent "
                "dimensions, mean over the batch (and its gradients carry the same 1/N)",
                _vae_variant(per_batch=False),
                (("1.0 - logvar)) / n", "1.0 - logvar))"),
                 ("dmu = dz + beta * mu / n", "dmu = dz + beta * mu"),
                 ("(sigma * sigma - 1.0) / n", "(sigma * sigma - 1.0)")),
                forms=((("kl = 0.5 * float(np.sum(sigma * sigma + mu * mu - 1.0 - logvar)) / n",
                         "kl = float(np.sum(0.5 * (sigma * sigma + mu * mu - 1.0 - logvar)))"),
                        ("dmu = dz + beta * mu / n", "dmu = beta * mu + dz"),
                        ("dlogvar = 0.5 * dz * eps * sigma + 0.5 * beta * (sigma * sigma - 1.0) / n",
                         "dlogvar = 0.5 * (dz * eps * sigma + beta * (sigma * sigma - 1.0))")),)),
        Mistake("beta_missing_in_gradient",
                "beta is missing from the KL's gradients: the loss is recon + beta KL, so "
                "dmu and dlogvar get beta times the KL's derivatives",
                _vae_variant(beta_grad=False),
                (("dmu = dz + beta * mu / n", "dmu = dz + mu / n"),
                 ("0.5 * beta * (sigma", "0.5 * (sigma")),
                forms=((("dmu = dz + beta * mu / n", "dmu = dz + mu / n"),
                        ("0.5 * beta * (sigma * sigma - 1.0) / n",
                         "(sigma * sigma - 1.0) / (2 * n)")),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Start with $\sigma = e^{\text{logvar}/2}$: what is
$\partial \sigma / \partial\, \text{logvar}$? Then
$z_{nd} = \mu_{nd} + \sigma_{nd} \epsilon_{nd}$ depends on $\mu_{nd}$ and
$\text{logvar}_{nd}$ only (the same entry), so the sample path of each gradient is $dz$
times a partial derivative, entry by entry.""",
    r"""$\partial \sigma / \partial\,\text{logvar} = \sigma / 2$, so
$\partial z / \partial \mu = 1$ and
$\partial z / \partial\,\text{logvar} = \epsilon\, \sigma / 2$. The KL path: the term
$(n, d)$ of the KL is $\frac{1}{2N}(e^{\text{logvar}} + \mu^2 - 1 - \text{logvar})$ (as
$\sigma^2 = e^{\text{logvar}}$); differentiate it in $\mu$ and in logvar, multiply by
$\beta$, and add it to the sample path. The cache `(mu, eps, sigma)` holds all you need.""",
    r"""$$d\mu = dz + \frac{\beta}{N}\, \mu, \qquad
d\,\text{logvar} = \tfrac12\, dz\, \epsilon\, \sigma + \frac{\beta}{2N}\left(\sigma^2 - 1\right).$$

In NumPy: `dmu = dz + beta * mu / n` and
`dlogvar = 0.5 * dz * eps * sigma + 0.5 * beta * (sigma * sigma - 1.0) / n`.""",
)
