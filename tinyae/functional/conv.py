r"""Image ops on NCHW arrays: convolution, transposed convolution, pooling and
upsampling (conventions in ``tinyae.functional``).

Layout, as PyTorch: ``x: (N, C, H, W)``; a convolution weight
``(C_out, C_in, kh, kw)``; a transposed-convolution weight
``(C_in, C_out, kh, kw)``; biases ``(C_out,)``. Every size argument
(``kernel``, ``stride``, ``padding``, ``output_padding``, ``scale``) is an
int or a ``(height, width)`` pair.

Geometry
--------
Along one axis, a window of size $k$ moved by stride $s$ over an input of
size $n$ padded by $p$ on both sides starts at $0, s, 2s, \dots$; the window
starting at $i s$ fits while its last row $i s + k - 1$ is at most
$n + 2p - 1$, i.e. while $i \le (n + 2p - k) / s$. Counting $i = 0$, it fits

$$
n_\mathrm{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1
$$

times. Output pixel $i$ reads the padded rows $i s, \dots, i s + k - 1$,
i.e. the input rows $i s - p, \dots, i s - p + k - 1$. ``conv_geometry`` is
the one place this arithmetic (and its error messages) lives. It is the only
check of sizes in this package: an impossible geometry has no output shape
to compute. (``conv2d_act_forward`` also checks its activation name, and
``conv2d_forward`` the buffer it may be given for its columns.)

im2col: a convolution as one matrix product
-------------------------------------------
Write $\bar x$ for the padded input and $(p, q)$ for an offset inside the
kernel. Unroll every window into a column,

$$
\mathrm{cols}_{(c, p, q), (n, i, j)} = \bar x_{n, c, i s + p, j s + q},
$$

a ``(C*kh*kw, N*Ho*Wo)`` matrix. Then with ``Wm = W.reshape(C_out, C*kh*kw)``,
whose row $f$ lists $W_{f, c, p, q}$ in the same $(c, p, q)$ order,

$$
\mathrm{out}_{n, f, i, j} &= \sum_{c, p, q} W_{f, c, p, q} \, \bar x_{n, c, i s + p, j s + q} + b_f \\
&= (W_m \, \mathrm{cols})_{f, (n, i, j)} + b_f .
$$

``col2im`` is the adjoint of ``im2col``: it adds every column entry back
onto the pixel it was read from (pixels in several windows collect several
contributions) and drops the padding.
"""

import numbers

import numpy as np

from .._validation import check_choice, check_out_buffer
from .dense import ACTIVATIONS

# --------------------------------------------------------------------------
# Geometry: the one helper that turns size arguments into pairs and output
# shapes, and says which parameter is wrong when they do not fit.
# --------------------------------------------------------------------------

#: op name -> how it uses the padding ("conv": zeros anywhere; "pool": at most
#: half the kernel, so every window holds at least one real pixel).
GEOMETRY_OPS = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d")


def as_pair(value, name="value", minimum=0):
    r"""An int or an ``(h, w)`` pair of ints $\ge$ ``minimum`` -> ``(h, w)`` tuple.

    Raises ValueError naming ``name`` for anything else (floats, bools,
    three numbers, values below ``minimum``).
    """
    items = value if isinstance(value, (tuple, list)) else (value, value)
    ok = len(items) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum
        for v in items)
    if not ok:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what} or a (height, width) pair of them, "
                         f"got {value!r}")
    return int(items[0]), int(items[1])


def conv_geometry(op, in_hw, kernel, stride, padding, output_padding=0):
    r"""Validate the size arguments of ``op`` and compute its output size.

    ``op``: one of ``GEOMETRY_OPS``; ``in_hw``: the input ``(H, W)``, or None
    to check the arguments alone (a layer's constructor). Returns
    ``(kernel, stride, padding, output_padding, out_hw)``, all ``(h, w)`` pairs
    (``out_hw`` None when ``in_hw`` is None). Along each axis, with input size
    $n$, kernel $k$, stride $s$, padding $p$ and output padding $o$:

    * conv2d and the pools: $n_\mathrm{out} = \lfloor (n + 2p - k) / s \rfloor + 1$
      (module docstring); the kernel must fit in the padded input;
    * conv_transpose2d: $n_\mathrm{out} = (n - 1) s - 2p + k + o$, the input size
      of the conv2d it is the adjoint of; ``output_padding`` (extra rows at the
      bottom/right that select which of the $s$ input sizes mapping to $n$ is
      meant) must be smaller than the stride;
    * pools: padding at most half the kernel ($2p \le k$, PyTorch's rule), so
      no window is all padding.
    """
    if op not in GEOMETRY_OPS:
        raise ValueError(f"op must be one of {list(GEOMETRY_OPS)}, got {op!r}")
    k = as_pair(kernel, "kernel", 1)
    s = as_pair(stride, "stride", 1)
    p = as_pair(padding, "padding", 0)
    op_ = as_pair(output_padding, "output_padding", 0)
    if op != "conv_transpose2d" and op_ != (0, 0):
        raise ValueError(f"output_padding is only for conv_transpose2d, got {output_padding!r}")
    if op == "conv_transpose2d" and (op_[0] >= s[0] or op_[1] >= s[1]):
        raise ValueError(f"output_padding must be smaller than the stride {s}, "
                         f"got {output_padding!r}")
    if op.endswith("pool2d") and (2 * p[0] > k[0] or 2 * p[1] > k[1]):
        raise ValueError(f"padding must be at most half the kernel {k} for {op}, "
                         f"got {padding!r}")
    if in_hw is None:
        return k, s, p, op_, None
    if op == "conv_transpose2d":
        out = tuple((n - 1) * s_ - 2 * p_ + k_ + o_
                    for n, k_, s_, p_, o_ in zip(in_hw, k, s, p, op_))
        if min(out) < 1:
            raise ValueError(
                f"padding {padding!r} is too large for conv_transpose2d of an input "
                f"{tuple(in_hw)} with kernel {k} and stride {s}: the output "
                f"{out} would be empty")
        return k, s, p, op_, out
    padded = tuple(n + 2 * p_ for n, p_ in zip(in_hw, p))
    if k[0] > padded[0] or k[1] > padded[1]:
        raise ValueError(
            f"kernel {k} is larger than the padded input {padded} (input "
            f"{tuple(in_hw)}, padding {p}): the {op} output would be empty")
    out = tuple((n - k_) // s_ + 1 for n, k_, s_ in zip(padded, k, s))
    return k, s, p, op_, out


# --------------------------------------------------------------------------
# im2col / col2im
# --------------------------------------------------------------------------

def _windows(s, out_hw, p, q):
    r"""Slices of the padded input that kernel offset $(p, q)$ reads, for all
    output pixels at once: rows $p, p + s, \dots, p + (H_o - 1) s$.
    """
    return (slice(p, p + s[0] * (out_hw[0] - 1) + 1, s[0]),
            slice(q, q + s[1] * (out_hw[1] - 1) + 1, s[1]))


def _pad(x, pad, value=0.0):
    """``x: (N, C, H, W)`` -> ``(N, C, H + 2*ph, W + 2*pw)``, borders set to ``value``."""
    return np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])),
                  constant_values=value)


def _crop(xp, pad):
    """Inverse of ``_pad``: drop the borders (a C-contiguous copy)."""
    H, W = xp.shape[2] - 2 * pad[0], xp.shape[3] - 2 * pad[1]
    return np.ascontiguousarray(xp[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + W])


def im2col(x, k, s, pad, out_hw, out=None):
    r"""``x: (N, C, H, W)`` -> ``cols: (C*kh*kw, N*Ho*Wo)`` with

    $$
    \mathrm{cols}_{(c, p, q), (n, i, j)} = \bar x_{n, c, i s + p, j s + q}
    $$

    ($\bar x$ the input padded with zeros). One strided slice per kernel
    offset $(p, q)$. ``out``: a C-contiguous array of that shape to write into
    (checked by the caller).
    """
    N, C = x.shape[:2]
    xp = _pad(x, pad)
    shape = (C, k[0], k[1], N, out_hw[0], out_hw[1])
    cols = np.empty(shape, x.dtype) if out is None else out.reshape(shape)
    for p in range(k[0]):
        for q in range(k[1]):
            rows, cs = _windows(s, out_hw, p, q)
            cols[:, p, q] = xp[:, :, rows, cs].transpose(1, 0, 2, 3)   # (C, N, Ho, Wo)
    return cols.reshape(C * k[0] * k[1], N * out_hw[0] * out_hw[1]) if out is None else out


def col2im(cols, x_shape, k, s, pad, out_hw):
    r"""The adjoint of ``im2col``: ``cols: (C*kh*kw, N*Ho*Wo)`` -> ``(N, C, H, W)``,

    $$
    x_{n, c, u, v} = \sum_{(p, q, i, j) \,:\, i s + p = u + P_h, \; j s + q = v + P_w} \mathrm{cols}_{(c, p, q), (n, i, j)},
    $$

    with $(P_h, P_w)$ the padding: each entry added onto the pixel it was
    read from (overlapping windows add up), padding dropped.
    """
    N, C, H, W = x_shape
    cols = cols.reshape(C, k[0], k[1], N, out_hw[0], out_hw[1])
    xp = np.zeros((N, C, H + 2 * pad[0], W + 2 * pad[1]), cols.dtype)
    for p in range(k[0]):
        for q in range(k[1]):
            rows, cs = _windows(s, out_hw, p, q)
            xp[:, :, rows, cs] += cols[:, p, q].transpose(1, 0, 2, 3)
    return _crop(xp, pad)


# --------------------------------------------------------------------------
# Convolution (cross-correlation, as in every deep-learning library)
# --------------------------------------------------------------------------

def conv2d_forward(x, W, b, stride=1, padding=0, cols_out=None):
    r"""2-D convolution by im2col and one matrix product.

    ``x: (N, C, H, W)``, ``W: (F, C, kh, kw)``, ``b: (F,)`` ->
    ``out: (N, F, Ho, Wo)``, with $\bar x$ the zero-padded input and $s$ the
    stride:

    $$
    \mathrm{out}_{n, f, i, j} = b_f + \sum_{c, p, q} W_{f, c, p, q} \, \bar x_{n, c, i s + p, j s + q},
    $$

    computed as $W_m \, \mathrm{cols}$ (module docstring), then the
    ``(F, N, Ho, Wo)`` product is transposed to NCHW. ``conv2d_forward_naive``
    is the same sum written as loops over output pixels; the tests keep them
    equal. ``cache = (cols, W, x.shape, (k, s, pad, out_hw))``.

    ``cols_out``: a C-contiguous ``(C*kh*kw, N*Ho*Wo)`` array of ``x``'s dtype
    that receives the columns (then the ``cols`` of the cache), so that a layer
    can give each step the buffer of its previous cache (``layers.Conv2d``)
    instead of new memory; None: a new array.
    """
    k, s, pad, _, out_hw = conv_geometry("conv2d", x.shape[2:], W.shape[2:], stride, padding)
    N, F = x.shape[0], W.shape[0]
    cols = im2col(x, k, s, pad, out_hw, _cols_out(cols_out, x, k, out_hw))
    out = (W.reshape(F, -1) @ cols).reshape(F, N, *out_hw)   # (F, N, Ho, Wo)
    out = out.transpose(1, 0, 2, 3).copy()                   # NCHW, C-contiguous
    out += b[:, None, None]
    return out, (cols, W, x.shape, (k, s, pad, out_hw))


def _cols_out(cols_out, x, k, out_hw):
    """``cols_out`` checked against the im2col shape of ``x`` (None passes)."""
    if cols_out is None:
        return None
    shape = (x.shape[1] * k[0] * k[1], x.shape[0] * out_hw[0] * out_hw[1])
    return check_out_buffer(cols_out, "cols_out", shape, x.dtype)


def conv2d_backward(dout, cache, need_dx=True):
    r"""Backward pass of ``conv2d_forward``.

    Write $\delta = \partial L / \partial\,\mathrm{out}$ (``dout``) and
    $G$ for $\delta$ as an ``(F, N*Ho*Wo)`` matrix (``dout_m``), one column per
    output pixel $(n, i, j)$. Column by column the forward map is
    $\mathrm{out} = W_m \, \mathrm{cols} + b$, an affine map, so as for
    ``linear_backward``:

    $$
    \frac{\partial L}{\partial b_f} = \sum_{n, i, j} \delta_{n, f, i, j}, \qquad
    \frac{\partial L}{\partial W_m} = G \, \mathrm{cols}^\top, \qquad
    \frac{\partial L}{\partial\,\mathrm{cols}} = W_m^\top G .
    $$

    ``dW`` is $G \, \mathrm{cols}^\top$ reshaped to ``(F, C, kh, kw)``; entry by
    entry it is a correlation of the input with $\delta$,

    $$
    \frac{\partial L}{\partial W_{f, c, p, q}} = \sum_{n, i, j} \delta_{n, f, i, j} \, \bar x_{n, c, i s + p, j s + q} .
    $$

    Each entry of cols is a copy of one input pixel, so a pixel's gradient is
    the sum of the gradients of all its copies: ``dx = col2im(Wm.T @ dout_m)``,
    ``(N, C, H, W)``. That is the adjoint of the forward map: every input pixel
    collects $W_{f, c, p, q} \, \delta_{n, f, i, j}$ from each output pixel
    $(i, j)$ whose window reads it at offset $(p, q)$. For stride 1 it is a
    "full" correlation of $\delta$ with the kernel flipped in both axes (in one
    dimension, $\partial L / \partial x_u = \sum_p W_p \, \delta_{u - p}$); for
    any stride it is exactly ``conv_transpose2d`` of $\delta$ with the same
    weight, which is why the transposed convolution is also called the gradient
    of a convolution. ``need_dx=False`` skips ``dx`` (None) when ``x`` is the
    data.
    """
    cols, W, x_shape, (k, s, pad, out_hw) = cache
    F = W.shape[0]
    dout_m = dout.transpose(1, 0, 2, 3).reshape(F, -1)       # (F, N Ho Wo)
    db = dout.sum(axis=(0, 2, 3))
    dW = (dout_m @ cols.T).reshape(W.shape)
    dx = col2im(W.reshape(F, -1).T @ dout_m, x_shape, k, s, pad, out_hw) if need_dx else None
    return dx, dW, db


def conv2d_act_forward(x, W, b, stride, padding, activation, cols_out=None):
    r"""Convolution then activation: $\mathrm{out} = \mathrm{act}(\mathrm{conv2d}(x, W, b))$,
    the image twin of ``linear_act_forward`` (``layers.Sequential`` runs a
    Conv2d followed by an activation through it). ``activation``: a key of
    ``ACTIVATIONS``. ``cache = (conv_cache, act_cache, activation)``: each
    layer's own cache, so the pair can also be run as two layers.
    """
    return _then_act(activation, conv2d_forward, x, W, b, stride, padding, cols_out)


def _then_act(activation, op, *args):
    """``op(*args)`` (an image op's forward), then the activation: (out,
    (op's cache, the activation's cache, activation))."""
    check_choice(activation, "activation", ACTIVATIONS)
    a, op_cache = op(*args)
    out, act_cache = ACTIVATIONS[activation][0](a)
    return out, (op_cache, act_cache, activation)


def conv2d_act_backward(dout, cache, need_dx=True):
    r"""Backward pass of ``conv2d_act_forward``: first through the activation,
    $\partial L / \partial a = \partial L / \partial\,\mathrm{out} \odot \mathrm{act}'(a)$,
    then ``conv2d_backward`` of that (``dx`` None if not ``need_dx``).
    """
    return _then_conv2d_backward(conv2d_backward, dout, cache, need_dx)


def _then_conv2d_backward(conv_backward, dout, cache, need_dx):
    """Through the activation, then ``conv_backward`` (conv2d's or its twin's)."""
    conv_cache, act_cache, activation = cache
    return conv_backward(ACTIVATIONS[activation][1](dout, act_cache), conv_cache, need_dx)


def conv2d_forward_naive(x, W, b, stride=1, padding=0):
    r"""``conv2d_forward`` written as the definition: one window at a time. For
    each output pixel $(i, j)$,

    $$
    \mathrm{out}_{:, :, i, j} = b + \sum_{c, p, q} \bar x_{:, c, i s + p, j s + q} \, W_{:, c, p, q},
    $$

    the sum over the window of the padded input times the weight. In code::

        for i, j in output pixels:
            window = xpad[:, :, i*s : i*s + kh, j*s : j*s + kw]    # (N, C, kh, kw)
            out[:, :, i, j] = tensordot(window, W) + b              # (N, F)

    Slow (a Python loop over the ``Ho*Wo`` pixels) and easy to read; tested
    equal to the im2col version. Returns ``(out, cache)`` with
    ``cache = (x, W, geometry)``.
    """
    k, s, pad, _, out_hw = conv_geometry("conv2d", x.shape[2:], W.shape[2:], stride, padding)
    xp = _pad(x, pad)
    out = np.empty((x.shape[0], W.shape[0], *out_hw), x.dtype)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            window = xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]  # (N, C, kh, kw)
            out[:, :, i, j] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, W, (k, s, pad, out_hw))


def conv2d_backward_naive(dout, cache):
    r"""``conv2d_backward`` one window at a time: each output pixel $(i, j)$
    sends $\delta_{:, :, i, j} W$ back onto its window of the input and
    $\delta_{:, :, i, j} \cdot \mathrm{window}$ into ``dW``, where
    $\delta = \partial L / \partial\,\mathrm{out}$. Returns ``(dx, dW, db)``.
    """
    x, W, (k, s, pad, out_hw) = cache
    xp = _pad(x, pad)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            win = (slice(None), slice(None),
                   slice(i * s[0], i * s[0] + k[0]), slice(j * s[1], j * s[1] + k[1]))
            g = dout[:, :, i, j]                                        # (N, F)
            dxp[win] += np.tensordot(g, W, axes=(1, 0))                 # (N, C, kh, kw)
            dW += np.tensordot(g, xp[win], axes=(0, 0))                 # (F, C, kh, kw)
    return _crop(dxp, pad), dW, dout.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------
# Transposed convolution: the adjoint of conv2d
# --------------------------------------------------------------------------

def conv_transpose2d_forward(x, W, b, stride=1, padding=0, output_padding=0):
    r"""Transposed convolution: the adjoint (and input gradient) of conv2d.

    ``x: (N, C_in, H, W)``, ``W: (C_in, C_out, kh, kw)``, ``b: (C_out,)`` ->
    ``out: (N, C_out, Ho, Wo)`` with
    $H_o = (H - 1) s - 2p + k_h + \mathrm{output\_padding}$ (likewise $W_o$).

    Read ``W`` as the weight of a conv2d that maps ``C_out`` channels of size
    ``(Ho, Wo)`` to ``C_in`` channels of size ``(H, W)`` (its output size is $H$
    again, since $\mathrm{output\_padding} < s$). conv_transpose2d is that
    conv2d's input gradient (``conv2d_backward``) applied to ``x``:

    $$
    \mathrm{out} = \mathrm{col2im}(W_m^\top x_m) + b,
    $$

    with ``Wm = W.reshape(C_in, C_out*kh*kw)`` and ``x_m`` $= x$ as a
    ``(C_in, N*H*W)`` matrix. So every input pixel $x_{n, c, i, j}$ stamps the
    kernel $W_c$, scaled by its value, onto the output with its corner at
    $(i s - p, j s - p)$; overlapping stamps add up. Hence, for all $x$ and $y$,

    $$
    \langle \mathrm{conv2d}(y, W, 0), x \rangle = \langle y, \mathrm{conv\_transpose2d}(x, W, 0) \rangle
    $$

    (tested to $10^{-12}$). With stride $s > 1$ and a kernel size not
    divisible by $s$, some output pixels receive more stamps than their
    neighbours: the checkerboard of Odena et al. (2016);
    ``lessons/11_conv_autoencoders.py``.
    ``cache = (x_m, W, x.shape, (k, s, pad, out_hw))``.
    """
    k, s, pad, _, out_hw = conv_geometry("conv_transpose2d", x.shape[2:], W.shape[2:],
                                         stride, padding, output_padding)
    N, C_in, H, Wd = x.shape
    C_out = W.shape[1]
    x_m = x.transpose(1, 0, 2, 3).reshape(C_in, -1)          # (C_in, N H W)
    cols = W.reshape(C_in, -1).T @ x_m                       # (C_out kh kw, N H W)
    out = col2im(cols, (N, C_out, *out_hw), k, s, pad, (H, Wd))
    out += b[:, None, None]
    return out, (x_m, W, x.shape, (k, s, pad, out_hw))


def conv_transpose2d_backward(dout, cache, need_dx=True):
    r"""Backward pass of ``conv_transpose2d_forward``.

    Write $\delta = \partial L / \partial\,\mathrm{out}$ (``dout``). The forward
    map is $\mathrm{out} = \mathrm{col2im}(W_m^\top x_m) + b$. The adjoint of
    col2im is im2col, so the gradient reaching the columns
    $W_m^\top x_m$ is ``cols = im2col(dout)``, ``(C_out*kh*kw, N*H*W)``. From
    there, as for an affine map:

    $$
    \frac{\partial L}{\partial x_m} &= W_m \, \mathrm{cols}, \\
    \frac{\partial L}{\partial W_m} &= x_m \, \mathrm{cols}^\top, \\
    \frac{\partial L}{\partial b_f} &= \sum_{n, i, j} \delta_{n, f, i, j} .
    $$

    The first, reshaped to ``(N, C_in, H, W)``, is conv2d of $\delta$ with
    $W$ and no bias: the forward map is linear in $x$ with the conv2d input
    gradient as its matrix, so its adjoint is conv2d itself. The second is
    reshaped to ``(C_in, C_out, kh, kw)``.
    """
    x_m, W, x_shape, (k, s, pad, out_hw) = cache
    N, C_in, H, Wd = x_shape
    cols = im2col(dout, k, s, pad, (H, Wd))                  # (C_out kh kw, N H W)
    dW = (x_m @ cols.T).reshape(W.shape)
    dx = None
    if need_dx:
        dx = (W.reshape(C_in, -1) @ cols).reshape(C_in, N, H, Wd)
        dx = dx.transpose(1, 0, 2, 3).copy()                 # back to NCHW
    return dx, dW, dout.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------
# Channel-major (C, N, H, W) twins of the convolutions
# --------------------------------------------------------------------------
#
# Inside a chain of image layers (``layers.Sequential``) the activations can
# be kept channel-major, (C, N, H, W): the im2col product
# $W_m \, \mathrm{cols}$ is an ``(F, N*Ho*Wo)`` matrix, i.e. the output of a
# convolution laid out as (F, N, Ho, Wo) already, and the input of a
# transposed convolution as a ``(C_in, N*H*W)`` matrix is the channel-major
# array itself. Pooling, upsampling and activations work per (H, W) plane or
# per element and do not care about the order of the two leading axes. So a
# chain in that layout needs no transpose between its layers; only its two
# ends convert (a free reshape when C or N is 1). The ops below are the NCHW
# ops on the swapped arrays: the same numbers, gradients and caches (the
# cache keeps the NCHW shape of x); the kernel twins save the transposes.

def swap_nc(a):
    """(A, B, H, W) -> (B, A, H, W), C-contiguous: NCHW <-> channel-major
    (C, N, H, W). Its own inverse (and its own adjoint)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3))


def conv2d_cnhw_forward(x, W, b, stride=1, padding=0, cols_out=None):
    r"""``conv2d_forward`` on channel-major arrays: ``x: (C, N, H, W)`` ->
    ``out: (F, N, Ho, Wo)``; the cache is ``conv2d_forward``'s."""
    out, cache = conv2d_forward(swap_nc(x), W, b, stride, padding, cols_out)
    return swap_nc(out), cache


def conv2d_cnhw_backward(dout, cache, need_dx=True):
    r"""Backward pass of ``conv2d_cnhw_forward``: ``dout: (F, N, Ho, Wo)`` ->
    ``(dx: (C, N, H, W) or None, dW, db)``. Swapping two axes is a
    permutation of the entries, so the gradients are ``conv2d_backward``'s
    of the swapped arrays, with dx swapped back."""
    dx, dW, db = conv2d_backward(swap_nc(dout), cache, need_dx)
    return (None if dx is None else swap_nc(dx)), dW, db


def conv2d_act_cnhw_forward(x, W, b, stride, padding, activation, cols_out=None):
    r"""``conv2d_act_forward`` on channel-major arrays: the activation is
    element-wise, so it runs on the (F, N, Ho, Wo) output as it is."""
    return _then_act(activation, conv2d_cnhw_forward, x, W, b, stride, padding, cols_out)


def conv2d_act_cnhw_backward(dout, cache, need_dx=True):
    r"""Backward pass of ``conv2d_act_cnhw_forward`` (as ``conv2d_act_backward``)."""
    return _then_conv2d_backward(conv2d_cnhw_backward, dout, cache, need_dx)


def conv_transpose2d_cnhw_forward(x, W, b, stride=1, padding=0, output_padding=0):
    r"""``conv_transpose2d_forward`` on channel-major arrays: ``x: (C_in, N,
    H, W)`` -> ``out: (C_out, N, Ho, Wo)``; the cache is the NCHW op's."""
    out, cache = conv_transpose2d_forward(swap_nc(x), W, b, stride, padding, output_padding)
    return swap_nc(out), cache


def conv_transpose2d_cnhw_backward(dout, cache, need_dx=True):
    r"""Backward pass of ``conv_transpose2d_cnhw_forward``: ``dout: (C_out, N,
    Ho, Wo)`` -> ``(dx: (C_in, N, H, W) or None, dW, db)``."""
    dx, dW, db = conv_transpose2d_backward(swap_nc(dout), cache, need_dx)
    return (None if dx is None else swap_nc(dx)), dW, db


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------

def max_pool2d_forward(x, kernel, stride=None, padding=0):
    r"""Max over each window (``stride`` defaults to the kernel, as PyTorch).

    ``x: (N, C, H, W)`` -> ``out: (N, C, Ho, Wo)``,
    $\mathrm{out}_{n, c, i, j} = \max_{p, q} \bar x_{n, c, i s + p, j s + q}$.
    The padding holds $-\infty$, so it is never the max of a window that has a
    real pixel (and every window has one: padding is at most half the kernel).

    Ties: the gradient goes to the **first** maximal element of the window
    in row-major order (smallest row offset, then smallest column offset),
    as PyTorch's CPU kernel and ``np.argmax`` do.
    ``cache = (arg, x.shape, (k, s, pad))`` with ``arg: (N, C, Ho, Wo)`` the
    window offset $p k_w + q$ of each max.
    """
    k, s, pad, _, out_hw = conv_geometry("max_pool2d", x.shape[2:], kernel,
                                         kernel if stride is None else stride, padding)
    xp = _pad(x, pad, -np.inf)
    windows = np.empty((*x.shape[:2], *out_hw, k[0] * k[1]), x.dtype)
    for p in range(k[0]):
        for q in range(k[1]):
            windows[..., p * k[1] + q] = xp[(slice(None), slice(None))
                                            + _windows(s, out_hw, p, q)]
    arg = windows.argmax(axis=-1)                            # first max
    out = np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0]
    return out, (arg, x.shape, (k, s, pad))


def max_pool2d_act_forward(x, kernel, stride, padding, activation):
    r"""Max pooling then an activation, as ``conv2d_act_forward``
    (``layers.Sequential`` runs a MaxPool2d followed by an activation
    through it; in a channel-major chain that is where the ReLU of a
    convolution followed by max pooling goes).
    ``cache = (pool_cache, act_cache, activation)``."""
    return _then_act(activation, max_pool2d_forward, x, kernel, stride, padding)


def max_pool2d_act_backward(dout, cache):
    r"""Backward pass of ``max_pool2d_act_forward``: through the activation,
    then ``max_pool2d_backward``."""
    pool_cache, act_cache, activation = cache
    return max_pool2d_backward(ACTIVATIONS[activation][1](dout, act_cache), pool_cache)


def max_pool2d_backward(dout, cache):
    r"""Backward pass of ``max_pool2d_forward``.

    Locally, the max of a window equals its maximal element, so its derivative
    is 1 for that pixel and 0 for the others. With
    $\delta = \partial L / \partial\,\mathrm{out}$ and $(p^*, q^*)$ the offset of
    the max of window $(i, j)$, the chain rule sums over every window:

    $$
    \frac{\partial L}{\partial \bar x_{n, c, u, v}} = \sum_{i, j \,:\, (i s + p^*, j s + q^*) = (u, v)} \delta_{n, c, i, j} .
    $$

    So ``dx`` gets $\delta_{n, c, i, j}$ at the pixel that was the max of
    window $(i, j)$, zeros elsewhere. Windows overlap when stride < kernel: a
    pixel that is the max of several windows **adds** their gradients
    (``np.add.at``, not an assignment that would keep only the last).
    """
    arg, x_shape, (k, s, pad) = cache
    N, C, Ho, Wo = dout.shape
    n, c, i, j = np.indices((N, C, Ho, Wo), sparse=True)
    rows = i * s[0] + arg // k[1]                            # in padded coordinates
    cols = j * s[1] + arg % k[1]
    dxp = np.zeros((N, C, x_shape[2] + 2 * pad[0], x_shape[3] + 2 * pad[1]), dout.dtype)
    np.add.at(dxp, (n, c, rows, cols), dout)
    return _crop(dxp, pad)


def avg_pool2d_forward(x, kernel, stride=None, padding=0):
    r"""Mean over each window, padded zeros included in the divisor (PyTorch's
    default ``count_include_pad=True``):

    $$
    \mathrm{out}_{n, c, i, j} = \frac{1}{k_h k_w} \sum_{p, q} \bar x_{n, c, i s + p, j s + q}
    $$

    for every window, border or not.

    ``x: (N, C, H, W)`` -> ``out: (N, C, Ho, Wo)``.
    ``cache = (x.shape, (k, s, pad, out_hw))``.
    """
    k, s, pad, _, out_hw = conv_geometry("avg_pool2d", x.shape[2:], kernel,
                                         kernel if stride is None else stride, padding)
    xp = _pad(x, pad)
    out = np.zeros((*x.shape[:2], *out_hw), x.dtype)
    for p in range(k[0]):
        for q in range(k[1]):
            out += xp[(slice(None), slice(None)) + _windows(s, out_hw, p, q)]
    out /= x.dtype.type(k[0] * k[1])
    return out, (x.shape, (k, s, pad, out_hw))


def avg_pool2d_backward(dout, cache):
    r"""Backward pass of ``avg_pool2d_forward``: each pixel of window $(i, j)$
    has the derivative $1 / (k_h k_w)$ in it, so

    $$
    \frac{\partial L}{\partial \bar x_{n, c, u, v}} = \frac{1}{k_h k_w} \sum_{i, j \,:\, \bar x_{u, v} \in \text{window } (i, j)} \delta_{n, c, i, j},
    $$

    $\delta = \partial L / \partial\,\mathrm{out}$: overlapping windows add
    up; the share of the padding is dropped.
    """
    x_shape, (k, s, pad, out_hw) = cache
    N, C, H, W = x_shape
    g = dout / dout.dtype.type(k[0] * k[1])
    dxp = np.zeros((N, C, H + 2 * pad[0], W + 2 * pad[1]), dout.dtype)
    for p in range(k[0]):
        for q in range(k[1]):
            dxp[(slice(None), slice(None)) + _windows(s, out_hw, p, q)] += g
    return _crop(dxp, pad)


# --------------------------------------------------------------------------
# Upsampling
# --------------------------------------------------------------------------

def upsample_nearest2d_forward(x, scale):
    r"""Each pixel repeated into an ``(sh, sw)`` block.

    ``x: (N, C, H, W)`` -> ``out: (N, C, H*sh, W*sw)``,
    $\mathrm{out}_{n, c, i, j} = x_{n, c, \lfloor i / s_h \rfloor, \lfloor j / s_w \rfloor}$.
    ``cache = (sh, sw)``.
    """
    sh, sw = as_pair(scale, "scale", 1)
    return x.repeat(sh, axis=2).repeat(sw, axis=3), (sh, sw)


def upsample_nearest2d_backward(dout, cache):
    r"""Backward pass of ``upsample_nearest2d_forward``: input pixel $(u, v)$ is
    copied to every output pixel of its block, so it collects their gradients,

    $$
    \frac{\partial L}{\partial x_{n, c, u, v}} = \sum_{a < s_h} \sum_{b < s_w} \delta_{n, c, u s_h + a, v s_w + b},
    \qquad \delta = \frac{\partial L}{\partial\,\mathrm{out}} .
    $$
    """
    sh, sw = cache
    N, C, Ho, Wo = dout.shape
    return dout.reshape(N, C, Ho // sh, sh, Wo // sw, sw).sum(axis=(3, 5))


def bilinear_taps(n_in, scale, dtype):
    r"""The two source pixels and weights of each output pixel along one axis,
    ``align_corners=False`` (PyTorch's default).

    Output pixel $i$ has its centre at the source coordinate

    $$
    \mathrm{src}_i = \max\left(\frac{i + 0.5}{\mathrm{scale}} - 0.5, \; 0\right);
    $$

    it reads rows $i_0 = \lfloor \mathrm{src}_i \rfloor$ and
    $i_1 = \min(i_0 + 1, n_\mathrm{in} - 1)$ with weights
    $w_0 = 1 - (\mathrm{src}_i - i_0)$ and $w_1 = \mathrm{src}_i - i_0$.
    Returns ``(i0, i1, w0, w1)``, each ``(n_in*scale,)``; weights in ``dtype``.
    """
    src = np.maximum((np.arange(n_in * scale) + 0.5) / scale - 0.5, 0.0)
    i0 = src.astype(np.int64)                                # floor: src >= 0
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(dtype)
    return i0, i1, (1 - w1).astype(dtype), w1


def upsample_bilinear2d_forward(x, scale):
    r"""Bilinear upsampling by an integer factor, ``align_corners=False``.

    ``x: (N, C, H, W)`` -> ``out: (N, C, H*sh, W*sw)``. Separable: interpolate
    along the rows, then along the columns, with the taps of ``bilinear_taps``
    ($h$ for the rows, $w$ for the columns; the leading axes $n, c$ are left
    out):

    $$
    t_{i, v} &= w^h_0[i] \, x_{i^h_0[i], v} + w^h_1[i] \, x_{i^h_1[i], v}, \\
    \mathrm{out}_{i, j} &= w^w_0[j] \, t_{i, i^w_0[j]} + w^w_1[j] \, t_{i, i^w_1[j]} .
    $$

    ``cache = (x.shape, taps_h, taps_w)``.
    """
    sh, sw = as_pair(scale, "scale", 1)
    th = bilinear_taps(x.shape[2], sh, x.dtype)
    tw = bilinear_taps(x.shape[3], sw, x.dtype)
    i0, i1, w0, w1 = th
    t = x[:, :, i0, :] * w0[:, None] + x[:, :, i1, :] * w1[:, None]   # (N, C, Ho, W)
    i0, i1, w0, w1 = tw
    out = t[..., i0] * w0 + t[..., i1] * w1                            # (N, C, Ho, Wo)
    return out, (x.shape, th, tw)


def upsample_bilinear2d_backward(dout, cache):
    r"""Backward pass of ``upsample_bilinear2d_forward``.

    Per channel the forward map is linear, $\mathrm{out} = A_h \, x \, A_w^\top$,
    with $A_h$ ``(Ho, H)`` holding $w^h_0, w^h_1$ in row $i$ at columns
    $i^h_0, i^h_1$ (and $A_w$ likewise). For any $\delta$ of the output's shape,

    $$
    \langle \delta, A_h x A_w^\top \rangle &= \operatorname{tr}(\delta^\top A_h x A_w^\top) \\
    &= \operatorname{tr}\big((A_h^\top \delta A_w)^\top x\big) = \langle A_h^\top \delta A_w, x \rangle,
    $$

    so $\partial L / \partial x = A_h^\top \delta A_w$ with
    $\delta = \partial L / \partial\,\mathrm{out}$: each output pixel sends
    $w_0 \delta$ and $w_1 \delta$ back to its two source pixels, columns first,
    then rows (``np.add.at``, since many outputs share a source).
    """
    x_shape, (i0h, i1h, w0h, w1h), (i0w, i1w, w0w, w1w) = cache
    N, C, H, W = x_shape
    dt = np.zeros((N, C, dout.shape[2], W), dout.dtype)
    np.add.at(dt, (Ellipsis, i0w), dout * w0w)
    np.add.at(dt, (Ellipsis, i1w), dout * w1w)
    dx = np.zeros(x_shape, dout.dtype)
    np.add.at(dx, (slice(None), slice(None), i0h), dt * w0h[:, None])
    np.add.at(dx, (slice(None), slice(None), i1h), dt * w1h[:, None])
    return dx
