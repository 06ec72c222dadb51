"""The image diffusion model (tinyae.models.diffusion_image, lesson 19
sections 9-11) and its denoisers (tinyae.models.denoisers): the skip path is
the closed form, the loss is the reconstruction error or Eq. 14 as asked,
the denoisers keep the image's shape and let the level reach every layer,
the two backends agree, and bad input is a named error. The gradients are
checked by ``python -m tinyae.gradcheck -k Level`` / ``-k ImageDiffusion``
(tests/test_gradcheck.py runs every registered case)."""

import numpy as np
import pytest

from tinyae.models import ImageDiffusionModel
from tinyae.models.denoisers import LevelMLP, LevelUNet
from tinyae.models.diffusion import level_embedding

r = np.random.default_rng


def _model(**kw):
    kw = {"image_shape": (1, 3, 4), "n_levels": 30, "hidden": (6,), "embed_dim": 4,
          "rng": r(0), **kw}
    return ImageDiffusionModel(**kw)


def _draw(model, n=5, seed=1):
    rng = r(seed)
    return (rng.standard_normal((n, model.n_in)), rng.integers(1, model.n_levels + 1, n),
            rng.standard_normal((n, model.n_in)))


@pytest.mark.parametrize("kw", [{}, {"predict": "noise"}, {"denoiser": "unet",
                                                          "channels": (2, 3)}])
def test_the_two_predictions_are_the_closed_form_of_each_other(kw):
    """x_t = sqrt(alpha_bar_t) x0_hat + sigma_t eps_theta, whichever the network predicts."""
    model = _model(**kw)
    x, t, noise = _draw(model)
    x_t = model.diffuse(x, t, noise)
    ab = model.alpha_bars[t - 1][:, None]
    clean, eps = model.predict_clean(x_t, t), model.predict_noise(x_t, t)
    np.testing.assert_allclose(np.sqrt(ab) * clean + np.sqrt(1 - ab) * eps, x_t,
                               rtol=1e-12, atol=1e-12)
    # and the network's own output is the prediction it was asked for
    shape = (model.n_in,) if model.denoiser == "mlp" else model.image_shape
    raw = model.net.forward(x_t.reshape(len(x_t), *shape),
                            level_embedding(t, 4, model.n_levels)).reshape(len(x_t), -1)
    np.testing.assert_array_equal(raw, clean if model.predict == "clean" else eps)


@pytest.mark.parametrize("predict", ["clean", "noise"])
@pytest.mark.parametrize("weighting", ["clean", "noise"])
def test_the_loss_is_the_reconstruction_error_or_eq_12(predict, weighting):
    model = _model(predict=predict, weighting=weighting)
    x, t, noise = _draw(model, n=7)
    loss, _ = model.loss_and_grad(x, t=t, noise=noise)
    assert loss == model.loss(x, t=t, noise=noise)
    x_t = model.diffuse(x, t, noise)
    rec = np.sum((model.predict_clean(x_t, t) - x) ** 2, axis=1)          # (7,)
    eq14 = np.sum((model.predict_noise(x_t, t) - noise) ** 2, axis=1)
    np.testing.assert_allclose(eq14, model.snr[t - 1] * rec, rtol=1e-9)   # the identity
    want = np.mean(rec if weighting == "clean" else eq14)
    assert loss == pytest.approx(want, rel=1e-10)
    # a near miss is caught: the other weighting is a different number
    other = np.mean(eq14 if weighting == "clean" else rec)
    assert loss != pytest.approx(other, rel=1e-3)


def test_level_loss_is_eq_12_at_one_level():
    model = _model()
    x = r(2).standard_normal((6, model.n_in))
    noise = r(3).standard_normal(x.shape)
    eps = model.predict_noise(model.diffuse(x, 7, noise), 7)
    assert model.level_loss(x, 7, rng=r(3)) == pytest.approx(
        np.mean(np.sum((eps - noise) ** 2, axis=1)), rel=1e-12)


def test_the_skip_path_passes_the_noise_at_the_top_of_the_ladder():
    """Untrained, the clean-predicting model's Eq. 14 at t = T is SNR_T times a
    reconstruction error: tiny. The noise-predicting one pays about D there."""
    skip, plain = _model(n_levels=100), _model(n_levels=100, predict="noise")
    x = r(4).uniform(-1, 1, size=(400, 12))
    assert skip.level_loss(x, 100, rng=r(5)) < 0.01
    assert plain.level_loss(x, 100, rng=r(5)) > 0.5 * skip.n_in


@pytest.mark.parametrize("shape", [(1, 28, 28), (2, 7, 5), (1, 6, 4), (1, 1, 1), (3, 2, 9)])
def test_the_unet_gives_back_the_image_shape(shape):
    net = LevelUNet(shape, (2, 3), 4, rng=r(0))
    out = net.forward(r(1).standard_normal((2, *shape)), r(2).standard_normal((2, 4)))
    assert out.shape == (2, *shape)


def test_the_level_reaches_every_layer():
    """Every Linear of LevelMLP has rows for the level features, and every
    block of LevelUNet its own level bias; each gets a gradient, and the
    level's features get the sum of what the layers send back."""
    x, c = r(1).standard_normal((3, 5)), r(2).standard_normal((3, 2))
    mlp = LevelMLP(5, (4, 3), 5, 2, rng=r(0))
    assert [layer.n_in for layer in mlp.layers + [mlp.out]] == [5 + 2, 4 + 2, 3 + 2]
    mlp.zero_grad()
    mlp.forward(x, c)
    _, dc = mlp.backward(np.ones((3, 5)))
    # dc is the sum over layers of the gradient rows that met c
    assert np.all(np.abs(dc) > 0)
    unet = LevelUNet((1, 6, 5), (2, 2), 2, rng=r(0))
    assert len(unet.level) == len(unet.convs) == 5
    unet.zero_grad()
    out = unet.forward(r(3).standard_normal((3, 1, 6, 5)), c)
    unet.backward(np.ones_like(out))
    for k in range(5):
        assert np.abs(unet.grads[f"level{k + 1}.W"]).max() > 0
    c2 = r(4).standard_normal((3, 2))
    assert not np.allclose(mlp.forward(x, c), mlp.forward(x, c2))


@pytest.mark.parametrize("denoiser", ["mlp", "unet"])
def test_the_backends_agree(denoiser):
    from tinyae import backend
    results = []
    for name in ("numpy", "numba"):
        with backend.use(name):
            model = _model(denoiser=denoiser, channels=(2, 3))
            x, t, noise = _draw(model)
            loss, grads = model.loss_and_grad(x, t=t, noise=noise)
            results.append((loss, {k: g.copy() for k, g in grads.items()},
                            model.sample(4, rng=r(9))))
    (l0, g0, s0), (l1, g1, s1) = results
    assert l0 == pytest.approx(l1, rel=1e-10)
    for k in g0:
        np.testing.assert_allclose(g0[k], g1[k], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(s0, s1, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kw, match", [
    (dict(image_shape=(28, 28)), r"image_shape must be \(channels, height, width\)"),
    (dict(image_shape=(1, 0, 3)), r"image_shape\[1\]"),
    (dict(denoiser="cnn"), r"denoiser must be one of \['mlp', 'unet'\], got 'cnn'"),
    (dict(predict="x0"), r"predict must be one of \['clean', 'noise'\], got 'x0'"),
    (dict(weighting="snr"), r"weighting must be one of \['clean', 'noise'\], got 'snr'"),
    (dict(hidden=()), r"hidden must hold at least one width"),
    (dict(denoiser="unet", channels=(4,)), r"channels must be two widths \(C1, C2\)"),
    (dict(embed_dim=3), r"embed_dim must be an even number >= 4"),
])
def test_bad_hyperparameters_are_named_errors(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _model(**kw)


def test_bad_inputs_are_named_errors(each_backend):
    model = _model()
    with pytest.raises(ValueError, match=r"x_t must have shape \(\*, 12\)"):
        model.predict_noise(np.zeros((2, 11)), 3)
    with pytest.raises(ValueError, match=r"t must hold levels in 1\.\.30"):
        model.predict_clean(np.zeros((2, 12)), 31)
    net = LevelMLP(3, (2,), 3, 2, rng=r(0))
    with pytest.raises(ValueError, match=r"c must have one row per row of x \(2\)"):
        net.forward(np.zeros((2, 3)), np.zeros((3, 2)))
    unet = LevelUNet((1, 4, 4), (2, 2), 2, rng=r(0))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 4, 4\)"):
        unet.forward(np.zeros((2, 1, 4, 5)), np.zeros((2, 2)))
