"""The layer protocol's contract, for every layer ``tinyae.layers`` exports
(found there, so a new layer cannot be forgotten), on both backends:

* ``backward`` before any ``forward`` is a named error, and so is a ``dout``
  whose shape is not that of the last output (Conv2d used to raise a raw
  matmul error; ConvTranspose2d and MaxPool2d on Numba returned a wrong
  gradient without a word);
* ``backward`` *adds* into ``grads``: two backward passes without a
  ``zero_grad`` between them give twice the gradient of one (a layer that
  assigns fails), and ``zero_grad`` clears.
"""

import inspect
import re

import numpy as np
import pytest

from tinyae import layers as L

r = np.random.default_rng
IMG = (2, 3, 6, 5)                 # batch 2, 3 channels, odd and non-square


def _x(shape, low=0.1, high=2.0, seed=1):
    rng = r(seed)
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


#: layer name -> (build() -> layer, its input)
FACTORIES = {
    "Linear": (lambda: L.Linear(5, 3, rng=r(0)), _x((4, 5))),
    "TiedLinear": (lambda: L.TiedLinear(L.Linear(3, 5, rng=r(0))), _x((4, 5))),
    "Sigmoid": (L.Sigmoid, _x((4, 5))),
    "Tanh": (L.Tanh, _x((4, 5))),
    "ReLU": (L.ReLU, _x((4, 5))),
    "Softplus": (L.Softplus, _x((4, 5))),
    "Identity": (L.Identity, _x((4, 5))),
    "TopK": (lambda: L.TopK(2), _x((4, 5))),
    "Flatten": (L.Flatten, _x(IMG)),
    "Reshape": (lambda: L.Reshape(3, 6, 5), _x((2, 90))),
    "Sequential": (lambda: L.Sequential(L.Linear(5, 4, rng=r(0)), L.ReLU(),
                                        L.Linear(4, 2, rng=r(1))), _x((4, 5))),
    "Conv2d": (lambda: L.Conv2d(3, 2, (3, 2), stride=(2, 1), padding=1, rng=r(0)), _x(IMG)),
    "ConvTranspose2d": (lambda: L.ConvTranspose2d(3, 2, 3, stride=2, rng=r(0)), _x(IMG)),
    "MaxPool2d": (lambda: L.MaxPool2d(3, stride=2), _x(IMG)),
    "AvgPool2d": (lambda: L.AvgPool2d(2), _x(IMG)),
    "Upsample": (lambda: L.Upsample(2), _x(IMG)),
    "LayerNorm": (lambda: L.LayerNorm(6), _x((2, 3, 6))),
    "GELU": (L.GELU, _x((2, 3, 6))),
    "MultiHeadSelfAttention": (lambda: L.MultiHeadSelfAttention(6, 2, rng=r(0)),
                               _x((2, 3, 6))),
    "TransformerBlock": (lambda: L.TransformerBlock(6, 2, mlp_ratio=2, rng=r(0)),
                         _x((2, 3, 6))),
    "PatchEmbed": (lambda: L.PatchEmbed((1, 4, 6), 2, 5, rng=r(0)), _x((2, 1, 4, 6))),
    "PositionalEmbedding": (lambda: L.PositionalEmbedding((2, 3), 4), _x((2, 6, 4))),
    "AngleEmbedding": (L.AngleEmbedding, _x((4, 1))),
    "Gain": (lambda: L.Gain(5), _x((4, 5))),
    "UnitNormDictionary": (lambda: L.UnitNormDictionary(6, 5, rng=r(0)), _x((4, 6))),
    "VectorQuantizer": (lambda: L.VectorQuantizer(4, 3, rng=r(0)), _x((2, 5, 3))),
}


def _exported_layers():
    return sorted(name for name, c in vars(L).items()
                  if inspect.isclass(c) and issubclass(c, L.Layer) and c is not L.Layer)


def test_every_exported_layer_has_a_contract_case():
    missing = [n for n in _exported_layers() if n not in FACTORIES]
    assert not missing, f"add a FACTORIES row for {missing}"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_backward_before_forward_is_a_named_error(name, each_backend):
    build, x = FACTORIES[name]
    layer = build()
    with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}.backward was called "
                                           rf"before any forward"):
        layer.backward(np.ones((4, 3)))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_a_dout_of_the_wrong_shape_is_a_named_error(name, each_backend):
    build, x = FACTORIES[name]
    layer = build()
    out = layer.forward(x)
    for bad in (out[:1], np.concatenate([out, out], axis=-1)):
        with pytest.raises(ValueError, match=r"dout: expected shape " + re.escape(
                str(out.shape)) + rf" \(the shape of {type(layer).__name__}'s last output\)"):
            layer.backward(np.ones_like(bad))
    layer.backward(np.ones_like(out))                   # the right shape still works


# layers with parameters; VectorQuantizer's codebook gets its gradient from losses()
@pytest.mark.parametrize("name", sorted(n for n in FACTORIES if n != "VectorQuantizer"
                                        and FACTORIES[n][0]().params))
def test_backward_adds_into_grads(name, each_backend):
    build, x = FACTORIES[name]
    layer = build()
    out = layer.forward(x)
    dout = _x(out.shape, seed=2)
    layer.zero_grad()
    layer.backward(dout)
    once = {k: g.copy() for k, g in layer.grads.items()}
    assert any(np.abs(g).max() > 0 for g in once.values())
    layer.forward(x)
    layer.backward(dout)                                # no zero_grad: adds
    for k, g in layer.grads.items():
        np.testing.assert_allclose(g, 2 * once[k], rtol=1e-12, atol=1e-300,
                                   err_msg=f"{name}: grads[{k!r}] was not added into")
    layer.zero_grad()
    assert all(not np.any(g) for g in layer.grads.values())


def test_the_codebook_gradient_adds_into_grads(each_backend):
    """VectorQuantizer's codebook gets its gradient from ``losses`` (not
    ``backward``): two calls without zero_grad give twice the gradient."""
    build, x = FACTORIES["VectorQuantizer"]
    vq = build()
    vq.forward(x)
    vq.zero_grad()
    vq.losses(0.25, x.shape[0])
    once = vq.grads["codebook"].copy()
    assert np.abs(once).max() > 0
    vq.losses(0.25, x.shape[0])
    np.testing.assert_allclose(vq.grads["codebook"], 2 * once, rtol=1e-12, atol=1e-300)
