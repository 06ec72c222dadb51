"""Exercise 13: the beta-VAE loss for a Bernoulli decoder and its gradients:
the spec and its catalogue of mistakes (the source is
``sources/ex13_beta_vae_loss.py``)."""

import numpy as np

from .... import functional as F
from ..specs import Exercise, Mistake
from ..specs import cases_in_both_dtypes as _cases
from .base import train


def _loss_program(f, x, logits, mu, logvar, beta):
    loss, dlogits, dmu, dlogvar = f["beta_vae_loss"](x, logits, mu, logvar, beta)
    return {"loss": loss, "dlogits": dlogits, "dmu": dmu, "dlogvar": dlogvar}


def _loss_inputs(n, d_x, d, beta, logvar=(-2.0, 1.5)):
    def make(rng):
        return {"x": rng.uniform(0, 1, (n, d_x)), "logits": 3 * rng.standard_normal((n, d_x)),
                "mu": rng.standard_normal((n, d)), "logvar": rng.uniform(*logvar, (n, d)),
                "beta": beta}
    return make


def _extremes(rng):
    """Logits at exactly +-60 and +-100 (exp(100) overflows float32)."""
    logits = np.array([[60.0, -60.0, 100.0, -100.0, 0.5], [-100.0, 100.0, -60.0, 60.0, -2.0],
                       [100.0, -100.0, 60.0, -60.0, 3.0]])
    return {"x": rng.uniform(0, 1, logits.shape), "logits": logits,
            "mu": rng.standard_normal((3, 2)), "logvar": rng.uniform(-2, 1.5, (3, 2)),
            "beta": 2.0}


def _loss_fd(f, rng):
    x, logits = rng.uniform(0, 1, (4, 5)), 3 * rng.standard_normal((4, 5))
    mu, logvar, beta = rng.standard_normal((4, 3)), rng.uniform(-2, 1.5, (4, 3)), 2.5
    _, dlogits, dmu, dlogvar = f["beta_vae_loss"](x, logits, mu, logvar, beta)
    return {"beta-VAE loss": (
        lambda: float(f["beta_vae_loss"](x, logits, mu, logvar, beta)[0]),
        {"logits": logits, "mu": mu, "logvar": logvar},
        {"logits": dlogits, "mu": dmu, "logvar": dlogvar})}


def _variant(beta_on_d=False, kl_n=True, d_over="n", dlogvar="logvar", grad_beta=True):
    """beta_vae_loss with a mistake: ``beta_on_d`` beta times the whole
    loss; ``kl_n`` False: the KL summed over the batch; ``d_over`` "n" or
    "entries" (the BCE averaged over the pixels too); ``dlogvar`` "logvar",
    "variance" (the derivative in exp(logvar)) or "no half"; ``grad_beta``
    False: beta missing from dmu and dlogvar."""
    def beta_vae_loss(x, logits, mu, logvar, beta):
        n = x.shape[0]
        per = n if d_over == "n" else x.size
        recon = float(np.sum(F.softplus(logits) - x * logits)) / per
        kn = n if kl_n else 1
        v = np.exp(logvar)
        kl = 0.5 * float(np.sum(v + mu * mu - 1.0 - logvar)) / kn
        loss = beta * (recon + kl) if beta_on_d else recon + beta * kl
        dlogits = (beta if beta_on_d else 1.0) * (F.sigmoid(logits) - x) / per
        b = (beta if grad_beta else 1.0) / kn
        dv = {"logvar": 0.5 * (v - 1.0), "variance": 0.5 * (1.0 - 1.0 / v),
              "no half": v - 1.0}[dlogvar]
        return (loss, dlogits.astype(x.dtype), (b * mu).astype(x.dtype),
                (b * dv).astype(x.dtype))
    return {"beta_vae_loss": beta_vae_loss}


_RECON = "recon = float(np.sum(softplus - x * logits)) / n"
_DLOGITS = "dlogits = (sigmoid(logits) - x) / n"
_KL = "kl = 0.5 * float(np.sum(np.exp(logvar) + mu * mu - 1.0 - logvar)) / n"
_DMU = "dmu = beta * mu / n"
_DLOGVAR = "dlogvar = 0.5 * beta * (np.exp(logvar) - 1.0) / n"

BETA_VAE_LOSS = Exercise(
    number=13, slug="beta_vae_loss", title="the beta-VAE loss and its gradients",
    functions=("beta_vae_loss",), reference={"beta_vae_loss": F.beta_vae_loss},
    program=_loss_program,
    cases=lambda rng: _cases(rng, [
        ("batch 6, 8 pixels, latent 3, beta 4", _loss_inputs(6, 8, 3, 4.0)),
        ("batch 1, beta 0.5", _loss_inputs(1, 5, 2, 0.5)),
        ("latent 1, beta 2", _loss_inputs(5, 6, 1, 2.0)),
        ("1 pixel, beta 8", _loss_inputs(4, 1, 3, 8.0)),
        ("beta 1 (the ELBO)", _loss_inputs(3, 4, 2, 1.0)),
        ("logvar from -6 to 6, beta 3", _loss_inputs(5, 4, 3, 3.0, logvar=(-6.0, 6.0))),
        ("logits at exactly +-60 and +-100, beta 2", _extremes)]),
    fd=_loss_fd,
    integration=lambda f: [train(f, ("beta_vae_loss",), "your beta-VAE loss", kind="cvae",
                                 beta=2.0)],
    mistakes=(
        Mistake("beta_on_distortion",
                "beta multiplies your distortion too: the beta-VAE's loss is D + beta R, "
                "beta the price of one nat of rate, so the reconstruction term and its "
                "gradient dlogits carry no beta",
                _variant(beta_on_d=True),
                (("loss = recon + beta * kl", "loss = beta * (recon + kl)"),
                 (_DLOGITS, "dlogits = beta * (sigmoid(logits) - x) / n")),
                forms=(((_RECON, "recon = beta * float(np.sum(softplus - x * logits)) / n"),
                        ("loss = recon + beta * kl", "loss = recon + kl * beta"),
                        (_DLOGITS, "dlogits = (sigmoid(logits) - x) * (beta / n)")),)),
        Mistake("kl_summed_over_batch",
                "your KL is summed over the batch: like the distortion, the rate is a sum "
                "over an example's latent units and a mean over the batch, and its "
                "gradients dmu and dlogvar carry the same 1/N",
                _variant(kl_n=False),
                ((_KL, _KL[:-4]), (_DMU, _DMU[:-4]), (_DLOGVAR, _DLOGVAR[:-4])),
                forms=(((_KL, "kl = float(np.sum(0.5 * np.sum(np.exp(logvar) + mu * mu - 1.0 "
                              "- logvar, axis=1)))"),
                        (_DMU, "dmu = beta * mu"),
                        (_DLOGVAR, "dlogvar = beta * (np.exp(logvar) - 1.0) / 2")),)),
        Mistake("bce_mean_over_pixels",
                "you averaged the reconstruction over the pixels too: the convention is "
                "sum over the pixels of an example, mean over the batch, so D and dlogits "
                "are divided by N only",
                _variant(d_over="entries"),
                ((_RECON, _RECON.replace("/ n", "/ x.size")),
                 (_DLOGITS, _DLOGITS.replace("/ n", "/ x.size"))),
                forms=(((_RECON, "recon = float(np.mean(softplus - x * logits))"),
                        (_DLOGITS, "dlogits = (sigmoid(logits) - x) / (n * x.shape[1])")),)),
        Mistake("dlogvar_wrt_variance",
                "your dlogvar is the KL's derivative with respect to the variance "
                "v = exp(logvar), (1 - 1/v) / 2 per unit: the encoder outputs the "
                "log-variance, so the chain rule multiplies by dv/dlogvar = v",
                _variant(dlogvar="variance"),
                (("(np.exp(logvar) - 1.0) / n", "(1.0 - np.exp(-logvar)) / n"),),
                forms=((("(np.exp(logvar) - 1.0) / n", "(1.0 - 1.0 / np.exp(logvar)) / n"),),)),
        Mistake("dlogvar_missing_half",
                "your dlogvar is twice the correct value: each unit's KL is one half of "
                "(exp(logvar) + mu^2 - 1 - logvar), and the 1/2 stays in its derivative",
                _variant(dlogvar="no half"),
                ((_DLOGVAR, _DLOGVAR.replace("0.5 * ", "")),),
                forms=(((_DLOGVAR, "dlogvar = beta * np.expm1(logvar) / n"),),)),
        Mistake("beta_missing_in_gradient",
                "beta is missing from dmu and dlogvar: the loss weighs the KL by beta, so "
                "its gradients are beta times the KL's",
                _variant(grad_beta=False),
                ((_DMU, "dmu = mu / n"), (_DLOGVAR, _DLOGVAR.replace("beta * ", ""))),
                forms=(((_DMU, "dmu = mu / n"),
                        (_DLOGVAR, "dlogvar = (np.exp(logvar) - 1.0) / (2 * n)")),)),
    ))


#: The hints, level 1 (where to start) to 3 (the formula): Markdown with
#: $...$ maths, shown by ``tinyae exercises hint`` and the course book.
HINTS = (
    r"""Look at which argument each term depends on: $D$ on the logits only, $R$ on
$\mu$ and logvar only ($x$ is data). So $\partial L / \partial z$ comes from $D$ alone
and $\partial L / \partial \mu$, $\partial L / \partial\,\text{logvar}$ from
$\beta R$ alone. In each sum, a single entry ($z_{nk}$, $\mu_{nj}$ or
$\text{logvar}_{nj}$) appears in exactly one term: differentiate that term.""",
    r"""For $D$: the derivative of softplus is the sigmoid (the `sigmoid` the exercise
imports never overflows). For $R$: one term is
$\frac{1}{2N}\left(e^{\text{logvar}} + \mu^2 - 1 - \text{logvar}\right)$; differentiate it
in $\mu$, then in logvar itself (not in the variance $e^{\text{logvar}}$), and multiply
both by $\beta$. Compute the loss with the same conventions: sum over an example's
entries, divide by $N$ once per term.""",
    r"""$$\frac{\partial L}{\partial z} = \frac{s(z) - x}{N}, \qquad
\frac{\partial L}{\partial \mu} = \frac{\beta}{N}\, \mu, \qquad
\frac{\partial L}{\partial\,\text{logvar}} = \frac{\beta}{2N}\left(e^{\text{logvar}} - 1\right).$$

In NumPy: `dlogits = (sigmoid(logits) - x) / n`, `dmu = beta * mu / n` and
`dlogvar = 0.5 * beta * (np.exp(logvar) - 1.0) / n`.""",
)
