"""Score estimation with a denoising autoencoder (tinyae.analysis.scores, lesson 03).

For x ~ N(m, s^2) and y = x + sigma e the posterior mean is linear,
E[x | y] = m + s^2 / (s^2 + sigma^2) (y - m), so the optimal DAE residual
(r*(y) - y) / sigma^2 equals the smoothed score -(y - m) / (s^2 + sigma^2)
exactly: a small DAE trained briefly must approach it.
"""

import numpy as np
import pytest

from tinyae.corruption import GaussianNoise
from tinyae.data import GaussianMixture
from tinyae.models import MLPAutoencoder
from tinyae.optim import SGD, Adam
from tinyae.analysis.scores import ParameterAverage, dae_score, fit_fresh, relative_score_error


def test_dae_learns_the_smoothed_score_of_a_gaussian():
    m, s, sigma = 1.0, 0.7, 0.5
    gauss = GaussianMixture([1.0], [[m]], [[[s * s]]])
    rng = np.random.default_rng(0)
    model = MLPAutoencoder(corruption=GaussianNoise(sigma), sizes=(1, 16, 16), rng=rng,
                                 activation="tanh", code_activation="tanh", likelihood="mse",
                                 init="he")
    opt = ParameterAverage(Adam(model.params, lr=1e-2), decay=0.999)
    fit_fresh(model, lambda n, r: gauss.sample(n, rng=r), optimizer=opt, epochs=10,
              n_per_epoch=20000, batch_size=256, rng=rng, lr_end=3e-4)
    opt.copy_to_params()
    smoothed = gauss.smoothed(sigma)
    y = smoothed.sample(4000, rng=rng)                             # (4000, 1)
    exact = -(y - m) / (s * s + sigma * sigma)
    np.testing.assert_allclose(smoothed.score(y), exact, rtol=1e-12)
    err = relative_score_error(dae_score(model, y, sigma), exact)
    assert err < 0.15
    # ...and it is not the clean score, whose slope is -1/s^2, not -1/(s^2 + sigma^2)
    assert relative_score_error(dae_score(model, y, sigma), -(y - m) / (s * s)) > 0.2


def test_relative_score_error_values_and_weights():
    s = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert relative_score_error(s, s) == 0.0
    assert relative_score_error(np.zeros_like(s), s) == pytest.approx(1.0)
    assert relative_score_error(2 * s, s) == pytest.approx(1.0)
    # weight only the first row: error of that row alone
    s_hat = np.array([[1.5, 0.0], [0.0, 0.0]])
    assert relative_score_error(s_hat, s, weights=[1.0, 0.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="weights"):
        relative_score_error(s, s, weights=[-1.0, 1.0])
    with pytest.raises(ValueError, match="same shape"):
        relative_score_error(s, s[:, :1])


def test_parameter_average_is_the_bias_corrected_ema():
    params = {"w": np.array([0.0])}
    avg = ParameterAverage(SGD(params, lr=1.0), decay=0.5)
    for g in (-1.0, -1.0):                  # w: 1 then 2
        avg.step({"w": np.array([g])})
    # ema: 0.5 * (0.5 * 0 + 0.5 * 1) + 0.5 * 2 = 1.25, corrected by 1 - 0.25
    assert avg.average()["w"][0] == pytest.approx(1.25 / 0.75)
    avg.copy_to_params()
    assert params["w"][0] == pytest.approx(1.25 / 0.75)
    with pytest.raises(ValueError, match="decay"):
        ParameterAverage(SGD(params, lr=1.0), decay=1.0)


def test_fit_fresh_decays_the_learning_rate_geometrically():
    rng = np.random.default_rng(0)
    model = MLPAutoencoder(corruption=GaussianNoise(0.1), sizes=(2, 3), rng=rng,
                                 likelihood="mse")
    opt = Adam(model.params, lr=1e-2)
    seen = []
    original = opt.step

    def spy(grads):
        seen.append(opt.lr)
        original(grads)
    opt.step = spy
    losses = fit_fresh(model, lambda n, r: r.standard_normal((n, 2)), optimizer=opt,
                       epochs=3, n_per_epoch=10, batch_size=10, rng=rng, lr_end=1e-4)
    assert len(losses) == 3
    np.testing.assert_allclose(seen, [1e-2, 1e-3, 1e-4])


class _Shift:
    """A stand-in model whose reconstruction is x + c(x)."""

    def __init__(self, c):
        self.c = c

    def reconstruct(self, x):
        return x + self.c(x)


def test_dae_score_divides_by_sigma_squared():
    x = np.linspace(-2, 2, 11)[:, None]                      # (11, 1)
    model = _Shift(lambda x: 0.09 * np.sin(x))               # r(x) - x = sigma^2 sin(x)
    np.testing.assert_allclose(dae_score(model, x, 0.3), np.sin(x), rtol=1e-12)
    with pytest.raises(ValueError, match="sigma"):
        dae_score(model, x, 0.0)


def test_fit_fresh_draws_a_new_sample_every_epoch():
    rng = np.random.default_rng(0)
    model = MLPAutoencoder(corruption=GaussianNoise(0.5), sizes=(1, 4), rng=rng,
                                 activation="tanh", likelihood="mse")
    drawn = []

    def sample(n, r):
        x = r.standard_normal((n, 1))
        drawn.append(x)
        return x

    fit_fresh(model, sample, optimizer=SGD(model.params, lr=0.1), epochs=3,
              n_per_epoch=64, batch_size=32, rng=rng)
    assert [x.shape for x in drawn] == [(64, 1)] * 3
    assert not np.array_equal(drawn[0], drawn[1])


def test_parameter_average_decay_zero_is_the_last_iterate_and_lr_passes_through():
    params = {"w": np.zeros(2)}
    avg = ParameterAverage(SGD(params, lr=1.0), decay=0.0)
    for _ in range(3):
        avg.step({"w": -np.ones(2)})                         # w: 1, 2, 3
    np.testing.assert_array_equal(avg.average()["w"], [3.0, 3.0])
    avg.lr = 0.25
    assert avg.optimizer.lr == 0.25
