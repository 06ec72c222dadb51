"""Finite-difference checks of every layer and loss (float64), on both
backends, including batch 1 and width 1; the loss convention; safe numerics."""

import numpy as np
import pytest

from tinyae import functional as F
from tinyae import losses
from tinyae.gradcheck import away_from_zero, check_layer, check_loss
from tinyae.layers import (ACTIVATIONS, INITS, Linear, ReLU, Sequential, Sigmoid, Tanh,
                           TiedLinear, activation)

TOL = 1e-7
SHAPES = [(4, 5), (1, 5), (4, 1), (1, 1)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradients(name, shape, rng, each_backend):
    report = check_layer(activation(name), away_from_zero(rng, shape), rng=rng)
    assert report.worst < TOL, str(report)


@pytest.mark.parametrize("n_in,n_out,batch", [(5, 3, 4), (1, 1, 1), (1, 4, 3), (6, 1, 1)])
@pytest.mark.parametrize("init", sorted(INITS))
def test_linear_gradients(init, n_in, n_out, batch, rng, each_backend):
    layer = Linear(n_in, n_out, rng=rng, init=init)
    layer.params["b"][:] = rng.standard_normal(n_out)
    report = check_layer(layer, rng.standard_normal((batch, n_in)), rng=rng)
    assert report.worst < TOL, str(report)
    assert set(report.errors) == {"x", "W", "b"}


def test_linear_without_bias_has_no_b(rng):
    layer = Linear(3, 2, rng=rng, bias=False)
    assert set(layer.params) == {"W"}
    assert check_layer(layer, rng.standard_normal((4, 3)), rng=rng).worst < TOL


def test_tied_gradient_sums_both_uses(rng, each_backend):
    """W appears in the encoder and (transposed) in the decoder: its gradient
    must be the sum of both contributions."""
    enc = Linear(5, 3, rng=rng)
    net = Sequential(enc, Tanh(), TiedLinear(enc))
    report = check_layer(net, rng.standard_normal((4, 5)), rng=rng)
    assert report.worst < TOL, str(report)
    # Each use alone gives a different gradient: the sum is not either one.
    x, r = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    net.zero_grad()
    net.forward(x)
    net.backward(r)
    total = enc.grads["W"].copy()
    h = np.tanh(x @ enc.W + enc.params["b"])
    decoder_only = (h.T @ r).T                  # d/dW of sum(r * (h W^T + b)) holding h fixed
    assert not np.allclose(total, decoder_only)


def test_backward_accumulates_until_zero_grad(rng):
    layer = Linear(3, 2, rng=rng)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dout)
    once = layer.grads["W"].copy()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_allclose(layer.grads["W"], 2 * once)
    layer.zero_grad()
    assert not layer.grads["W"].any()


def test_sequential_flat_names_share_arrays(rng):
    net = Sequential(Linear(4, 3, rng=rng), ReLU(), Linear(3, 2, rng=rng))
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert net.params["2.W"] is net[2].params["W"]
    assert net.grads["0.b"] is net[0].grads["b"]


def test_cleared_weight_gradient_is_written_not_added(rng, each_backend):
    """After zero_grad, Linear's backward writes x^T dout into the very
    gradient array (no zero fill, no add): whatever the array held before
    the clear does not leak into the gradient, and a second backward
    without a clear adds as always (both fused and plain paths)."""
    for net in (Sequential(Linear(5, 3, rng=rng), Tanh()), Sequential(Linear(5, 3, rng=rng))):
        lin = net[0]
        x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
        array = lin.grads["W"]
        array[...] = 7.0                             # stale content
        net.zero_grad()
        net.forward(x)
        net.backward(dout)
        once = lin.grads["W"].copy()
        assert lin.grads["W"] is array               # the same array, written in place
        da = dout * (1 - np.tanh(x @ lin.W + lin.params["b"]) ** 2) if len(net) == 2 else dout
        np.testing.assert_allclose(once, x.T @ da, rtol=1e-12)
        net.forward(x)
        net.backward(dout)
        np.testing.assert_allclose(lin.grads["W"], 2 * once, rtol=1e-12)


@pytest.mark.parametrize("fused", [False, True])
def test_linear_backward_ops_write_dW_into_dW_out(fused, rng, each_backend):
    """``dW_out`` receives dW (its old content overwritten) and is the dW
    returned; dx and db are unchanged by it."""
    from tinyae.backend import ops
    x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((4, 3))
    if fused:
        _, cache = ops.linear_act_forward(x, W, b, "sigmoid")
        backward = ops.linear_act_backward
    else:
        _, cache = ops.linear_forward(x, W, b)
        backward = ops.linear_backward
    fresh = backward(dout, cache)
    into = np.full((5, 3), 9.0)
    got = backward(dout, cache, dW_out=into)
    assert got[1] is into
    for a, c in zip(got, fresh):
        np.testing.assert_array_equal(a, c)


def test_a_cleared_gradient_reads_as_zero_through_every_container(rng):
    """A cleared weight gradient that no backward has written yet reads as
    zeros from the layer, its Sequential, a composite layer and a model,
    although the array was never filled at clear time."""
    from tinyae.layers import TransformerBlock
    from tinyae.models import MLPAutoencoder
    model = MLPAutoencoder(sizes=(6, 3), rng=rng)
    block = TransformerBlock(8, 2, rng=rng)
    for owner, reader, key in [
            (model, lambda: model.grads, "decoder.0.W"),
            (model, lambda: model.decoder.grads, "0.W"),
            (model, lambda: model.decoder[0].grads, "W"),
            (block, lambda: block.grads, "fc1.W")]:
        reader()[key][...] = 3.0
        owner.zero_grad()
        assert not reader()[key].any(), key
        # a writer that adds from outside the layer's backward (a tied
        # decoder, a penalty) adds onto zeros, and a later backward adds on
        reader()[key][...] = 3.0
        owner.zero_grad()
        reader()[key][...] += 1.0
        assert (reader()[key] == 1.0).all(), key


def test_glorot_and_he_variances():
    rng = np.random.default_rng(0)
    W = Linear(400, 600, rng=rng, init="glorot").W
    assert W.var() == pytest.approx(2 / 1000, rel=0.02)
    assert np.abs(W).max() <= np.sqrt(6 / 1000)
    assert Linear(400, 600, rng=rng, init="he").W.var() == pytest.approx(2 / 400, rel=0.02)
    assert Linear(400, 600, rng=rng, init="small").W.std() == pytest.approx(0.01, rel=0.02)


def test_init_is_reproducible_from_rng():
    a = Linear(5, 4, rng=np.random.default_rng(7)).W
    b = Linear(5, 4, rng=np.random.default_rng(7)).W
    np.testing.assert_array_equal(a, b)


# -- losses ---------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 6), (1, 1), (3, 1)], ids=str)
def test_loss_gradients(shape, rng, each_backend):
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    assert check_loss(losses.mse, pred, target).worst < TOL
    assert check_loss(losses.bce_with_logits, 3 * pred, rng.uniform(size=shape)).worst < TOL
    assert check_loss(losses.gaussian_nll, pred, 0.5 * rng.standard_normal(shape),
                      target).worst < TOL


def test_loss_convention_sum_over_features_mean_over_batch(each_backend):
    pred = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    target = np.zeros((2, 3))
    loss, _ = losses.mse(pred, target)
    assert loss == pytest.approx((1 + 4 + 9 + 0) / 2)       # per example, not per pixel
    z = np.zeros((2, 3))
    loss, _ = losses.bce_with_logits(z, np.full((2, 3), 0.5))
    assert loss == pytest.approx(3 * np.log(2))
    loss, _, _ = losses.gaussian_nll(np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 3)))
    assert loss == pytest.approx(3 * 0.5 * (np.log(2 * np.pi) + 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_bce_finite_at_extreme_logits(dtype, each_backend):
    z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=dtype)
    s = F.sigmoid(z)
    np.testing.assert_array_equal(s[0, [0, 4]], [0.0, 1.0])
    for t in (0.0, 1.0):
        loss, dz = losses.bce_with_logits(z, np.full_like(z, t))
        assert np.isfinite(loss) and np.isfinite(dz).all()
        expected = np.sum(F.softplus(z.astype(np.float64)) - t * z.astype(np.float64))
        assert loss == pytest.approx(expected, rel=1e-6)
        assert dz.dtype == dtype
    # the right answer, not just a finite one: a confident wrong logit costs |z|
    loss, _ = losses.bce_with_logits(np.array([[1e4]], dtype=dtype), np.array([[0.0]], dtype=dtype))
    assert loss == pytest.approx(1e4)


def test_softplus_does_not_overflow():
    x = np.array([-1e4, -30.0, 0.0, 30.0, 1e4])
    out = F.softplus(x)
    assert np.isfinite(out).all()
    assert out[-1] == 1e4 and out[0] == 0.0
    assert out[2] == pytest.approx(np.log(2))
    assert out[3] == pytest.approx(30 + np.exp(-30), rel=1e-15)


# -- bad inputs name the parameter ----------------------------------------

def test_layer_rejects_wrong_width_and_dtype(rng):
    layer = Linear(4, 2, rng=rng)
    with pytest.raises(ValueError, match="4 features"):
        layer.forward(np.zeros((3, 5)))
    with pytest.raises(TypeError, match="float64"):
        layer.forward(np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="at least 2 dimension"):
        layer.forward(np.zeros(4))


@pytest.mark.parametrize("kwargs,name", [
    (dict(n_in=0, n_out=2), "n_in"), (dict(n_in=2, n_out=2.5), "n_out"),
    (dict(n_in=2, n_out=2, init="xavier"), "init"),
    (dict(n_in=2, n_out=2, dtype=np.int32), "dtype"),
    (dict(n_in=2, n_out=2, dtype="nonsense"), "dtype"),
])
def test_linear_constructor_errors_name_the_parameter(kwargs, name, rng):
    with pytest.raises((ValueError, TypeError), match=name):
        Linear(rng=rng, **kwargs)


def test_linear_requires_a_generator():
    with pytest.raises(TypeError, match="rng"):
        Linear(2, 2, rng=0)


def test_losses_reject_bad_inputs():
    good = np.zeros((2, 3))
    with pytest.raises(ValueError, match="same shape"):
        losses.mse(good, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="pred .*non-finite"):
        losses.mse(np.array([[np.nan, 0, 0], [0, 0, 0]]), good)
    with pytest.raises(TypeError, match="target .*dtype"):
        losses.mse(good, good.astype(np.float32))
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\]"):
        losses.bce_with_logits(good, good + 2)
    with pytest.raises(ValueError, match="activation"):
        activation("gelu")
    with pytest.raises(TypeError, match="source"):
        TiedLinear(Sigmoid())


def test_need_dx_false_skips_only_the_input_gradient(rng, each_backend):
    """A first layer fed with data need not compute dL/dx: same dW and db, dx None."""
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    grads = []
    for need_dx in (True, False):
        net = Sequential(Linear(5, 3, rng=np.random.default_rng(0)))
        net.forward(x)
        dx = net.backward(dout, need_dx=need_dx)
        assert (dx is None) == (not need_dx)
        grads.append({k: g.copy() for k, g in net.grads.items()})
    for k in grads[0]:
        np.testing.assert_array_equal(grads[0][k], grads[1][k])
