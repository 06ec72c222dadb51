"""Layers, losses and the MLP autoencoder."""

import numpy as np

from ..core import check_layer, check_loss, check_model, directional_check
from . import away_from_zero, layer_case, register


def spaced_rows(rng, shape, gap=0.1):
    """Values whose rows (last axis) hold distinct entries at least ``gap``
    apart and at least gap / 2 from 0: a random permutation of
    +-(gap/2 + gap * j), so no finite-difference step crosses a tie of the
    top-k set or a ReLU kink."""
    d = shape[-1]
    levels = gap * (np.arange(d) - d / 2 + 0.5)               # symmetric, none at 0
    rows = np.stack([rng.permutation(levels) for _ in range(int(np.prod(shape[:-1])))])
    return rows.reshape(shape)


def _register_core():
    from ... import losses
    from ...layers import (ACTIVATIONS, Flatten, Linear, ReLU, Reshape, Sequential, Sigmoid,
                           TiedLinear, TopK)
    from ...models import MLPAutoencoder

    for init in ("glorot", "he", "small"):
        register(f"layer Linear ({init})")(layer_case(
            lambda rng, init=init: Linear(5, 3, rng=rng, init=init)))
    register("layer Linear (no bias)")(layer_case(
        lambda rng: Linear(5, 3, rng=rng, bias=False)))
    register("layer Linear (batch 1, width 1)")(
        lambda rng: check_layer(Linear(1, 1, rng=rng), away_from_zero(rng, (1, 1)),
                                rng=rng))
    register("layer Linear (tokens: batch 2, 3 tokens)")(layer_case(
        lambda rng: Linear(5, 3, rng=rng), shape=(2, 3, 5)))
    for act_name, cls in ACTIVATIONS.items():
        register(f"layer {cls.__name__}")(layer_case(lambda rng, cls=cls: cls()))
        register(f"layer {cls.__name__} (NCHW 2x3x4x5)")(layer_case(
            lambda rng, cls=cls: cls(), shape=(2, 3, 4, 5)))
    for name, shape, k in (("4 x 6, k = 2", (4, 6), 2), ("batch 1, width 1, k = 1", (1, 1), 1),
                           ("k = 1", (3, 5), 1), ("k = width", (3, 5), 5),
                           ("tokens 2 x 3 x 7, k = 3", (2, 3, 7), 3)):
        register(f"layer TopK ({name})")(
            lambda rng, shape=shape, k=k: check_layer(TopK(k), spaced_rows(rng, shape),
                                                      rng=rng))
    register("layer Linear -> TopK -> ReLU (a k-sparse code)")(
        lambda rng: check_layer(Sequential(Linear(5, 8, rng=rng), TopK(3), ReLU()),
                                spaced_rows(rng, (4, 5)), rng=rng))
    register("layer Flatten -> Linear -> Reshape (batch 1)")(layer_case(
        lambda rng: Sequential(Flatten(), Linear(12, 12, rng=rng), Reshape(3, 2, 2)),
        shape=(1, 3, 2, 2)))

    def tied(rng):
        enc = Linear(5, 3, rng=rng)
        return check_layer(Sequential(enc, Sigmoid(), TiedLinear(enc)),
                           away_from_zero(rng, (4, 5)), rng=rng)
    register("layer TiedLinear (in Sequential)")(tied)

    register("loss mse")(lambda rng: check_loss(
        losses.mse, rng.standard_normal((4, 6)), rng.standard_normal((4, 6))))
    register("loss bce_with_logits")(lambda rng: check_loss(
        losses.bce_with_logits, 3 * rng.standard_normal((4, 6)), rng.uniform(size=(4, 6))))
    register("loss gaussian_nll")(lambda rng: check_loss(
        losses.gaussian_nll, rng.standard_normal((4, 6)),
        0.5 * rng.standard_normal((4, 6)), rng.standard_normal((4, 6))))

    def mlp(**kw):
        def case(rng):
            model = MLPAutoencoder(sizes=(6, 5, 3), rng=rng, **kw)
            x = rng.uniform(0.05, 0.95, size=(4, 6))
            return check_model(model, x)
        return case
    register("model MLPAutoencoder (relu, bernoulli)")(mlp(activation="relu"))
    register("model MLPAutoencoder (sigmoid, mse)")(mlp(activation="sigmoid", likelihood="mse"))
    register("model MLPAutoencoder (tanh, tied)")(mlp(activation="tanh", tied=True))

    def mlp_directional(rng):
        model = MLPAutoencoder(sizes=(20, 16, 8, 4), rng=rng, activation="softplus")
        x = rng.uniform(0.05, 0.95, size=(8, 20))
        return directional_check(model, x, rng=rng, n_directions=5)
    register("model MLPAutoencoder (directional)")(mlp_directional)


_register_core()