"""Image ops and layers (NCHW) on awkward shapes: odd sizes, stride 2 with
padding 1, batch 1, one channel, kernel 1, overlapping pooling windows; the
channel-major (C, N, H, W) twins of the convolutions, and the channel-major
chains of ``Sequential``."""

import numpy as np

from ..core import check_arrays, check_layer, check_model, directional_check
from . import away_from_zero, register


def _op_case(op, x_shape, *extra, w_shape=None, distinct=False):
    """Check ``ops.<op>_backward`` against finite differences of
    ``sum(ops.<op>_forward(x, [W, b,] *extra) * r)``; ``distinct``: x holds
    well-separated values (max pooling: no near-ties)."""
    def case(rng):
        from ...backend import ops
        fwd, bwd = getattr(ops, op + "_forward"), getattr(ops, op + "_backward")
        if distinct:   # well apart, and (half below 0) none near a ReLU's kink
            n = int(np.prod(x_shape))
            x = ((rng.permutation(n).reshape(x_shape) - n // 2 + 0.5) * 0.1
                 + rng.uniform(0.0, 0.01, x_shape))
        else:
            x = away_from_zero(rng, x_shape)
        arrays = {"x": x}
        if w_shape is not None:
            arrays["W"] = rng.standard_normal(w_shape)
            arrays["b"] = rng.standard_normal(w_shape[1 if op.startswith("conv_t") else 0])
        args = list(arrays.values())
        r = rng.standard_normal(fwd(*args, *extra)[0].shape)
        grads = bwd(r, fwd(*args, *extra)[1])
        grads = grads if isinstance(grads, tuple) else (grads,)
        return check_arrays(lambda: float(np.sum(fwd(*args, *extra)[0] * r)), arrays,
                            dict(zip(arrays, grads)), name=op)
    return case


def _register_ops():
    for label, x_shape, w_shape, s, p in (
            ("3x3", (2, 3, 6, 6), (4, 3, 3, 3), 1, 1),
            ("odd 7x5, stride 2, padding 1", (2, 2, 7, 5), (3, 2, 3, 3), 2, 1),
            ("batch 1, one channel", (1, 1, 5, 5), (1, 1, 3, 3), 1, 0),
            ("kernel 1", (2, 3, 3, 4), (2, 3, 1, 1), 1, 0),
            ("kernel (3, 2), stride (2, 1)", (1, 2, 6, 5), (2, 2, 3, 2), (2, 1), (1, 0))):
        register(f"op conv2d ({label})")(_op_case("conv2d", x_shape, s, p, w_shape=w_shape))
    for act, label, x_shape, w_shape, s, p in (
            ("tanh", "3x3 same", (2, 3, 6, 5), (4, 3, 3, 3), 1, 1),
            ("softplus", "stride 2, padding 1, odd, batch 1", (1, 2, 7, 5), (3, 2, 3, 3), 2, 1),
            ("sigmoid", "one input channel, kernel 1", (2, 1, 3, 4), (2, 1, 1, 1), 1, 0)):
        register(f"op conv2d_act {act} ({label})")(
            _op_case("conv2d_act", x_shape, s, p, act, w_shape=w_shape))
    for label, x_shape, w_shape, s, p, op_ in (
            ("3x3", (2, 3, 4, 4), (3, 2, 3, 3), 1, 1, 0),
            ("k3 s2 p1 op1", (2, 2, 3, 4), (2, 3, 3, 3), 2, 1, 1),
            ("k4 s2 p1, batch 1", (1, 2, 3, 3), (2, 1, 4, 4), 2, 1, 0),
            ("one channel, kernel 1", (2, 1, 3, 3), (1, 1, 1, 1), 1, 0, 0)):
        register(f"op conv_transpose2d ({label})")(
            _op_case("conv_transpose2d", x_shape, s, p, op_, w_shape=w_shape))
    # the channel-major twins: x given as (C, N, H, W)
    for op, label, x_shape, w_shape, extra in (
            ("conv2d_cnhw", "3x3 same, odd 6x5", (3, 2, 6, 5), (4, 3, 3, 3), (1, 1)),
            ("conv2d_cnhw", "stride 2, padding 1, batch 1", (2, 1, 7, 5), (3, 2, 3, 3), (2, 1)),
            ("conv2d_act_cnhw", "relu, same, one input channel", (1, 2, 5, 4), (2, 1, 3, 3),
             (1, 1, "relu")),
            ("conv2d_act_cnhw", "tanh, kernel (3, 2), stride (2, 1)", (2, 2, 6, 5),
             (3, 2, 3, 2), ((2, 1), (1, 0), "tanh")),
            ("conv_transpose2d_cnhw", "k3 s2 p1 op1, odd", (2, 2, 3, 4), (2, 3, 3, 3),
             (2, 1, 1)),
            ("conv_transpose2d_cnhw", "3x3 same, batch 1, one output channel", (3, 1, 4, 5),
             (3, 1, 3, 3), (1, 1, 0))):
        register(f"op {op} ({label})")(_op_case(op, x_shape, *extra, w_shape=w_shape))
    for pool in ("max_pool2d", "avg_pool2d"):
        for label, x_shape, k, s, p in (
                ("2x2", (2, 2, 6, 6), 2, 2, 0),
                ("overlapping k3 s2", (2, 2, 7, 7), 3, 2, 0),
                ("k3 s2 p1, odd, batch 1", (1, 2, 7, 5), 3, 2, 1),
                ("kernel 1, one channel", (2, 1, 3, 3), 1, 1, 0)):
            register(f"op {pool} ({label})")(
                _op_case(pool, x_shape, k, s, p, distinct=pool == "max_pool2d"))
    for act, label, x_shape, k, s, p in (
            ("relu", "2x2", (2, 2, 6, 6), 2, 2, 0),
            ("relu", "overlapping k3 s2 p1, odd, batch 1", (1, 2, 7, 5), 3, 2, 1),
            ("tanh", "2x2, odd 5x7", (2, 1, 5, 7), 2, 2, 0)):
        register(f"op max_pool2d_act {act} ({label})")(
            _op_case("max_pool2d_act", x_shape, k, s, p, act, distinct=True))
    for mode in ("nearest", "bilinear"):
        for label, x_shape, scale in (("x2", (2, 2, 3, 4), 2), ("x3, batch 1, 1x1", (1, 1, 1, 1), 3),
                                      ("(2, 3), odd", (1, 2, 3, 5), (2, 3))):
            register(f"op upsample_{mode}2d ({label})")(
                _op_case(f"upsample_{mode}2d", x_shape, scale))


_register_ops()


def _register_layers():
    from ...layers import (AvgPool2d, Conv2d, ConvTranspose2d, Flatten, Linear, MaxPool2d,
                           ReLU, Reshape, Sequential, Tanh, Upsample)

    def layer(make, shape):
        return lambda rng: check_layer(make(rng), away_from_zero(rng, shape), rng=rng)

    register("layer Conv2d (stride 2, padding 1, odd 7x7)")(layer(
        lambda rng: Conv2d(2, 3, 3, stride=2, padding=1, rng=rng), (2, 2, 7, 7)))
    register("layer Conv2d (batch 1, one channel, kernel 1, no bias)")(layer(
        lambda rng: Conv2d(1, 2, 1, rng=rng, bias=False), (1, 1, 3, 4)))
    register("layer ConvTranspose2d (k3 s2 p1 op1)")(layer(
        lambda rng: ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1,
                                    rng=rng), (2, 2, 3, 3)))
    register("layer MaxPool2d (k3 s2, in Sequential after Tanh)")(layer(
        lambda rng: Sequential(Conv2d(1, 2, 3, padding=1, rng=rng), Tanh(),
                               MaxPool2d(3, stride=2)), (2, 1, 5, 5)))
    register("layer AvgPool2d (k3 s2 p1)")(layer(
        lambda rng: AvgPool2d(3, stride=2, padding=1), (2, 2, 5, 6)))
    for mode in ("nearest", "bilinear"):
        register(f"layer Upsample ({mode}, x2)")(layer(
            lambda rng, mode=mode: Upsample(2, mode=mode), (1, 2, 3, 3)))
    # Sequential's channel-major chains: a ReLU before an overlapping max
    # pool (run after it in the chain), a transposed convolution and
    # upsampling, batch 1 of odd size; then two chains around dense layers
    register("layer channel-major chain (Conv2d, ReLU, MaxPool2d k3 s2, ConvTranspose2d, "
             "Tanh, Upsample, AvgPool2d)")(layer(
                 lambda rng: Sequential(
                     Conv2d(2, 3, 3, padding=1, rng=rng), ReLU(), MaxPool2d(3, stride=2),
                     ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1,
                                     rng=rng), Tanh(), Upsample(2, mode="bilinear"),
                     AvgPool2d(2)), (1, 2, 7, 5)))
    register("layer conv encoder-decoder (Conv2d, ReLU, Flatten, Linear, Reshape, "
             "ConvTranspose2d)")(layer(
                 lambda rng: Sequential(
                     Conv2d(1, 2, 3, stride=2, padding=1, rng=rng), ReLU(), Flatten(),
                     Linear(8, 3, rng=rng), Linear(3, 8, rng=rng), Reshape(2, 2, 2),
                     ConvTranspose2d(2, 1, 4, stride=2, padding=1, rng=rng)),
                 (2, 1, 4, 4)))


_register_layers()


def _register_models():
    from ...corruption import MaskingNoise
    from ...models import ConvAutoencoder, ConvVAE
    from ...models.conv import PML_BOOK_CNN

    small = {   # the book's architecture, scaled down: 8x8 -> (3, 2, 2) code
        "encoder": [("conv", 2, 3, {"padding": 1}), "tanh", ("maxpool", 2),
                    ("conv", 3, 3, {"stride": 2, "padding": 1}), "tanh"],
        "decoder": [("convT", 2, 3, {"stride": 2, "padding": 1, "output_padding": 1}),
                    "tanh", ("upsample", 2), ("conv", 1, 3, {"padding": 1})],
    }

    def ae(spec, shape=(1, 8, 8), batch=2, flat=False, **kw):
        def case(rng):
            model = ConvAutoencoder(**spec, input_shape=shape, rng=rng, **kw)
            x = rng.uniform(0.05, 0.95, size=(batch, *shape))
            if flat:
                x = x.reshape(batch, -1)
            noise = model.corruption.sample(x, rng) if model.corruption else None
            return check_model(model, x, noise=noise)
        return case
    register("model ConvAutoencoder (conv/maxpool/convT/upsample, bernoulli)")(ae(small))
    register("model ConvAutoencoder (flat input, batch 1, mse)")(
        ae(small, batch=1, flat=True, likelihood="mse"))
    register("model ConvAutoencoder (masking corruption, odd 7x5, 2 channels)")(ae(
        {"encoder": [("conv", 3, 3, {"stride": 2, "padding": 1}), "tanh", "flatten",
                     ("linear", 4)],
         "decoder": [("linear", 3 * 4 * 3), "tanh", ("reshape", 3, 4, 3),
                     ("convT", 2, 3, {"stride": 2, "padding": 1})]},
        shape=(2, 7, 5), corruption=MaskingNoise(0.3)))

    def split(rng):      # uneven slices: a wrong weighting of them would show
        from ...parallel import DataParallel
        model = ConvAutoencoder(**small, input_shape=(1, 8, 8), rng=rng)
        x = rng.uniform(0.05, 0.95, size=(3, 1, 8, 8))
        return check_model(DataParallel(model, workers=2), x,
                           name="DataParallel(ConvAutoencoder)")
    register("model DataParallel(ConvAutoencoder) (2 workers, slices of 2 and 1)")(split)

    # The book's architecture at full size with its kinks smoothed (ReLU ->
    # softplus, max -> average pooling): a directional step moves all
    # ~40,000 units at once and would cross some ReLU or max-pool kink
    # (measured: 1.6e-6 with h = 1e-4). Max pooling and ReLU are checked on
    # their own above, element by element, away from kinks.
    def book(rng):
        smooth = {"relu": "softplus"}
        spec = {part: [smooth.get(e, e) if isinstance(e, str)
                       else ("avgpool",) + e[1:] if e[0] == "maxpool" else e
                       for e in layers]
                for part, layers in PML_BOOK_CNN.items()}
        model = ConvAutoencoder(**spec, rng=rng)
        x = rng.uniform(0.05, 0.95, size=(2, 1, 28, 28))
        return directional_check(model, x, rng=rng, n_directions=3)
    register("model ConvAutoencoder (the PML book's CNN, smoothed, directional)")(book)

    def vae(decoder):
        def case(rng):
            model = ConvVAE(
                encoder=[("conv", 2, 3, {"stride": 2, "padding": 1}), "tanh",
                         ("avgpool", 3, {"stride": 2, "padding": 1})],
                decoder=decoder, n_code=2, input_shape=(1, 6, 6), rng=rng)
            x = rng.uniform(0.05, 0.95, size=(3, 1, 6, 6))
            # h = 1e-5: the loss is ~25 nats, so h = 1e-6 leaves rounding
            # errors of ~1e-9 against gradients of ~1e-2
            return check_model(model, x, eps=rng.standard_normal((3, 2)), h=1e-5)
        return case
    register("model ConvVAE (transposed-conv decoder)")(vae(
        [("linear", 2 * 3 * 3), "tanh", ("reshape", 2, 3, 3),
         ("convT", 1, 4, {"stride": 2, "padding": 1})]))
    register("model ConvVAE (upsample + conv decoder)")(vae(
        [("linear", 2 * 3 * 3), "tanh", ("reshape", 2, 3, 3),
         ("upsample", 2, {"mode": "bilinear"}), ("conv", 1, 3, {"padding": 1})]))


_register_models()
