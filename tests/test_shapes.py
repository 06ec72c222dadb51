"""The layer protocol on any array shape: element-wise layers on images,
Linear on (..., n_in), Flatten and Reshape between image and dense layers,
initialisers driven by a weight's shape and fans."""

import numpy as np
import pytest

from tinyae.gradcheck import away_from_zero, check_layer
from tinyae.layers import (ACTIVATIONS, INITS, Flatten, Linear, ReLU, Reshape, Sequential,
                           init_weight)
from tinyae.optim import Adam


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_take_any_shape_on_both_backends(name, rng, each_backend):
    x = away_from_zero(rng, (2, 3, 4, 5))
    layer = ACTIVATIONS[name]()
    out = layer.forward(x)
    assert out.shape == x.shape
    flat = ACTIVATIONS[name]().forward(x.reshape(2, -1))
    np.testing.assert_array_equal(out.reshape(2, -1), flat)   # element-wise: shape-free
    report = check_layer(layer, x, rng=rng)
    assert report.worst < 1e-7, report


def test_relu_forward_of_a_4d_array():
    out = ReLU().forward(np.array([-1.0, 2.0]).reshape(1, 2, 1, 1))
    assert out.shape == (1, 2, 1, 1)
    assert out.ravel().tolist() == [0.0, 2.0]


def test_linear_on_leading_axes_equals_linear_on_rows(rng, each_backend):
    layer = Linear(4, 3, rng=rng)
    x = rng.standard_normal((2, 5, 4))
    out = layer.forward(x)
    assert out.shape == (2, 5, 3)
    np.testing.assert_allclose(out.reshape(10, 3), x.reshape(10, 4) @ layer.W, rtol=1e-12)
    assert check_layer(layer, x, rng=rng).worst < 1e-7


def test_flatten_and_reshape_round_trip_and_gradcheck(rng):
    x = rng.standard_normal((3, 2, 3, 5))
    f = Flatten()
    y = f.forward(x)
    assert y.shape == (3, 30)
    np.testing.assert_array_equal(f.backward(y), x)
    r = Reshape(2, 3, 5)
    np.testing.assert_array_equal(r.forward(y), x)
    assert r.backward(x).shape == (3, 30)
    net = Sequential(Flatten(), Linear(30, 7, rng=rng), ReLU(), Linear(7, 30, rng=rng),
                     Reshape((2, 3, 5)))
    assert check_layer(net, away_from_zero(rng, (1, 2, 3, 5)), rng=rng).worst < 1e-7


def test_reshape_errors_name_the_sizes():
    with pytest.raises(ValueError, match=r"30 values.*\(4, 4\)"):
        Reshape(4, 4).forward(np.zeros((2, 30)))
    with pytest.raises(ValueError, match="shape\\[1\\]"):
        Reshape(4, 0)
    with pytest.raises(ValueError, match="at least 2 dimension"):
        Flatten().forward(np.zeros(3))


def test_sequential_of_flatten_then_linear_trains(rng):
    """Images in, a dense regression out: the loss falls by 100x."""
    x = rng.standard_normal((64, 1, 4, 4))
    w_true = rng.standard_normal((16, 2))
    y = x.reshape(64, 16) @ w_true
    net = Sequential(Flatten(), Linear(16, 2, rng=rng))
    opt = Adam(net.params, lr=0.05)
    losses = []
    for _ in range(300):
        net.zero_grad()
        diff = net.forward(x) - y
        losses.append(float((diff ** 2).sum(axis=1).mean()))
        net.backward(2 * diff / len(x), need_dx=False)
        opt.step(net.grads)
    assert losses[-1] < losses[0] / 100, (losses[0], losses[-1])


@pytest.mark.parametrize("init", sorted(INITS))
def test_initialisers_use_the_fans_of_any_shape(init, rng):
    """A conv kernel (C_out, C_in, kh, kw) gets the variance its fans ask for."""
    shape, fan_in, fan_out = (64, 32, 3, 3), 32 * 9, 64 * 9
    W = init_weight(init, shape, fan_in, fan_out, rng, np.float32)
    assert W.shape == shape and W.dtype == np.float32
    want = {"glorot": 2.0 / (fan_in + fan_out), "he": 2.0 / fan_in, "small": 1e-4}[init]
    # 18,432 draws: the sample variance is within 3% of the target; the
    # other initialisers' variances differ from it by 2x or more.
    assert abs(W.var() / want - 1) < 0.03, (W.var(), want)


def test_linear_weight_matches_the_matrix_initialiser(rng):
    """Linear's W is init_weight of (n_in, n_out): the same draws as before."""
    W = Linear(5, 3, rng=np.random.default_rng(1)).W
    a = np.sqrt(6.0 / 8)
    np.testing.assert_array_equal(W, np.random.default_rng(1).uniform(-a, a, size=(5, 3)))


def test_layer_activations_are_the_functional_table():
    from tinyae import functional
    assert set(ACTIVATIONS) == set(functional.ACTIVATIONS)
    for name, cls in ACTIVATIONS.items():
        assert cls._op == name
