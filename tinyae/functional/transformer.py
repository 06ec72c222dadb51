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
    """Cut images into non-overlapping ``patch x patch`` squares, row-major.

    x: (N, C, H, W) with H and W multiples of ``patch`` -> (N, T, C p p),
    T = (H / p)(W / p); token t = i (W / p) + j is the square at block row
    i, block column j, flattened in (C, p, p) order. Every pixel lands in
    exactly one place, so this is a permutation of the entries: its
    Jacobian is a permutation matrix P, the backward pass is P^T = P^{-1},
    i.e. ``dx = unpatchify(dout, patch, x.shape[1:])``.
    """
    n, c, h, w = x.shape
    gh, gw = h // patch, w // patch
    t = x.reshape(n, c, gh, patch, gw, patch)        # (N, C, gh, p, gw, p)
    t = t.transpose(0, 2, 4, 1, 3, 5)                # (N, gh, gw, C, p, p)
    return t.reshape(n, gh * gw, c * patch * patch)


def unpatchify(tokens, patch, image_shape):
    """Inverse of ``patchify``: (N, T, C p p) -> (N, C, H, W), image_shape =
    (C, H, W). Also the backward pass of ``patchify`` (and vice versa)."""
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
    """``out = gamma * (x - mu) / sqrt(var + eps) + beta`` over the last axis.

    x: (..., D), gamma, beta: (D,). For each row (one token),
    ``mu = (1/D) sum_i x_i``, ``var = (1/D) sum_i (x_i - mu)^2`` (biased),
    ``r = 1 / sqrt(var + eps)`` and ``xhat = (x - mu) r``.
    cache = (xhat, r, gamma), r: (..., 1).
    """
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    r = 1.0 / np.sqrt(var + eps)
    xhat = xc * r
    return xhat * gamma + beta, (xhat, r, gamma)


def layernorm_backward(dout, cache):
    """Backward of LayerNorm, one row at a time.

    With g = dout * gamma (the gradient reaching xhat), the chain rule
    through ``xhat_i = (x_i - mu) r`` uses

        d mu / d x_j = 1/D,    d r / d x_j = -r^3 (x_j - mu) / D = -r^2 xhat_j / D

    (the second from d var / d x_j = 2 (x_j - mu) / D; the sum of the
    (x_i - mu) is 0, which kills mu's path into var), so

        d xhat_i / d x_j = r (delta_ij - 1/D - xhat_i xhat_j / D),
        dx_j = sum_i g_i d xhat_i / d x_j
             = r (g_j - mean(g) - xhat_j mean(g * xhat)).

    Each row of dx sums to 0 and is orthogonal to xhat: LayerNorm's output
    ignores a shift and a scale of its input. The parameters:

        dgamma = sum over rows of dout * xhat,    dbeta = sum over rows of dout.

    Returns (dx, dgamma, dbeta).
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
    """``out = x Phi(x)``, Phi the standard normal CDF, ``Phi(x) =
    (1 + erf(x / sqrt 2)) / 2``: the exact GELU, as PyTorch's
    ``nn.GELU()`` (not its ``approximate="tanh"`` variant). Any shape;
    cache = (x, Phi(x)), so the backward pass needs no second erf."""
    cdf = 0.5 * (1.0 + erf(x * _SQRT_HALF))
    return x * cdf, (x, cdf)


def gelu_backward(dout, cache):
    """``dx = dout * (Phi(x) + x phi(x))``, by the product rule, with
    ``phi(x) = exp(-x^2 / 2) / sqrt(2 pi)`` = Phi'(x) the normal density."""
    x, cdf = cache
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return dout * (cdf + x * pdf)


# --------------------------------------------------------------------------
# Softmax over the last axis, and scaled dot-product attention
# --------------------------------------------------------------------------

def softmax_forward(s):
    """Row softmax over the last axis, ``out_i = exp(s_i - m) / sum_j
    exp(s_j - m)`` with m = max_j s_j: the same value as without m (it
    cancels), but every exponent is <= 0 and the sum >= 1, so nothing
    overflows and nothing divides by 0. s: (..., K); cache = out."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    out = e / e.sum(axis=-1, keepdims=True)
    return out, out


def softmax_backward(dout, cache):
    """With p = softmax(s), ``dp_i / ds_j = p_i (delta_ij - p_j)``, so

        ds_j = sum_i dout_i p_i (delta_ij - p_j) = p_j (dout_j - sum_i dout_i p_i).

    The max subtracted in the forward pass is a constant shift of the row
    and has no gradient of its own. Each row of ds sums to 0."""
    p = cache
    return p * (dout - (dout * p).sum(axis=-1, keepdims=True))


def attention_forward(q, k, v):
    """Scaled dot-product attention of every token to every token.

    q, k, v: (N, H, T, dh) -> out: (N, H, T, dh):

        S = q k^T / sqrt(dh)    (N, H, T, T): S[., t, u] = q_t . k_u / sqrt(dh)
        A = softmax(S)           over the last axis u: each row sums to 1
        out = A v                out_t = sum_u A[t, u] v_u

    cache = (q, k, v, A); A is also what the lesson draws as an attention map.
    """
    scale = 1.0 / float(np.sqrt(q.shape[-1]))     # a Python float: keeps float32
    s = (q @ np.swapaxes(k, -1, -2)) * scale
    a, _ = softmax_forward(s)
    return a @ v, (q, k, v, a)


def attention_backward(dout, cache):
    """Backward of ``out = softmax(q k^T / sqrt(dh)) v``, per (batch, head):

        dA = dout v^T                            (T, T)
        dv = A^T dout                            (T, dh)
        dS = softmax_backward(dA, A) = A * (dA - rowsum(dA * A))
        dq = dS k / sqrt(dh)                     (from S = q k^T / sqrt(dh))
        dk = dS^T q / sqrt(dh)

    Returns (dq, dk, dv), each (N, H, T, dh).
    """
    q, k, v, a = cache
    scale = 1.0 / float(np.sqrt(q.shape[-1]))     # a Python float: keeps float32
    da = dout @ np.swapaxes(v, -1, -2)
    dv = np.swapaxes(a, -1, -2) @ dout
    ds = softmax_backward(da, a) * scale
    return ds @ k, np.swapaxes(ds, -1, -2) @ q, dv


# --------------------------------------------------------------------------
# Masking by shuffling token indices; gathering and scattering tokens
# --------------------------------------------------------------------------

def random_token_permutation(rng, n, n_tokens):
    """One independent random order of ``range(n_tokens)`` per example,
    drawn from the Generator ``rng``: (n, n_tokens) int64."""
    return rng.permuted(np.tile(np.arange(n_tokens), (n, 1)), axis=1)


def split_tokens(perm, n_keep):
    """Split each row of a permutation: the first ``n_keep`` token indices
    are visible, the rest masked (He et al.'s shuffle-and-keep).

    perm: (N, T) -> ids_keep (N, n_keep) in sorted order (attention does
    not care about order; sorting makes a token's slot predictable),
    ids_masked (N, T - n_keep) sorted, and mask (N, T) bool, True where a
    token is masked. Exactly T - n_keep tokens are masked in every row.
    """
    n, t = perm.shape
    ids_keep = np.sort(perm[:, :n_keep], axis=1)
    ids_masked = np.sort(perm[:, n_keep:], axis=1)
    mask = np.ones((n, t), dtype=bool)
    mask[_row_index(n), ids_keep] = False
    return ids_keep, ids_masked, mask


def _row_index(n):
    """(n, 1) row numbers: ``a[_row_index(n), ids]`` picks ``a[r, ids[r, k]]``
    (the rows broadcast along ids' columns). Indexing so, NumPy copies whole
    token vectors; ``np.take_along_axis(x, ids[:, :, None], axis=1)`` is the
    same gather but first broadcasts ids to (N, K, D), one index per number:
    measured 12x slower on the MAE's (128, 16, 64) tokens (410 vs 33 us)."""
    return np.arange(n)[:, None]


def gather_tokens(x, ids):
    """``out[n, k] = x[n, ids[n, k]]``: x (N, T, D), ids (N, K) -> (N, K, D).

    Its adjoint is ``scatter_tokens``: when the ids of a row are distinct
    (as here), the gradient is ``dx = scatter_tokens(dout, ids, T)``."""
    return x[_row_index(x.shape[0]), ids]


def scatter_tokens(y, ids, n_tokens):
    """Place tokens back at their positions, zeros elsewhere:
    ``out[n, ids[n, k]] = y[n, k]``. y (N, K, D), ids (N, K) distinct per
    row -> (N, n_tokens, D). The adjoint of ``gather_tokens``: its
    gradient is ``dy = gather_tokens(dout, ids)``."""
    out = np.zeros((y.shape[0], n_tokens, y.shape[2]), dtype=y.dtype)
    out[_row_index(y.shape[0]), ids] = y
    return out


# --------------------------------------------------------------------------
# Positional embeddings
# --------------------------------------------------------------------------

def sincos_pos_embed(dim, grid_h, grid_w):
    """Fixed 2-D sine-cosine positional embedding (Vaswani et al., 2017,
    in 2-D as in He et al., 2021): (grid_h * grid_w, dim), row-major tokens.

    The first dim/2 features encode the token's row i, the other dim/2 its
    column j, each with frequencies ``w_f = 10000^(-f / (dim/4))``,
    f = 0 .. dim/4 - 1: ``[sin(i w), cos(i w)]`` then the same for j.
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
    """Per-patch normalised targets (He et al.'s ``norm_pix_loss``): each
    patch (last axis, P pixels) minus its mean, over sqrt(its variance +
    eps) (biased variance). target: (N, T, P). A target, not a function of
    the parameters: no gradient."""
    mu = target.mean(axis=-1, keepdims=True)
    var = target.var(axis=-1, keepdims=True)
    return (target - mu) / np.sqrt(var + eps)


def masked_mse_loss(pred, target, mask):
    """Squared error on the masked patches only.

    pred, target: (N, T, P); mask: (N, T), 1 where a patch was hidden from
    the encoder, 0 where it was visible (any float or bool array). Summed
    over the masked patches' pixels of an example, averaged over the batch:

        L = (1/N) sum_n sum_t m[n, t] sum_p (pred - target)[n, t, p]^2,
        dL/dpred[n, t, p] = 2 m[n, t] (pred - target)[n, t, p] / N.

    Visible patches get exactly zero gradient. Returns (L, dpred).
    """
    n = pred.shape[0]
    m = mask.astype(pred.dtype)[:, :, None]
    diff = (pred - target) * m
    loss = float(np.sum(diff * diff)) / n
    return loss, (diff * (2.0 / n)).astype(pred.dtype, copy=False)


__all__ = [
    "LAYERNORM_EPS", "PATCH_NORM_EPS",
    "patchify", "unpatchify", "layernorm_forward", "layernorm_backward",
    "gelu_forward", "gelu_backward", "softmax_forward", "softmax_backward",
    "attention_forward", "attention_backward", "random_token_permutation",
    "split_tokens", "gather_tokens", "scatter_tokens", "sincos_pos_embed",
    "normalize_patches", "masked_mse_loss",
]
