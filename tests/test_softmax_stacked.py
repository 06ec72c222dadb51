"""Softmax classifier (loss, gradient, stability, separable data, label
validation), the stacked autoencoder (greedy pretraining, fine-tuning
gradient) and the ROC metrics used for outlier detection."""

import numpy as np
import pytest

from tinyae.gradcheck import check_loss, check_model
from tinyae.models import SoftmaxClassifier
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


def test_bad_hyperparameters_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_classes"):
        SoftmaxClassifier(n_in=5, n_classes=1, rng=rng)
    with pytest.raises(TypeError, match="hidden"):
        SoftmaxClassifier(n_in=5, n_classes=3, hidden=4, rng=rng)
    with pytest.raises(ValueError, match="weight_decay"):
        SoftmaxClassifier(n_in=5, n_classes=3, weight_decay=-1.0, rng=rng)
