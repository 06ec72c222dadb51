"""A checkpoint holds everything a model needs: for every model class that
``tinyae.models`` exports (found there, so a new model cannot be forgotten),
a model trained for a few steps, saved and loaded into a fresh model built
from another seed, gives bit-for-bit the same loss and the same outputs.
PCA, whose fit is state, round-trips too."""

import inspect

import numpy as np
import pytest

from tinyae import checkpoint, models
from tinyae.models import Model
from tinyae.optim import Adam

r = np.random.default_rng
CONV = {"encoder": [("conv", 2, 3, {"padding": 1}), "relu", ("maxpool", 2)],
        "decoder": [("convT", 1, 4, {"stride": 2, "padding": 1})]}
CONV_VAE = {"encoder": [("conv", 2, 3, {"padding": 1}), "relu"],
            "decoder": [("linear", 18), "relu", ("reshape", 2, 3, 3),
                        ("convT", 1, 4, {"stride": 2, "padding": 1})]}
X = r(1).uniform(0.05, 0.95, size=(6, 16))
IMG = r(2).uniform(0.05, 0.95, size=(6, 1, 6, 6))
MNISTISH = r(3).uniform(0.05, 0.95, size=(4, 784))
LABELS = np.array([0, 1, 2, 0, 1, 2])
ONEHOT = np.eye(3)[LABELS]

#: class name -> (build(seed) -> model, the data its loss takes)
FACTORIES = {
    "MLPAutoencoder": (lambda s: models.MLPAutoencoder(sizes=(16, 8, 3), rng=r(s)), (X,)),
    "ContractiveAutoencoder": (lambda s: models.ContractiveAutoencoder(
        sizes=(16, 5), lam=0.1, rng=r(s)), (X,)),
    "SparseAutoencoder": (lambda s: models.SparseAutoencoder(sizes=(16, 20), rng=r(s)), (X,)),
    "StackedAutoencoder": (lambda s: models.StackedAutoencoder(sizes=(16, 8, 4), rng=r(s)),
                           (X,)),
    "LinearAutoencoder": (lambda s: models.LinearAutoencoder(sizes=(16, 3), rng=r(s)), (X,)),
    "SemanticHashingAutoencoder": (lambda s: models.SemanticHashingAutoencoder(
        sizes=(16, 8, 4), rng=r(s)), (X,)),
    "RecirculationAutoencoder": (lambda s: models.RecirculationAutoencoder(
        sizes=(16, 6), rng=r(s)), (X,)),
    "VAE": (lambda s: models.VAE(sizes=(16, 8, 2), rng=r(s)), (X,)),
    "ConditionalVAE": (lambda s: models.ConditionalVAE(n_cond=3, sizes=(16, 8, 2), rng=r(s)),
                       (X, ONEHOT)),
    "VarianceNetworkVAE": (lambda s: models.VarianceNetworkVAE(sizes=(16, 8, 2), rng=r(s)),
                           (X,)),
    "GaussianDenoiser": (lambda s: models.GaussianDenoiser(sizes=(16, 8), sigma=0.3,
                                                           rng=r(s)), (X,)),
    "DiffusionModel": (lambda s: models.DiffusionModel(sizes=(16, 8), n_levels=20, rng=r(s)),
                       (X,)),
    "ImageDiffusionModel-mlp": (lambda s: models.ImageDiffusionModel(
        image_shape=(1, 4, 4), n_levels=20, hidden=(8,), embed_dim=4, rng=r(s)), (X,)),
    "ImageDiffusionModel-unet": (lambda s: models.ImageDiffusionModel(
        image_shape=(1, 4, 4), n_levels=20, denoiser="unet", channels=(2, 3), embed_dim=4,
        rng=r(s)), (X,)),
    "LatentEnergyAutoencoder": (lambda s: models.LatentEnergyAutoencoder(
        sizes=(16, 8, 2), rng=r(s)), (X,)),
    "PSD": (lambda s: models.PSD(n_in=16, n_atoms=12, rng=r(s)), (X,)),
    "SoftmaxClassifier": (lambda s: models.SoftmaxClassifier(n_in=16, n_classes=3,
                                                             hidden=(8,), rng=r(s)),
                          (X, LABELS)),
    "ConvAutoencoder": (lambda s: models.ConvAutoencoder(**CONV, input_shape=(1, 6, 6),
                                                         rng=r(s)), (IMG,)),
    "ConvVAE": (lambda s: models.ConvVAE(**CONV_VAE, n_code=2, input_shape=(1, 6, 6),
                                         rng=r(s)), (IMG,)),
    "MAE": (lambda s: models.MAE(dim=16, decoder_dim=8, n_heads=2, decoder_heads=2,
                                 rng=r(s)), (MNISTISH.reshape(4, 1, 28, 28),)),
    "VQVAE-loss": (lambda s: models.VQVAE(hidden=32, n_codes=8, code_dim=4, rng=r(s),
                                          dtype=np.float64), (MNISTISH,)),
    "VQVAE-ema": (lambda s: models.VQVAE(hidden=32, n_codes=8, code_dim=4, rng=r(s),
                                         codebook_update="ema", dtype=np.float64),
                  (MNISTISH,)),
}


def _exported_models():
    return sorted(name for name, c in vars(models).items()
                  if inspect.isclass(c) and issubclass(c, Model) and c is not Model)


def test_every_exported_model_has_a_round_trip_case():
    covered = {name.split("-")[0] for name in FACTORIES}
    missing = [name for name in _exported_models() if name not in covered]
    assert not missing, f"add a FACTORIES row for {missing}"


def _train(model, data, steps=3):
    opt = Adam(model.params, lr=1e-2)
    ema = models.CodebookEMA(model, opt) if getattr(model, "codebook_update", "") == "ema" \
        else None
    for i in range(steps):
        model.loss_and_grad(*data, rng=r(100 + i))
        (ema or opt).step(model.grads)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_a_trained_model_round_trips_bit_for_bit(name, tmp_path):
    build, data = FACTORIES[name]
    model = build(0)
    _train(model, data)
    path = checkpoint.save(model, tmp_path / f"{name}.npz")
    fresh = checkpoint.load(build(99), path)
    for k, v in {**model.params, **model.state}.items():
        mine = {**fresh.params, **fresh.state}[k]
        assert np.array_equal(mine, v), f"{name}: {k} differs after loading"
    assert fresh.loss(*data, rng=r(7)) == model.loss(*data, rng=r(7))


def test_the_ema_codebook_is_state_and_is_restored(tmp_path):
    build, data = FACTORIES["VQVAE-ema"]
    model = build(0)
    assert {"quantizer.codebook", "quantizer.cluster_size", "quantizer.cluster_sum"} \
        <= set(model.state)
    _train(model, data)
    path = checkpoint.save(model, tmp_path / "vq.npz")
    fresh = build(99)
    assert not np.array_equal(fresh.state["quantizer.codebook"],
                              model.state["quantizer.codebook"])
    checkpoint.load(fresh, path)
    assert np.array_equal(fresh.quantizer.codebook, model.quantizer.codebook)
    # a checkpoint written without the state (as before this change) is refused
    np.savez(tmp_path / "old.npz", **model.params)
    with pytest.raises(checkpoint.CheckpointError, match=r"missing parameters \['state:"):
        checkpoint.load(build(1), tmp_path / "old.npz")


def test_a_fitted_pca_round_trips_and_an_unfitted_one_says_so(tmp_path):
    x = r(5).uniform(size=(40, 12))
    pca = models.PCA(4).fit(x)
    path = checkpoint.save(pca, tmp_path / "pca.npz")
    loaded = checkpoint.load(models.PCA(4), path)
    assert np.array_equal(loaded.transform(x), pca.transform(x))
    assert loaded.total_variance_ == pca.total_variance_ and loaded.n_samples_ == 40
    with pytest.raises(ValueError, match="does not fit PCA\\(n_components=3\\)"):
        checkpoint.load(models.PCA(3), path)
    with pytest.raises(ValueError, match="nothing to save .* is it fitted"):
        checkpoint.save(models.PCA(4), tmp_path / "empty.npz")


def test_an_array_held_twice_is_refused(tmp_path):
    import zipfile
    model, _ = FACTORIES["MLPAutoencoder"][0](0), None
    path = checkpoint.save(model, tmp_path / "m.npz")
    with zipfile.ZipFile(path, "a") as z, pytest.warns(UserWarning, match="Duplicate"):
        z.writestr("encoder.0.W.npy", open(path, "rb").read()[:10])
    with pytest.raises(checkpoint.CheckpointError, match="holds the array 'encoder.0.W' twice"):
        checkpoint.load(FACTORIES["MLPAutoencoder"][0](1), path)


def test_saving_under_a_file_names_the_file(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    model = FACTORIES["MLPAutoencoder"][0](0)
    with pytest.raises(NotADirectoryError, match="plain' is a file, not a folder"):
        checkpoint.save(model, tmp_path / "plain" / "deeper" / "m.npz")
