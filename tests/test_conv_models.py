"""ConvAutoencoder and ConvVAE: the spec, the input layouts, the MLP
family's fit / evaluate / checkpoint / corruption behaviour, bad input."""

import numpy as np
import pytest

from tinyae import backend, checkpoint
from tinyae.corruption import MaskingNoise
from tinyae.models import ConvAutoencoder, ConvVAE
from tinyae.models.conv import CONV_VAE_DECODERS, CONV_VAE_ENCODER, PML_BOOK_CNN
from tinyae.optim import Adam
from tinyae.train import evaluate, fit

SMALL = {"encoder": [("conv", 2, 3, {"padding": 1}), "relu", ("maxpool", 2)],
         "decoder": [("convT", 1, 4, {"stride": 2, "padding": 1})]}


def test_the_books_cnn_has_a_64x3x3_code_and_46529_parameters(rng):
    model = ConvAutoencoder(**PML_BOOK_CNN, rng=rng, dtype=np.float32)
    assert model.code_shape == (64, 3, 3) and model.n_code == 576
    # conv 1->16, 16->32, 32->64 and convT 64->32, 32->16, 16->1, all 3x3, with biases
    by_hand = (16 * 9 + 16) + (32 * 16 * 9 + 32) + (64 * 32 * 9 + 64) \
        + (64 * 32 * 9 + 32) + (32 * 16 * 9 + 16) + (16 * 9 + 1)
    assert model.n_params == by_hand == 46529
    x = rng.uniform(0, 1, (3, 784)).astype(np.float32)
    assert model.encode(x).shape == (3, 64, 3, 3)
    assert model.reconstruct(x).shape == (3, 784)
    assert model.reconstruct(x.reshape(3, 1, 28, 28)).shape == (3, 1, 28, 28)


def test_flat_and_image_inputs_give_the_same_loss(rng):
    model = ConvAutoencoder(**SMALL, input_shape=(1, 6, 6), rng=rng)
    x = rng.uniform(0, 1, (4, 1, 6, 6))
    assert model.loss(x) == model.loss(x.reshape(4, 36))


def test_both_backends_agree(rng):
    model = ConvAutoencoder(**PML_BOOK_CNN, rng=rng)
    x = rng.uniform(0, 1, (2, 784))
    with backend.use("numpy"):
        a, ga = model.loss_and_grad(x)
        ga = {k: v.copy() for k, v in ga.items()}
    with backend.use("numba"):
        b, gb = model.loss_and_grad(x)
    assert abs(a - b) <= 1e-12 * abs(a)
    for k in ga:
        np.testing.assert_allclose(gb[k], ga[k], rtol=1e-10, atol=1e-12)


def test_fit_evaluate_and_checkpoint(rng, tmp_path):
    model = ConvAutoencoder(**SMALL, input_shape=(1, 6, 6), rng=rng, dtype=np.float32)
    x = rng.uniform(0, 1, (64, 36)).astype(np.float32)
    before = evaluate(model, x)[0]
    history = fit(model, x, optimizer=Adam(model.params, lr=1e-2), epochs=5,
                  batch_size=16, rng=rng, progress=False, val=x)
    assert history["val_loss"][-1] < before and history["recon"][-1] < history["recon"][0]
    path = checkpoint.save(model, tmp_path / "conv.npz")
    other = ConvAutoencoder(**SMALL, input_shape=(1, 6, 6), rng=np.random.default_rng(9),
                            dtype=np.float32)
    assert other.loss(x) != model.loss(x)
    checkpoint.load(other, path)
    assert other.loss(x) == model.loss(x)


def test_corruption_is_applied_to_the_input_only(rng):
    model = ConvAutoencoder(**SMALL, input_shape=(1, 6, 6), rng=rng,
                            corruption=MaskingNoise(0.5))
    plain = ConvAutoencoder(**SMALL, input_shape=(1, 6, 6), rng=np.random.default_rng(1))
    for k, p in plain.params.items():
        p[...] = model.params[k]
    x = rng.uniform(0, 1, (3, 36))
    keep_all = np.ones_like(x)                        # u >= fraction everywhere
    assert model.loss(x, noise=keep_all) == plain.loss(x)
    drop_all = np.zeros_like(x)
    assert model.loss(x, noise=drop_all) == plain.loss_and_grad(
        np.zeros_like(x), target=x)[0]
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        model.loss_and_grad(x)


def test_likelihoods(rng):
    from tinyae.losses import RECONSTRUCTION
    x = rng.uniform(0, 1, (2, 1, 6, 6))
    for likelihood in RECONSTRUCTION:
        model = ConvAutoencoder(**SMALL, input_shape=(1, 6, 6), rng=rng,
                                likelihood=likelihood)
        out = model.reconstruct(x)
        if likelihood == "bernoulli":
            assert out.min() > 0 and out.max() < 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(encoder=[("conv", 2, 3), "swish"], decoder=SMALL["decoder"]),
     r"encoder\[1\] must be an activation"),
    (dict(encoder=[("conv", 2, 9)], decoder=SMALL["decoder"]),
     r"encoder\[0\] = \('conv', 2, 9\).*kernel \(9, 9\) is larger than the padded input"),
    (dict(encoder=[("conv", 2, 3, {"stride": 0})], decoder=SMALL["decoder"]),
     r"encoder\[0\].*stride must be a positive integer"),
    (dict(encoder=[("pool", 2)], decoder=SMALL["decoder"]), r"encoder\[0\] must be a string"),
    (dict(encoder=SMALL["encoder"], decoder=[("conv", 1, 1)]),
     r"decoder output shape \(1, 3, 3\) does not match input_shape \(1, 6, 6\)"),
    (dict(encoder=SMALL["encoder"], decoder=SMALL["decoder"], input_shape=(6, 6)),
     r"input_shape must be \(channels, height, width\)"),
    (dict(encoder=SMALL["encoder"], decoder=SMALL["decoder"], likelihood="poisson"),
     r"likelihood must be one of"),
])
def test_constructor_errors(kwargs, match, rng):
    kwargs.setdefault("input_shape", (1, 6, 6))
    with pytest.raises(ValueError, match=match):
        ConvAutoencoder(rng=rng, **kwargs)


def test_input_errors(rng):
    model = ConvAutoencoder(**SMALL, input_shape=(1, 6, 6), rng=rng)
    with pytest.raises(ValueError, match=r"x must have shape \(\*, 1, 6, 6\)"):
        model.loss(np.zeros((2, 2, 6, 6)))
    with pytest.raises(ValueError, match=r"x must have shape \(\*, 36\)"):
        model.loss(np.zeros((2, 35)))
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        model.loss(np.zeros((2, 6, 6)))
    with pytest.raises(ValueError, match=r"\[0, 1\] for likelihood='bernoulli'"):
        model.loss(np.full((2, 36), 2.0))
    with pytest.raises(ValueError, match="noise was given but this autoencoder has no corruption"):
        model.loss(np.zeros((2, 36)), noise=np.zeros((2, 36)))


@pytest.mark.parametrize("decoder", list(CONV_VAE_DECODERS))
def test_conv_vae(decoder, rng):
    model = ConvVAE(encoder=CONV_VAE_ENCODER, decoder=CONV_VAE_DECODERS[decoder], n_code=4,
                    rng=rng, dtype=np.float32)
    x = rng.uniform(0, 1, (5, 784)).astype(np.float32)
    eps = rng.standard_normal((5, 4)).astype(np.float32)
    loss, _ = model.loss_and_grad(x, eps=eps)
    assert loss == pytest.approx(model.last_stats["recon"] + model.last_stats["kl"], rel=1e-6)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 4)
    assert model.reconstruct(x).shape == (5, 784)
    assert model.sample(3, rng=rng).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="pass rng"):
        model.loss_and_grad(x)
    history = fit(model, x, optimizer=Adam(model.params, lr=1e-3), epochs=3, batch_size=5,
                  rng=rng, progress=False)
    assert history["loss"][-1] < history["loss"][0]


def test_overlap_maps_by_hand():
    from tinyae.models.conv import overlap_map
    assert sorted(set(overlap_map(3, 2).ravel())) == [1.0, 2.0, 4.0]
    assert sorted(set(overlap_map(5, 2).ravel())) == [4.0, 6.0, 9.0]
    assert set(overlap_map(4, 2).ravel()) == {4.0}
    assert set(overlap_map(3, 2, mode="upsample").ravel()) == {9.0}
    assert set(overlap_map(3, 3).ravel()) == {1.0}              # kernel = stride: a tiling
    with pytest.raises(ValueError, match="kernel must be a positive integer, got 0"):
        overlap_map(0, 2)
    with pytest.raises(ValueError, match="mode must be one of"):
        overlap_map(3, 2, mode="bilinear")
    with pytest.raises(ValueError, match="size 2 is too small"):
        overlap_map(5, 2, size=2)


def test_checkerboard_power():
    from tinyae.models.conv import checkerboard_power
    i, j = np.indices((8, 6))
    board = (-1.0) ** (i + j)
    assert checkerboard_power(board[None]) == pytest.approx(1.0, rel=1e-12)
    stripes = (-1.0) ** i + 5.0                                  # the mean does not count
    assert checkerboard_power(stripes[None, None]) == pytest.approx(1.0, rel=1e-12)
    i, j = np.indices((28, 28))
    board = (-1.0) ** (i + j)
    smooth = np.exp(-((i - 13.5) ** 2 + (j - 13.5) ** 2) / 20.0)    # a blob: no period 2
    assert checkerboard_power(smooth[None]) < 1e-6
    mixed = smooth + 0.5 * board
    share = 0.25 * board.size / np.sum((mixed - mixed.mean()) ** 2)
    assert checkerboard_power(mixed[None]) == pytest.approx(share, rel=0.05)
    noise = np.random.default_rng(0).random((400, 28, 28))
    assert checkerboard_power(noise) == pytest.approx(3 / 784, rel=0.1)
    with pytest.raises(ValueError, match="even height and width"):
        checkerboard_power(np.zeros((1, 7, 8)))
