"""Image layers: checks at the boundary name rank, channels and the bad
argument; initialisation uses conv fans; gradients accumulate; need_dx."""

import numpy as np
import pytest

from tinyae.gradcheck import check_layer
from tinyae.layers import (AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, Sequential,
                           Upsample)


def test_conv2d_shapes_and_glorot_fans(rng):
    layer = Conv2d(16, 32, 3, stride=2, padding=1, rng=rng)
    assert layer.params["W"].shape == (32, 16, 3, 3) and layer.params["b"].shape == (32,)
    # Var[W] = 2 / (fan_in + fan_out) = 2 / (16*9 + 32*9)
    assert layer.params["W"].var() == pytest.approx(2 / (48 * 9), rel=0.05)
    assert layer.forward(np.zeros((2, 16, 28, 28))).shape == (2, 32, 14, 14)
    he = Conv2d(16, 32, 3, init="he", rng=rng)
    assert he.params["W"].var() == pytest.approx(2 / (16 * 9), rel=0.05)


def test_conv_transpose2d_doubles_the_size(rng):
    up = ConvTranspose2d(8, 4, 4, stride=2, padding=1, rng=rng)
    assert up.params["W"].shape == (8, 4, 4, 4)
    assert up.forward(np.zeros((1, 8, 7, 7))).shape == (1, 4, 14, 14)
    up3 = ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, rng=rng)
    assert up3.forward(np.zeros((1, 8, 7, 7))).shape == (1, 4, 14, 14)


@pytest.mark.parametrize("layer_fn, shape, match", [
    (lambda rng: Conv2d(3, 4, 3, rng=rng), (2, 3, 8), r"Conv2d.forward: x must be a 4-D array"),
    (lambda rng: Conv2d(3, 4, 3, rng=rng), (2, 1, 8, 8),
     r"Conv2d.forward: x must have 3 channel\(s\) on axis 1 \(NCHW\), got shape \(2, 1, 8, 8\)"),
    (lambda rng: ConvTranspose2d(2, 4, 3, rng=rng), (2, 3, 4, 4), r"must have 2 channel"),
    (lambda rng: MaxPool2d(2), (4, 4), r"MaxPool2d.forward: x must be a 4-D array"),
    (lambda rng: Upsample(2), (1, 2, 3), r"Upsample.forward: x must be a 4-D array"),
    (lambda rng: Conv2d(1, 1, 5, rng=rng), (1, 1, 3, 3), r"kernel \(5, 5\) is larger"),
])
def test_forward_checks_name_rank_and_channels(layer_fn, shape, match, rng):
    with pytest.raises(ValueError, match=match):
        layer_fn(rng).forward(np.zeros(shape))


def test_forward_checks_dtype(rng):
    with pytest.raises(TypeError, match="dtype float64"):
        Conv2d(1, 1, 1, rng=rng).forward(np.zeros((1, 1, 2, 2), np.float32))


@pytest.mark.parametrize("make, match", [
    (lambda rng: Conv2d(0, 4, 3, rng=rng), r"in_channels must be a positive integer, got 0"),
    (lambda rng: Conv2d(1, 4, 3, stride=0, rng=rng), r"stride must be a positive integer.*got 0"),
    (lambda rng: Conv2d(1, 4, 3, stride=1.5, rng=rng), r"stride must be .*got 1.5"),
    (lambda rng: Conv2d(1, 4, 3, padding=-1, rng=rng), r"padding must be an integer >= 0"),
    (lambda rng: Conv2d(1, 4, (3, 3, 3), rng=rng), r"kernel must be"),
    (lambda rng: ConvTranspose2d(1, 4, 3, stride=2, output_padding=2, rng=rng),
     r"output_padding must be smaller than the stride"),
    (lambda rng: MaxPool2d(2, padding=2), r"padding must be at most half the kernel"),
    (lambda rng: AvgPool2d(0), r"kernel must be a positive integer"),
    (lambda rng: Upsample(0), r"scale must be a positive integer"),
    (lambda rng: Upsample(2, mode="cubic"), r"mode must be one of \['bilinear', 'nearest'\]"),
])
def test_constructor_errors_name_the_parameter(make, match, rng):
    with pytest.raises(ValueError, match=match):
        make(rng)


def test_conv_grads_accumulate_and_need_dx(rng, each_backend):
    layer = Conv2d(2, 3, 3, stride=2, padding=1, rng=rng)
    x = rng.standard_normal((2, 2, 5, 5))
    dout = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout)
    g1 = layer.grads["W"].copy()
    layer.forward(x)
    assert layer.backward(dout, need_dx=False) is None
    np.testing.assert_allclose(layer.grads["W"], 2 * g1, rtol=1e-12)
    assert dx.shape == x.shape
    layer.zero_grad()
    assert not layer.grads["W"].any()


def test_layer_gradients_both_backends(rng, each_backend):
    net = Sequential(Conv2d(1, 2, 3, padding=1, rng=rng), MaxPool2d(3, stride=2),
                     Upsample(2, mode="bilinear"),
                     ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1, rng=rng),
                     AvgPool2d(2))
    x = rng.uniform(-1, 1, (2, 1, 5, 5))
    assert check_layer(net, x, rng=rng).worst < 1e-7
