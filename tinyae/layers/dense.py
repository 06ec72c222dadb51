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

Clearing without a pass over memory. A ``Linear`` layer's ``zero_grad``
only marks its weight gradient as zero; its next ``backward`` then *writes*
``x^T dout`` straight into the gradient array (BLAS's output) instead of
filling the array with zeros and adding a product into it: two passes over
the largest arrays of an MLP step saved (about 4-6% of a float64 step,
``docs/performance.md``). Reading ``grads`` (of the layer, of any container
holding it, of a model) settles first: an array still marked is filled with
zeros then. So every reader sees exactly the values the eager version
gives; only code that kept a gradient array from *before* a ``zero_grad``
and reads it without going through ``grads`` again could see an old value.

Parameter arrays are updated in place by the optimisers and by checkpoint
loading, so a dict that points at them stays valid for the life of the layer.
"""

import numpy as np

from .._validation import (check_choice, check_dtype, check_positive_float,
                           check_positive_int, check_rng)
from ..backend import ops
from ..functional import vq as functional_vq


class Layer:
    """Base class: a layer with no parameters unless a subclass adds some."""

    def __init__(self):
        self.params = {}
        self._grads = {}
        self._children = []      # sub-layers whose arrays ``_grads`` points at
        self._unwritten = set()  # names of gradients that are zero but not yet filled
        self.cache = None

    @property
    def grads(self):
        """name -> gradient array, like ``params`` (settled: see the module
        docstring on clearing)."""
        self._settle()
        return self._grads

    def _settle(self):
        """Fill every gradient still marked as zero with zeros."""
        for child in self._children:
            child._settle()
        for name in self._unwritten:
            self._grads[name].fill(0)
        self._unwritten.clear()

    def _take_unwritten(self, name):
        """The array of gradient ``name`` if it is marked as zero (the mark
        is removed: the caller must overwrite all of it), else None (add)."""
        if name in self._unwritten:
            self._unwritten.discard(name)
            return self._grads[name]
        return None

    def _add_param(self, name, value):
        self.params[name] = value
        self._grads[name] = np.zeros_like(value)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout, need_dx=True):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    #: gradients that ``zero_grad`` only marks as zero, because this layer's
    #: backward writes them whole when marked (``_take_unwritten``)
    _written_by_backward = ()

    def zero_grad(self):
        """Clear the gradients: a container clears its children; a layer
        fills its own arrays with zeros, or marks those its backward writes."""
        for child in self._children:
            child.zero_grad()
        for name, g in self._grads.items():
            if name in self._written_by_backward:
                self._unwritten.add(name)
            elif not self._children:
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

    _written_by_backward = ("W",)       # module docstring: clearing

    def _accumulate(self, into, dW, db):
        """Add dW into W's gradient unless the op wrote it into ``into`` (the
        marked array), and db into b's."""
        if into is None:
            self._grads["W"] += dW
        if self.bias:
            self._grads["b"] += db

    def backward(self, dout, need_dx=True):
        """dout: (..., n_out) -> dx (None if not ``need_dx``); adds dW, db."""
        into = self._take_unwritten("W")
        dx, dW, db = ops.linear_backward(_rows(dout), self.cache, need_dx, dW_out=into)
        self._accumulate(into, dW, db)
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
        into = self._take_unwritten("W")
        dx, dW, db = ops.linear_act_backward(_rows(dout), (self.cache, act.cache, act._op),
                                             need_dx, dW_out=into)
        self._accumulate(into, dW, db)
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

    A ``Linear`` or ``Conv2d`` directly followed by an activation runs as
    one fused op (``forward_act``): the same numbers, fewer passes over
    memory.
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
                self._grads[f"{i}.{k}"] = layer.grads[k]
        self._children = self.layers
        self._plan = self._groups()

    def _groups(self):
        """[(layer, activation or None)]: each Linear or Conv2d paired with
        the activation that follows it, every other layer alone."""
        groups, i, layers = [], 0, self.layers
        while i < len(layers):
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layers[i], (Linear, Conv2d)) and isinstance(nxt, _Activation):
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

from ..functional.conv import as_pair, conv_geometry  # noqa: E402


class _ImageLayer(Layer):
    """A layer on (N, C, H, W) input; ``in_channels`` None accepts any."""

    in_channels = None

    def _check_image(self, x, dtype=None):
        self._check_input(x, ndim=4, dtype=dtype)
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}.forward: x must have {self.in_channels} "
                f"channel(s) on axis 1 (NCHW), got shape {x.shape}")


class _ConvLayer(_ImageLayer):
    """What Conv2d and ConvTranspose2d share: the bias (or zeros in its
    place) and how their op's gradients are added into ``grads``."""

    def _add_bias(self, out_channels):
        if self.bias:
            self._add_param("b", np.zeros(out_channels, dtype=self.dtype))
        else:
            self._zero_b = np.zeros(out_channels, dtype=self.dtype)

    def _b(self):
        return self.params["b"] if self.bias else self._zero_b

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

    def forward(self, x):
        self._check_image(x, self.dtype)
        out, self.cache = ops.conv2d_forward(x, self.params["W"], self._b(), self.stride,
                                             self.padding, cols_out=self._old_cols(x))
        return out

    def _old_cols(self, x):
        """The im2col columns of the previous cache, if x has the shape they
        were made for (else None), and the cache dropped. The cache is about
        to be overwritten, so its columns (the largest array of the step)
        take this step's: new memory of that size came back from the OS page
        by page each step, and the page faults cost about as much as filling
        it (docs/performance.md)."""
        old, self.cache = self.cache, None
        reuse = old is not None and old[2] == x.shape and old[0].dtype == x.dtype
        return old[0] if reuse else None

    def backward(self, dout, need_dx=True):
        return self._add_grads(ops.conv2d_backward(dout, self.cache, need_dx))

    # -- fused with the activation that follows (used by Sequential) -----------
    def forward_act(self, x, act):
        """``act(conv2d(x))`` as one op (``ops.conv2d_act_forward``): the same
        numbers as ``act.forward(self.forward(x))``, each layer keeping its
        own cache; for ReLU the kernel backend applies it in the pass that
        lays the product out as NCHW, and forms ``dout * [out > 0]`` in the
        backward's layout pass (two passes over the activations fewer)."""
        self._check_image(x, self.dtype)
        out, (self.cache, act.cache, _) = ops.conv2d_act_forward(
            x, self.params["W"], self._b(), self.stride, self.padding, act._op,
            cols_out=self._old_cols(x))
        return out

    def backward_act(self, dout, act, need_dx=True):
        """Backward of ``forward_act``: dx (None if not ``need_dx``); adds
        into this layer's grads (the activation has none)."""
        return self._add_grads(ops.conv2d_act_backward(
            dout, (self.cache, act.cache, act._op), need_dx))

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

    def forward(self, x):
        self._check_image(x, self.dtype)
        out, self.cache = ops.conv_transpose2d_forward(
            x, self.params["W"], self._b(), self.stride, self.padding, self.output_padding)
        return out

    def backward(self, dout, need_dx=True):
        return self._add_grads(ops.conv_transpose2d_backward(dout, self.cache, need_dx))

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


# ==========================================================================
# Transformer layers (the masked autoencoder, ``tinyae.models.mae``).
# Token tensors are (N, T, D): batch, tokens, features. Each gradient lives
# in ``tinyae.functional.transformer``; these layers only route arrays.
# ==========================================================================

class _Composite(Layer):
    """A layer made of named sub-layers: ``params``/``grads`` hold flat keys
    ``"<child>.<key>"`` pointing at the children's arrays (so ``zero_grad``
    and the optimisers reach them)."""

    def _adopt(self, name, layer):
        for k in layer.params:
            self.params[f"{name}.{k}"] = layer.params[k]
            self._grads[f"{name}.{k}"] = layer.grads[k]
        self._children.append(layer)
        return layer


class LayerNorm(Layer):
    """LayerNorm over the last axis: x (..., dim) -> (..., dim),
    ``gamma * (x - mean) / sqrt(var + eps) + beta`` per row, gamma = 1 and
    beta = 0 at the start. Gradients: ``functional.layernorm_backward``."""

    def __init__(self, dim, *, eps=1e-5, dtype=np.float64):
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.eps = check_positive_float(eps, "eps")
        self.dtype = check_dtype(dtype)
        self._add_param("gamma", np.ones(self.dim, dtype=self.dtype))
        self._add_param("beta", np.zeros(self.dim, dtype=self.dtype))

    def forward(self, x):
        self._check_input(x, min_ndim=2, last=self.dim, dtype=self.dtype)
        out, self.cache = ops.layernorm_forward(x, self.params["gamma"], self.params["beta"],
                                                self.eps)
        return out

    def backward(self, dout, need_dx=True):
        dx, dgamma, dbeta = ops.layernorm_backward(dout, self.cache)
        self.grads["gamma"] += dgamma
        self.grads["beta"] += dbeta
        return dx

    def __repr__(self):
        return f"LayerNorm({self.dim}, eps={self.eps:g})"


class GELU(Layer):
    """``x Phi(x)`` element-wise, the exact (erf) GELU, on any shape.
    Not one of ``ACTIVATIONS``: the dense models' fused ops do not know it.
    Gradient: ``functional.gelu_backward``."""

    def forward(self, x):
        self._check_input(x)
        out, self.cache = ops.gelu_forward(x)
        return out

    def backward(self, dout, need_dx=True):
        return ops.gelu_backward(dout, self.cache)

    def __repr__(self):
        return "GELU()"


class MultiHeadSelfAttention(_Composite):
    """Multi-head self-attention on tokens x: (N, T, dim) -> (N, T, dim).

    One Linear makes queries, keys and values, (N, T, 3 dim), split into
    ``n_heads`` heads of dh = dim / n_heads features; each head attends
    with ``softmax(q k^T / sqrt(dh)) v`` (``functional.attention_forward``);
    the heads are concatenated back to (N, T, dim) and mixed by a second
    Linear. ``attention`` holds the last forward's weights, (N, H, T, T),
    each row summing to 1. Parameters ``qkv.W``, ``qkv.b``, ``proj.W``,
    ``proj.b``.
    """

    def __init__(self, dim, n_heads, *, rng, init="glorot", dtype=np.float64):
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.n_heads = check_positive_int(n_heads, "n_heads")
        if self.dim % self.n_heads:
            raise ValueError(f"n_heads must divide dim={self.dim}, got n_heads={n_heads!r}")
        self.dtype = check_dtype(dtype)
        self.qkv = self._adopt("qkv", Linear(dim, 3 * dim, rng=rng, init=init, dtype=dtype))
        self.proj = self._adopt("proj", Linear(dim, dim, rng=rng, init=init, dtype=dtype))
        self.attention = None

    def forward(self, x):
        self._check_input(x, ndim=3, last=self.dim, dtype=self.dtype)
        n, t, d = x.shape
        h = self.n_heads
        qkv = self.qkv.forward(x).reshape(n, t, 3, h, d // h)   # (N, T, 3, H, dh)
        qkv = qkv.transpose(2, 0, 3, 1, 4)                       # (3, N, H, T, dh)
        out, self.cache = ops.attention_forward(qkv[0], qkv[1], qkv[2])
        self.attention = self.cache[3]                           # (N, H, T, T)
        out = out.transpose(0, 2, 1, 3).reshape(n, t, d)         # heads side by side
        return self.proj.forward(out)

    def backward(self, dout, need_dx=True):
        n, t, d = dout.shape
        h = self.n_heads
        dcat = self.proj.backward(dout)                          # (N, T, dim)
        dheads = dcat.reshape(n, t, h, d // h).transpose(0, 2, 1, 3)   # (N, H, T, dh)
        dqkv = np.stack(ops.attention_backward(dheads, self.cache))     # (3, N, H, T, dh)
        dqkv = dqkv.transpose(1, 3, 0, 2, 4).reshape(n, t, 3 * d)       # (N, T, 3 dim)
        return self.qkv.backward(dqkv, need_dx)

    def __repr__(self):
        return f"MultiHeadSelfAttention({self.dim}, n_heads={self.n_heads})"


class TransformerBlock(_Composite):
    """Pre-norm transformer block on tokens (N, T, dim) -> (N, T, dim):

        h   = x + Attn(LN1(x))
        out = h + W2 GELU(W1 LN2(h) + b1) + b2        (hidden width mlp_ratio * dim)

    Backward follows the two residuals: the gradient reaching ``h`` is
    dout plus what flows back through the MLP branch, and dx is that plus
    what flows back through the attention branch. Parameters ``ln1.*``,
    ``attn.*``, ``ln2.*``, ``fc1.*``, ``fc2.*``.
    """

    def __init__(self, dim, n_heads, *, mlp_ratio=4, rng, init="glorot", dtype=np.float64):
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.mlp_ratio = check_positive_int(mlp_ratio, "mlp_ratio")
        self.dtype = check_dtype(dtype)
        hidden = self.mlp_ratio * self.dim
        self.ln1 = self._adopt("ln1", LayerNorm(dim, dtype=dtype))
        self.attn = self._adopt("attn", MultiHeadSelfAttention(dim, n_heads, rng=rng,
                                                               init=init, dtype=dtype))
        self.ln2 = self._adopt("ln2", LayerNorm(dim, dtype=dtype))
        self.fc1 = self._adopt("fc1", Linear(dim, hidden, rng=rng, init=init, dtype=dtype))
        self.gelu = GELU()
        self.fc2 = self._adopt("fc2", Linear(hidden, dim, rng=rng, init=init, dtype=dtype))

    def forward(self, x):
        self._check_input(x, ndim=3, last=self.dim, dtype=self.dtype)
        h = x + self.attn.forward(self.ln1.forward(x))
        return h + self.fc2.forward(self.gelu.forward(self.fc1.forward(self.ln2.forward(h))))

    def backward(self, dout, need_dx=True):
        dh = dout + self.ln2.backward(self.fc1.backward(self.gelu.backward(
            self.fc2.backward(dout))))
        return dh + self.ln1.backward(self.attn.backward(dh))

    def __repr__(self):
        return (f"TransformerBlock({self.dim}, n_heads={self.attn.n_heads}, "
                f"mlp_ratio={self.mlp_ratio})")


class PatchEmbed(_Composite):
    """Images (N, C, H, W) -> patch tokens (N, T, dim): ``patchify`` into
    T = (H/p)(W/p) squares of C p p pixels, then one Linear (``proj.*``).
    Backward: the Linear's, then ``unpatchify`` (a permutation's adjoint is
    its inverse)."""

    def __init__(self, image_shape, patch, dim, *, rng, init="glorot", dtype=np.float64):
        super().__init__()
        if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {image_shape!r}")
        self.image_shape = tuple(check_positive_int(s, f"image_shape[{i}]")
                                 for i, s in enumerate(image_shape))
        self.patch = check_positive_int(patch, "patch")
        c, h, w = self.image_shape
        if h % self.patch or w % self.patch:
            raise ValueError(f"patch must divide the image height and width {h}x{w}, "
                             f"got patch={patch!r}")
        self.grid = (h // self.patch, w // self.patch)
        self.n_tokens = self.grid[0] * self.grid[1]
        self.patch_dim = c * self.patch * self.patch
        self.dtype = check_dtype(dtype)
        self.proj = self._adopt("proj", Linear(self.patch_dim, dim, rng=rng, init=init,
                                               dtype=dtype))

    def forward(self, x):
        self._check_input(x, ndim=4, dtype=self.dtype)
        if x.shape[1:] != self.image_shape:
            raise ValueError(f"PatchEmbed.forward: x must be (N, {self.image_shape}), "
                             f"got shape {x.shape}")
        return self.proj.forward(ops.patchify(x, self.patch))

    def backward(self, dout, need_dx=True):
        dtokens = self.proj.backward(dout, need_dx)
        return None if dtokens is None else ops.unpatchify(dtokens, self.patch,
                                                           self.image_shape)

    def __repr__(self):
        return f"PatchEmbed({self.image_shape}, patch={self.patch}, dim={self.proj.n_out})"


POS_EMBEDS = ("sincos", "learned")


class PositionalEmbedding(Layer):
    """Adds a position vector to each token: x (N, T, dim) -> x + pos,
    pos: (T, dim).

    ``kind="sincos"``: fixed 2-D sine-cosine codes of the token's row and
    column on ``grid`` (``functional.sincos_pos_embed``; dim a multiple of
    4), no parameters. ``kind="learned"``: a parameter ``pos`` drawn from
    N(0, 0.02^2) (``rng`` required), gradient ``sum_n dout[n]``.
    """

    def __init__(self, grid, dim, *, kind="sincos", rng=None, dtype=np.float64):
        super().__init__()
        if not isinstance(grid, (tuple, list)) or len(grid) != 2:
            raise ValueError(f"grid must be (rows, cols) of tokens, got {grid!r}")
        self.grid = tuple(check_positive_int(g, f"grid[{i}]") for i, g in enumerate(grid))
        self.dim = check_positive_int(dim, "dim")
        self.kind = check_choice(kind, "kind", POS_EMBEDS)
        self.dtype = check_dtype(dtype)
        n_tokens = self.grid[0] * self.grid[1]
        if self.kind == "sincos":
            if self.dim % 4:
                raise ValueError(f"dim must be a multiple of 4 for sin-cos positions, "
                                 f"got {dim!r}")
            from ..functional.transformer import sincos_pos_embed
            self.pos = sincos_pos_embed(self.dim, *self.grid).astype(self.dtype)
        else:
            check_rng(rng)
            self._add_param("pos", (0.02 * rng.standard_normal((n_tokens, self.dim)))
                            .astype(self.dtype))
            self.pos = self.params["pos"]

    def forward(self, x):
        self._check_input(x, ndim=3, last=self.dim, dtype=self.dtype)
        if x.shape[1] != self.pos.shape[0]:
            raise ValueError(f"PositionalEmbedding.forward: x must have "
                             f"{self.pos.shape[0]} tokens, got shape {x.shape}")
        return x + self.pos

    def backward(self, dout, need_dx=True):
        if self.kind == "learned":
            self.grads["pos"] += dout.sum(axis=0)
        return dout

    def __repr__(self):
        return f"PositionalEmbedding({self.grid}, {self.dim}, kind={self.kind!r})"


# --------------------------------------------------------------------------
# Energy-based latent models (lesson 15): a circular latent
# --------------------------------------------------------------------------

class AngleEmbedding(Layer):
    """A latent read as angles: ``out = [cos z, sin z]``.

    z: (..., k) -> out: (..., 2k) (the k cosines, then the k sines), so a
    decoder that starts with this layer is 2 pi-periodic in every latent,
    like the course's ellipse decoder g(z) = [w1 cos z, w2 sin z]. Backward,
    with dout = (dc, ds) split the same way:

        dz = -sin z * dc + cos z * ds.
    """

    def forward(self, x):
        self._check_input(x, min_ndim=2)
        c, s = np.cos(x), np.sin(x)
        self.cache = (c, s)
        return np.concatenate([c, s], axis=-1)

    def backward(self, dout, need_dx=True):
        c, s = self.cache
        k = c.shape[-1]
        return -s * dout[..., :k] + c * dout[..., k:]

    def __repr__(self):
        return "AngleEmbedding()"


# Sparse coding (lesson 16): a per-unit gain and a dictionary of unit atoms
# --------------------------------------------------------------------------

class Gain(Layer):
    """Per-feature gain ``out = x * g`` on the last axis (PSD's diagonal G).

    x: (..., n) -> out: (..., n); g: (n,), initialised to ``init_value``.
    Backward: ``dx = dout * g``, ``dg = sum over all leading axes of dout * x``.
    """

    def __init__(self, n, *, init_value=1.0, dtype=np.float64):
        super().__init__()
        self.n = check_positive_int(n, "n")
        self.dtype = check_dtype(dtype)
        self._add_param("g", np.full(self.n, init_value, dtype=self.dtype))

    def forward(self, x):
        self._check_input(x, min_ndim=2, last=self.n, dtype=self.dtype)
        self.cache = x
        return x * self.params["g"]

    def backward(self, dout, need_dx=True):
        x = self.cache
        self.grads["g"] += _rows(dout * x).sum(axis=0)
        return dout * self.params["g"] if need_dx else None

    def __repr__(self):
        return f"Gain({self.n})"


class UnitNormDictionary(Layer):
    """Linear synthesis from a code with unit-norm atoms: ``out = z D``.

    z: (N, n_atoms) -> out: (N, n_out). The parameter is V: (n_atoms,
    n_out) and the atoms are its rows normalised, ``D_k = V_k / ||V_k||``:
    sparse coding's energy could otherwise shrink lam ||z||_1 for free by
    scaling z down and D up. Normalising inside the layer (instead of
    projecting after each optimiser step) keeps it an ordinary
    differentiable layer. With r_k = ||V_k||, the gradient through the
    normalisation removes the radial part of dD,

        dV_k = (dD_k - D_k (dD_k . D_k)) / r_k,      dD = z^T dout,

    and ``dz = dout D^T``.
    """

    def __init__(self, n_atoms, n_out, *, rng, dtype=np.float64):
        super().__init__()
        self.n_atoms = check_positive_int(n_atoms, "n_atoms")
        self.n_out = check_positive_int(n_out, "n_out")
        check_rng(rng)
        self.dtype = check_dtype(dtype)
        self._add_param("V", rng.standard_normal((self.n_atoms, self.n_out)).astype(self.dtype))

    @property
    def D(self):
        """The atoms: (n_atoms, n_out), each row of unit length."""
        V = self.params["V"]
        return V / np.sqrt(np.sum(V * V, axis=1, keepdims=True))

    def forward(self, z):
        self._check_input(z, ndim=2, last=self.n_atoms, dtype=self.dtype)
        D = self.D
        out, cache = ops.linear_forward(z, D, np.zeros(self.n_out, self.dtype))
        self.cache = cache
        return out

    def backward(self, dout, need_dx=True):
        dz, dD, _ = ops.linear_backward(dout, self.cache, need_dx)
        D = self.cache[1]
        V = self.params["V"]
        r = np.sqrt(np.sum(V * V, axis=1, keepdims=True))              # (n_atoms, 1)
        self.grads["V"] += (dD - D * np.sum(dD * D, axis=1, keepdims=True)) / r
        return dz

    def __repr__(self):
        return f"UnitNormDictionary({self.n_atoms}, {self.n_out})"


# --------------------------------------------------------------------------
# Vector quantisation (lesson 17): a codebook and the straight-through map
# --------------------------------------------------------------------------

#: Codebook initialisers: name -> fn(shape, rng). "uniform": U(-1/K, 1/K)
#: (the common default: every code starts near the origin); "normal":
#: N(0, 1) (codes far from small encoder outputs: the careless start under
#: which most codes are never chosen).
CODEBOOK_INITS = {
    "uniform": lambda shape, rng: rng.uniform(-1.0 / shape[0], 1.0 / shape[0], shape),
    "normal": lambda shape, rng: rng.standard_normal(shape),
}


class VectorQuantizer(Layer):
    """Nearest-code quantisation with the straight-through estimator.

    z_e: (..., D) -> z_q: (..., D), each D-vector replaced by its nearest
    row of the codebook e: (n_codes, D) (``ops.vq_nearest``); backward
    copies dout to dz_e unchanged (``functional.vq_straight_through_*``).
    ``indices``: the chosen codes of the last forward, shape z_e.shape[:-1].

    ``learned=True``: the codebook is a parameter (``params["codebook"]``)
    moved by the codebook loss through ``losses``; ``learned=False``: it is
    state moved by ``ema_update`` (cluster sizes start at 1 and cluster sums
    at the initial codes, so an unused code stays where it is).
    """

    def __init__(self, n_codes, dim, *, rng, init="uniform", learned=True, dtype=np.float64):
        super().__init__()
        self.n_codes = check_positive_int(n_codes, "n_codes")
        self.dim = check_positive_int(dim, "dim")
        check_rng(rng)
        self.init = check_choice(init, "init", CODEBOOK_INITS)
        self.learned = bool(learned)
        self.dtype = check_dtype(dtype)
        self.codebook = CODEBOOK_INITS[init]((self.n_codes, self.dim), rng).astype(self.dtype)
        if self.learned:
            self._add_param("codebook", self.codebook)
        else:
            self.cluster_size = np.ones(self.n_codes, self.dtype)
            self.cluster_sum = self.codebook.copy()
        self.indices = None

    def forward(self, z_e, frozen=None):
        """z_e: (..., D) -> z_q. ``frozen = (idx, z_e_sg, z_q_sg)`` replaces
        the search and the stop-gradient values by given constants (flat
        (M,), (M, D), (M, D)): a gradient check's fixed quantisation."""
        self._check_input(z_e, min_ndim=2, last=self.dim, dtype=self.dtype)
        rows = z_e.reshape(-1, self.dim)                       # (M, D), M = prod(lead)
        if frozen is None:
            idx, _ = ops.vq_nearest(rows, self.codebook)
            z_e_sg, z_q_sg = rows.copy(), self.codebook[idx]
        else:
            idx, z_e_sg, z_q_sg = frozen
        out, _ = functional_vq.vq_straight_through_forward(rows, z_e_sg, z_q_sg)
        self.cache = (rows, z_e_sg, z_q_sg, idx, z_e.shape)
        self.indices = idx.reshape(z_e.shape[:-1])
        return out.reshape(z_e.shape)

    def backward(self, dout, need_dx=True):
        """Straight through: dz_e = dout (the codebook loss adds its own)."""
        return functional_vq.vq_straight_through_backward(dout, None)

    def losses(self, beta, n, grad=True):
        """Codebook and commitment losses of the last forward
        (``functional.vq_losses``), each a sum over vectors divided by the
        batch size n. With ``grad``, adds the codebook's gradient into grads
        (if learned). Returns (codebook_loss, commitment_loss, dz_e: z_e's
        shape)."""
        rows, z_e_sg, z_q_sg, idx, shape = self.cache
        C, B, dz_e, dcodebook = functional_vq.vq_losses(rows, z_q_sg, z_e_sg, self.codebook,
                                                        idx, beta, n)
        if grad and self.learned:
            self.grads["codebook"] += dcodebook
        return C, B, dz_e.reshape(shape)

    def ema_update(self, decay, eps=1e-5):
        """Move the codes to the running means of their last batch's vectors
        (``functional.vq_ema_update``); needs ``learned=False``."""
        if self.learned:
            raise ValueError("ema_update needs a VectorQuantizer(learned=False); this "
                             "codebook is a parameter moved by the codebook loss")
        _, z_e_sg, _, idx, _ = self.cache
        counts, sums = ops.vq_code_stats(z_e_sg, idx, self.n_codes)
        functional_vq.vq_ema_update(self.codebook, self.cluster_size, self.cluster_sum,
                                    counts, sums, decay, eps)

    def restart(self, codes, vectors):
        """Move ``codes`` (int array) onto ``vectors`` (len(codes), D), e.g.
        random encoder outputs: a dead code is given a place where data are.
        The EMA state of those codes restarts as one vector seen once."""
        self.codebook[codes] = vectors
        if not self.learned:
            self.cluster_size[codes] = 1
            self.cluster_sum[codes] = vectors

    def __repr__(self):
        return (f"VectorQuantizer({self.n_codes}, {self.dim}, init={self.init!r}, "
                f"learned={self.learned})")
