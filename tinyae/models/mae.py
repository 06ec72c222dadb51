"""Masked autoencoder (He et al., 2021, "Masked Autoencoders Are Scalable
Vision Learners"), small enough to train on MNIST in seconds.

An image is cut into T patches; a random subset of them is hidden; the
encoder sees only the K visible patches; a light decoder sees the encoded
visible tokens plus one shared, learned mask token at every hidden position,
and predicts the pixels of every patch. The loss is the squared error on the
hidden patches only (``functional.masked_mse_loss``), so the model cannot
score by copying what it was shown.

Shapes, for a batch of N images (C, H, W), patch p, T = (H/p)(W/p) tokens,
K visible, P = C p p pixels per patch:

    x (N, C, H, W)
    -> patch_embed (Linear on patchify(x))        tokens (N, T, dim)
    -> + pos (sin-cos or learned)                 (N, T, dim)
    -> gather the visible tokens                  (N, K, dim)
    -> encoder blocks, encoder_norm               (N, K, dim)
    -> decoder_embed (Linear)                     (N, K, decoder_dim)
    -> scatter to their positions, mask_token
       at the hidden ones, + decoder_pos          (N, T, decoder_dim)
    -> decoder blocks, decoder_norm, head         pred (N, T, P)
    loss = (1/N) sum_n sum_{hidden t} ||pred[n, t] - target[n, t]||^2

The backward pass runs the same chain in reverse: gathering's adjoint is
scattering (and vice versa), the mask token's gradient is the sum of the
gradients reaching the hidden positions, and the patch embedding needs no
input gradient (x is data). Each op's gradient is derived in
``tinyae.functional.transformer``.

Layout. The shapes above are batch-first, as the docs write them; from the
patch embedding to the head, the model keeps its tokens token-major
instead, (T, N, dim), (K, N, dim) and (T, N, decoder_dim): every token layer
is built with ``batch_first=False``, the gathers and scatters take the same
flag, and the targets are the patch embedding's own token-major patches.
The numbers are the same (each op is the batch-first one on a transposed
array); the layout costs one transpose of the patches, and in it the
attention's products run over the whole batch at once
(``functional.multihead_attention_tm_forward``). ``predict`` and
``attention_maps`` return the batch-first shapes.
"""

import numpy as np

from .._validation import (check_choice, check_dtype, check_fraction,
                           check_positive_int, check_rng)
from ..backend import ops
from ..functional.transformer import (PATCH_NORM_EPS, normalize_patches,
                                      random_token_permutation, split_tokens)
from ..layers import (INITS, POS_EMBEDS, Layer, LayerNorm, Linear, PatchEmbed,
                      PositionalEmbedding, Sequential, TransformerBlock)
from ..losses import check_support
from .base import Model, SplitsOverExamples, batched


def _check_width_and_heads(width, width_name, heads, heads_name):
    """A token width and a head count, named as MAE's own parameters (the
    attention layer would report them as its dim and n_heads)."""
    width = check_positive_int(width, width_name)
    heads = check_positive_int(heads, heads_name)
    if width % heads:
        raise ValueError(f"{heads_name} must divide {width_name}={width} (each head "
                         f"attends over {width_name} / {heads_name} features), got "
                         f"{heads_name}={heads}")


class _MaskToken(Layer):
    """The learned vector put at every hidden position: parameter ``value``
    (decoder_dim,), zero at the start."""

    def __init__(self, dim, dtype):
        super().__init__()
        self._add_param("value", np.zeros(dim, dtype=dtype))

    def __repr__(self):
        return f"MaskToken({self.params['value'].size})"


class MAE(SplitsOverExamples, Model):
    """Masked autoencoder on images (N, C, H, W).

    Keyword-only hyperparameters: ``image_shape`` (C, H, W), ``patch``,
    encoder ``dim``, ``depth``, ``n_heads``; ``decoder_dim``,
    ``decoder_depth``, ``decoder_heads``; ``mlp_ratio`` (MLP width over
    token width); ``mask_ratio`` (fraction of patches hidden by masks drawn
    from ``rng``: round(mask_ratio T), leaving at least one visible and one
    hidden); ``pos_embed`` "sincos" (fixed) or "learned";
    ``norm_pix_loss``: targets are per-patch normalised pixels
    (``functional.normalize_patches``) instead of raw pixels.

    ``loss_and_grad(x, *, rng=None, mask=None)``: ``mask`` (N, T) bool, True
    at hidden patches, the same count in every row; drawn from ``rng`` when
    not given (``draw_mask``).
    """

    def __init__(self, *, image_shape=(1, 28, 28), patch=7, dim=64, depth=1, n_heads=4,
                 decoder_dim=32, decoder_depth=1, decoder_heads=4, mlp_ratio=2,
                 mask_ratio=0.75, pos_embed="sincos", norm_pix_loss=False, rng,
                 init="glorot", dtype=np.float64):
        super().__init__()
        check_rng(rng)
        self.dtype = check_dtype(dtype)
        self.depth = check_positive_int(depth, "depth")
        self.decoder_depth = check_positive_int(decoder_depth, "decoder_depth")
        self.mask_ratio = check_fraction(mask_ratio, "mask_ratio")
        self.pos_embed = check_choice(pos_embed, "pos_embed", POS_EMBEDS)
        self.norm_pix_loss = bool(norm_pix_loss)
        check_choice(init, "init", INITS)
        _check_width_and_heads(dim, "dim", n_heads, "n_heads")
        _check_width_and_heads(decoder_dim, "decoder_dim", decoder_heads, "decoder_heads")
        kw = dict(rng=rng, init=init, dtype=dtype)
        self.patch_embed = PatchEmbed(image_shape, patch, dim, batch_first=False, **kw)
        self.image_shape = self.patch_embed.image_shape
        self.patch = self.patch_embed.patch
        self.n_tokens = t = self.patch_embed.n_tokens
        self.n_mask = int(round(self.mask_ratio * t))
        if not 1 <= self.n_mask <= t - 1:
            raise ValueError(
                f"mask_ratio must hide at least one of the {t} patches and leave one "
                f"visible, got mask_ratio={mask_ratio!r} ({self.n_mask} hidden)")
        grid = self.patch_embed.grid
        pos_kw = dict(kind=pos_embed, batch_first=False, rng=rng, dtype=dtype)
        self.modules = {
            "patch_embed": self.patch_embed,
            "pos": PositionalEmbedding(grid, dim, **pos_kw),
            "encoder": Sequential(*[TransformerBlock(dim, n_heads, mlp_ratio=mlp_ratio,
                                                     batch_first=False, **kw)
                                    for _ in range(self.depth)]),
            "encoder_norm": LayerNorm(dim, dtype=dtype),
            "decoder_embed": Linear(dim, decoder_dim, **kw),
            "mask_token": _MaskToken(check_positive_int(decoder_dim, "decoder_dim"),
                                     self.dtype),
            "decoder_pos": PositionalEmbedding(grid, decoder_dim, **pos_kw),
            "decoder": Sequential(*[TransformerBlock(decoder_dim, decoder_heads,
                                                     mlp_ratio=mlp_ratio, batch_first=False,
                                                     **kw)
                                    for _ in range(self.decoder_depth)]),
            "decoder_norm": LayerNorm(decoder_dim, dtype=dtype),
            # the head starts small (N(0, 0.01^2)): an O(1) start costs the first
            # ~150 steps just shrinking 588 predicted pixels towards the data
            "head": Linear(decoder_dim, self.patch_embed.patch_dim, rng=rng, init="small",
                           dtype=dtype),
        }
        for name, layer in self.modules.items():      # self.encoder is modules["encoder"]...
            setattr(self, name, layer)

    # -- masks -----------------------------------------------------------------
    def draw_mask(self, n, rng, n_mask=None):
        """(n, T) bool, True at hidden patches: ``n_mask`` (default
        round(mask_ratio T)) of them per row, chosen by shuffling the token
        indices with ``rng`` (``functional.random_token_permutation``)."""
        check_rng(rng)
        n_mask = self.n_mask if n_mask is None else n_mask
        if isinstance(n_mask, bool) or not isinstance(n_mask, (int, np.integer)) \
                or not 0 <= n_mask <= self.n_tokens - 1:
            raise ValueError(f"n_mask must be an integer in [0, {self.n_tokens - 1}], "
                             f"got {n_mask!r}")
        return self._draw(n, rng, n_mask)[1]

    def _draw(self, n, rng, n_mask):
        """(ids_keep, mask) of a mask drawn as ``draw_mask`` draws it."""
        perm = random_token_permutation(rng, n, self.n_tokens)
        ids_keep, _, mask = split_tokens(perm, self.n_tokens - n_mask)
        return ids_keep, mask

    def _check_mask(self, mask, n):
        if not isinstance(mask, np.ndarray) or mask.dtype != bool \
                or mask.shape != (n, self.n_tokens):
            got = (f"{mask.dtype} array of shape {mask.shape}"
                   if isinstance(mask, np.ndarray) else type(mask).__name__)
            raise ValueError(f"mask must be a bool array of shape ({n}, {self.n_tokens}) "
                             f"(True at hidden patches), got {got}")
        hidden = mask.sum(axis=1)
        if np.any(hidden != hidden[0]) or hidden[0] >= self.n_tokens:
            raise ValueError(
                f"mask must hide the same number of patches in every row and leave at "
                f"least one visible, got hidden counts from {hidden.min()} to "
                f"{hidden.max()} of {self.n_tokens}")
        n_keep = self.n_tokens - int(hidden[0])
        # stable argsort of a bool row puts the visible (False) indices first, in order
        return np.sort(np.argsort(mask, axis=1, kind="stable")[:, :n_keep], axis=1)

    #: the loss is a mean over images of each image's error on its own
    #: hidden patches (LayerNorm and attention act within an image), so a
    #: batch splits once the mask is drawn for the whole of it
    #: (``SplitsOverExamples``)
    _splits_batch, _random_input = True, "mask"

    def _draw_random(self, data, rng):
        """The whole batch's mask, drawn as ``loss_and_grad`` draws it."""
        return self._draw(np.shape(data[0])[0], rng, self.n_mask)[1]

    def _mask_and_ids(self, x, rng, mask):
        if mask is None:
            if rng is None:
                raise ValueError("pass rng (a numpy.random.Generator) to draw the mask, "
                                 "or mask (N, T) bool; got neither")
            check_rng(rng)
            # drawn here, so valid by construction: its ids come with it
            ids_keep, mask = self._draw(x.shape[0], rng, self.n_mask)
            return mask, ids_keep
        return mask, self._check_mask(mask, x.shape[0])

    # -- forward pieces (token-major: module docstring, "Layout") ---------------
    def _encode_visible(self, x, ids_keep):
        """x (N, C, H, W), ids_keep (N, K) -> encoded visible tokens (K, N, dim)."""
        tokens = self.modules["pos"].forward(self.patch_embed.forward(x))   # (T, N, dim)
        visible = ops.gather_tokens(tokens, ids_keep, batch_first=False)     # (K, N, dim)
        return self.modules["encoder_norm"].forward(self.modules["encoder"].forward(visible))

    def _decode(self, h, ids_keep, mask):
        """Encoded visible tokens (K, N, dim) -> predicted patches (T, N, P)."""
        m = self.modules
        d = m["decoder_embed"].forward(h)                                    # (K, N, dd)
        full = ops.scatter_tokens(d, ids_keep, self.n_tokens, batch_first=False)  # (T, N, dd)
        full[mask.T] = m["mask_token"].params["value"]     # hidden slots (zeros after the scatter)
        y = m["decoder"].forward(m["decoder_pos"].forward(full))
        return m["head"].forward(m["decoder_norm"].forward(y))

    def _target(self):
        """The patches of the x just encoded (the patch embedding's own
        patchify, not a second one; (T, N, P) like the predictions),
        per-patch normalised if norm_pix_loss."""
        target = self.patch_embed.patches
        return normalize_patches(target, PATCH_NORM_EPS) if self.norm_pix_loss else target

    # -- training ----------------------------------------------------------------
    def _forward(self, x, rng, mask):
        """Forward pass: (loss, dpred, mask, ids_keep); sets ``last_stats``."""
        x = check_support(self._check_x(x, self.image_shape), "mse")      # squared error
        mask, ids_keep = self._mask_and_ids(x, rng, mask)
        if not mask[0].any():
            raise ValueError(f"mask must hide at least one patch per row: the loss is the "
                             f"error on the hidden patches, got 0 hidden of {self.n_tokens}")
        pred = self._decode(self._encode_visible(x, ids_keep), ids_keep, mask)   # (T, N, P)
        loss, dpred = ops.masked_mse_loss(pred, self._target(), mask.T, batch_first=False)
        hidden_pixels = int(mask[0].sum()) * self.patch_embed.patch_dim
        self.last_stats = {"masked_mse": loss, "per_pixel": loss / hidden_pixels}
        return loss, dpred, mask, ids_keep

    def loss(self, x, *, rng=None, mask=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        return self._forward(x, rng, mask)[0]

    def loss_and_grad(self, x, *, rng=None, mask=None):
        """Masked-patch squared error and its gradient w.r.t. every parameter.

        x: (N, C, H, W); mask: (N, T) bool or None (then drawn from rng).
        ``last_stats``: ``masked_mse`` (the loss) and ``per_pixel`` (the loss
        over the number of hidden pixels per image).
        """
        loss, dpred, mask, ids_keep = self._forward(x, rng, mask)
        m = self.modules
        self.zero_grad()
        dy = m["decoder_norm"].backward(m["head"].backward(dpred))
        dfull = m["decoder_pos"].backward(m["decoder"].backward(dy))         # (T, N, dd)
        # sum over the hidden slots of every image: mask (as 0/1) times the
        # (T N, dd) rows, one product instead of gathering the rows first
        m["mask_token"].grads["value"] += mask.T.reshape(-1).astype(dfull.dtype) @ \
            dfull.reshape(-1, dfull.shape[-1])
        dd = ops.gather_tokens(dfull, ids_keep, batch_first=False)           # (K, N, dd)
        dh = m["encoder"].backward(m["encoder_norm"].backward(m["decoder_embed"].backward(dd)))
        dtokens = ops.scatter_tokens(dh, ids_keep, self.n_tokens, batch_first=False)
        self.patch_embed.backward(m["pos"].backward(dtokens), need_dx=False)  # (T, N, dim)
        return loss, self.grads

    # -- using a trained model ----------------------------------------------------
    def predict(self, x, mask):
        """Predicted patches (N, T, P) for images x with hidden patches ``mask``
        (pixels, or normalised pixels if ``norm_pix_loss``)."""
        x = self._check_x(x, self.image_shape)
        ids_keep = self._check_mask(mask, x.shape[0])
        return self._decode(self._encode_visible(x, ids_keep), ids_keep, mask).transpose(1, 0, 2)

    def reconstruct(self, x, mask):
        """Images (N, C, H, W): the visible patches of x as they are, the
        hidden ones as predicted (raw-pixel models only)."""
        if self.norm_pix_loss:
            raise ValueError("reconstruct needs a model trained on raw pixels "
                             "(norm_pix_loss=False): its predictions are normalised patches")
        pred = self.predict(x, mask)
        patches = np.where(mask[:, :, None], pred, ops.patchify(x, self.patch))
        return ops.unpatchify(patches, self.patch, self.image_shape)

    def encode(self, x, batch_size=1000):
        """Features for a probe: the mean over all T tokens (none hidden) of
        the encoder's output, (N, dim)."""
        x = self._check_x(x, self.image_shape)

        def mean_token(xb):
            every = np.tile(np.arange(self.n_tokens), (xb.shape[0], 1))   # (b, T)
            return self._encode_visible(xb, every).mean(axis=0)    # (T, b, dim) -> (b, dim)
        return batched(mean_token, x, batch_size)

    def attention_maps(self, x, mask=None):
        """Attention weights of every encoder block on x, with ``mask``
        hiding patches (None: all visible): a list of (N, H, K, K) arrays,
        K visible tokens in increasing position order."""
        x = self._check_x(x, self.image_shape)
        if mask is None:
            mask = np.zeros((x.shape[0], self.n_tokens), dtype=bool)
        self._encode_visible(x, self._check_mask(mask, x.shape[0]))
        return [block.attn.attention.copy() for block in self.modules["encoder"].layers]


__all__ = ["MAE"]
