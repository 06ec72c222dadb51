"""One model API: every autoencoder is built with the same keywords, and
every model's forward-only ``loss`` equals ``loss_and_grad``'s loss without
touching the gradients (evaluation runs no backward pass)."""

import inspect

import numpy as np
import pytest

from tinyae import models
from tinyae.corruption import GaussianNoise, MaskingNoise
from tinyae.layers import Sequential

AUTOENCODERS = [models.MLPAutoencoder, models.ContractiveAutoencoder,
                models.SparseAutoencoder, models.StackedAutoencoder, models.VAE]
COMMON = {"sizes", "rng", "activation", "likelihood", "init", "dtype"}


@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda c: c.__name__)
def test_every_autoencoder_takes_the_common_keywords(cls):
    params = inspect.signature(cls.__init__).parameters
    missing = COMMON - set(params)
    assert not missing, missing
    assert all(p.kind is p.KEYWORD_ONLY for n, p in params.items() if n != "self")
    if cls is not models.VAE:
        assert {"corruption", "tied"} <= set(params)


def _cases():
    r = np.random.default_rng
    yield "mlp", models.MLPAutoencoder(sizes=(6, 4, 3), rng=r(0)), {}
    yield "dae", models.MLPAutoencoder(sizes=(6, 4), corruption=MaskingNoise(0.3),
                                       rng=r(0)), {"noise": r(1).uniform(size=(5, 6))}
    yield "cae", models.ContractiveAutoencoder(sizes=(6, 4), lam=0.5, rng=r(0)), {}
    yield "sae", models.SparseAutoencoder(sizes=(6, 4), rng=r(0)), {}
    yield "stacked", models.StackedAutoencoder(sizes=(6, 4, 3), corruption=GaussianNoise(0.2),
                                               likelihood="mse", rng=r(0)), \
        {"noise": r(2).standard_normal((5, 6))}
    yield "linear", models.LinearAutoencoder(sizes=(6, 3), rng=r(0)), {}
    yield "vae", models.VAE(sizes=(6, 5, 2), likelihood="gaussian",
                            decoder_variance="learned", rng=r(0)), \
        {"eps": r(3).standard_normal((5, 2))}


@pytest.mark.parametrize("name, model, noise", list(_cases()), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_forward_only_loss_equals_loss_and_grad_and_leaves_grads_alone(name, model, noise):
    x = np.random.default_rng(4).uniform(0.05, 0.95, size=(5, 6))
    expected, grads = model.loss_and_grad(x, **noise)
    stats = dict(model.last_stats)
    before = {k: g.copy() for k, g in grads.items()}
    assert any(np.abs(g).max() > 0 for g in before.values())
    calls = []
    for module in model.modules.values():           # no backward may run
        if isinstance(module, Sequential):
            module.backward = lambda *a, **k: calls.append(1)
    assert model.loss(x, **noise) == pytest.approx(expected, rel=1e-12)
    assert model.last_stats == pytest.approx(stats, rel=1e-12)
    assert not calls
    for k in before:
        np.testing.assert_array_equal(model.grads[k], before[k])


def test_softmax_classifier_forward_only_loss():
    rng = np.random.default_rng(0)
    clf = models.SoftmaxClassifier(n_in=6, n_classes=3, hidden=(4,), weight_decay=0.1,
                                   rng=rng)
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 3, size=7)
    expected, _ = clf.loss_and_grad(x, y)
    assert clf.loss(x, y) == pytest.approx(expected, rel=1e-14)


def test_vae_module_names_match_its_attributes():
    vae = models.VAE(sizes=(6, 5, 2), likelihood="gaussian", decoder_variance="learned",
                     rng=np.random.default_rng(0))
    for name, module in vae.modules.items():
        assert getattr(vae, name) is module
    assert "decoder_logvar.logvar" in vae.params and vae.n_code == 2


def test_a_model_without_loss_says_so():
    class Half(models.Model):
        def loss_and_grad(self, x, rng=None):
            return 0.0, self.grads
    with pytest.raises(NotImplementedError, match="Half must implement loss"):
        Half().loss(np.zeros((1, 1)))


def test_jacobian_diagnostics_work_for_any_one_layer_sigmoid_or_tanh_encoder():
    """The plain AE and the DAE have the CAE's Jacobian tools (lesson 04
    compares all three): J matches finite differences of encode."""
    rng = np.random.default_rng(5)
    ae = models.MLPAutoencoder(sizes=(5, 3), code_activation="tanh", rng=rng)
    x = rng.uniform(size=(2, 5))
    J = ae.jacobian(x)
    h = 1e-6
    for i in range(5):
        e = np.zeros(5)
        e[i] = h
        fd = (ae.encode(x + e) - ae.encode(x - e)) / (2 * h)        # (2, 3)
        np.testing.assert_allclose(J[:, :, i], fd, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ae.jacobian_norm(x), np.linalg.norm(J, axis=(1, 2)),
                               rtol=1e-12)
    assert ae.jacobian(x.astype(np.float64), dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="one-layer encoder with a sigmoid or tanh code"):
        models.MLPAutoencoder(sizes=(5, 4, 3), rng=rng).jacobian(x)


def test_reconstruction_loss_is_the_clean_likelihood_term():
    rng = np.random.default_rng(6)
    x = rng.uniform(0.05, 0.95, size=(4, 6))
    cae = models.ContractiveAutoencoder(sizes=(6, 3), lam=2.0, corruption=GaussianNoise(0.3),
                                        rng=rng)
    loss = cae.loss(x, noise=np.zeros_like(x))             # zero noise: the clean input
    assert cae.reconstruction_loss(x) == pytest.approx(cae.last_stats["recon"], rel=1e-12)
    assert loss - cae.reconstruction_loss(x) == pytest.approx(cae.last_stats["penalty"],
                                                              rel=1e-9)
