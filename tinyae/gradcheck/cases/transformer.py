"""Transformer ops, layers and the masked autoencoder, on awkward shapes too
(one head, one token visible, batch 1, odd widths)."""

import numpy as np

from ..core import check_arrays, check_loss, check_model, directional_check
from . import layer_case, register


def _op_case(forward, backward, shapes, wrt, extra=()):
    """Check ``backward`` of ``forward(*arrays, *extra)`` with
    f = sum(out * r): the arrays named in ``wrt`` (indices into shapes)."""
    def case(rng):
        arrays = [rng.standard_normal(s) for s in shapes]
        out, cache = forward(*arrays, *extra)
        r = rng.standard_normal(out.shape)
        grads = backward(r, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)

        def f():
            return float(np.sum(forward(*arrays, *extra)[0] * r))
        return check_arrays(f, {f"input{i}": arrays[i] for i in wrt},
                            {f"input{i}": grads[j] for j, i in enumerate(wrt)})
    return case


def _register_ops():
    from ...backend import ops
    from ...functional import transformer as T

    register("op layernorm (3 tokens x 5)")(
        lambda rng: _op_case(ops.layernorm_forward, ops.layernorm_backward,
                             [(2, 3, 5), (5,), (5,)], (0, 1, 2), (1e-5,))(rng))
    # width 3, not 2: with two features xhat = +-1 whatever x is (up to eps),
    # so dx ~ eps / var ~ 1e-5 and the check would measure rounding alone
    register("op layernorm (batch 1, width 3)")(
        lambda rng: _op_case(ops.layernorm_forward, ops.layernorm_backward,
                             [(1, 3), (3,), (3,)], (0, 1, 2), (1e-5,))(rng))
    register("op gelu")(lambda rng: _op_case(ops.gelu_forward, ops.gelu_backward,
                                             [(3, 4, 5)], (0,))(rng))
    register("op softmax (rows of 6)")(lambda rng: _op_case(
        ops.softmax_forward, ops.softmax_backward, [(2, 3, 6)], (0,))(rng))
    register("op softmax (row of 1)")(lambda rng: _op_case(
        ops.softmax_forward, ops.softmax_backward, [(3, 1)], (0,))(rng))
    register("op attention (2 heads, 4 tokens)")(lambda rng: _op_case(
        ops.attention_forward, ops.attention_backward,
        [(2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 3)], (0, 1, 2))(rng))
    register("op attention (batch 1, 1 head, 1 token)")(lambda rng: _op_case(
        ops.attention_forward, ops.attention_backward,
        [(1, 1, 1, 2), (1, 1, 1, 2), (1, 1, 1, 2)], (0, 1, 2))(rng))
    register("op multihead attention (3 heads, 5 tokens)")(lambda rng: _op_case(
        ops.multihead_attention_forward, ops.multihead_attention_backward,
        [(2, 5, 18)], (0,), (3,))(rng))
    register("op multihead attention (batch 1, 1 head, 1 token)")(lambda rng: _op_case(
        ops.multihead_attention_forward, ops.multihead_attention_backward,
        [(1, 1, 6)], (0,), (1,))(rng))

    # token-major (T, N, D) x, then Wqkv, bqkv, Wo, bo: every input's gradient
    for label, t, n, d, heads in (("3 heads, 4 tokens, batch 3", 4, 3, 6, 3),
                                  ("batch 1, 1 head, 1 token", 1, 1, 2, 1),
                                  ("2 heads of width 1, 5 tokens", 5, 2, 2, 2)):
        register(f"op multihead attention token-major ({label})")(
            lambda rng, t=t, n=n, d=d, heads=heads: _op_case(
                ops.multihead_attention_tm_forward, ops.multihead_attention_tm_backward,
                [(t, n, d), (d, 3 * d), (3 * d,), (d, d), (d,)], (0, 1, 2, 3, 4),
                (heads,))(rng))

    def patches(rng):
        x = rng.standard_normal((2, 2, 4, 6))
        r = rng.standard_normal((2, 6, 8))
        dx = ops.unpatchify(r, 2, (2, 4, 6))
        return check_arrays(lambda: float(np.sum(ops.patchify(x, 2) * r)), {"x": x}, {"x": dx})
    register("op patchify (adjoint: unpatchify)")(patches)

    def gather(rng):
        x = rng.standard_normal((2, 5, 3))
        ids = np.array([[4, 0], [1, 3]])
        r = rng.standard_normal((2, 2, 3))
        dx = ops.scatter_tokens(r, ids, 5)
        return check_arrays(lambda: float(np.sum(ops.gather_tokens(x, ids) * r)),
                            {"x": x}, {"x": dx})
    register("op gather_tokens (adjoint: scatter_tokens)")(gather)

    def gather_token_major(rng):
        x = rng.standard_normal((5, 2, 3))                  # (T, N, D)
        ids = np.array([[4, 0], [1, 3]])
        r = rng.standard_normal((2, 2, 3))                  # (K, N, D)
        dx = ops.scatter_tokens(r, ids, 5, batch_first=False)
        return check_arrays(lambda: float(np.sum(ops.gather_tokens(x, ids, batch_first=False)
                                                 * r)), {"x": x}, {"x": dx})
    register("op gather_tokens token-major (adjoint: scatter_tokens)")(gather_token_major)

    for norm in (False, True):
        def masked(rng, norm=norm):
            mask = np.array([[True, False, True], [False, False, True]])
            target = rng.uniform(0, 1, (2, 3, 4))
            if norm:
                target = T.normalize_patches(target, T.PATCH_NORM_EPS)
            return check_loss(lambda p: ops.masked_mse_loss(p, target, mask),
                              rng.standard_normal((2, 3, 4)), name="masked_mse_loss")
        register(f"loss masked_mse ({'normalised' if norm else 'raw'} targets)")(masked)

    def masked_token_major(rng):
        mask = np.array([[True, False, True], [False, False, True]]).T     # (T, N)
        target = rng.uniform(0, 1, (3, 2, 4))
        return check_loss(lambda p: ops.masked_mse_loss(p, target, mask, batch_first=False),
                          rng.standard_normal((3, 2, 4)), name="masked_mse_loss")
    register("loss masked_mse (token-major)")(masked_token_major)


def _register_layers():
    from ...layers import (GELU, LayerNorm, MultiHeadSelfAttention, PatchEmbed,
                           PositionalEmbedding, TransformerBlock)

    register("layer LayerNorm (tokens 2x3x5)")(layer_case(
        lambda rng: _perturbed(LayerNorm(5), rng), shape=(2, 3, 5)))
    register("layer GELU (NCHW 2x3x4x5)")(layer_case(lambda rng: GELU(), shape=(2, 3, 4, 5)))
    for heads, shape in ((1, (2, 3, 4)), (2, (2, 3, 4)), (1, (1, 1, 4))):
        register(f"layer MultiHeadSelfAttention ({heads} head(s), x {shape})")(layer_case(
            lambda rng, heads=heads: MultiHeadSelfAttention(4, heads, rng=rng), shape=shape))
    register("layer TransformerBlock (2 heads, 3 tokens)")(layer_case(
        lambda rng: _perturbed(TransformerBlock(4, 2, mlp_ratio=2, rng=rng), rng),
        shape=(2, 3, 4)))
    register("layer TransformerBlock (1 head, batch 1, 1 token)")(layer_case(
        lambda rng: _perturbed(TransformerBlock(4, 1, mlp_ratio=1, rng=rng), rng),
        shape=(1, 1, 4)))
    for heads, shape in ((2, (3, 2, 4)), (1, (1, 1, 4))):
        register(f"layer MultiHeadSelfAttention (batch_first=False, {heads} head(s), "
                 f"x {shape})")(layer_case(
                     lambda rng, heads=heads: _perturbed(MultiHeadSelfAttention(
                         4, heads, batch_first=False, rng=rng), rng), shape=shape))
    register("layer TransformerBlock (batch_first=False, 2 heads, 3 tokens)")(layer_case(
        lambda rng: _perturbed(TransformerBlock(4, 2, mlp_ratio=2, batch_first=False,
                                                rng=rng), rng), shape=(3, 2, 4)))
    register("layer PositionalEmbedding (learned, batch_first=False)")(layer_case(
        lambda rng: PositionalEmbedding((2, 3), 4, kind="learned", batch_first=False,
                                        rng=rng), shape=(6, 2, 4)))
    register("layer PatchEmbed (2x4x6 images, patch 2)")(layer_case(
        lambda rng: PatchEmbed((2, 4, 6), 2, 3, rng=rng), shape=(2, 2, 4, 6)))
    register("layer PatchEmbed (batch_first=False, 3 images)")(layer_case(
        lambda rng: PatchEmbed((2, 4, 6), 2, 3, batch_first=False, rng=rng),
        shape=(3, 2, 4, 6)))
    register("layer PositionalEmbedding (learned)")(layer_case(
        lambda rng: PositionalEmbedding((2, 3), 4, kind="learned", rng=rng), shape=(2, 6, 4)))
    register("layer PositionalEmbedding (sincos)")(layer_case(
        lambda rng: PositionalEmbedding((2, 3), 4), shape=(2, 6, 4)))


def _perturbed(layer, rng):
    """Move every parameter off its initial value (LayerNorm's gamma = 1 and
    beta = 0, zero biases) so a gradient that ignores them cannot pass."""
    for p in layer.params.values():
        p += 0.3 * rng.standard_normal(p.shape)
    return layer


def _register_model():
    from ...models import MAE

    # The encoder's gradients in these tiny models are small (1e-3 to 1e-4)
    # next to a loss of ~10: with h = 1e-6 the rounding term of the central
    # difference, ~1e-16 * 10 / 1e-6 = 1e-9, is up to 1e-7 of them. h = 1e-5
    # cuts it tenfold; the truncation term grows to ~1e-10 (smooth ops only).
    def mae(label, n, mask_rows, **kw):
        def case(rng):
            model = MAE(rng=rng, **kw)
            _perturbed(model, rng)
            x = rng.uniform(0, 1, (n, *model.image_shape))
            mask = np.array(mask_rows[:n], dtype=bool)
            return check_model(model, x, mask=mask, h=1e-5)
        register(f"model MAE ({label})")(case)

    small = dict(image_shape=(1, 4, 4), patch=2, dim=8, decoder_dim=4, mlp_ratio=1)
    four = [[True, False, True, True], [False, True, True, True], [True, True, True, False]]
    mae("1 visible token, 1 head, sincos", 3, four, n_heads=1, decoder_heads=1, **small)
    mae("batch 1, learned positions, 2 heads", 1, [[False, True, False, True]],
        n_heads=2, decoder_heads=2, pos_embed="learned", mask_ratio=0.5, **small)
    mae("normalised targets, 2 blocks each", 2, four, n_heads=2, decoder_heads=1, depth=2,
        decoder_depth=2, norm_pix_loss=True, **small)

    def mae_directional(rng):
        model = MAE(rng=rng, image_shape=(1, 8, 8), patch=2, dim=16, decoder_dim=8, n_heads=4,
                    decoder_heads=2, depth=2, mask_ratio=0.75)
        _perturbed(model, rng)
        x = rng.uniform(0, 1, (3, 1, 8, 8))
        return directional_check(model, x, rng=rng, n_directions=5,
                                 mask=model.draw_mask(3, rng))
    register("model MAE (8x8, 16 tokens, directional)")(mae_directional)


_register_ops()
_register_layers()
_register_model()
