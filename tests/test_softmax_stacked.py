"""Softmax classifier (loss, gradient, stability, separable data, label
validation), the stacked autoencoder (greedy pretraining, fine-tuning
gradient) and the ROC metrics used for outlier detection."""

import numpy as np
import pytest

from tinyae.corruption import GaussianNoise, MaskingNoise, SaltAndPepper
from tinyae.gradcheck import check_loss, check_model, directional_check
from tinyae.analysis.metrics import roc_auc, roc_curve
from tinyae.models import SoftmaxClassifier, StackedAutoencoder
from tinyae.models.softmax import log_softmax, softmax_cross_entropy
from tinyae.optim import Adam
from tinyae.train import fit


# --------------------------------------------------------------------------
# softmax_cross_entropy
# --------------------------------------------------------------------------

def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(0)
    logits = 2 * rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, size=5)
    report = check_loss(lambda a: softmax_cross_entropy(a, labels), logits)
    assert report.worst < 1e-7, str(report)


def test_softmax_cross_entropy_value_by_hand():
    # two rows, three classes: L = mean of [logsumexp(a_n) - a_n[y_n]]
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    labels = np.array([2, 1])
    expected = 0.5 * ((np.log(np.exp(1) + np.exp(2) + np.exp(3)) - 3.0) + np.log(3.0))
    loss, dlogits = softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(expected, rel=1e-12)
    p0 = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(dlogits[0], (p0 - [0, 0, 1]) / 2, rtol=1e-12)
    np.testing.assert_allclose(dlogits[1], ([1 / 3, 1 / 3, 1 / 3] - np.array([0, 1, 0])) / 2,
                               rtol=1e-12)
    np.testing.assert_allclose(dlogits.sum(axis=1), 0.0, atol=1e-15)


def test_log_softmax_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    logp = log_softmax(logits)
    assert np.isfinite(logp).all()
    np.testing.assert_allclose(logp[0], [0.0, -1e4, -2e4], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(logp[1], -np.log(3.0), rtol=1e-12)
    loss, dlogits = softmax_cross_entropy(logits, np.array([2, 0]))
    # row 0: label at -1e4, loss 2e4; row 1: log 3  ->  mean
    assert loss == pytest.approx((2e4 + np.log(3.0)) / 2, rel=1e-12)
    assert np.isfinite(dlogits).all()
    loss32, d32 = softmax_cross_entropy(logits.astype(np.float32), np.array([2, 0]))
    assert np.isfinite(loss32) and d32.dtype == np.float32


# --------------------------------------------------------------------------
# SoftmaxClassifier
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {},                                                  # logistic regression
    {"weight_decay": 0.3},
    {"hidden": (6,), "activation": "tanh"},
    {"hidden": (6, 5), "activation": "softplus", "weight_decay": 0.1},
], ids=["linear", "linear+wd", "hidden tanh", "2 hidden softplus+wd"])
def test_classifier_gradient(kwargs):
    rng = np.random.default_rng(1)
    model = SoftmaxClassifier(n_in=7, n_classes=4, rng=rng, **kwargs)
    x = rng.standard_normal((6, 7))
    y = rng.integers(0, 4, size=6)
    report = check_model(model, x, y)
    assert report.worst < 1e-7, str(report)


def test_classifier_weight_decay_adds_the_penalty():
    rng = np.random.default_rng(2)
    plain = SoftmaxClassifier(n_in=5, n_classes=3, rng=np.random.default_rng(3))
    decayed = SoftmaxClassifier(n_in=5, n_classes=3, rng=np.random.default_rng(3),
                                weight_decay=0.5)
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 3, size=4)
    W = plain.params["net.0.W"]
    assert decayed.loss(x, y) == pytest.approx(plain.loss(x, y) + 0.25 * np.sum(W * W),
                                               rel=1e-12)
    assert decayed.last_stats["xent"] == pytest.approx(plain.loss(x, y), rel=1e-12)


def test_classifier_separates_linearly_separable_classes():
    rng = np.random.default_rng(4)
    centers = 4.0 * rng.standard_normal((3, 10))        # three well-apart blobs
    y = rng.integers(0, 3, size=600)
    x = (centers[y] + 0.5 * rng.standard_normal((600, 10))).astype(np.float32)
    model = SoftmaxClassifier(n_in=10, n_classes=3, rng=rng, dtype=np.float32)
    assert model.accuracy(x, y) < 0.9                   # not separable by luck
    hist = fit(model, (x, y), optimizer=Adam(model.params, lr=0.05), epochs=10,
               batch_size=64, rng=rng, progress=False)
    assert model.accuracy(x, y) == 1.0
    assert hist["acc"][-1] > 0.99 and hist["xent"][-1] < hist["xent"][0]
    p = model.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert model.predict(x).shape == (600,)


@pytest.mark.parametrize("y, error", [
    (np.array([0, 1, 3, 1]), ValueError),              # 3 is not in [0, 3)
    (np.array([0, -1, 2, 1]), ValueError),
    (np.array([0.0, 1.0, 2.0, 1.0]), TypeError),       # float labels
    (np.array([0, 1, 2]), ValueError),                 # wrong length
    (np.eye(3, dtype=np.int64)[[0, 1, 2, 1]], ValueError),  # one-hot
    ([0, 1, 2, 1], TypeError),                         # a list
])
def test_bad_labels_name_y(y, error):
    model = SoftmaxClassifier(n_in=5, n_classes=3, rng=np.random.default_rng(0))
    x = np.zeros((4, 5))
    with pytest.raises(error, match=r"\by\b"):
        model.loss_and_grad(x, y)
    with pytest.raises(error, match=r"\by\b"):
        model.accuracy(x, y)


def test_bad_hyperparameters_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_classes"):
        SoftmaxClassifier(n_in=5, n_classes=1, rng=rng)
    with pytest.raises(TypeError, match="hidden"):
        SoftmaxClassifier(n_in=5, n_classes=3, hidden=4, rng=rng)
    with pytest.raises(ValueError, match="weight_decay"):
        SoftmaxClassifier(n_in=5, n_classes=3, weight_decay=-1.0, rng=rng)


# --------------------------------------------------------------------------
# StackedAutoencoder
# --------------------------------------------------------------------------

# Element-wise checks need gradients well above the finite-difference rounding
# floor (~eps |L| / h ~ 5e-10 with h = 1e-6): in these small stacks the
# first layer's gradient is 1e-3 to 1e-5 (vanishing gradients through
# saturating units, the very reason for pretraining), so a larger step is
# used: h = 1e-5 (tanh, softplus) and 1e-4 (sigmoid), where the O(h^2)
# truncation is still ~1e-9. Over 20 seeds the worst error is then < 7e-9,
# and for sigmoid it falls as 1/h from 7e-7 at h = 1e-6: the signature of
# rounding, not of a wrong gradient. Three sigmoid levels are checked
# directionally below.
@pytest.mark.parametrize("sizes, kwargs, h", [
    ((7, 5, 3), {"activation": "sigmoid"}, 1e-4),                                   # plain
    ((7, 5, 4, 3), {"activation": "tanh", "corruption": MaskingNoise(0.3)}, 1e-5),  # DAE
    ((7, 5, 3), {"activation": "softplus", "corruption": GaussianNoise(0.2), "tied": True},
     1e-5),
    ((7, 5, 3), {"activation": "sigmoid", "corruption": SaltAndPepper(0.2),
                 "code_activation": "identity", "likelihood": "mse"}, 1e-4),
], ids=["plain sigmoid", "masking tanh 3 levels", "gaussian softplus tied", "s&p mse"])
def test_stacked_finetune_gradient(sizes, kwargs, h):
    rng = np.random.default_rng(5)
    model = StackedAutoencoder(sizes=sizes, rng=rng, **kwargs)
    x = rng.uniform(0.05, 0.95, size=(5, 7))
    noise = model.corruption.sample(x, rng) if model.corruption is not None else None
    report = check_model(model, x, noise=noise, h=h)
    assert report.worst < 1e-7, str(report)
    n_linear = 2 * (len(sizes) - 1)
    assert len(report.errors) == len(model.params) == (
        3 * n_linear // 2 if kwargs.get("tied") else 2 * n_linear)


def test_stacked_sigmoid_three_levels_directional():
    rng = np.random.default_rng(11)
    model = StackedAutoencoder(sizes=(7, 5, 4, 3), rng=rng, corruption=MaskingNoise(0.3))
    x = rng.uniform(0.05, 0.95, size=(5, 7))
    report = directional_check(model, x, rng=rng, n_directions=5,
                               noise=model.corruption.sample(x, rng))
    assert report.worst < 1e-7, str(report)


def test_stacked_denoising_finetune_uses_the_corruption():
    rng = np.random.default_rng(6)
    model = StackedAutoencoder(sizes=(7, 5, 3), rng=np.random.default_rng(0),
                               corruption=MaskingNoise(0.5))
    clean = StackedAutoencoder(sizes=(7, 5, 3), rng=np.random.default_rng(0),
                               corruption=MaskingNoise(0.5), denoise_finetune=False)
    assert clean.corruption is None and clean.pretrain_corruption.fraction == 0.5
    x = rng.uniform(0.05, 0.95, size=(5, 7))
    plain = clean.loss(x)                                   # clean x -> x
    assert model.loss(x, noise=np.ones_like(x)) == pytest.approx(plain, rel=1e-12)  # keep all
    assert abs(model.loss(x, noise=np.zeros_like(x)) - plain) > 1e-3             # drop all
    with pytest.raises(ValueError, match="rng"):
        model.loss(x)


def _structured(rng, n=800, d=24):
    """Inputs in (0, 1) on a 4-D nonlinear manifold (something to compress)."""
    z = rng.standard_normal((n, 4))
    A = rng.standard_normal((4, d))
    return (1 / (1 + np.exp(-(z @ A)))).astype(np.float32)


@pytest.mark.parametrize("corruption", [None, MaskingNoise(0.2)], ids=["AE", "DAE"])
def test_greedy_pretraining_reduces_each_level_loss(corruption):
    rng = np.random.default_rng(7)
    x = _structured(rng)
    sae = StackedAutoencoder(sizes=(24, 12, 6), rng=rng, corruption=corruption,
                             dtype=np.float32)
    report = sae.pretrain(x, epochs=[8, 8], batch_size=32, lr=3e-3, rng=rng)
    assert [r["sizes"] for r in report] == [(24, 12), (12, 6)]
    for r in report:
        assert r["loss_after"] < 0.9 * r["loss_before"], r
        assert r["history"]["loss"][-1] < r["history"]["loss"][0]
    # the stack now holds the level AEs' weights: its encoder is their composition
    lvl0, lvl1 = report[0]["model"], report[1]["model"]
    np.testing.assert_array_equal(sae.params["encoder.0.W"], lvl0.params["encoder.0.W"])
    np.testing.assert_array_equal(sae.params["decoder.2.W"], lvl0.params["decoder.0.W"])
    np.testing.assert_array_equal(sae.params["decoder.0.b"], lvl1.params["decoder.0.b"])
    np.testing.assert_allclose(sae.encode(x), lvl1.encode(lvl0.encode(x)), rtol=1e-6)
    assert sae.encode(x).shape == (800, 6)


def test_pretrained_stack_starts_better_than_random_and_fine_tunes():
    rng = np.random.default_rng(8)
    x = _structured(rng)
    fresh = StackedAutoencoder(sizes=(24, 12, 6), rng=np.random.default_rng(9), dtype=np.float32)
    sae = StackedAutoencoder(sizes=(24, 12, 6), rng=np.random.default_rng(9), dtype=np.float32)
    sae.pretrain(x, epochs=8, batch_size=32, lr=3e-3, rng=rng)
    # compare the excess over the Bernoulli loss floor sum_d H(x_d) (targets are
    # not binary, so the loss cannot reach 0)
    floor = -np.mean(np.sum(x * np.log(x) + (1 - x) * np.log(1 - x), axis=1))
    pretrained = sae.loss(x)
    assert pretrained - floor < 0.8 * (fresh.loss(x) - floor)
    fit(sae, x, optimizer=Adam(sae.params, lr=1e-3), epochs=3, batch_size=32, rng=rng,
        progress=False)
    assert sae.loss(x) < pretrained
    err = sae.reconstruction_error(x)
    assert err.shape == (800,)
    np.testing.assert_allclose(err, np.sum((sae.reconstruct(x) - x) ** 2, axis=1), rtol=1e-5)


def test_stacked_bad_arguments_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="corruption"):
        StackedAutoencoder(sizes=(6, 4), rng=rng, corruption="masking")
    sae = StackedAutoencoder(sizes=(6, 4, 2), rng=rng)
    with pytest.raises(ValueError, match="epochs"):
        sae.pretrain(np.zeros((4, 6)), epochs=[1], batch_size=2, rng=rng)


# --------------------------------------------------------------------------
# ROC metrics
# --------------------------------------------------------------------------

def test_roc_auc_hand_computed():
    neg = np.array([0.1, 0.4, 0.35, 0.8])
    pos = np.array([0.35, 0.9, 0.5])
    # pairs won by the positive: 0.35 -> 1 (+1/2 tie), 0.9 -> 4, 0.5 -> 3: 8.5 of 12
    assert roc_auc(neg, pos) == pytest.approx(8.5 / 12, abs=1e-15)
    assert roc_auc(pos, neg) == pytest.approx(3.5 / 12, abs=1e-15)
    fpr, tpr, thr = roc_curve(neg, pos)
    # thresholds +inf, 0.9, 0.8, 0.5, 0.4, 0.35, 0.1
    np.testing.assert_allclose(thr[1:], [0.9, 0.8, 0.5, 0.4, 0.35, 0.1])
    np.testing.assert_allclose(fpr, [0, 0, 1 / 4, 1 / 4, 2 / 4, 3 / 4, 1])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    assert np.trapezoid(tpr, fpr) == pytest.approx(8.5 / 12, abs=1e-15)


def test_roc_auc_matches_pair_counting_and_extremes():
    rng = np.random.default_rng(10)
    neg = rng.integers(0, 20, size=57).astype(float)     # many ties
    pos = rng.integers(5, 25, size=43).astype(float)
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    assert roc_auc(neg, pos) == pytest.approx(pairs.mean(), abs=1e-12)
    fpr, tpr, _ = roc_curve(neg, pos)
    assert np.trapezoid(tpr, fpr) == pytest.approx(pairs.mean(), abs=1e-12)
    assert roc_auc([1.0, 2.0], [3.0, 4.0]) == 1.0
    assert roc_auc([3.0, 4.0], [1.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match="scores_pos"):
        roc_auc([1.0], [])
