"""Dense layers: ``Linear`` (on ``(..., n_in)``) and ``TiedLinear``, the
activations (one class per row of ``functional.ACTIVATIONS``), ``TopK``
(the k largest entries of each row), ``Flatten``,
``Reshape``, ``Sequential`` (which fuses a layer with the activation after
it) and ``dense_stack``. Their ops and gradients: ``tinyae/functional/dense.py``.
"""

import numpy as np

from .._validation import check_choice, check_dtype, check_positive_int, check_rng
from ..backend import ops
from ..functional.conv import swap_nc
from .base import CHANNEL_MAJOR, INITS, Layer, _rows, init_weight
from .image import Conv2d, MaxPool2d


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
        self._add_bias(n_out)

    @property
    def W(self):
        return self.params["W"]

    def forward(self, x):
        self._check_input(x, min_ndim=2, last=self.n_in, dtype=self.dtype)
        self._lead = x.shape[:-1]
        out, self.cache = ops.linear_forward(_rows(x), self.params["W"], self._b())
        return out.reshape(*self._lead, self.n_out)

    _written_by_backward = ("W",)       # tinyae.layers docstring: clearing

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
        self._add_bias(source.n_in)

    def forward(self, x):
        self._check_input(x, min_ndim=2, last=self.source.n_out, dtype=self.dtype)
        self._lead = x.shape[:-1]
        W_t = self.source.params["W"].T          # (n_out_src, n_in_src), a view
        out, self.cache = ops.linear_forward(_rows(x), W_t, self._b())
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
    all an activation computes. Element-wise, so any layout: it runs as it
    is in a Sequential's channel-major chain."""

    _op = None
    runs_in_chains = True

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


class TopK(Layer):
    """Keep the ``k`` largest entries of each row (the last axis), zero the
    rest: x (..., d) -> out of the same shape, any rank >= 2, d >= k.

    The activation of a k-sparse autoencoder (exactly k code units on per
    input). Ties go to the lower index. Gradient: the mask of the kept
    entries, ``dx = dout * [kept]`` (derived in ``functional.topk_backward``);
    follow it with ``ReLU`` for Gao et al.'s non-negative TopK codes.
    """

    def __init__(self, k):
        super().__init__()
        self.k = check_positive_int(k, "k")

    def forward(self, x):
        self._check_input(x, min_ndim=2)
        if x.shape[-1] < self.k:
            raise ValueError(f"TopK.forward: x has {x.shape[-1]} entries per row (shape "
                             f"{x.shape}), fewer than k={self.k}; expected at least k")
        out, self.cache = ops.topk_forward(x, self.k)
        return out

    def backward(self, dout, need_dx=True):
        """dout: the shape of out -> dx, the same shape (nothing to learn)."""
        return ops.topk_backward(dout, self.cache)

    def __repr__(self):
        return f"TopK({self.k})"


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
    """(N, ...) -> ``(N, *shape)``, e.g. a code vector (N, 64) to a feature map
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

    A ``Linear``, ``Conv2d`` or ``MaxPool2d`` directly followed by an
    activation runs as one fused op (``forward_act``): the same numbers,
    fewer passes over memory.

    A run of consecutive layers that all have ``runs_in_chains`` (the image
    layers of ``layers.image`` and the activations; not a nested Sequential)
    and hold a convolution is a channel-major chain: on a 4-D input it keeps the images in (C, N,
    H, W) layout from its first layer to its last, and converts at its two
    ends (``functional.swap_nc``; a free reshape when C or N is 1). Then the
    im2col product of a convolution is its output as it stands and the next
    convolution reads it without a transpose (``functional.conv``,
    "Channel-major twins"); ``channel_major=False`` runs every layer in
    NCHW instead (the same numbers, slower). Inside a chain, a ReLU between
    a convolution and a max pool runs after the pool, fused with it: the
    two commute (the max of ReLUs is the ReLU of the max, and a window's
    maximum is the same pixel in both orders except where the ReLU's
    derivative is 0), so the pool's backward scatters the gradient that the
    ReLU has masked straight into the convolution's output gradient, and the
    two passes of the ReLU over the full-size activations are gone. The same
    numbers as layer by layer in NCHW (tested bitwise); inputs and outputs
    stay NCHW.

    ``backward(dout, need_dx=False)`` skips the input gradient of the first
    layer (returns None) when the input is data nobody differentiates.
    """

    def __init__(self, *layers, channel_major=True):
        super().__init__()
        self.channel_major = bool(channel_major)
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layer {i} must be a Layer, got {type(layer).__name__}")
            for k in layer.params:
                self.params[f"{i}.{k}"] = layer.params[k]
                self._grads[f"{i}.{k}"] = layer.grads[k]
            for k in layer.buffers:
                self.buffers[f"{i}.{k}"] = layer.buffers[k]
        self._children = self.layers
        self._plan = self._groups()
        self._segments = self._chains()
        self._ran_cnhw = []

    def _groups(self):
        """[(layer, activation or None)]: each layer of ``_FUSED`` paired with
        the activation that follows it, every other layer alone."""
        groups, i, layers = [], 0, self.layers
        while i < len(layers):
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layers[i], _FUSED) and isinstance(nxt, _Activation):
                groups.append((layers[i], nxt))
                i += 2
            else:
                groups.append((layers[i], None))
                i += 1
        return groups

    def _chains(self):
        """[(groups, chain)]: the plan cut into maximal runs of groups whose
        layers all have ``runs_in_chains`` and the runs between them; chain
        is True for a run that holds a convolution (``forward_cnhw``), unless
        this Sequential was made with ``channel_major=False``."""
        runs = []
        for group in self._plan:
            ok = all(getattr(layer, "runs_in_chains", False)
                     for layer in group if layer is not None)
            if runs and runs[-1][1] == ok:
                runs[-1][0].append(group)
            else:
                runs.append(([group], ok))
        def chain(groups, ok):
            return ok and self.channel_major and any(hasattr(layer, "forward_cnhw")
                                                     for layer, _ in groups)
        return [(_relu_after_pool(groups), True) if chain(groups, ok) else (groups, False)
                for groups, ok in runs]

    def forward(self, x):
        self._ran_cnhw = []
        for groups, chain in self._segments:
            chain = chain and isinstance(x, np.ndarray) and x.ndim == 4
            self._ran_cnhw.append(chain)
            x = swap_nc(self._forward(groups, swap_nc(x), True)) if chain else \
                self._forward(groups, x, False)
        return x

    @staticmethod
    def _forward(groups, x, cnhw):
        """x through ``groups``; ``cnhw``: x is channel-major (a chain)."""
        for layer, act in groups:
            if cnhw and hasattr(layer, "forward_cnhw"):
                x = layer.forward_cnhw(x, act)
            else:
                x = layer.forward(x) if act is None else layer.forward_act(x, act)
                if cnhw:
                    _mark_channel_major(layer, act)
        return x

    def backward(self, dout, need_dx=True):
        """dout: the last layer's output shape -> dx: the input's shape, or
        None if not ``need_dx``."""
        for i in reversed(range(len(self._segments))):
            groups, want_dx = self._segments[i][0], need_dx or i > 0  # only the first may skip
            if self._ran_cnhw[i]:
                dout = self._backward(groups, swap_nc(dout), want_dx, True)
                dout = None if dout is None else swap_nc(dout)
            else:
                dout = self._backward(groups, dout, want_dx, False)
        return dout if need_dx else None

    @staticmethod
    def _backward(groups, dout, need_dx, cnhw):
        """dout back through ``groups`` (the first may skip its dx)."""
        for k, (layer, act) in enumerate(reversed(groups)):
            want_dx = need_dx or k < len(groups) - 1
            if cnhw and hasattr(layer, "backward_cnhw"):
                dout = layer.backward_cnhw(dout, act, want_dx)
            elif act is not None:
                dout = layer.backward_act(dout, act, want_dx)
            elif cnhw:                      # lift the mark for this call only
                layer._out_shape = layer._chain_shape
                try:
                    dout = layer.backward(dout, need_dx=want_dx)
                finally:
                    layer._out_shape = CHANNEL_MAJOR
            else:
                dout = layer.backward(dout, need_dx=want_dx)
        return dout

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


#: Layers that run fused with the activation after them (``forward_act``).
_FUSED = (Linear, Conv2d, MaxPool2d)


def _mark_channel_major(*layers):
    """Mark layers that ran on channel-major arrays inside a chain (a pool,
    an activation: their ops do not care about the layout), so that their
    own ``backward`` refuses an NCHW dout by name, as a convolution's does,
    instead of reading it as (C, N, H, W) when N == C; the shape their
    forward recorded is kept for the Sequential's backward."""
    for layer in layers:
        if layer is not None:
            layer._chain_shape = getattr(layer, "_out_shape", None)
            layer._out_shape = CHANNEL_MAJOR


def _relu_after_pool(groups):
    """A chain's groups with each (layer, ReLU), (MaxPool2d, None) reordered
    as (layer, None), (MaxPool2d, ReLU) (``Sequential``)."""
    out = []
    for group in groups:
        if (out and isinstance(group[0], MaxPool2d) and group[1] is None
                and isinstance(out[-1][1], ReLU)):
            layer, act = out.pop()
            out += [(layer, None), (group[0], act)]
        else:
            out.append(group)
    return out


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
