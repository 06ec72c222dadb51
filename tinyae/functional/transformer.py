"""Transformer ops for the masked autoencoder: patches, LayerNorm, GELU,
softmax attention, token masking, positional embeddings and the loss on the
masked patches (conventions in ``tinyae.functional``).

Token tensors are ``(N, T, D)``: batch, tokens, features. Attention works on
``(N, H, T, dh)``: batch, heads, tokens, features per head. Ops that act on
the last axis (LayerNorm, GELU, softmax) take any leading axes.
"""

import numpy as np
from scipy.special import erf

LAYERNORM_EPS = 1e-5
PATCH_NORM_EPS = 1e-6
_SQRT_HALF = float(np.sqrt(0.5))
_INV_SQRT_2PI = float(1.0 / np.sqrt(2.0 * np.pi))


# --------------------------------------------------------------------------
# Patches: images <-> token sequences (permutations, so each is the other's
# adjoint, and the backward of one is the other)
# --------------------------------------------------------------------------

def patchify(x, patch):
    r"""Cut images into non-overlapping ``patch x patch`` squares, row-major.

    ``x: (N, C, H, W)`` with ``H`` and ``W`` multiples of ``patch`` $= p$ ->
    ``(N, T, C*p*p)``, $T = (H / p)(W / p)$; token $t = i \, (W / p) + j$ is
    the square at block row $i$, block column $j$, flattened in ``(C, p, p)``
    order. Every pixel lands in exactly one place, so this is a permutation of
    the entries: its Jacobian is a permutation matrix $P$, and the backward
    pass multiplies by $P^\top = P^{-1}$, i.e.
    ``dx = unpatchify(dout, patch, x.shape[1:])``.
    """
    n, c, h, w = x.shape
    gh, gw = h // patch, w // patch
    t = x.reshape(n, c, gh, patch, gw, patch)        # (N, C, gh, p, gw, p)
    t = t.transpose(0, 2, 4, 1, 3, 5)                # (N, gh, gw, C, p, p)
    return t.reshape(n, gh * gw, c * patch * patch)


def unpatchify(tokens, patch, image_shape):
    """Inverse of ``patchify``: ``(N, T, C*p*p)`` -> ``(N, C, H, W)``,
    ``image_shape = (C, H, W)``. Also the backward pass of ``patchify`` (and
    vice versa).
    """
    c, h, w = image_shape
    n = tokens.shape[0]
    gh, gw = h // patch, w // patch
    x = tokens.reshape(n, gh, gw, c, patch, patch)   # (N, gh, gw, C, p, p)
    x = x.transpose(0, 3, 1, 4, 2, 5)                # (N, C, gh, p, gw, p)
    return x.reshape(n, c, h, w)


# --------------------------------------------------------------------------
# LayerNorm (Ba, Kiros and Hinton, 2016) over the last axis
# --------------------------------------------------------------------------

def layernorm_forward(x, gamma, beta, eps):
    r"""$\mathrm{out} = \gamma \odot (x - \mu) / \sqrt{\mathrm{var} + \epsilon} + \beta$ over the last axis.

    ``x: (..., D)``, ``gamma, beta: (D,)``. For each row (one token),

    $$
    \mu &= \frac{1}{D} \sum_i x_i, \\
    \mathrm{var} &= \frac{1}{D} \sum_i (x_i - \mu)^2 \quad \text{(biased)}, \\
    r &= \frac{1}{\sqrt{\mathrm{var} + \epsilon}}, \\
    \hat x_i &= (x_i - \mu) \, r .
    $$

    ``cache = (xhat, r, gamma)``, ``r: (..., 1)``.
    """
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    r = 1.0 / np.sqrt(var + eps)
    xhat = xc * r
    return xhat * gamma + beta, (xhat, r, gamma)


def layernorm_backward(dout, cache):
    r"""Backward of LayerNorm, one row at a time.

    Let $g = \partial L / \partial\,\mathrm{out} \odot \gamma$, the gradient
    reaching $\hat x$. The chain rule through $\hat x_i = (x_i - \mu) r$ needs
    the derivatives of $\mu$ and $r$. First $\partial \mu / \partial x_j = 1/D$;
    then, since $\sum_i (x_i - \mu) = 0$ cancels $\mu$'s path into the variance,

    $$
    \frac{\partial\,\mathrm{var}}{\partial x_j}
    = \frac{2}{D} \sum_i (x_i - \mu) \left(\delta_{ij} - \frac{1}{D}\right)
    = \frac{2}{D} (x_j - \mu),
    $$

    and, as $r = (\mathrm{var} + \epsilon)^{-1/2}$,

    $$
    \frac{\partial r}{\partial x_j}
    = -\frac12 (\mathrm{var} + \epsilon)^{-3/2} \frac{\partial\,\mathrm{var}}{\partial x_j}
    = -\frac{r^3 (x_j - \mu)}{D} = -\frac{r^2 \hat x_j}{D} .
    $$

    By the product rule,

    $$
    \frac{\partial \hat x_i}{\partial x_j}
    = r \left(\delta_{ij} - \frac{1}{D}\right) + (x_i - \mu) \frac{\partial r}{\partial x_j}
    = r \left(\delta_{ij} - \frac{1}{D} - \frac{\hat x_i \hat x_j}{D}\right),
    $$

    and summing over $i$,

    $$
    \frac{\partial L}{\partial x_j} = \sum_i g_i \frac{\partial \hat x_i}{\partial x_j}
    = r \left(g_j - \frac{1}{D} \sum_i g_i - \hat x_j \, \frac{1}{D} \sum_i g_i \hat x_i\right).
    $$

    Each row of ``dx`` sums to 0 and is orthogonal to $\hat x$: LayerNorm's
    output ignores a shift and a scale of its input. The parameters enter as
    $\gamma \odot \hat x + \beta$, so, summing over all rows,

    $$
    \frac{\partial L}{\partial \gamma} = \sum_\text{rows} \frac{\partial L}{\partial\,\mathrm{out}} \odot \hat x, \qquad
    \frac{\partial L}{\partial \beta} = \sum_\text{rows} \frac{\partial L}{\partial\,\mathrm{out}} .
    $$

    Returns ``(dx, dgamma, dbeta)``.
    """
    xhat, r, gamma = cache
    g = dout * gamma
    dx = r * (g - g.mean(axis=-1, keepdims=True)
              - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    d = dout.shape[-1]
    dgamma = (dout * xhat).reshape(-1, d).sum(axis=0)
    dbeta = dout.reshape(-1, d).sum(axis=0)
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------
# GELU (Hendrycks and Gimpel, 2016), the exact erf form (PyTorch's default)
# --------------------------------------------------------------------------

def gelu_forward(x):
    r"""$\mathrm{out} = x \, \Phi(x)$, with $\Phi(x) = \frac12 \big(1 + \operatorname{erf}(x / \sqrt 2)\big)$
    the standard normal CDF: the exact GELU, as PyTorch's ``nn.GELU()`` (not
    its ``approximate="tanh"`` variant). Any shape.

    Its derivative, by the product rule with $\Phi' = \varphi$, the normal
    density $\varphi(x) = e^{-x^2/2} / \sqrt{2\pi}$, is

    $$
    \frac{d\,\mathrm{out}}{dx} = \Phi(x) + x \, \varphi(x),
    $$

    made here while $\Phi(x)$ is at hand: ``cache`` is that derivative
    (x's shape), so the backward pass is one product and needs neither a
    second erf nor an exp.
    """
    cdf = 0.5 * (1.0 + erf(x * _SQRT_HALF))
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return x * cdf, cdf + x * pdf


def gelu_backward(dout, cache):
    r"""Backward of ``gelu_forward``: the chain rule with the derivative
    the forward pass cached,
    $\partial L / \partial x = \partial L / \partial\,\mathrm{out} \odot \big(\Phi(x) + x \, \varphi(x)\big)$.
    """
    return dout * cache


# --------------------------------------------------------------------------
# Softmax over the last axis, and scaled dot-product attention
# --------------------------------------------------------------------------

def softmax_forward(s):
    r"""Row softmax over the last axis,

    $$
    \mathrm{out}_i = \frac{e^{s_i - m}}{\sum_j e^{s_j - m}}, \qquad m = \max_j s_j :
    $$

    the same value as without $m$ (the factor $e^{-m}$ cancels), but every
    exponent is $\le 0$ and the sum $\ge 1$, so nothing overflows and nothing
    divides by 0. ``s: (..., K)``; ``cache = out``.
    """
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    out = e / e.sum(axis=-1, keepdims=True)
    return out, out


def softmax_backward(dout, cache):
    r"""Backward of ``softmax_forward``. With $p = \operatorname{softmax}(s)$ and
    $Z = \sum_k e^{s_k}$, the quotient rule gives

    $$
    \frac{\partial p_i}{\partial s_j} = \frac{\delta_{ij} e^{s_i} Z - e^{s_i} e^{s_j}}{Z^2} = p_i (\delta_{ij} - p_j),
    $$

    so, with $\bar p = \partial L / \partial p$ (``dout``),

    $$
    \frac{\partial L}{\partial s_j} = \sum_i \bar p_i \, p_i (\delta_{ij} - p_j) = p_j \Big(\bar p_j - \sum_i \bar p_i p_i\Big).
    $$

    The max subtracted in the forward pass is a constant shift of the row
    and has no gradient of its own. Each row of ``ds`` sums to 0.
    """
    p = cache
    return p * (dout - (dout * p).sum(axis=-1, keepdims=True))


def attention_forward(q, k, v):
    r"""Scaled dot-product attention of every token to every token.

    ``q, k, v: (N, H, T, dh)`` -> ``out: (N, H, T, dh)``; per (batch, head),
    with $d_h$ the features per head,

    $$
    S = \frac{q k^\top}{\sqrt{d_h}}, \qquad
    A = \operatorname{softmax}(S), \qquad
    \mathrm{out} = A v,
    $$

    that is $S_{tu} = q_t \cdot k_u / \sqrt{d_h}$ (``(T, T)``), each row of
    $A$ a distribution over the tokens $u$ (softmax over the last axis), and
    $\mathrm{out}_t = \sum_u A_{tu} v_u$.

    ``cache = (q, k, v, A)``; ``A`` is also what the lesson draws as an
    attention map.
    """
    scale = 1.0 / float(np.sqrt(q.shape[-1]))     # a Python float: keeps float32
    s = (q @ np.swapaxes(k, -1, -2)) * scale
    a, _ = softmax_forward(s)
    return a @ v, (q, k, v, a)


def attention_backward(dout, cache):
    r"""Backward of $\mathrm{out} = \operatorname{softmax}(q k^\top / \sqrt{d_h}) \, v$,
    per (batch, head), in the reverse order of the forward pass. With
    $\bar X = \partial L / \partial X$:

    * $\mathrm{out} = A v$ is a matrix product:
      $\bar A = \overline{\mathrm{out}} \, v^\top$ ``(T, T)`` and
      $\bar v = A^\top \, \overline{\mathrm{out}}$ ``(T, dh)``;
    * $A = \operatorname{softmax}(S)$ row by row (``softmax_backward``):
      $\bar S = A \odot \big(\bar A - \operatorname{rowsum}(\bar A \odot A)\big)$;
    * $S = q k^\top / \sqrt{d_h}$ is a matrix product:
      $\bar q = \bar S \, k / \sqrt{d_h}$ and $\bar k = \bar S^\top q / \sqrt{d_h}$.

    Returns ``(dq, dk, dv)``, each ``(N, H, T, dh)``.
    """
    q, k, v, a = cache
    scale = 1.0 / float(np.sqrt(q.shape[-1]))     # a Python float: keeps float32
    da = dout @ np.swapaxes(v, -1, -2)
    dv = np.swapaxes(a, -1, -2) @ dout
    ds = softmax_backward(da, a) * scale
    return ds @ k, np.swapaxes(ds, -1, -2) @ q, dv


def _heads(a, n_heads):
    """(N, T, H dh) -> (N, H, T, dh): head h is features h dh .. (h + 1) dh - 1."""
    n, t, d = a.shape
    return a.reshape(n, t, n_heads, d // n_heads).transpose(0, 2, 1, 3)


def _unheads(a):
    """(N, H, T, dh) -> (N, T, H dh): the heads side by side again."""
    n, h, t, dh = a.shape
    return a.transpose(0, 2, 1, 3).reshape(n, t, h * dh)


def multihead_attention_forward(qkv, n_heads):
    r"""``attention_forward`` of ``n_heads`` heads on packed queries, keys and
    values, as one projection makes them.

    ``qkv: (N, T, 3 D)`` is $[q \mid k \mid v]$ along the last axis, each
    ``(N, T, D)``; head $h$ owns features $h d_h, \dots, (h + 1) d_h - 1$ of
    each ($d_h = D / H$). Every head attends on its own
    (``attention_forward``) and the outputs are put side by side:
    ``out: (N, T, D)``. ``cache = (qkv, A)``, ``A: (N, H, T, T)`` the
    attention weights. Splitting and joining the heads only moves numbers,
    so the backward pass is ``attention_backward``'s with the same moves.
    """
    d = qkv.shape[-1] // 3
    q, k, v = (_heads(qkv[..., i * d:(i + 1) * d], n_heads) for i in range(3))
    out, (_, _, _, a) = attention_forward(q, k, v)
    return _unheads(out), (qkv, a)


def multihead_attention_backward(dout, cache):
    """Backward of ``multihead_attention_forward``: ``dout: (N, T, D)`` ->
    ``dqkv: (N, T, 3 D)``, the three gradients of ``attention_backward``
    packed as qkv was."""
    qkv, a = cache
    h, d = a.shape[1], qkv.shape[-1] // 3
    q, k, v = (_heads(qkv[..., i * d:(i + 1) * d], h) for i in range(3))
    grads = attention_backward(_heads(dout, h), (q, k, v, a))
    return np.concatenate([_unheads(g) for g in grads], axis=-1)


# --------------------------------------------------------------------------
# Masking by shuffling token indices; gathering and scattering tokens
# --------------------------------------------------------------------------

def multihead_attention_tm_forward(x, Wqkv, bqkv, Wo, bo, n_heads):
    r"""The whole self-attention sublayer on token-major tokens
    ``x: (T, N, D)``: the projection $[q \mid k \mid v] = x W_{qkv} + b_{qkv}$,
    ``multihead_attention_forward`` on it, and the output projection
    $y = \mathrm{out}\, W_o + b_o$, ``y: (T, N, D)``.

    The numbers are those of the three ops on the batch-first tokens
    ``x.transpose(1, 0, 2)``; only the layout differs, which is what this op
    is for. With the rows of the projections ordered token-major (row
    $t N + n$), the transposed product $W_{qkv}^\top x^\top$, which BLAS
    writes as cheaply as $x W_{qkv}$, is ``(3 D, T, N)``: each feature of
    each token holds the whole batch contiguously, and every head's scores,
    softmax and $A v$ are loops over the batch (``kernels.transformer``),
    not batch x heads small products. PyTorch's attention layers take the
    same layout by default (``batch_first=False``).

    ``cache = (x, qkv_t, a, out_t, Wqkv, Wo)``: ``qkv_t`` the projection,
    ``(3 D, T, N)``; ``a`` the attention weights, ``(H, T, T, N)``;
    ``out_t`` the heads side by side, ``(D, T, N)``.
    """
    xb = x.transpose(1, 0, 2)                                   # (N, T, D)
    qkv = xb @ Wqkv + bqkv                                      # (N, T, 3 D)
    out, (_, a) = multihead_attention_forward(qkv, n_heads)     # (N, T, D), (N, H, T, T)
    y = out @ Wo + bo
    cache = (x, np.ascontiguousarray(qkv.transpose(2, 1, 0)),
             np.ascontiguousarray(a.transpose(1, 2, 3, 0)),
             np.ascontiguousarray(out.transpose(2, 1, 0)), Wqkv, Wo)
    return np.ascontiguousarray(y.transpose(1, 0, 2)), cache


def multihead_attention_tm_backward(dy, cache, need_dx=True, dWqkv_out=None, dWo_out=None):
    r"""Backward of ``multihead_attention_tm_forward``: ``dy: (T, N, D)`` ->
    ``(dx, dWqkv, dbqkv, dWo, dbo)`` (``dx`` None unless ``need_dx``).

    The chain of its three ops, each with its own backward: the output
    projection's (``linear_backward``: $\bar W_o = \mathrm{out}^\top \bar y$
    over all N T rows, $\bar b_o = \sum \bar y$,
    $\overline{\mathrm{out}} = \bar y W_o^\top$), the heads'
    (``multihead_attention_backward``), the input projection's. The weight
    gradients are written into ``dWqkv_out`` / ``dWo_out`` when given
    (``layers.Linear``'s cleared gradients, as ``linear_backward``'s
    ``dW_out``)."""
    x, qkv_t, a_t, out_t, Wqkv, Wo = cache
    rows = lambda a: a.reshape(-1, a.shape[-1])                  # noqa: E731
    dyb = np.ascontiguousarray(dy.transpose(1, 0, 2))            # (N, T, D)
    out = np.ascontiguousarray(out_t.transpose(2, 1, 0))         # (N, T, D)
    dWo = np.matmul(rows(out).T, rows(dyb), out=dWo_out)
    dbo = rows(dyb).sum(axis=0)
    dout = dyb @ Wo.T
    dqkv = multihead_attention_backward(
        dout, (qkv_t.transpose(2, 1, 0), a_t.transpose(3, 0, 1, 2)))   # (N, T, 3 D)
    xb = np.ascontiguousarray(x.transpose(1, 0, 2))
    dWqkv = np.matmul(rows(xb).T, rows(dqkv), out=dWqkv_out)
    dbqkv = rows(dqkv).sum(axis=0)
    dx = np.ascontiguousarray((dqkv @ Wqkv.T).transpose(1, 0, 2)) if need_dx else None
    return dx, dWqkv, dbqkv, dWo, dbo


def random_token_permutation(rng, n, n_tokens):
    """One independent random order of ``range(n_tokens)`` per example,
    drawn from the Generator ``rng``: ``(n, n_tokens)`` int64.
    """
    return rng.permuted(np.tile(np.arange(n_tokens), (n, 1)), axis=1)


def split_tokens(perm, n_keep):
    """Split each row of a permutation: the first ``n_keep`` token indices
    are visible, the rest masked (He et al.'s shuffle-and-keep).

    ``perm: (N, T)`` -> ``ids_keep: (N, n_keep)`` in sorted order (attention
    does not care about order; sorting makes a token's slot predictable),
    ``ids_masked: (N, T - n_keep)`` sorted, and ``mask: (N, T)`` bool, True
    where a token is masked. Exactly ``T - n_keep`` tokens are masked in every
    row.
    """
    n, t = perm.shape
    ids_keep = np.sort(perm[:, :n_keep], axis=1)
    ids_masked = np.sort(perm[:, n_keep:], axis=1)
    mask = np.ones((n, t), dtype=bool)
    mask[_row_index(n), ids_keep] = False
    return ids_keep, ids_masked, mask


def _row_index(n):
    """``(n, 1)`` row numbers: ``a[_row_index(n), ids]`` picks ``a[r, ids[r, k]]``
    (the rows broadcast along ``ids``' columns). Indexing so, NumPy copies whole
    token vectors; ``np.take_along_axis(x, ids[:, :, None], axis=1)`` is the
    same gather but first broadcasts ``ids`` to ``(N, K, D)``, one index per
    number: measured 12x slower on the MAE's ``(128, 16, 64)`` tokens (410 vs
    33 us).
    """
    return np.arange(n)[:, None]


def _token_index(ids, batch_first):
    """The index pair that picks ``x[n, ids[n, k]]`` for every (n, k): the
    rows broadcast along ids' columns (``_row_index``), or, token-major, the
    same pair transposed, so that the result is ``(K, N, D)``."""
    if batch_first:
        return _row_index(ids.shape[0]), ids
    return ids.T, _row_index(ids.shape[0]).T


def gather_tokens(x, ids, batch_first=True):
    r"""$\mathrm{out}_{n, k} = x_{n, \mathrm{ids}_{n, k}}$: ``x: (N, T, D)``,
    ``ids: (N, K)`` -> ``(N, K, D)``; token-major with ``batch_first=False``,
    ``x: (T, N, D)`` -> ``(K, N, D)`` (ids stay ``(N, K)``).

    Its adjoint is ``scatter_tokens``: when the ids of a row are distinct (as
    here), for every ``y: (N, K, D)``

    $$
    \langle \mathrm{gather}(x), y \rangle = \sum_{n, k} x_{n, \mathrm{ids}_{n, k}} \cdot y_{n, k} = \langle x, \mathrm{scatter}(y) \rangle,
    $$

    so the gradient is ``dx = scatter_tokens(dout, ids, T)``.
    """
    return x[_token_index(ids, batch_first)]


def scatter_tokens(y, ids, n_tokens, batch_first=True):
    r"""Place tokens back at their positions, zeros elsewhere:
    $\mathrm{out}_{n, \mathrm{ids}_{n, k}} = y_{n, k}$. ``y: (N, K, D)``,
    ``ids: (N, K)`` distinct per row -> ``(N, n_tokens, D)``; token-major
    with ``batch_first=False``, ``y: (K, N, D)`` -> ``(n_tokens, N, D)``. The
    adjoint of ``gather_tokens``: its gradient is
    ``dy = gather_tokens(dout, ids)``.
    """
    n = ids.shape[0]
    shape = (n, n_tokens) if batch_first else (n_tokens, n)
    out = np.zeros(shape + y.shape[2:], dtype=y.dtype)
    out[_token_index(ids, batch_first)] = y
    return out


# --------------------------------------------------------------------------
# Positional embeddings
# --------------------------------------------------------------------------

def sincos_pos_embed(dim, grid_h, grid_w):
    r"""Fixed 2-D sine-cosine positional embedding (Vaswani et al., 2017, in 2-D as
    in He et al., 2021): ``(grid_h * grid_w, dim)``, row-major tokens.

    The first $\mathrm{dim}/2$ features encode the token's row $i$, the other
    $\mathrm{dim}/2$ its column $j$, each with the frequencies

    $$
    \omega_f = 10000^{-f / (\mathrm{dim}/4)}, \qquad f = 0, \dots, \mathrm{dim}/4 - 1:
    $$

    the features are $[\sin(i \omega), \cos(i \omega), \sin(j \omega), \cos(j \omega)]$.
    ``dim`` must be a multiple of 4. No parameters, so no gradient.
    """
    quarter = dim // 4
    omega = 1.0 / 10000.0 ** (np.arange(quarter) / quarter)      # (dim/4,)
    rows, cols = np.meshgrid(np.arange(grid_h), np.arange(grid_w), indexing="ij")
    parts = []
    for pos in (rows.reshape(-1), cols.reshape(-1)):               # (T,) each
        angle = pos[:, None] * omega[None, :]                      # (T, dim/4)
        parts += [np.sin(angle), np.cos(angle)]
    return np.concatenate(parts, axis=1)                           # (T, dim)


# --------------------------------------------------------------------------
# The loss on the masked patches
# --------------------------------------------------------------------------

def normalize_patches(target, eps):
    r"""Per-patch normalised targets (He et al.'s ``norm_pix_loss``): each patch
    (last axis, $P$ pixels) minus its mean $\mu$, over the square root of its
    (biased) variance plus ``eps``, $(t - \mu) / \sqrt{\mathrm{var} + \epsilon}$.
    ``target: (N, T, P)``. A target, not a function of the parameters: no
    gradient.
    """
    mu = target.mean(axis=-1, keepdims=True)
    var = target.var(axis=-1, keepdims=True)
    return (target - mu) / np.sqrt(var + eps)


def masked_mse_loss(pred, target, mask, batch_first=True):
    r"""Squared error on the masked patches only.

    ``pred, target: (N, T, P)``; ``mask: (N, T)``, $m_{nt} = 1$ where a patch
    was hidden from the encoder, 0 where it was visible (any float or bool
    array). Summed over the masked patches' pixels of an example, averaged over
    the batch:

    $$
    L &= \frac{1}{N} \sum_n \sum_t m_{nt} \sum_p (\mathrm{pred} - \mathrm{target})_{ntp}^2, \\
    \frac{\partial L}{\partial\,\mathrm{pred}_{ntp}} &= \frac{2}{N} \, m_{nt} \, (\mathrm{pred} - \mathrm{target})_{ntp} .
    $$

    Visible patches get exactly zero gradient. Returns ``(L, dpred)``.
    ``batch_first=False``: the arrays are token-major, ``(T, N, P)`` and
    ``(T, N)`` (the MAE's layout), the mean still over the N images.
    """
    n = pred.shape[0 if batch_first else 1]
    m = mask.astype(pred.dtype)[:, :, None]
    diff = (pred - target) * m
    loss = float(np.sum(diff * diff)) / n
    return loss, (diff * (2.0 / n)).astype(pred.dtype, copy=False)


__all__ = [
    "LAYERNORM_EPS", "PATCH_NORM_EPS",
    "patchify", "unpatchify", "layernorm_forward", "layernorm_backward",
    "gelu_forward", "gelu_backward", "softmax_forward", "softmax_backward",
    "attention_forward", "attention_backward", "multihead_attention_forward",
    "multihead_attention_backward", "multihead_attention_tm_forward",
    "multihead_attention_tm_backward", "random_token_permutation",
    "split_tokens", "gather_tokens", "scatter_tokens", "sincos_pos_embed",
    "normalize_patches", "masked_mse_loss",
]
