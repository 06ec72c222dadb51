"""The ``Layer`` base class and the weight initialisers every family uses.

``Layer`` carries the protocol of ``tinyae.layers`` (its docstring: the
dicts, the one cache, ``backward`` adding into ``grads``, ``zero_grad``
marking instead of filling); the initialisers are a registry, ``INITS``,
from name to ``fn(shape, fan_in, fan_out, rng)``.
"""

import functools

import numpy as np

from .._validation import check_choice


def _recording_forward(forward):
    """``forward`` that also keeps the shape of the output it returns, so that
    ``backward`` can check its ``dout`` against it."""
    @functools.wraps(forward)
    def recorded(self, *args, **kwargs):
        out = forward(self, *args, **kwargs)
        self._out_shape = getattr(out, "shape", None)
        return out
    return recorded


#: ``_out_shape`` of a layer whose last forward ran in a Sequential's
#: channel-major chain (``Conv2d.forward_cnhw``): its cache is of that layout.
CHANNEL_MAJOR = "channel-major"


def _checked_backward(backward):
    """``backward`` that first checks the layer protocol's contract: a forward
    pass came first, and ``dout`` has the shape of that forward's output."""
    @functools.wraps(backward)
    def checked(self, dout, *args, **kwargs):
        shape = getattr(self, "_out_shape", False)
        if shape is False:
            raise RuntimeError(f"{type(self).__name__}.backward was called before any "
                               f"forward: run forward(x) first (backward uses what it "
                               f"cached)")
        if shape is CHANNEL_MAJOR:
            raise RuntimeError(f"{type(self).__name__}.backward: the last forward ran "
                               f"inside a Sequential's channel-major chain, whose caches "
                               f"are of that layout: call the Sequential's backward, or "
                               f"run this layer's forward(x) first")
        if shape is not None and np.shape(dout) != shape:
            raise ValueError(f"dout: expected shape {shape} (the shape of "
                             f"{type(self).__name__}'s last output), got "
                             f"{np.shape(dout)}")
        return backward(self, dout, *args, **kwargs)
    return checked


class Layer:
    """Base class: a layer with no parameters unless a subclass adds some.

    The protocol's contract is checked here, once for every layer: each
    subclass's ``backward`` refuses to run before a ``forward`` and refuses a
    ``dout`` whose shape is not that of the last output (a named error on
    both backends, instead of a raw matmul error or a wrong gradient).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _recording_forward(cls.__dict__["forward"])
        if "backward" in cls.__dict__:
            cls.backward = _checked_backward(cls.__dict__["backward"])

    def __init__(self):
        self.params = {}
        self.buffers = {}        # state that is not trained by gradients (saved too)
        self._grads = {}
        self._children = []      # sub-layers whose arrays ``_grads`` points at
        self._unwritten = set()  # names of gradients that are zero but not yet filled
        self.cache = None

    @property
    def grads(self):
        """name -> gradient array, like ``params`` (settled: see the
        ``tinyae.layers`` docstring on clearing)."""
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

    def _add_buffer(self, name, value):
        """State the layer keeps that no gradient moves (an EMA codebook, its
        cluster counts): ``buffers[name]``, updated in place, saved and loaded
        by ``tinyae.checkpoint`` with the parameters."""
        self.buffers[name] = value
        return value

    def _add_bias(self, n):
        """The bias of an affine layer (Linear, TiedLinear, the convolutions),
        set up from ``self.bias`` and ``self.dtype``: a parameter ``b`` of n
        zeros, or with ``bias=False`` a constant zero vector in its place, so
        the op is the same either way; ``_b()`` returns the one in use."""
        if self.bias:
            self._add_param("b", np.zeros(n, dtype=self.dtype))
        else:
            self._zero_b = np.zeros(n, dtype=self.dtype)

    def _b(self):
        return self.params["b"] if self.bias else self._zero_b

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

