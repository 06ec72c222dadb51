"""Transformer layers (the masked autoencoder, ``tinyae.models.mae``):
LayerNorm, GELU, multi-head self-attention, the pre-norm block, patch and
positional embeddings.

Token tensors are (N, T, D): batch, tokens, features; or, with
``batch_first=False`` (PyTorch's name and default for its attention
layers), token-major (T, N, D), the layout the MAE runs its blocks in
(``functional.multihead_attention_tm_forward`` says why). Each gradient
lives in ``tinyae/functional/transformer.py``; these layers only route
arrays.
"""

import numpy as np

from .._validation import (check_bool, check_choice, check_dtype, check_positive_float,
                           check_positive_int, check_rng)
from ..backend import ops
from .base import Layer
from .dense import Linear


class _Composite(Layer):
    """A layer made of named sub-layers: ``params``/``grads`` hold flat keys
    ``"<child>.<key>"`` pointing at the children's arrays (so ``zero_grad``
    and the optimisers reach them)."""

    def _adopt(self, name, layer):
        for k in layer.params:
            self.params[f"{name}.{k}"] = layer.params[k]
            self._grads[f"{name}.{k}"] = layer.grads[k]
        for k in layer.buffers:
            self.buffers[f"{name}.{k}"] = layer.buffers[k]
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
    """Multi-head self-attention on tokens x: (N, T, dim) -> (N, T, dim), or
    (T, N, dim) -> (T, N, dim) with ``batch_first=False`` (the same numbers,
    token-major: one op, ``functional.multihead_attention_tm_forward``,
    runs both projections and the heads).

    One Linear makes queries, keys and values, (N, T, 3 dim), split into
    ``n_heads`` heads of dh = dim / n_heads features; each head attends
    with ``softmax(q k^T / sqrt(dh)) v`` and the heads are put side by side
    again, (N, T, dim) (one op: ``functional.multihead_attention_forward``),
    then mixed by a second Linear. ``attention`` holds the last forward's weights, (N, H, T, T),
    each row summing to 1. Parameters ``qkv.W``, ``qkv.b``, ``proj.W``,
    ``proj.b``.
    """

    def __init__(self, dim, n_heads, *, batch_first=True, rng, init="glorot",
                 dtype=np.float64):
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.n_heads = check_positive_int(n_heads, "n_heads")
        if self.dim % self.n_heads:
            raise ValueError(f"n_heads must divide dim={self.dim}, got n_heads={n_heads!r}")
        self.batch_first = check_bool(batch_first, "batch_first")
        self.dtype = check_dtype(dtype)
        self.qkv = self._adopt("qkv", Linear(dim, 3 * dim, rng=rng, init=init, dtype=dtype))
        self.proj = self._adopt("proj", Linear(dim, dim, rng=rng, init=init, dtype=dtype))
        self.attention = None

    def forward(self, x):
        self._check_input(x, ndim=3, last=self.dim, dtype=self.dtype)
        if not self.batch_first:
            y, self.cache = ops.multihead_attention_tm_forward(
                x, self.qkv.W, self.qkv._b(), self.proj.W, self.proj._b(), self.n_heads)
            self.attention = self.cache[2].transpose(3, 0, 1, 2)   # (N, H, T, T) view
            return y
        out, self.cache = ops.multihead_attention_forward(self.qkv.forward(x), self.n_heads)
        self.attention = self.cache[1]                           # (N, H, T, T)
        return self.proj.forward(out)

    def backward(self, dout, need_dx=True):
        if not self.batch_first:
            # the op writes the weight gradients into the Linears' cleared arrays
            into_qkv, into_proj = self.qkv._take_unwritten("W"), self.proj._take_unwritten("W")
            dx, dWqkv, dbqkv, dWo, dbo = ops.multihead_attention_tm_backward(
                dout, self.cache, need_dx, dWqkv_out=into_qkv, dWo_out=into_proj)
            self.qkv._accumulate(into_qkv, dWqkv, dbqkv)
            self.proj._accumulate(into_proj, dWo, dbo)
            return dx
        dqkv = ops.multihead_attention_backward(self.proj.backward(dout), self.cache)
        return self.qkv.backward(dqkv, need_dx)                  # (N, T, 3 dim) in

    def __repr__(self):
        layout = "" if self.batch_first else ", batch_first=False"
        return f"MultiHeadSelfAttention({self.dim}, n_heads={self.n_heads}{layout})"


class TransformerBlock(_Composite):
    """Pre-norm transformer block on tokens (N, T, dim) -> (N, T, dim), or
    token-major (T, N, dim) with ``batch_first=False`` (only the attention
    cares: LayerNorm and the MLP work row by row):

        h   = x + Attn(LN1(x))
        out = h + W2 GELU(W1 LN2(h) + b1) + b2        (hidden width mlp_ratio * dim)

    Backward follows the two residuals: the gradient reaching ``h`` is
    dout plus what flows back through the MLP branch, and dx is that plus
    what flows back through the attention branch. Parameters ``ln1.*``,
    ``attn.*``, ``ln2.*``, ``fc1.*``, ``fc2.*``.
    """

    def __init__(self, dim, n_heads, *, mlp_ratio=4, batch_first=True, rng, init="glorot",
                 dtype=np.float64):
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.mlp_ratio = check_positive_int(mlp_ratio, "mlp_ratio")
        self.dtype = check_dtype(dtype)
        hidden = self.mlp_ratio * self.dim
        self.ln1 = self._adopt("ln1", LayerNorm(dim, dtype=dtype))
        self.attn = self._adopt("attn", MultiHeadSelfAttention(
            dim, n_heads, batch_first=batch_first, rng=rng, init=init, dtype=dtype))
        self.ln2 = self._adopt("ln2", LayerNorm(dim, dtype=dtype))
        self.fc1 = self._adopt("fc1", Linear(dim, hidden, rng=rng, init=init, dtype=dtype))
        self.gelu = GELU()
        self.fc2 = self._adopt("fc2", Linear(hidden, dim, rng=rng, init=init, dtype=dtype))

    # The residual adds go into the branch's output (x + a as a += x): that
    # array is new, made by the branch's last op, and no cache holds it, so
    # no temporary is allocated for the sum (the numbers are the same).
    def forward(self, x):
        self._check_input(x, ndim=3, last=self.dim, dtype=self.dtype)
        h = self.attn.forward(self.ln1.forward(x))
        h += x
        out = self.fc2.forward(self.gelu.forward(self.fc1.forward(self.ln2.forward(h))))
        out += h
        return out

    def backward(self, dout, need_dx=True):
        dh = self.ln2.backward(self.fc1.backward(self.gelu.backward(self.fc2.backward(dout))))
        dh += dout
        dx = self.ln1.backward(self.attn.backward(dh))
        dx += dh
        return dx

    @property
    def batch_first(self):
        """The layout the block takes: only its attention depends on it."""
        return self.attn.batch_first

    def __repr__(self):
        layout = "" if self.batch_first else ", batch_first=False"
        return (f"TransformerBlock({self.dim}, n_heads={self.attn.n_heads}, "
                f"mlp_ratio={self.mlp_ratio}{layout})")


class PatchEmbed(_Composite):
    """Images (N, C, H, W) -> patch tokens (N, T, dim): ``patchify`` into
    T = (H/p)(W/p) squares of C p p pixels (kept as ``patches``: the MAE's
    targets), then one Linear (``proj.*``). With ``batch_first=False`` the
    patches are put token-major, (T, N, C p p), before the Linear, and the
    tokens come out (T, N, dim).
    Backward: the Linear's, then ``unpatchify`` (a permutation's adjoint is
    its inverse)."""

    def __init__(self, image_shape, patch, dim, *, batch_first=True, rng, init="glorot",
                 dtype=np.float64):
        super().__init__()
        self.batch_first = check_bool(batch_first, "batch_first")
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
        self.patches = None          # the last forward's patchify(x), (N, T, C p p)

    def forward(self, x):
        self._check_input(x, ndim=4, dtype=self.dtype)
        if x.shape[1:] != self.image_shape:
            raise ValueError(f"PatchEmbed.forward: x must be (N, {self.image_shape}), "
                             f"got shape {x.shape}")
        patches = ops.patchify(x, self.patch)                # (N, T, C p p)
        if not self.batch_first:
            patches = np.ascontiguousarray(patches.transpose(1, 0, 2))
        self.patches = patches                               # kept: the MAE's targets
        return self.proj.forward(patches)

    def backward(self, dout, need_dx=True):
        dtokens = self.proj.backward(dout, need_dx)
        if dtokens is None:
            return None
        if not self.batch_first:
            dtokens = dtokens.transpose(1, 0, 2)
        return ops.unpatchify(dtokens, self.patch, self.image_shape)

    def __repr__(self):
        layout = "" if self.batch_first else ", batch_first=False"
        return (f"PatchEmbed({self.image_shape}, patch={self.patch}, "
                f"dim={self.proj.n_out}{layout})")


POS_EMBEDS = ("sincos", "learned")


class PositionalEmbedding(Layer):
    """Adds a position vector to each token: x (N, T, dim) -> x + pos,
    pos: (T, dim); token-major x (T, N, dim) with ``batch_first=False``.

    ``kind="sincos"``: fixed 2-D sine-cosine codes of the token's row and
    column on ``grid`` (``functional.sincos_pos_embed``; dim a multiple of
    4), no parameters. ``kind="learned"``: a parameter ``pos`` drawn from
    N(0, 0.02^2) (``rng`` required), gradient ``sum_n dout[n]``.
    """

    def __init__(self, grid, dim, *, kind="sincos", batch_first=True, rng=None,
                 dtype=np.float64):
        super().__init__()
        self.batch_first = check_bool(batch_first, "batch_first")
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
        axis = 1 if self.batch_first else 0
        if x.shape[axis] != self.pos.shape[0]:
            raise ValueError(f"PositionalEmbedding.forward: x must have "
                             f"{self.pos.shape[0]} tokens on axis {axis}, got shape {x.shape}")
        return x + (self.pos if self.batch_first else self.pos[:, None, :])

    def backward(self, dout, need_dx=True):
        if self.kind == "learned":
            self.grads["pos"] += dout.sum(axis=0 if self.batch_first else 1)
        return dout

    def __repr__(self):
        layout = "" if self.batch_first else ", batch_first=False"
        return f"PositionalEmbedding({self.grid}, {self.dim}, kind={self.kind!r}{layout})"
