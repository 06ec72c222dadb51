"""What one training step multiplies: the matrix products of each layer of
a bench config (``tinyae.bench.CONFIGS``), their FLOPs, and the BLAS-only
step that runs just those products, the limit the bench's ``BLAS %``
measures a step against.

A config's layers are tuples: dense (n_in, n_out) or (n_in, n_out, tokens
per example); image (kind, C_in, C_out, kernel, input (H, W)) with kind
"conv" or "convT"; attention ("attn", heads, dim, tokens), whose products
are batched (``attention_matmuls``).
"""

import numpy as np

#: Examples per step (the bench's batch).
BATCH = 128


def _is_attention(layer):
    return layer[0] == "attn"


def _is_image(layer):
    return isinstance(layer[0], str) and not _is_attention(layer)


def weight_shapes(layers):
    """The weight array of each layer: (n_in, n_out) dense, (C_out, C_in, k, k)
    conv, (C_in, C_out, k, k) transposed conv (attention has none)."""
    shapes = []
    for layer in layers:
        if _is_attention(layer):
            continue
        if not _is_image(layer):
            shapes.append(tuple(layer[:2]))
        else:
            kind, c_in, c_out, k, _ = layer
            shapes.append((c_out, c_in, k, k) if kind == "conv" else (c_in, c_out, k, k))
    return shapes


def _layer_matmuls(layer, batch):
    """[(m, k, n) forward, weight gradient, input gradient] of one layer.

    dense (n_in, n_out[, tokens]) on rows = batch * tokens: x W, x^T da,
    da W^T. conv, as ``functional.conv2d`` (padding keeps the size, K = C_in
    k k, P = batch H W): Wm cols (C_out, K, P), dout_m cols^T (C_out, P, K),
    Wm^T dout_m (K, C_out, P). convT, as ``functional.conv_transpose2d`` (K =
    C_out k k, P = batch H_in W_in): Wm^T x_m (K, C_in, P), x_m cols^T (C_in,
    P, K), Wm cols (C_in, K, P).
    """
    if not _is_image(layer):
        n_in, n_out, *tokens = layer
        rows = batch * (tokens[0] if tokens else 1)
        return [(rows, n_in, n_out), (n_in, rows, n_out), (rows, n_out, n_in)]
    kind, c_in, c_out, k, (h, w) = layer
    if kind == "conv":
        K, P = c_in * k * k, batch * h * w
        return [(c_out, K, P), (c_out, P, K), (K, c_out, P)]
    K, P = c_out * k * k, batch * h * w
    return [(K, c_in, P), (c_in, P, K), (c_in, K, P)]


def step_matmuls(layers, batch=BATCH):
    """The (m, k, n) of every matrix product in one training step.

    Per layer (``_layer_matmuls``): the forward product, the weight
    gradient, and the input gradient for every layer but the first (it
    reads the data). Dense layer (n_in, n_out): (batch, n_in, n_out),
    (n_in, batch, n_out), (batch, n_out, n_in).
    """
    shapes = []
    for i, layer in enumerate(layers):
        if not _is_attention(layer):
            shapes += _layer_matmuls(layer, batch)[:3 if i > 0 else 2]
    return shapes


def attention_matmuls(layers, batch=BATCH):
    """The batched products of every attention layer in one step, as
    (count, m, k, n): count = batch x heads products of m x k by k x n.
    Per layer ("attn", H, D, T), dh = D / H, as ``kernels.transformer``
    runs them: forward S = q k^T (T, dh, T) and A v (T, T, dh); backward
    dA = dout v^T (T, dh, T), dv = A^T dout, dq = dS k, dk = dS^T q (each
    (T, T, dh))."""
    out = []
    for layer in layers:
        if _is_attention(layer):
            _, h, d, t = layer
            dh = d // h
            out += [(batch * h, m, k, n) for m, k, n in
                    [(t, dh, t), (t, t, dh), (t, dh, t), (t, t, dh), (t, t, dh), (t, t, dh)]]
    return out


def step_flops(layers, batch=BATCH):
    """2 m k n summed over ``step_matmuls`` and ``attention_matmuls``: the
    FLOPs of one step."""
    return (sum(2 * m * k * n for m, k, n in step_matmuls(layers, batch))
            + sum(2 * c * m * k * n for c, m, k, n in attention_matmuls(layers, batch)))


def blas_only_step(layers, dtype, rng, batch=BATCH):
    """A function running just the step's matrix products (``step_matmuls``
    and ``attention_matmuls``) with NumPy's BLAS, operands made once and
    laid out as in the step: ``x @ W``, ``x.T @ da`` (a transposed view) and
    ``da @ W.T``; an attention layer's six batched products on the strided
    views the kernels use.

    ``run.dense()`` and ``run.attention()`` run the two kinds apart: the
    bench times each in a loop of its own and adds the times. Run after
    the dense products, on operands those have pushed out of the cache,
    the MAE's attention products took 1.8x (float32) to 2.2x (float64) their
    time alone, more than the step's whole attention with its softmax: a
    limit must not be slower than what it bounds."""
    def rand(*shape):
        return rng.random(shape).astype(dtype)

    ops, batched = [], []
    for i, layer in enumerate(layers):
        if _is_attention(layer):
            batched.append(_attention_operands(layer, batch, rand))
            continue
        if not _is_image(layer):
            n_in, n_out, *tokens = layer
            rows = batch * (tokens[0] if tokens else 1)
            x, W, da = rand(rows, n_in), rand(n_in, n_out), rand(rows, n_out)
            ops += [(x, W), (x.T, da)] + ([(da, W.T)] if i > 0 else [])
            continue
        # image layer: a (m, k) weight matrix, a (k, n) column matrix and a
        # (m, n) gradient, used as in the reference's three products
        (m, k, n), _, _ = _layer_matmuls(layer, batch)
        Wm, cols, d = rand(m, k), rand(k, n), rand(m, n)
        ops += [(Wm, cols), (d, cols.T)] + ([(Wm.T, d)] if i > 0 else [])

    def dense():
        for a, b in ops:
            a @ b

    def attention():
        for q, k, v, a, out, dout, ds, dq, dk, dv in batched:
            q @ np.swapaxes(k, -1, -2)                       # scores
            np.matmul(a, v, out=out)                         # A v, into (N, T, D)
            dout @ np.swapaxes(v, -1, -2)                    # dA
            np.matmul(np.swapaxes(a, -1, -2), dout, out=dv)
            np.matmul(ds, k, out=dq)
            np.matmul(np.swapaxes(ds, -1, -2), q, out=dk)

    def run():
        dense()
        attention()
    run.dense, run.attention = dense, attention
    run.operands = ops
    run.batched = batched
    return run


def _attention_operands(layer, batch, rand):
    """The arrays of one attention layer's six batched products, laid out
    as the batch-first ``kernels.transformer.multihead_attention_forward/
    backward`` lays them out (the MAE's token-major blocks compute them
    without BLAS: ``tinyae.bench`` docstring): q, k, v (and dq, dk, dv)
    strided (N, H, T, dh) views of a packed (N, T, 3 D) array, the output a
    view of (N, T, D), the weights A and their gradient dS (N, H, T, T),
    dout (N, H, T, dh)."""
    _, h, d, t = layer
    dh = d // h

    def heads(packed):                       # (N, T, 3 D) -> 3 x (N, H, T, dh)
        return packed.reshape(batch, t, 3, h, dh).transpose(2, 0, 3, 1, 4)

    q, k, v = heads(rand(batch, t, 3 * d))
    dq, dk, dv = heads(rand(batch, t, 3 * d))
    out = rand(batch, t, d).reshape(batch, t, h, dh).transpose(0, 2, 1, 3)
    dout = rand(batch, t, d).reshape(batch, t, h, dh).transpose(0, 2, 1, 3)
    return q, k, v, rand(batch, h, t, t), out, dout, rand(batch, h, t, t), dq, dk, dv
