"""Analytic ground truth for the VAE: probabilistic PCA.

Probabilistic PCA (Tipping and Bishop, 1999) is the generative model

    z ~ N(0, I_q),   x = W z + m + sigma e,   e ~ N(0, I_d),
    so  x ~ N(m, C),  C = W W^T + sigma^2 I_d        (W: (d, q)).

Its maximum-likelihood solution is known in closed form from the sample
covariance S = (1/n) sum_n (x_n - xbar)(x_n - xbar)^T with eigenvalues
lambda_1 >= ... >= lambda_d and eigenvectors U:

    m_ML = xbar,
    sigma^2_ML = (1/(d - q)) sum_{j>q} lambda_j   (mean of the discarded eigenvalues),
    W_ML = U_q (Lambda_q - sigma^2_ML I)^{1/2} R   (R any q x q rotation),

so span(W_ML) is the principal subspace and the singular values of W_ML are
sqrt(lambda_j - sigma^2_ML), j <= q.

A VAE with ``hidden=()`` (affine encoder heads and affine decoder),
``likelihood="gaussian"`` and ``decoder_variance="learned_shared"`` has
exactly this generative model. For it the true posterior p(z | x) is
Gaussian, N(M^{-1} W^T (x - m), sigma^2 M^{-1}) with M = W^T W + sigma^2 I,
with a mean affine in x and a covariance that does not depend on x, so the
affine encoder can represent it, and where q(z | x) = p(z | x) the ELBO
equals log p(x). The encoder's covariance is diagonal, so it can do that only
when W^T W is diagonal; the rotation R is free in the likelihood, so among
the ML solutions there is one with orthogonal columns, and the ELBO picks
it. Hence the global optimum of the ELBO is the ML solution of probabilistic
PCA (Lucas, Tucker, Grosse and Norouzi, 2019, "Don't blame the ELBO! A
linear VAE perspective on posterior collapse"), with orthogonal decoder
columns. This test trains one with Adam through ``tinyae.train.fit`` on
data drawn from a PPCA model and compares it with the closed form.

Tolerances are stated in the asserts; the observed values with the seeds
below (and with two other seed sets): subspace cosines > 0.99999, sigma^2
within 0.5 %, singular values within 2.5 %, the VAE's log-likelihood within
0.001 nats of the ML optimum and its ELBO within 0.01 nats of that.
An encoder sampling with exp(logvar) as the standard deviation, a KL off by
a factor, or a decoder variance gradient summed wrongly would each move the
optimum away from these values.
"""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from tinyae import fit
from tinyae.models import VAE, principal_angle_cosines
from tinyae.optim import Adam

D, Q, N = 10, 2, 3000
#: Adam learning-rate schedule: (lr, epochs) stages; 1000-example batches.
SCHEDULE = ((3e-2, 900), (1e-2, 300), (3e-3, 300))


def ppca_ml(x, q):
    """Closed-form PPCA maximum-likelihood fit of x: (n, d).

    Returns (mean (d,), U_q (d, q), lambda (d,) descending, sigma2_ML,
    W_ML (d, q) = U_q (Lambda_q - sigma2 I)^{1/2}).
    """
    mean = x.mean(axis=0)
    xc = x - mean                                        # (n, d) centred
    S = xc.T @ xc / x.shape[0]                           # (d, d), 1/n as in ML
    lam, U = np.linalg.eigh(S)                           # ascending
    lam, U = lam[::-1], U[:, ::-1]                       # descending
    sigma2 = lam[q:].mean()
    W = U[:, :q] * np.sqrt(lam[:q] - sigma2)
    return mean, U[:, :q], lam, sigma2, W


@pytest.fixture(scope="module")
def fitted():
    """Data from a PPCA model, its ML solution and a linear-Gaussian VAE trained on it."""
    rng = np.random.default_rng(0)
    W_true = rng.standard_normal((D, Q)) * np.array([1.0, 1.0])      # (d, q)
    m_true = rng.standard_normal(D)
    x = (rng.standard_normal((N, Q)) @ W_true.T + m_true
         + np.sqrt(0.3) * rng.standard_normal((N, D)))               # (n, d)
    model = VAE(sizes=(D, Q), likelihood="gaussian",
                decoder_variance="learned_shared", rng=np.random.default_rng(1),
                dtype=np.float64)
    opt = Adam(model.params, lr=SCHEDULE[0][0])
    train_rng = np.random.default_rng(2)
    for lr, epochs in SCHEDULE:
        opt.lr = lr
        fit(model, x, optimizer=opt, epochs=epochs, batch_size=1000, rng=train_rng,
            progress=False)
    return x, model, ppca_ml(x, Q)


def decoder_W(model):
    """The VAE decoder's weights as PPCA's W: (d, q) (Linear stores (q, d))."""
    return model.params["decoder.0.W"].T


def test_decoder_spans_the_principal_subspace(fitted):
    x, model, (_, U_q, _, _, _) = fitted
    cos = principal_angle_cosines(decoder_W(model), U_q)
    assert cos.shape == (Q,)
    # A random 2-plane in 10-D has cosines far below this; the ML one has 1.
    assert cos.min() > 0.999, cos


def test_noise_variance_is_the_mean_of_the_discarded_eigenvalues(fitted):
    x, model, (_, _, lam, sigma2_ml, _) = fitted
    sigma2 = float(np.exp(model.params["decoder_logvar.logvar"][0]))
    assert sigma2 == pytest.approx(sigma2_ml, rel=0.03)
    # Not just "some small number": the smallest discarded eigenvalue and the
    # mean of all of them lie outside the tolerance.
    assert lam[-1] < 0.95 * sigma2_ml and lam.mean() > 1.5 * sigma2_ml


def test_decoder_scales_and_mean_match_the_ml_solution(fitted):
    """Singular values of W equal sqrt(lambda_j - sigma^2_ML), the decoder bias
    is the sample mean, and (Lucas et al.) the columns of W are orthogonal."""
    x, model, (mean, _, lam, sigma2_ml, _) = fitted
    W = decoder_W(model)
    sv = np.linalg.svd(W, compute_uv=False)
    np.testing.assert_allclose(sv, np.sqrt(lam[:Q] - sigma2_ml), rtol=0.05)
    np.testing.assert_allclose(model.params["decoder.0.b"], mean, atol=0.05)
    G = W.T @ W                                          # (q, q)
    assert abs(G[0, 1]) / np.sqrt(G[0, 0] * G[1, 1]) < 0.05


def test_likelihood_and_elbo_reach_the_ml_optimum(fitted):
    """The VAE's exact log p(x) (its generative model is Gaussian) is at most
    the ML value and within 0.01 nats of it; its ELBO is below its log p(x) and
    within 0.05 nats (the encoder matches the true posterior)."""
    x, model, (mean, _, _, sigma2_ml, W_ml) = fitted
    ll_ml = multivariate_normal(mean, W_ml @ W_ml.T + sigma2_ml * np.eye(D)).logpdf(x).mean()
    W = decoder_W(model)
    C = W @ W.T + np.exp(model.params["decoder_logvar.logvar"][0]) * np.eye(D)
    ll = multivariate_normal(model.params["decoder.0.b"], C).logpdf(x).mean()
    elbo = model.elbo(x, rng=np.random.default_rng(3), n_samples=200).mean()
    assert ll <= ll_ml + 1e-9
    assert ll_ml - ll < 0.01
    assert elbo <= ll + 0.005              # Monte Carlo error of the mean ~1e-3
    assert ll - elbo < 0.05
