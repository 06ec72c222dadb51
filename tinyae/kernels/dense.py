"""Numba twins of ``tinyae.functional.dense`` (how twins are built: see
``tinyae.kernels``)."""


import numpy as np

# Identity has nothing to compute, hence nothing to compile: its twin is the
# reference itself (out = x, the same object; cache None; dx = dout).
from ..functional import LOG_2PI, identity_backward, identity_forward  # noqa: F401
from .base import _exp_neg_abs, _flat, _map, _masked, jit, sum_jit


# --------------------------------------------------------------------------
# Scalar helpers called by the cores. ``zero``/``one`` carry the dtype.
# --------------------------------------------------------------------------

@jit
def _sigmoid_e(v, e, one):
    """s(v) = (v >= 0 ? 1 : e) / (1 + e), with e = exp(-|v|) (functional.sigmoid)."""
    return (one if v >= 0 else e) / (one + e)


@jit
def _softplus_e(v, e, zero):
    """softplus(v) = max(v, 0) + log1p(e), e = exp(-|v|) (functional.softplus).

    ``max`` as ``np.maximum``: NaN propagates.
    """
    return (zero if v < zero else v) + np.log1p(e)


# The activation derivatives, written once: da = dout * act'(a) for one
# element, from what the activation caches (out, or the input a for
# softplus). The element-wise backward ops and the fused linear+activation
# backward both call these.

@jit
def _dsigmoid(g, out, one):
    """g * out * (1 - out)."""
    return g * out * (one - out)


@jit
def _dtanh(g, out, one):
    """g * (1 - out^2)."""
    return g * (one - out * out)


@jit
def _drelu(g, out, one):
    """g * [out > 0] (0 at the kink; NaN/inf in g behave as in NumPy)."""
    return g * (one if out > 0 else one - one)


@jit
def _dsoftplus(g, a, one):
    """g * s(a)."""
    return g * _sigmoid_e(a, np.exp(-abs(a)), one)


# --------------------------------------------------------------------------
# Affine map
# --------------------------------------------------------------------------

@jit
def _add_bias(out, b):
    """out[n, j] += b[j] in place; out: (batch, n_out), b: (n_out,)."""
    for n in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[n, j] += b[j]
    return out


@jit
def _column_sum(a):
    """sum_n a[n] row by row, as NumPy's ``a.sum(axis=0)``: (batch, k) -> (k,)."""
    s = np.zeros(a.shape[1], a.dtype)
    for n in range(a.shape[0]):
        for j in range(a.shape[1]):
            s[j] += a[n, j]
    return s


def linear_forward(x, W, b):
    """Affine map ``out = x W + b`` (twin of ``functional.linear_forward``).

    x: (batch, n_in), W: (n_in, n_out), b: (n_out,) -> out: (batch, n_out).
    The product is NumPy's ``x @ W`` (its OpenBLAS gemm, called from Python:
    measured about twice as fast here as ``np.dot`` inside Numba, which goes
    through SciPy's BLAS); the bias is added in place by a Numba loop.
    cache = (x, W).
    """
    out = x @ W
    return _add_bias(out, _flat(b)), (x, W)


def linear_backward(dout, cache, need_dx=True, dW_out=None):
    """``dx = dout W^T, dW = x^T dout`` (NumPy's BLAS), ``db = sum_n dout[n]``.

    dout: (batch, n_out) -> dx: (batch, n_in) (None if not ``need_dx``),
    dW: (n_in, n_out) (written into ``dW_out`` if given), db: (n_out,).
    """
    x, W = cache
    dx = dout @ W.T if need_dx else None
    return dx, np.matmul(x.T, dout, out=dW_out), _column_sum(np.ascontiguousarray(dout))


# --------------------------------------------------------------------------
# Activations: element-wise on flat arrays (x, out, dout, dx share a shape).
# --------------------------------------------------------------------------

@jit
def _sigmoid_backward(dout, out):
    """dx = dout * out * (1 - out)."""
    one = out.dtype.type(1)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = _dsigmoid(dout[i], out[i], one)
    return dx


@jit
def _tanh_backward(dout, out):
    """dx = dout * (1 - out^2)."""
    one = out.dtype.type(1)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = _dtanh(dout[i], out[i], one)
    return dx


@jit
def _relu(x):
    """out = max(x, 0), NaN propagating like np.maximum."""
    zero = x.dtype.type(0)
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = zero if x[i] < zero else x[i]
    return out


@jit
def _relu_backward(dout, out):
    """dx = dout * [out > 0]: 0 at the kink; NaN/inf in dout behave as in NumPy."""
    one = out.dtype.type(1)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = _drelu(dout[i], out[i], one)
    return dx


@jit
def _softplus(x):
    """out = max(x, 0) + log1p(exp(-|x|)): softplus(1e4) = 1e4, no overflow."""
    zero = x.dtype.type(0)
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = _softplus_e(x[i], np.exp(-abs(x[i])), zero)
    return out


@jit
def _softplus_backward(dout, x):
    """dx = dout * s(x)."""
    one = x.dtype.type(1)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = _dsoftplus(dout[i], x[i], one)
    return dx


def sigmoid_forward(x):
    """``out = s(x)``, exact on both tails; cache = out. exp(-|x|) as in
    every sigmoid here (``_exp_neg_abs``), then one Numba pass on a copy."""
    out = np.array(x, order="C")
    rows = out.reshape(1, -1)
    _sigmoid_from_e(rows, _exp_neg_abs(rows))
    return out, out


def sigmoid_backward(dout, cache):
    """``dx = dout * out * (1 - out)``; cache = out."""
    return _map(_sigmoid_backward, dout, cache)


def tanh_forward(x):
    """``out = tanh(x)`` by NumPy's vector math (see the speed notes); cache = out."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """``dx = dout * (1 - out^2)``; cache = out."""
    return _map(_tanh_backward, dout, cache)


def relu_forward(x):
    """``out = max(x, 0)``; cache = out."""
    out = _map(_relu, x)
    return out, out


def relu_backward(dout, cache):
    """``dx = dout * [out > 0]`` (0 at x = 0); cache = out."""
    return _map(_relu_backward, dout, cache)


def softplus_forward(x):
    """``out = max(x, 0) + log1p(exp(-|x|))``; cache = x."""
    return _map(_softplus, x), x


def softplus_backward(dout, cache):
    """``dx = dout * s(x)``; cache = x."""
    return _map(_softplus_backward, dout, cache)


# --------------------------------------------------------------------------
# Top-k of each row: a selection by np.partition, then one pass that keeps
# everything above the k-th largest value and, of the entries equal to it,
# the lowest indices (the reference's stable sort, without the sort).
# --------------------------------------------------------------------------

@jit
def _topk(rows, k):
    """rows: (R, d) C-contiguous, 1 <= k <= d -> (out, mask), both (R, d)."""
    n_rows, d = rows.shape
    zero = rows.dtype.type(0)
    out = np.empty_like(rows)
    mask = np.empty(rows.shape, np.bool_)
    for r in range(n_rows):
        row = rows[r]
        t = np.partition(row, d - k)[d - k]          # the k-th largest value
        ties = k                                     # how many entries == t to keep
        for j in range(d):
            if row[j] > t:
                ties -= 1
        for j in range(d):
            keep = row[j] > t
            if not keep and row[j] == t and ties > 0:
                keep = True
                ties -= 1
            mask[r, j] = keep
            out[r, j] = row[j] if keep else zero
    return out, mask


def topk_forward(x, k):
    """The k largest entries of each row (last axis) kept, the rest zeroed;
    cache = mask (twin of ``functional.topk_forward``, same tie-break: the
    lower index)."""
    rows = np.ascontiguousarray(x).reshape(-1, np.shape(x)[-1])    # (R, d)
    out, mask = _topk(rows, int(k))
    return out.reshape(np.shape(x)), mask.reshape(np.shape(x))


def topk_backward(dout, cache):
    """``dx = dout * mask``; cache = the mask of the kept entries."""
    return _masked(_flat(dout), _flat(cache)).reshape(np.shape(dout))


# --------------------------------------------------------------------------
# Losses: (value, gradient) in one pass over flat arrays. Each element is
# computed in the input's dtype; the sum is accumulated in float64 and
# divided by the batch size n at the end.
# --------------------------------------------------------------------------

@jit
def _mse(pred, target, n):
    """L = (1/n) sum (pred - target)^2, dpred = 2 (pred - target) / n."""
    scale = pred.dtype.type(2.0 / n)  # NumPy: float32 array * Python float
    dpred = np.empty_like(pred)
    total = 0.0
    for i in range(pred.size):
        diff = pred[i] - target[i]
        total += diff * diff
        dpred[i] = diff * scale
    return total / n, dpred


#: BCE: factors (1 + e) multiplied before one log. Each of a block's 512
#: factors is in [1, 2], so their product is at most 2^512, far below
#: float64's max in whatever order they are multiplied.
_LOG_BLOCK = 512

@jit
def _bce_with_logits(z, t, e, n):
    """L = (1/n) sum softplus(z) - t z, dz = (s(z) - t) / n, given e = exp(-|z|).

    dz is one loop with no sum in it, which LLVM vectorises, multiplying by
    1/n rather than dividing by n (divisions bound this loop; exact for a
    power-of-two batch, within an ulp otherwise). The sum is ``_bce_sum``.
    """
    one, inv_n = z.dtype.type(1), z.dtype.type(1 / n)
    dz = np.empty_like(z)
    for i in range(z.size):
        dz[i] = (_sigmoid_e(z[i], e[i], one) - t[i]) * inv_n
    return _bce_sum(z, t, e) / n, dz


@sum_jit
def _bce_sum(z, t, e):
    """sum_i softplus(z_i) - t_i z_i in float64, given e = exp(-|z|).

    softplus(z) = max(z, 0) + log1p(e), e in (0, 1]. A scalar log1p per
    element is the slowest part of a naive loop (libm, no SIMD), so the sum
    of the log1p terms is taken as the log of a product,
    ``sum_i log(1 + e_i) = log prod_i (1 + e_i)``, one log per _LOG_BLOCK
    elements. Rounding 1 + e in float64 costs at most 2^-53 absolute per
    element, so the sum's absolute error is below (elements) * 1.2e-16:
    1e-11 on a batch of 128 MNIST images whose loss is about 1e4 per batch.

    Compiled with ``reassoc`` (``sum_jit``): LLVM adds and multiplies in
    vector lanes and combines them at the end, an order as good as any
    other for a sum. 128 x 784, e given: 158 -> 53 us in float32 and 153
    -> 107 us in float64, against four chains written out by hand (which
    had cut a single chain's 296 and 378 us: every add waited for the one
    before).
    """
    zero = z.dtype.type(0)
    s = 0.0
    logs = 0.0
    for start in range(0, z.size, _LOG_BLOCK):
        stop = min(start + _LOG_BLOCK, z.size)
        p = 1.0
        for i in range(start, stop):
            s += _relu_minus_tz(z[i], t[i], zero)
            p *= 1.0 + e[i]
        logs += np.log(p)
    return s + logs


@jit
def _relu_minus_tz(z, t, zero):
    """max(z, 0) - t z in z's dtype (the part of softplus(z) - t z besides log1p)."""
    return (zero if z < zero else z) - t * z


@jit
def _gaussian_nll(mu, logvar, target, n):
    """l = 0.5 (log 2 pi + logvar + r^2 / v), r = target - mu, v = exp(logvar).

    dmu = -(r / v) / n, dlogvar = 0.5 (1 - r^2 / v) / n.
    """
    dtype = mu.dtype.type
    half, one, nf, log2pi = dtype(0.5), dtype(1), dtype(n), dtype(LOG_2PI)
    dmu, dlogvar = np.empty_like(mu), np.empty_like(mu)
    total = 0.0
    for i in range(mu.size):
        r = target[i] - mu[i]
        inv_v = np.exp(-logvar[i])
        r2v = r * r * inv_v
        total += half * (log2pi + logvar[i] + r2v)
        dmu[i] = -(r * inv_v) / nf
        dlogvar[i] = half * (one - r2v) / nf
    return total / n, dmu, dlogvar


def mse_loss(pred, target):
    """``L = (1/N) sum_{n,d} (pred - target)^2``; returns (L, dpred).

    pred, target: (batch, d); dpred = 2 (pred - target) / N, pred's dtype.
    """
    loss, dpred = _mse(_flat(pred), _flat(target), np.shape(pred)[0])
    return loss, dpred.reshape(np.shape(pred))


def bce_with_logits_loss(logits, target):
    """``L = (1/N) sum_{n,d} softplus(z) - t z``; returns (L, dlogits).

    logits, target: (batch, d); dlogits = (s(z) - t) / N, logits' dtype.
    Finite and exact for |z| up to 1e4 and beyond.
    """
    z = _flat(logits)
    loss, dz = _bce_with_logits(z, _flat(target), _exp_neg_abs(z), np.shape(logits)[0])
    return loss, dz.reshape(np.shape(logits))


def gaussian_nll_loss(mu, logvar, target):
    """``L = (1/N) sum_{n,d} 0.5 (log 2 pi + logvar + (target - mu)^2 / exp(logvar))``.

    mu, logvar, target: (batch, d). Returns (L, dmu, dlogvar), mu's dtype.
    """
    shape = np.shape(mu)
    loss, dmu, dlogvar = _gaussian_nll(_flat(mu), _flat(logvar), _flat(target), shape[0])
    return loss, dmu.reshape(shape), dlogvar.reshape(shape)


# --------------------------------------------------------------------------
# Fused ops (twins of the fused section of ``functional``). The matrix
# products are NumPy's BLAS, called from the Python wrapper; everything
# between two products is one Numba pass over memory instead of NumPy's
# three to six (each ufunc reads its inputs and writes a temporary).
# --------------------------------------------------------------------------

@jit
def _bias_identity(a, b):
    """a <- a + b in place (the pre-activation is the output); returns a."""
    return _add_bias(a, b)


@jit
def _bias_relu(a, b):
    """a <- max(a + b, 0) in place (NaN propagating); returns a."""
    zero = a.dtype.type(0)
    for n in range(a.shape[0]):
        for j in range(a.shape[1]):
            v = a[n, j] + b[j]
            a[n, j] = zero if v < zero else v
    return a


@jit
def _sigmoid_from_e(a, e):
    """a <- s(a) in place given e = exp(-|a|); returns a."""
    one = a.dtype.type(1)
    for n in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[n, j] = _sigmoid_e(a[n, j], e[n, j], one)
    return a


def _bias_sigmoid(a, b):
    """a <- s(a + b) in place (the bias in Numba, exp by NumPy); returns a."""
    _add_bias(a, b)
    return _sigmoid_from_e(a, _exp_neg_abs(a))


def _bias_tanh(a, b):
    """a <- tanh(a + b) in place (the bias in Numba, tanh by NumPy's vector
    math: Numba's scalar tanh was 40x slower on 128 x 512 float32); returns a."""
    return np.tanh(_add_bias(a, b), out=a)


@jit
def _bias_softplus(a, b):
    """a <- a + b in place (softplus caches its input); returns softplus(a)."""
    zero = a.dtype.type(0)
    out = np.empty_like(a)
    for n in range(a.shape[0]):
        for j in range(a.shape[1]):
            v = a[n, j] + b[j]
            a[n, j] = v
            out[n, j] = _softplus_e(v, np.exp(-abs(v)), zero)
    return out


@jit
def _dact_identity(dout, cache):
    """da = dout (a copy), db = sum_n da[n]."""
    da = dout.copy()
    return da, _column_sum(da)


@jit
def _dact_relu(dout, out):
    """da = dout * [out > 0], db = sum_n da[n], in one pass."""
    one = out.dtype.type(1)
    da = np.empty_like(dout)
    db = np.zeros(dout.shape[1], dout.dtype)
    for n in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            v = _drelu(dout[n, j], out[n, j], one)
            da[n, j] = v
            db[j] += v
    return da, db


@jit
def _dact_sigmoid(dout, out):
    """da = dout * out * (1 - out), db = sum_n da[n], in one pass."""
    one = out.dtype.type(1)
    da = np.empty_like(dout)
    db = np.zeros(dout.shape[1], dout.dtype)
    for n in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            v = _dsigmoid(dout[n, j], out[n, j], one)
            da[n, j] = v
            db[j] += v
    return da, db


@jit
def _dact_tanh(dout, out):
    """da = dout * (1 - out^2), db = sum_n da[n], in one pass."""
    one = out.dtype.type(1)
    da = np.empty_like(dout)
    db = np.zeros(dout.shape[1], dout.dtype)
    for n in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            v = _dtanh(dout[n, j], out[n, j], one)
            da[n, j] = v
            db[j] += v
    return da, db


@jit
def _dact_softplus(dout, a):
    """da = dout * s(a), db = sum_n da[n], in one pass."""
    one = a.dtype.type(1)
    da = np.empty_like(dout)
    db = np.zeros(dout.shape[1], dout.dtype)
    for n in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            v = _dsoftplus(dout[n, j], a[n, j], one)
            da[n, j] = v
            db[j] += v
    return da, db


#: activation -> (bias + activation core, its fused backward core, what it caches).
_FUSED = {
    "identity": (_bias_identity, _dact_identity, "none"),
    "relu": (_bias_relu, _dact_relu, "out"),
    "sigmoid": (_bias_sigmoid, _dact_sigmoid, "out"),
    "tanh": (_bias_tanh, _dact_tanh, "out"),
    "softplus": (_bias_softplus, _dact_softplus, "input"),
}


def linear_act_forward(x, W, b, activation):
    """``out = act(x W + b)``: NumPy's BLAS for ``x @ W``, then bias and
    activation in one Numba pass, in place on the product.

    x: (batch, n_in), W: (n_in, n_out), b: (n_out,) -> out: (batch, n_out).
    cache = ((x, W), act_cache, activation) with act_cache as the activation
    op's own (out; the pre-activation for softplus; None for identity).
    """
    core, _, caches = _FUSED[activation]
    a = x @ W
    out = core(a, _flat(b))
    act_cache = {"none": None, "out": out, "input": a}[caches]
    return out, ((x, W), act_cache, activation)


def linear_act_backward(dout, cache, need_dx=True, dW_out=None):
    """``da = dout * act'``, ``db = sum_n da`` (one Numba pass), then
    ``dW = x^T da`` and, only if ``need_dx``, ``dx = da W^T`` (NumPy's BLAS).

    dout: (batch, n_out) -> (dx: (batch, n_in) or None, dW, db).
    """
    (x, W), act_cache, activation = cache
    dout = np.ascontiguousarray(dout)
    if act_cache is None:
        act_cache = dout
    da, db = _FUSED[activation][1](dout, np.ascontiguousarray(act_cache))
    return (da @ W.T if need_dx else None), np.matmul(x.T, da, out=dW_out), db


@jit
def _adam(p, g, m, v, lr, b1, b2, eps, t):
    """In place on flat p, m, v: the Adam step, every element in p's dtype,
    in the order NumPy evaluates ``functional.adam_update``, except that v
    is multiplied by 1 / (1 - b2^t) instead of divided by 1 - b2^t (within
    an ulp of the quotient). The loop is bound by its divisions and square
    roots, not by memory: one division less per element measured 604 ->
    469 us in float64 on 784 x 512 (float32: 210 -> 205 us, unchanged)."""
    dt = p.dtype.type
    b1_, b2_, c1, c2 = dt(b1), dt(b2), dt(1 - b1), dt(1 - b2)
    step, inv_bc2, eps_ = dt(lr / (1 - b1 ** t)), dt(1 / (1 - b2 ** t)), dt(eps)
    for i in range(p.size):
        mi = m[i] * b1_ + c1 * g[i]
        vi = v[i] * b2_ + c2 * (g[i] * g[i])
        m[i] = mi
        v[i] = vi
        p[i] -= step * mi / (np.sqrt(vi * inv_bc2) + eps_)


def adam_update(p, g, m, v, lr, b1, b2, eps, t):
    """One Adam step in place on p, m, v, in one pass over memory (NumPy's
    version makes about ten). p, g, m, v: one shape. Returns None.

    Non-contiguous arrays (rare: a parameter is an array a layer owns) take
    the reference path, since a flat view of them would be a copy."""
    if not all(a.flags.c_contiguous for a in (p, g, m, v)):
        from ..functional import adam_update as reference
        return reference(p, g, m, v, lr, b1, b2, eps, t)
    _adam(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
          float(lr), float(b1), float(b2), float(eps), int(t))


@jit
def _contractive(h, W, tanh_units, lam):
    """Contractive penalty from the code h: (N, k) and W: (n_in, k); see
    ``functional.contractive_penalty``. Two passes over W, one over h."""
    dt = h.dtype.type
    n, k = h.shape
    one, two = dt(1), dt(2)
    scale = dt(2.0 * lam / n)
    c = np.zeros(k, h.dtype)                  # c_j = sum_i W_ij^2
    for i in range(W.shape[0]):
        for j in range(k):
            c[j] += W[i, j] * W[i, j]
    d2sum = np.zeros(k, h.dtype)              # sum_n d_nj^2
    dh = np.empty_like(h)
    total = 0.0
    for r in range(n):
        for j in range(k):
            hv = h[r, j]
            if tanh_units:
                d, dd = one - hv * hv, -two * hv
            else:
                d, dd = hv * (one - hv), one - two * hv
            d2 = d * d
            d2sum[j] += d2
            total += d2 * c[j]
            dh[r, j] = scale * (d * dd) * c[j]
    dW = np.empty_like(W)
    for i in range(W.shape[0]):
        for j in range(k):
            dW[i, j] = scale * W[i, j] * d2sum[j]
    return lam * total / n, dh, dW


_SLOPE_TANH = {"sigmoid": False, "tanh": True}


def contractive_penalty(h, W, activation, lam):
    """``P = lam / N sum d^2 c``, dh, dW of a one-layer encoder (sigmoid or
    tanh units) without the (N, n_h, n_in) Jacobian; returns (P, dh, dW)."""
    return _contractive(np.ascontiguousarray(h), np.ascontiguousarray(W),
                        _SLOPE_TANH[activation], float(lam))


@jit
def _kl_sparsity(h, rho, beta, clip):
    """KL(rho || rho_hat) summed over units, rho_hat the float64 column means."""
    n, k = h.shape
    s = np.zeros(k)
    for r in range(n):
        for j in range(k):
            s[j] += h[r, j]
    total = 0.0
    g = np.empty(k, h.dtype)
    for j in range(k):
        rh = min(max(s[j] / n, clip), 1.0 - clip)
        total += rho * np.log(rho / rh) + (1 - rho) * np.log((1 - rho) / (1 - rh))
        g[j] = beta * (-rho / rh + (1 - rho) / (1 - rh)) / n
    dh = np.empty_like(h)
    for r in range(n):
        dh[r] = g
    return beta * total, dh


def kl_sparsity(h, rho, beta):
    """``P = beta * sum_j KL(rho || rho_hat_j)`` and dh: (N, n_h)."""
    from ..functional import SPARSITY_EPS
    return _kl_sparsity(np.ascontiguousarray(h), float(rho), float(beta), SPARSITY_EPS)


@jit
def _reparameterize_kl(mu, logvar, eps, n):
    dt = mu.dtype.type
    half, one = dt(0.5), dt(1)
    z, sigma = np.empty_like(mu), np.empty_like(mu)
    total = 0.0
    for i in range(mu.size):
        s = np.exp(half * logvar[i])
        sigma[i] = s
        z[i] = mu[i] + s * eps[i]
        total += s * s + mu[i] * mu[i] - one - logvar[i]
    return z, 0.5 * total / n, sigma


def reparameterize_kl(mu, logvar, eps):
    """``z = mu + exp(logvar / 2) eps`` and the mean KL to N(0, I) in one
    pass; returns (z, KL, (mu, eps, sigma)). mu, logvar, eps: (N, latent)."""
    shape = np.shape(mu)
    z, kl, sigma = _reparameterize_kl(_flat(mu), _flat(logvar), _flat(eps), shape[0])
    return z.reshape(shape), kl, (mu, eps, sigma.reshape(shape))


@jit
def _reparameterize_kl_backward(dz, mu, eps, sigma, b):
    dt = mu.dtype.type
    half, one, b_, hb = dt(0.5), dt(1), dt(b), dt(0.5 * b)
    dmu, dlogvar = np.empty_like(mu), np.empty_like(mu)
    for i in range(mu.size):
        dmu[i] = dz[i] + b_ * mu[i]
        dlogvar[i] = half * dz[i] * eps[i] * sigma[i] + hb * (sigma[i] * sigma[i] - one)
    return dmu, dlogvar


def reparameterize_kl_backward(dz, cache, beta):
    """dmu = dz + beta mu / N, dlogvar = dz eps sigma / 2 + beta (sigma^2 - 1) / (2 N)."""
    mu, eps, sigma = cache
    shape = np.shape(mu)
    dmu, dlogvar = _reparameterize_kl_backward(
        _flat(dz), _flat(mu), _flat(eps), _flat(sigma), float(beta) / shape[0])
    return dmu.reshape(shape), dlogvar.reshape(shape)


@jit
def _gaussian_corrupt(x, e, sigma):
    out = np.empty_like(x)
    s = x.dtype.type(sigma)
    for i in range(x.size):
        out[i] = x[i] + s * e[i]
    return out


def gaussian_corrupt(x, e, sigma):
    """``x + sigma * e`` in one pass; x, e: (batch, d) -> x's shape and dtype."""
    e = np.asarray(e, dtype=x.dtype)          # float64 draws: rounded once
    return _gaussian_corrupt(_flat(x), _flat(e), float(sigma)).reshape(x.shape)


@jit
def _masking_corrupt(x, u, fraction):
    zero = x.dtype.type(0)
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = x[i] if u[i] >= fraction else zero
    return out


def masking_corrupt(x, u, fraction):
    """``x * [u >= fraction]`` in one pass; x, u: (batch, d)."""
    return _masking_corrupt(_flat(x), _flat(u), float(fraction)).reshape(x.shape)
