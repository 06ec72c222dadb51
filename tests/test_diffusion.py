"""The diffusion model (tinyae.models.diffusion, lesson 19): the closed form
of the forward process, the noise-prediction target, the loss's determinism,
ancestral sampling with the exact noise predictor, and named errors."""

import numpy as np
import pytest

from tinyae.data import GaussianMixture, mixture_2d
from tinyae.models import DiffusionModel
from tinyae.models.diffusion import alpha_bars, diffuse, level_embedding, noise_to_score

r = np.random.default_rng


def _model(n_levels=50, **kw):
    return DiffusionModel(sizes=(2, 8), n_levels=n_levels, rng=r(0), **kw)


def test_the_schedule_is_ddpm_linear_betas_for_any_number_of_levels():
    ab = alpha_bars(1000)
    betas = 1.0 - ab / np.concatenate([[1.0], ab[:-1]])
    np.testing.assert_allclose(betas, np.linspace(1e-4, 0.02, 1000), atol=2.5e-4)
    for T in (1, 8, 100, 250):                      # the same curve, sampled coarser
        np.testing.assert_allclose(alpha_bars(T), ab[np.arange(1, T + 1) * 1000 // T - 1])
    m = _model()
    np.testing.assert_allclose(np.cumprod(m.alphas), m.alpha_bars, rtol=1e-12)
    np.testing.assert_allclose(m.betas, 1.0 - m.alphas)


def test_the_closed_form_matches_t_one_step_draws_in_mean_and_variance():
    """x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) z, t steps, against
    sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, for a fixed x_0."""
    model, rng, n = _model(n_levels=40), r(1), 200_000
    x0 = np.tile([[1.5, -2.0]], (n, 1))                       # (n, 2), one point
    x = x0.copy()
    for t in range(1, model.n_levels + 1):
        x = np.sqrt(model.alphas[t - 1]) * x + np.sqrt(model.betas[t - 1]) \
            * rng.standard_normal(x.shape)
        if t in (1, 5, 20, 40):
            ab = model.alpha_bars[t - 1]
            closed = model.diffuse(x0, t, rng.standard_normal(x0.shape))
            se = np.sqrt((1 - ab) / n)                         # standard error of a mean
            for draws in (x, closed):
                np.testing.assert_allclose(draws.mean(axis=0), np.sqrt(ab) * x0[0],
                                           atol=5 * se)
                np.testing.assert_allclose(draws.var(axis=0), 1 - ab,
                                           rtol=5 * np.sqrt(2 / n))


def test_diffuse_is_the_formula():
    model, rng = _model(), r(2)
    x0, eps = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    t = np.array([1, 2, 10, 30, 49, 50])
    ab = model.alpha_bars[t - 1][:, None]
    np.testing.assert_array_equal(model.diffuse(x0, t, eps),
                                  np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps)


def test_the_functions_of_one_level_per_row_are_the_formulas():
    """diffuse and noise_to_score (exercise 23's references) take alpha_bar
    per row; the model's score is -eps_theta / sigma_t, and the exact noise
    target -sigma_t * score maps back to the exact score."""
    rng, model, mixture = r(6), _model(), mixture_2d()
    x0, eps = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    ab = np.array([0.999, 0.5, 0.1, 4e-5])
    np.testing.assert_array_equal(diffuse(x0, eps, ab), np.sqrt(ab)[:, None] * x0
                                  + np.sqrt(1 - ab)[:, None] * eps)
    for dtype in (np.float32, np.float64):
        assert diffuse(x0.astype(dtype), eps.astype(dtype), ab.astype(dtype)).dtype == dtype
        assert noise_to_score(eps.astype(dtype), ab.astype(dtype)).dtype == dtype
    t = np.array([1, 7, 30, 50])
    x_t = rng.standard_normal((4, 2))
    sigma = np.sqrt(1 - model.alpha_bars[t - 1])[:, None]
    np.testing.assert_allclose(model.score(x_t, t), -model.predict_noise(x_t, t) / sigma,
                               rtol=1e-12)
    exact = mixture.smoothed(0.6, scale=0.8).score(x_t)           # a = 0.8, s = 0.6
    np.testing.assert_allclose(noise_to_score(-0.6 * exact, np.full(4, 0.64)), exact,
                               rtol=1e-12)


def _posterior_mean_x0(mixture, a, s, y):
    """E[x_0 | y = a x_0 + s eps] for a Gaussian mixture, component by
    component (Gaussian conditioning), weighted by the responsibilities."""
    noised = mixture.smoothed(s, scale=a)
    resp = noised.responsibilities(y)                         # (n, k)
    out = np.zeros_like(y)
    for k in range(mixture.n_components):
        S, mu = mixture.covs[k], mixture.means[k]
        gain = a * S @ np.linalg.inv(a * a * S + s * s * np.eye(mixture.dim))  # (d, d)
        out += resp[:, k:k + 1] * (mu + (y - a * mu) @ gain.T)
    return out


def test_the_noise_target_is_minus_sigma_times_the_exact_score():
    """E[eps | x_t] = (x_t - a E[x_0 | x_t]) / s equals -s grad log p_t(x_t)."""
    mixture, rng = mixture_2d(), r(3)
    for ab in (0.99, 0.7, 0.2, 1e-3):
        a, s = np.sqrt(ab), np.sqrt(1 - ab)
        y = mixture.smoothed(s, scale=a).sample(500, rng=rng)
        e_eps = (y - a * _posterior_mean_x0(mixture, a, s, y)) / s
        np.testing.assert_allclose(e_eps, -s * mixture.smoothed(s, scale=a).score(y),
                                   rtol=1e-9, atol=1e-10)


def test_smoothed_with_a_scale_is_the_law_of_a_x_plus_sigma_eps():
    mixture, rng = mixture_2d(), r(4)
    a, s = 0.6, 0.8
    y = a * mixture.sample(200_000, rng=rng) + s * rng.standard_normal((200_000, 2))
    target = mixture.smoothed(s, scale=a)
    np.testing.assert_allclose(y.mean(axis=0), target.mean(), atol=0.01)
    np.testing.assert_allclose(np.cov(y.T), target.cov(), atol=0.01)
    np.testing.assert_allclose(mixture.smoothed(0.3).covs,
                               mixture.smoothed(0.3, scale=1.0).covs)


def test_loss_and_grad_is_deterministic_given_t_and_noise():
    model, rng = _model(), r(5)
    x = rng.standard_normal((7, 2))
    t, noise = rng.integers(1, 51, size=7), rng.standard_normal((7, 2))
    loss1, g = model.loss_and_grad(x, t=t, noise=noise, rng=r(10))
    g1 = {k: v.copy() for k, v in g.items()}
    loss2, g2 = model.loss_and_grad(x, t=t, noise=noise, rng=r(11))
    assert loss1 == loss2 == model.loss(x, t=t, noise=noise)
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])
    # the loss is Eq. 14 (L_simple): the squared error of the predicted noise
    pred = model.predict_noise(model.diffuse(x, t, noise), t)
    assert loss1 == pytest.approx(np.sum((pred - noise) ** 2) / 7, rel=1e-12)
    # without t and noise the draws come from rng, reproducibly
    assert model.loss(x, rng=r(12)) == model.loss(x, rng=r(12))


def test_level_embedding_tells_levels_apart_and_is_bounded():
    e = level_embedding(np.arange(1, 101), 16, 100)           # (100, 16)
    assert e.shape == (100, 16) and np.all(np.abs(e) <= 1)
    np.testing.assert_allclose(e[:, :8] ** 2 + e[:, 8:] ** 2, 1.0)
    d = np.linalg.norm(e[1:] - e[:-1], axis=1)
    assert d.min() > 0.5                                       # neighbours differ


def _exact_predictor(model, mean, cov):
    """eps*(x_t, t) = -sqrt(1 - alpha_bar_t) grad log p_t(x_t) for N(mean, cov) data."""
    gauss = GaussianMixture([1.0], [mean], [cov])

    def predict(x_t, t):
        ab = model.alpha_bars[np.asarray(t).reshape(-1)[0] - 1]
        s = np.sqrt(1 - ab)
        return -s * gauss.smoothed(s, scale=np.sqrt(ab)).score(x_t)
    return predict


def test_ancestral_sampling_with_the_exact_noise_recovers_the_data():
    """Algorithm 2 with eps_theta replaced by the exact E[eps | x_t] of
    Gaussian data: the samples have the data's mean and covariance (to the
    discretisation's bias: with beta tilde the variance comes out short by
    about 0.9 / T of itself, 9% at T = 100, 1% at T = 1000)."""
    mean, cov = np.array([1.0, -0.5]), np.array([[0.5, 0.2], [0.2, 0.3]])
    model = _model(n_levels=1000)
    exact = _exact_predictor(model, mean, cov)
    x, kept = model.sample(10_000, rng=r(6), record={1000, 0}, noise_fn=exact)
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=0.03)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.03)
    assert set(kept) == {1000, 0} and kept[0] is x
    np.testing.assert_allclose(np.cov(kept[1000].T), np.eye(2), atol=0.05)
    # a ladder of 10 of those levels: the same walk, far too short
    short = model.sample(10_000, rng=r(7), levels=np.arange(100, 1001, 100), noise_fn=exact)
    assert np.trace(np.cov(short.T)) < 0.6 * np.trace(cov)


@pytest.mark.parametrize("kwargs, match", [
    (dict(t=np.array([0, 1, 2])), r"t must hold levels in 1\.\.50"),
    (dict(t=np.array([1, 2, 51])), r"t must hold levels in 1\.\.50"),
    (dict(t=np.array([1.0, 2.0, 3.0])), "t must be an integer"),
    (dict(t=np.array([1, 2])), r"shape \(3,\)"),
    (dict(t=np.array([1, 2, 3]), noise=np.zeros((3, 3))), "noise must have shape"),
    (dict(t=np.array([1, 2, 3])), "pass rng"),
])
def test_bad_inputs_are_named_errors(kwargs, match):
    model = _model()
    x = np.zeros((3, 2))
    if "noise" not in kwargs and "pass rng" not in match:
        kwargs = dict(kwargs, noise=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=match):
        model.loss_and_grad(x, **kwargs)


def test_bad_hyperparameters_and_ladders_are_named_errors():
    with pytest.raises(ValueError, match="embed_dim must be an even number >= 4"):
        _model(embed_dim=5)
    with pytest.raises(ValueError, match="n_levels must be a positive integer"):
        _model(n_levels=0)
    with pytest.raises(ValueError, match="beta_max must be >= beta_min"):
        _model(beta_min=5.0, beta_max=1.0)
    with pytest.raises(ValueError, match="levels must increase strictly and end at"):
        _model().sample(3, rng=r(0), levels=[10, 20])
    with pytest.raises(ValueError, match="levels must increase strictly and end at"):
        _model().sample(3, rng=r(0), levels=[30, 10, 50])
    with pytest.raises(ValueError, match="x must have shape"):
        _model().loss(np.zeros((3, 5)), rng=r(0))
