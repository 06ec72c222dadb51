"""Corruptions: the right statistics, reproducible from a seed, fixed by
``noise``; and the denoising autoencoder's gradient under each of them."""

import numpy as np
import pytest

from tinyae.corruption import CORRUPTIONS, GaussianNoise, MaskingNoise, SaltAndPepper
from tinyae.gradcheck import check_model
from tinyae.models import MLPAutoencoder


@pytest.fixture
def x():
    return np.random.default_rng(1).uniform(0.1, 0.9, size=(400, 50))


def test_gaussian_noise_has_sigma(x):
    noisy = GaussianNoise(0.3)(x, np.random.default_rng(0))
    resid = noisy - x
    assert abs(resid.mean()) < 0.01
    assert abs(resid.std() - 0.3) < 0.005


def test_masking_zeroes_the_fraction(x):
    noisy = MaskingNoise(0.25)(x, np.random.default_rng(0))
    zeroed = noisy == 0
    assert abs(zeroed.mean() - 0.25) < 0.01
    np.testing.assert_array_equal(noisy[~zeroed], x[~zeroed])


def test_salt_and_pepper_sets_half_to_each_end(x):
    noisy = SaltAndPepper(0.2)(x, np.random.default_rng(0))
    salt, pepper = noisy == 1, noisy == 0
    assert abs(salt.mean() - 0.1) < 0.01 and abs(pepper.mean() - 0.1) < 0.01
    kept = ~(salt | pepper)
    np.testing.assert_array_equal(noisy[kept], x[kept])


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_reproducible_and_dtype_preserving(name, x):
    c = CORRUPTIONS[name](0.3)
    x32 = x.astype(np.float32)
    a = c(x32, np.random.default_rng(5))
    b = c(x32, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == x.shape
    assert not np.array_equal(a, c(x32, np.random.default_rng(6)))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_fraction_out_of_range_is_named(bad):
    with pytest.raises(ValueError, match="fraction"):
        MaskingNoise(bad)


def test_sigma_negative_is_named():
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoise(-1.0)


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_dae_gradient_with_fixed_noise(name):
    rng = np.random.default_rng(3)
    model = MLPAutoencoder(corruption=CORRUPTIONS[name](0.3), sizes=(7, 5, 2),
                                 activation="sigmoid", rng=rng)
    x = rng.uniform(0.05, 0.95, size=(5, 7))
    noise = model.corruption.sample(x, rng)
    report = check_model(model, x, noise=noise)
    assert report.worst < 1e-7, str(report)


def test_dae_reconstructs_the_clean_input():
    """With fixed noise, the DAE's loss is the plain AE's loss of the clean x
    from the corrupted input: the same number, computed two ways."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(6, 8))
    dae = MLPAutoencoder(corruption=MaskingNoise(0.5), sizes=(8, 3), rng=np.random.default_rng(1))
    ae = MLPAutoencoder(sizes=(8, 3), rng=np.random.default_rng(1))     # same weights
    noise = dae.corruption.sample(x, rng)
    loss, _ = dae.loss_and_grad(x, noise=noise)
    plain, _ = ae.loss_and_grad(x * (noise >= 0.5), target=x)
    assert loss == pytest.approx(plain, rel=1e-15)
    assert loss != pytest.approx(ae.loss_and_grad(x)[0], rel=1e-3)
    with pytest.raises(ValueError, match="no corruption"):
        ae.loss_and_grad(x, noise=noise)


def test_dae_needs_rng_or_noise():
    dae = MLPAutoencoder(corruption=GaussianNoise(0.1), sizes=(4, 2), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        dae.loss_and_grad(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="corruption"):
        MLPAutoencoder(corruption=0.5, sizes=(4, 2), rng=np.random.default_rng(0))
