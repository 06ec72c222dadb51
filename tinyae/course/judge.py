"""A digit judge: is a picture a model drew recognisable as the digit it
should be?

A reconstruction figure says "the autoencoder keeps the digit" only if a
reader would name the same digit in the input and in its reconstruction; a
figure of conditional samples only if each shows the digit asked for. The
lessons claim it with a reader that does not tire: a softmax classifier with
one hidden layer (``tinyae.models.SoftmaxClassifier``, 784-200-10, as lesson
14 uses) trained on real MNIST digits, which names 97-98% of the real test
digits correctly. ``recognised_share(images, labels)`` is the share of the
images it names as their labels.

The judge is trained once per process and seed (a few seconds on one core)
and kept, so a lesson that judges several figures pays once.
"""

from functools import lru_cache

import numpy as np

from ..data import load_mnist
from ..models import SoftmaxClassifier
from ..optim import Adam, cosine_decay
from ..train import fit

#: How the judge is trained: all 60,000 training digits, Adam with a cosine
#: decay from 1e-3, batch 128.
JUDGE_EPOCHS = 3


@lru_cache(maxsize=4)
def digit_judge(seed=0):
    """The judge trained with ``numpy.random.default_rng(seed)``: a fitted
    ``SoftmaxClassifier`` (784-200-10, float32). Cached per seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    rng = np.random.default_rng(seed)
    x, y = load_mnist("train", dtype=np.float32)
    clf = SoftmaxClassifier(n_in=784, n_classes=10, hidden=(200,), rng=rng,
                            dtype=np.float32)
    fit(clf, (x, y), optimizer=Adam(clf.params, lr=1e-3), epochs=JUDGE_EPOCHS,
        batch_size=128, rng=rng, progress=False,
        lr_schedule=cosine_decay(1e-3, JUDGE_EPOCHS))
    return clf


def recognised_share(images, labels, *, seed=0):
    """The share of ``images`` (N, 784) in [0, 1] that the judge names as
    ``labels`` (N,) ints in 0..9: 1.0 when every one is recognised."""
    images = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    labels = np.asarray(labels)
    if images.shape[1] != 784:
        raise ValueError(f"images: expected (N, 784) digits (or (N, 1, 28, 28)), got "
                         f"shape {np.shape(images)}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected shape ({len(images)},) to match images, got "
                         f"{labels.shape}")
    return float(np.mean(digit_judge(seed).predict(images) == labels))
