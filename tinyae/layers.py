"""Thin stateful layers over the backend ops.

The layer protocol (every layer, every model built from them):

* ``params`` and ``grads`` are dicts with the same keys and shapes;
* ``forward(x)`` returns ``out`` and keeps one cache, overwritten each call.
  The first axis is the batch; a layer takes any number of further axes it
  can work with: element-wise layers any shape, ``Linear`` ``(..., n_in)``,
  image layers ``(N, C, H, W)``. Only a layer that needs a rank checks it;
* ``backward(dout, need_dx=True)`` returns ``dx`` (None when ``need_dx`` is
  False and the layer can skip it) and **adds** into ``grads`` (so a weight
  used twice, as in a tied autoencoder, collects both contributions);
* ``zero_grad()`` is the only place gradients are cleared.

Parameter arrays are updated in place by the optimisers and by checkpoint
loading, so a dict that points at them stays valid for the life of the layer.
"""

import numpy as np

from ._validation import check_choice, check_dtype, check_positive_int, check_rng
from .backend import ops


class Layer:
    """Base class: a layer with no parameters unless a subclass adds some."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.cache = None

    def _add_param(self, name, value):
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout, need_dx=True):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def zero_grad(self):
        for g in self.grads.values():
            g.fill(0)

    def _check_input(self, x, *, ndim=None, min_ndim=1, last=None, dtype=None):
        """Cheap structural checks (type, rank, trailing size, dtype); no
        pass over the data. ``ndim``: the exact rank, if the layer needs
        one; ``last``: the size of the last axis (features)."""
        where = f"{type(self).__name__}.forward"
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{where}: x must be a numpy array, got {type(x).__name__}")
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"{where}: x must be a {ndim}-D array, got shape {x.shape}")
        if x.ndim < min_ndim:
            raise ValueError(
                f"{where}: x must have at least {min_ndim} dimension(s) "
                f"(batch first), got shape {x.shape}")
        if last is not None and x.shape[-1] != last:
            raise ValueError(
                f"{where}: x must have {last} features on its last axis, "
                f"got shape {x.shape}")
        if dtype is not None and x.dtype != dtype:
            raise TypeError(
                f"{where}: x must have dtype {dtype} "
                f"(the layer's dtype), got {x.dtype}")


# --------------------------------------------------------------------------
# Weight initialisation: registry name -> fn(shape, fan_in, fan_out, rng).
# A matrix (n_in, n_out) has fan_in = n_in, fan_out = n_out; a convolution
# kernel (C_out, C_in, kh, kw) has fan_in = C_in kh kw, fan_out = C_out kh kw.
# --------------------------------------------------------------------------

def glorot_uniform(shape, fan_in, fan_out, rng):
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio,
    2010), so that Var[W] = 2 / (fan_in + fan_out)."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


def he_normal(shape, fan_in, fan_out, rng):
    """N(0, 2 / fan_in) (He et al., 2015): keeps the variance through ReLUs."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def small_normal(shape, fan_in, fan_out, rng):
    """N(0, 0.01^2): the classic small random init."""
    return rng.normal(0.0, 0.01, size=shape)


INITS = {"glorot": glorot_uniform, "he": he_normal, "small": small_normal}


def init_weight(init, shape, fan_in, fan_out, rng, dtype):
    """A new weight array of ``shape`` from the initialiser named ``init``."""
    fn = INITS[check_choice(init, "init", INITS)]
    return fn(tuple(shape), fan_in, fan_out, rng).astype(dtype)


def _rows(a):
    """(..., k) -> (prod(...), k): leading axes folded into one batch axis
    (a view for contiguous input; a 2-D array is returned as it is)."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


class Linear(Layer):
    """Affine layer ``out = x W + b`` on the last axis.

    x: (batch, n_in) -> out: (batch, n_out); W: (n_in, n_out), b: (n_out,).
    Any leading axes are batch axes: x (N, T, n_in) -> out (N, T, n_out)
    (e.g. tokens), flattened to (N*T, n_in) for the product.
    ``init`` is a key of ``INITS``; ``rng`` is required (no hidden seeds).
    Gradients: see ``functional.linear_backward``.
    """

    def __init__(self, n_in, n_out, *, rng, init="glorot", bias=True,
                 dtype=np.float64):
        super().__init__()
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        check_rng(rng)
        self.init = check_choice(init, "init", INITS)
        self.bias = bool(bias)
        self.dtype = check_dtype(dtype)
        self._add_param("W", init_weight(init, (n_in, n_out), n_in, n_out, rng, self.dtype))
        if self.bias:
            self._add_param("b", np.zeros(n_out, dtype=self.dtype))
        else:
            self._zero_b = np.zeros(n_out, dtype=self.dtype)

    @property
    def W(self):
        return self.params["W"]

    def _b(self):
        return self.params["b"] if self.bias else self._zero_b

    def forward(self, x):
        self._check_input(x, min_ndim=2, last=self.n_in, dtype=self.dtype)
        self._lead = x.shape[:-1]
        out, self.cache = ops.linear_forward(_rows(x), self.params["W"], self._b())
        return out.reshape(*self._lead, self.n_out)

    def backward(self, dout, need_dx=True):
        """dout: (..., n_out) -> dx (None if not ``need_dx``); adds dW, db."""
        dx, dW, db = ops.linear_backward(_rows(dout), self.cache, need_dx)
        self.grads["W"] += dW
        if self.bias:
            self.grads["b"] += db
        return None if dx is None else dx.reshape(*self._lead, self.n_in)

    # -- fused with the activation that follows (used by Sequential) -----------
    def forward_act(self, x, act):
        """``act(x W + b)`` as one fused op (``ops.linear_act_forward``).

        Same result as ``act.forward(self.forward(x))``, and each layer keeps
        its own cache as if run separately; the kernel backend saves the
        passes over memory between the product and the activation.
        """
        self._check_input(x, min_ndim=2, last=self.n_in, dtype=self.dtype)
        self._lead = x.shape[:-1]
        out, (self.cache, act.cache, _) = ops.linear_act_forward(
            _rows(x), self.params["W"], self._b(), act._op)
        return out.reshape(*self._lead, self.n_out)

    def backward_act(self, dout, act, need_dx=True):
        """Backward of ``forward_act``: returns dx (None if not ``need_dx``)
        and adds into this layer's grads (the activation has none)."""
        dx, dW, db = ops.linear_act_backward(_rows(dout), (self.cache, act.cache, act._op),
                                             need_dx)
        self.grads["W"] += dW
        if self.bias:
            self.grads["b"] += db
        return None if dx is None else dx.reshape(*self._lead, self.n_in)

    def __repr__(self):
        return f"Linear({self.n_in}, {self.n_out}, init={self.init!r}, bias={self.bias})"


class TiedLinear(Layer):
    """Affine layer that reuses another Linear's weights, transposed.

    ``out = x W_src^T + b`` with x: (batch, src.n_out) -> out: (batch, src.n_in).
    Only the bias belongs to this layer. In backward, ``dW_src += dW^T``:
    the gradient of the shared matrix is the sum over both uses, which is
    exactly what the chain rule asks when one parameter appears twice.
    """

    def __init__(self, source, *, bias=True):
        super().__init__()
        if not isinstance(source, Linear):
            raise TypeError(
                f"source must be a Linear layer, got {type(source).__name__}")
        self.source = source
        self.bias = bool(bias)
        self.dtype = source.dtype
        if self.bias:
            self._add_param("b", np.zeros(source.n_in, dtype=self.dtype))
        else:
            self._zero_b = np.zeros(source.n_in, dtype=self.dtype)

    def forward(self, x):
        self._check_input(x, min_ndim=2, last=self.source.n_out, dtype=self.dtype)
        self._lead = x.shape[:-1]
        W_t = self.source.params["W"].T          # (n_out_src, n_in_src), a view
        b = self.params["b"] if self.bias else self._zero_b
        out, self.cache = ops.linear_forward(_rows(x), W_t, b)
        return out.reshape(*self._lead, self.source.n_in)

    def backward(self, dout, need_dx=True):
        dx, dW_t, db = ops.linear_backward(_rows(dout), self.cache, need_dx)
        self.source.grads["W"] += dW_t.T         # back to the source's layout
        if self.bias:
            self.grads["b"] += db
        return None if dx is None else dx.reshape(*self._lead, self.source.n_out)

    def __repr__(self):
        return f"TiedLinear(source={self.source!r}, bias={self.bias})"


class _Activation(Layer):
    """Element-wise activation on any shape; ``_op`` names the backend
    forward/backward pair. ``need_dx`` is accepted for the protocol: dx is
    all an activation computes."""

    _op = None

    def forward(self, x):
        self._check_input(x)
        out, self.cache = getattr(ops, self._op + "_forward")(x)
        return out

    def backward(self, dout, need_dx=True):
        return getattr(ops, self._op + "_backward")(dout, self.cache)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Sigmoid(_Activation):
    """``s(x) = 1 / (1 + exp(-x))``, ``s' = s (1 - s)``."""
    _op = "sigmoid"


class Tanh(_Activation):
    """``tanh(x)``, ``tanh' = 1 - tanh^2``."""
    _op = "tanh"


class ReLU(_Activation):
    """``max(x, 0)``, derivative ``[x > 0]`` (0 at the kink)."""
    _op = "relu"


class Softplus(_Activation):
    """``log(1 + exp(x))``, derivative ``s(x)``."""
    _op = "softplus"


class Identity(_Activation):
    """``x``, derivative 1."""
    _op = "identity"


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): where image layers meet dense
    ones. Backward reshapes dout back; nothing to learn."""

    def forward(self, x):
        self._check_input(x, min_ndim=2)
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout, need_dx=True):
        return dout.reshape(self.cache)

    def __repr__(self):
        return "Flatten()"


class Reshape(Layer):
    """(N, ...) -> (N, *shape), e.g. a code vector (N, 64) to a feature map
    (N, 4, 4, 4) for a convolutional decoder. ``shape`` excludes the batch
    axis; its product must equal the size of one input example."""

    def __init__(self, *shape):
        super().__init__()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not shape:
            raise ValueError("shape must have at least one entry, got ()")
        self.shape = tuple(check_positive_int(s, f"shape[{i}]") for i, s in enumerate(shape))
        self.size = int(np.prod(self.shape))

    def forward(self, x):
        self._check_input(x, min_ndim=2)
        if x[0].size != self.size:
            raise ValueError(
                f"Reshape.forward: each example of x has {x[0].size} values "
                f"(shape {x.shape[1:]}), cannot reshape to {self.shape} "
                f"({self.size} values)")
        self.cache = x.shape
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, dout, need_dx=True):
        return dout.reshape(self.cache)

    def __repr__(self):
        return f"Reshape{self.shape}"


#: Registry: activation name -> layer class, one class per row of the one
#: activation table, ``tinyae.functional.ACTIVATIONS`` (a test keeps them equal).
ACTIVATIONS = {cls._op: cls for cls in (Sigmoid, Tanh, ReLU, Softplus, Identity)}


def activation(name):
    """A new activation layer from its name (a key of ``ACTIVATIONS``)."""
    return ACTIVATIONS[check_choice(name, "activation", ACTIVATIONS)]()



class Sequential(Layer):
    """Layers applied in order. ``params``/``grads`` use flat names ``"i.W"``
    that point at the same arrays as the inner layers' dicts.

    A ``Linear`` directly followed by an activation runs as one fused op
    (``Linear.forward_act``): the same numbers, fewer passes over memory.
    ``backward(dout, need_dx=False)`` skips the input gradient of the first
    layer (returns None) when the input is data nobody differentiates.
    """

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layer {i} must be a Layer, got {type(layer).__name__}")
            for k in layer.params:
                self.params[f"{i}.{k}"] = layer.params[k]
                self.grads[f"{i}.{k}"] = layer.grads[k]
        self._plan = self._groups()

    def _groups(self):
        """[(layer, activation or None)]: each Linear paired with the
        activation that follows it, every other layer alone."""
        groups, i, layers = [], 0, self.layers
        while i < len(layers):
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layers[i], Linear) and isinstance(nxt, _Activation):
                groups.append((layers[i], nxt))
                i += 2
            else:
                groups.append((layers[i], None))
                i += 1
        return groups

    def forward(self, x):
        for layer, act in self._plan:
            x = layer.forward(x) if act is None else layer.forward_act(x, act)
        return x

    def backward(self, dout, need_dx=True):
        """dout: the last layer's output shape -> dx: the input's shape, or
        None if not ``need_dx``."""
        for k, (layer, act) in enumerate(reversed(self._plan)):
            want_dx = need_dx or k < len(self._plan) - 1      # only the first may skip
            if act is not None:
                dout = layer.backward_act(dout, act, want_dx)
            else:
                dout = layer.backward(dout, need_dx=want_dx)
        return dout if need_dx else None

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


def dense_stack(sizes, act, *, rng, init="glorot", dtype=np.float64,
                final_activation=False):
    """A ``Sequential`` of Linear layers sizes[0] -> ... -> sizes[-1] with the
    activation named ``act`` between them (and after the last one if
    ``final_activation``); the weights are drawn from ``rng`` layer by layer."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(Linear(sizes[i], sizes[i + 1], rng=rng, init=init, dtype=dtype))
        if final_activation or i < len(sizes) - 2:
            layers.append(activation(act))
    return Sequential(*layers)


# --------------------------------------------------------------------------
# Image layers on NCHW arrays: convolution, transposed convolution, pooling,
# upsampling. The ops and their derivations: ``tinyae.functional.conv``.
# Size arguments (kernel, stride, padding, output_padding, scale) are ints or
# (height, width) pairs, checked at construction by ``conv_geometry``.
# --------------------------------------------------------------------------

from .functional.conv import as_pair, conv_geometry  # noqa: E402


class _ImageLayer(Layer):
    """A layer on (N, C, H, W) input; ``in_channels`` None accepts any."""

    in_channels = None

    def _check_image(self, x, dtype=None):
        self._check_input(x, ndim=4, dtype=dtype)
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}.forward: x must have {self.in_channels} "
                f"channel(s) on axis 1 (NCHW), got shape {x.shape}")


class Conv2d(_ImageLayer):
    """2-D convolution: x (N, C_in, H, W) -> (N, C_out, Ho, Wo),
    ``Ho = (H + 2 padding - kernel) // stride + 1``.

    W: (C_out, C_in, kh, kw), b: (C_out,); initialised with fan_in =
    C_in kh kw (inputs of one output pixel) and fan_out = C_out kh kw.
    Op and gradients: ``functional.conv2d_forward`` / ``conv2d_backward``.
    """

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
        if self.bias:
            self._add_param("b", np.zeros(out_channels, dtype=self.dtype))
        else:
            self._zero_b = np.zeros(out_channels, dtype=self.dtype)

    def _b(self):
        return self.params["b"] if self.bias else self._zero_b

    def forward(self, x):
        self._check_image(x, self.dtype)
        out, self.cache = ops.conv2d_forward(x, self.params["W"], self._b(),
                                             self.stride, self.padding)
        return out

    def backward(self, dout, need_dx=True):
        dx, dW, db = ops.conv2d_backward(dout, self.cache, need_dx)
        self.grads["W"] += dW
        if self.bias:
            self.grads["b"] += db
        return dx

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel={self.kernel}, "
                f"stride={self.stride}, padding={self.padding})")


class ConvTranspose2d(_ImageLayer):
    """Transposed convolution (the adjoint of Conv2d): x (N, C_in, H, W) ->
    (N, C_out, Ho, Wo), ``Ho = (H - 1) stride - 2 padding + kernel +
    output_padding``; stride 2 doubles the size (kernel 4, padding 1; or
    kernel 3, padding 1, output_padding 1).

    W: (C_in, C_out, kh, kw), b: (C_out,). Initialised with fan_in =
    C_in kh kw / (sh sw), the average number of terms in one output pixel,
    and fan_out = C_out kh kw (each input pixel stamps a C_out kh kw block).
    Op and gradients: ``functional.conv_transpose2d_forward``.
    """

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
        if self.bias:
            self._add_param("b", np.zeros(out_channels, dtype=self.dtype))
        else:
            self._zero_b = np.zeros(out_channels, dtype=self.dtype)

    def _b(self):
        return self.params["b"] if self.bias else self._zero_b

    def forward(self, x):
        self._check_image(x, self.dtype)
        out, self.cache = ops.conv_transpose2d_forward(
            x, self.params["W"], self._b(), self.stride, self.padding, self.output_padding)
        return out

    def backward(self, dout, need_dx=True):
        dx, dW, db = ops.conv_transpose2d_backward(dout, self.cache, need_dx)
        self.grads["W"] += dW
        if self.bias:
            self.grads["b"] += db
        return dx

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
        self._check_image(x)
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
        self._check_image(x)
        out, self.cache = getattr(ops, self._op + "_forward")(x, self.scale)
        return out

    def backward(self, dout, need_dx=True):
        return getattr(ops, self._op + "_backward")(dout, self.cache)

    def __repr__(self):
        return f"Upsample(scale={self.scale}, mode={self.mode!r})"
