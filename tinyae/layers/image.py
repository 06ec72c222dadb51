"""Image layers on NCHW arrays: convolution, transposed convolution,
pooling, upsampling. The ops and their derivations: ``tinyae/functional/conv.py``.

Size arguments (kernel, stride, padding, output_padding, scale) are ints or
(height, width) pairs, checked at construction by ``conv_geometry``.

Channel-major chains: every layer here (and every activation) has
``runs_in_chains = True``: it can run inside a chain of image layers that
``layers.Sequential`` keeps in (C, N, H, W) layout between its two ends
(``functional.conv``, "Channel-major twins"). The convolutions do so
through ``forward_cnhw`` / ``backward_cnhw`` (their ``_cnhw`` ops, which
save the transposes around the im2col product); pooling and upsampling work
per (H, W) plane, so their ``forward`` and ``backward`` take either layout.
The public layout stays NCHW: a chain converts at its ends.
"""

import numpy as np

from .._validation import check_choice, check_dtype, check_positive_int, check_rng
from ..backend import ops
from ..functional.conv import as_pair, conv_geometry
from .base import CHANNEL_MAJOR, INITS, Layer, init_weight


class _ImageLayer(Layer):
    """A layer on (N, C, H, W) input; ``in_channels`` None accepts any."""

    in_channels = None
    runs_in_chains = True       # runs in a Sequential's channel-major chain

    def _float_image(self, x):
        """x for a layer without parameters (pooling, upsampling), which has
        no dtype of its own: float32 and float64 pass as they are; integer
        and boolean images are converted to float64 (the mean of a window of
        integers is not an integer, and padding a max pool needs -inf), the
        same on both backends; any other dtype (float16, complex) is refused."""
        self._check_image(x)
        if x.dtype in (np.float32, np.float64):
            return x
        if x.dtype.kind in "iub":
            return x.astype(np.float64)
        raise TypeError(f"{type(self).__name__}.forward: x has dtype {x.dtype}; expected "
                        f"float32 or float64 (integer images are converted to float64), "
                        f"e.g. x.astype(np.float32)")

    def _check_image(self, x, dtype=None, cnhw=False):
        """x: a 4-D array of ``dtype`` with ``in_channels`` channels; with
        ``cnhw`` x is channel-major (a Sequential's chain), and an error
        names the NCHW shape the chain was given, as without it."""
        self._check_input(x, ndim=4, dtype=dtype)
        shape = (x.shape[1], x.shape[0], *x.shape[2:]) if cnhw else x.shape
        if self.in_channels is not None and shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}.forward: x must have {self.in_channels} "
                f"channel(s) on axis 1 (NCHW), got shape {shape}")


class _ConvLayer(_ImageLayer):
    """What Conv2d and ConvTranspose2d share: forward and backward in either
    layout through one method each, ``_forward`` / ``_backward``, which name
    the op (``_op`` + "_act" when an activation is fused + "_cnhw" in a
    channel-major chain), and how the op's gradients are added into
    ``grads`` (the bias is ``Layer._add_bias``'s, as Linear's)."""

    _op = None

    def forward(self, x):
        return self._forward(x, None, False)

    def backward(self, dout, need_dx=True):
        return self._backward(dout, None, need_dx, False)

    def forward_cnhw(self, x, act=None):
        """``forward`` (or, with ``act``, ``forward_act``) on channel-major
        x (C_in, N, H, W) -> (C_out, N, Ho, Wo); used by ``Sequential``.
        The layer's own ``backward`` then refuses to run: call
        ``backward_cnhw`` (the caches are of the chain's layout)."""
        out = self._forward(x, act, True)
        self._out_shape = CHANNEL_MAJOR
        return out

    def backward_cnhw(self, dout, act=None, need_dx=True):
        """Backward of ``forward_cnhw``: dout (C_out, N, Ho, Wo) -> dx (C_in,
        N, H, W) or None; adds into this layer's grads."""
        return self._backward(dout, act, need_dx, True)

    def _op_name(self, act, cnhw, direction):
        return (f"{self._op}{'_act' if act is not None else ''}"
                f"{'_cnhw' if cnhw else ''}_{direction}")

    def _backward(self, dout, act, need_dx, cnhw):
        cache = self.cache if act is None else (self.cache, act.cache, act._op)
        return self._add_grads(getattr(ops, self._op_name(act, cnhw, "backward"))(
            dout, cache, need_dx))

    def _add_grads(self, dx_dW_db):
        """(dx, dW, db) of the op -> dx; dW and db added into ``grads``."""
        dx, dW, db = dx_dW_db
        self.grads["W"] += dW
        if self.bias:
            self.grads["b"] += db
        return dx


class Conv2d(_ConvLayer):
    """2-D convolution: x (N, C_in, H, W) -> (N, C_out, Ho, Wo),
    ``Ho = (H + 2 padding - kernel) // stride + 1``.

    W: (C_out, C_in, kh, kw), b: (C_out,); initialised with fan_in =
    C_in kh kw (inputs of one output pixel) and fan_out = C_out kh kw.
    Op and gradients: ``functional.conv2d_forward`` / ``conv2d_backward``.
    """

    _op = "conv2d"

    def __init__(self, in_channels, out_channels, kernel, *, rng, stride=1, padding=0,
                 init="glorot", bias=True, dtype=np.float64):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel, self.stride, self.padding, _, _ = conv_geometry(
            "conv2d", None, kernel, stride, padding)
        check_rng(rng)
        self.init = check_choice(init, "init", INITS)
        self.bias = bool(bias)
        self.dtype = check_dtype(dtype)
        kh, kw = self.kernel
        self._add_param("W", init_weight(
            init, (out_channels, in_channels, kh, kw), in_channels * kh * kw,
            out_channels * kh * kw, rng, self.dtype))
        self._add_bias(out_channels)

    def _forward(self, x, act, cnhw):
        self._check_image(x, self.dtype, cnhw)
        extra = () if act is None else (act._op,)
        out, cache = getattr(ops, self._op_name(act, cnhw, "forward"))(
            x, self.params["W"], self._b(), self.stride, self.padding, *extra,
            cols_out=self._old_cols(x.swapaxes(0, 1) if cnhw else x))
        if act is None:
            self.cache = cache
        else:
            self.cache, act.cache, _ = cache
        return out

    def _old_cols(self, x):
        """The im2col columns of the previous cache, if x (NCHW) has the
        shape they were made for (else None), and the cache dropped. The cache is about
        to be overwritten, so its columns (the largest array of the step)
        take this step's: new memory of that size came back from the OS page
        by page each step, and the page faults cost about as much as filling
        it (docs/performance.md)."""
        old, self.cache = self.cache, None
        reuse = old is not None and old[2] == x.shape and old[0].dtype == x.dtype
        return old[0] if reuse else None

    # -- fused with the activation that follows (used by Sequential) -----------
    def forward_act(self, x, act):
        """``act(conv2d(x))`` as one op (``ops.conv2d_act_forward``): the same
        numbers as ``act.forward(self.forward(x))``, each layer keeping its
        own cache; for ReLU the kernel backend applies it in the pass that
        lays the product out as NCHW, and forms ``dout * [out > 0]`` in the
        backward's layout pass (two passes over the activations fewer)."""
        return self._forward(x, act, False)

    def backward_act(self, dout, act, need_dx=True):
        """Backward of ``forward_act``: dx (None if not ``need_dx``); adds
        into this layer's grads (the activation has none)."""
        return self._backward(dout, act, need_dx, False)

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel={self.kernel}, "
                f"stride={self.stride}, padding={self.padding})")


class ConvTranspose2d(_ConvLayer):
    """Transposed convolution (the adjoint of Conv2d): x (N, C_in, H, W) ->
    (N, C_out, Ho, Wo), ``Ho = (H - 1) stride - 2 padding + kernel +
    output_padding``; stride 2 doubles the size (kernel 4, padding 1; or
    kernel 3, padding 1, output_padding 1).

    W: (C_in, C_out, kh, kw), b: (C_out,). Initialised with fan_in =
    C_in kh kw / (sh sw), the average number of terms in one output pixel,
    and fan_out = C_out kh kw (each input pixel stamps a C_out kh kw block).
    Op and gradients: ``functional.conv_transpose2d_forward``.
    """

    _op = "conv_transpose2d"

    def __init__(self, in_channels, out_channels, kernel, *, rng, stride=1, padding=0,
                 output_padding=0, init="glorot", bias=True, dtype=np.float64):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel, self.stride, self.padding, self.output_padding, _ = conv_geometry(
            "conv_transpose2d", None, kernel, stride, padding, output_padding)
        check_rng(rng)
        self.init = check_choice(init, "init", INITS)
        self.bias = bool(bias)
        self.dtype = check_dtype(dtype)
        kh, kw = self.kernel
        area = kh * kw / (self.stride[0] * self.stride[1])
        self._add_param("W", init_weight(
            init, (in_channels, out_channels, kh, kw), max(in_channels * area, 1.0),
            out_channels * kh * kw, rng, self.dtype))
        self._add_bias(out_channels)

    def _forward(self, x, act, cnhw):
        """(no activation is fused with a transposed convolution: act is None)"""
        self._check_image(x, self.dtype, cnhw)
        out, self.cache = getattr(ops, self._op_name(None, cnhw, "forward"))(
            x, self.params["W"], self._b(), self.stride, self.padding, self.output_padding)
        return out

    def __repr__(self):
        return (f"ConvTranspose2d({self.in_channels}, {self.out_channels}, "
                f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding})")


class _Pool2d(_ImageLayer):
    """Shared by MaxPool2d and AvgPool2d: ``_op`` names the backend pair."""

    _op = None

    def __init__(self, kernel, *, stride=None, padding=0):
        super().__init__()
        self.kernel, self.stride, self.padding, _, _ = conv_geometry(
            self._op, None, kernel, kernel if stride is None else stride, padding)

    def forward(self, x):
        x = self._float_image(x)
        out, self.cache = getattr(ops, self._op + "_forward")(
            x, self.kernel, self.stride, self.padding)
        return out

    def backward(self, dout, need_dx=True):
        return getattr(ops, self._op + "_backward")(dout, self.cache)

    def __repr__(self):
        return (f"{type(self).__name__}(kernel={self.kernel}, stride={self.stride}, "
                f"padding={self.padding})")


class MaxPool2d(_Pool2d):
    """Max over windows (stride defaults to the kernel); ties send the
    gradient to the first max in row-major order (``functional.max_pool2d_forward``)."""
    _op = "max_pool2d"

    # -- fused with the activation that follows (used by Sequential) -----------
    def forward_act(self, x, act):
        """``act(max_pool2d(x))`` as one op (``ops.max_pool2d_act_forward``):
        the same numbers as ``act.forward(self.forward(x))``, each layer
        keeping its own cache; the kernels take the ReLU of each max as it is
        stored, and mask the gradient in the backward's scatter."""
        x = self._float_image(x)
        out, (self.cache, act.cache, _) = ops.max_pool2d_act_forward(
            x, self.kernel, self.stride, self.padding, act._op)
        return out

    def backward_act(self, dout, act, need_dx=True):
        """Backward of ``forward_act``: dx (nothing to learn)."""
        return ops.max_pool2d_act_backward(dout, (self.cache, act.cache, act._op))


class AvgPool2d(_Pool2d):
    """Mean over windows, padded zeros counted in the divisor
    (``functional.avg_pool2d_forward``)."""
    _op = "avg_pool2d"


#: Upsample mode -> backend op prefix.
UPSAMPLE_MODES = {"nearest": "upsample_nearest2d", "bilinear": "upsample_bilinear2d"}


class Upsample(_ImageLayer):
    """Enlarge (N, C, H, W) by an integer ``scale`` per axis: ``mode``
    "nearest" (repeat pixels) or "bilinear" (align_corners=False)."""

    def __init__(self, scale, *, mode="nearest"):
        super().__init__()
        self.scale = as_pair(scale, "scale", 1)
        self.mode = check_choice(mode, "mode", UPSAMPLE_MODES)
        self._op = UPSAMPLE_MODES[mode]

    def forward(self, x):
        x = self._float_image(x)
        out, self.cache = getattr(ops, self._op + "_forward")(x, self.scale)
        return out

    def backward(self, dout, need_dx=True):
        return getattr(ops, self._op + "_backward")(dout, self.cache)

    def __repr__(self):
        return f"Upsample(scale={self.scale}, mode={self.mode!r})"
