"""What the image path does with inputs a user has at hand, the same on both
backends: read-only arrays (``np.load(..., mmap_mode="r")``), integer images
(converted to float64: the mean of integers is not an integer), float16
(refused, named)."""

import numpy as np
import pytest

from tinyae.layers import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, Upsample

r = np.random.default_rng

LAYERS = {
    "conv same": lambda c: Conv2d(c, 2, 3, padding=1, rng=r(0)),
    "conv strided": lambda c: Conv2d(c, 2, (3, 2), stride=2, rng=r(0)),
    "convT": lambda c: ConvTranspose2d(c, 2, 3, stride=2, rng=r(0)),
    "maxpool": lambda c: MaxPool2d(2),
    "avgpool": lambda c: AvgPool2d(2),
    "nearest": lambda c: Upsample(2),
    "bilinear": lambda c: Upsample(2, mode="bilinear"),
}


@pytest.mark.parametrize("shape", [(1, 3, 7, 7), (4, 1, 7, 7), (1, 1, 6, 5), (2, 3, 5, 6)])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_read_only_inputs_work_like_writable_ones(name, shape, each_backend):
    x = r(1).standard_normal(shape)
    frozen = x.copy()
    frozen.setflags(write=False)
    a, b = LAYERS[name](shape[1]), LAYERS[name](shape[1])
    out_a, out_b = a.forward(x), b.forward(frozen)
    np.testing.assert_array_equal(out_a, out_b)
    dout = r(2).standard_normal(out_a.shape)
    np.testing.assert_array_equal(a.backward(dout), b.backward(dout))


def test_integer_images_are_pooled_and_upsampled_as_floats(each_backend):
    xi = np.arange(2 * 1 * 4 * 4).reshape(2, 1, 4, 4)
    xf = xi.astype(np.float64)
    for name in ("avgpool", "maxpool", "nearest", "bilinear"):
        np.testing.assert_array_equal(LAYERS[name](1).forward(xi), LAYERS[name](1).forward(xf))
    assert AvgPool2d(2).forward(xi)[0, 0, 0, 0] == 2.5            # (0 + 1 + 4 + 5) / 4
    assert Upsample(2, mode="bilinear").forward(xi)[0, 0, 0, 1] == 0.25
    padded = MaxPool2d(3, stride=1, padding=1).forward(np.full((1, 1, 3, 3), 2**62))
    assert padded.dtype == np.float64 and padded.max() == 2.0**62
    assert AvgPool2d(2).forward(xi > 7).dtype == np.float64


@pytest.mark.parametrize("name", ["maxpool", "avgpool", "nearest", "bilinear"])
def test_float16_is_refused_by_name(name, each_backend):
    with pytest.raises(TypeError, match=r"forward: x has dtype float16; expected float32 or "
                                        r"float64 .* x.astype\(np.float32\)"):
        LAYERS[name](1).forward(np.zeros((1, 1, 4, 4), np.float16))
