"""Numba twins of the ops in ``tinyae.functional``.

Every name in ``backend.OP_NAMES`` is defined here with the same signature,
the same return structure and the same cache as its twin in ``functional``
(the readable reference, where each formula is derived). The numbers agree
to 1e-12 relative in float64 and ~1e-5 in float32 (``tests/test_kernels.py``).

How a twin is built:

* the public function is a thin Python wrapper: it makes the inputs
  C-contiguous (a copy only for views such as ``x.T`` or ``x[:, ::2]``),
  calls an ``@jit`` core and assembles the return tuple (``None`` caches,
  ``(out, out)``). All arithmetic happens inside the cores;
* element-wise cores see flat 1-D arrays, so one compiled version per dtype
  serves every shape; the result is reshaped back to the input's shape;
* the matrix products of ``linear_forward`` / ``linear_backward`` call BLAS
  through ``np.dot`` inside Numba (gemm from SciPy's BLAS, not NumPy's, so
  float64 results may differ from ``x @ W`` in the last bits); bias add,
  bias gradient, activations and losses are explicit loops, fused where
  natural (BCE value and gradient share one ``exp``);
* identity has nothing to compute: its twin is the reference function;
* dtype is preserved: float32 in, float32 out. Numba, like C, promotes
  ``float32 op 1.0`` and ``float32 / n`` (n an int) to float64, so constants
  are made in the input's dtype (``x.dtype.type(1)``) and every element is
  computed in that dtype, as NumPy does; only the loss sums are accumulated
  in float64 and returned as a Python float (sum over features, mean over
  batch, the division by N at the end).

Compilation options live in ``_JIT`` below and nowhere else: cached on disk,
no fastmath (it lets LLVM reorder arithmetic and assume no NaN or inf, so
the twins would drift from the reference), ``nogil``, NumPy's error model
(1/0 -> inf, no exception). ``parallel`` is off for now. A first measurement
(2 shared cores, a 128 x 784 batch, ``prange`` over the flat loop) gave
1.2-2x on sigmoid and tanh, but it was not a benchmark of training, the cores
are shared with BLAS threads and other processes, and ``prange`` would
change the summation order of the losses; switch it on here, and only here,
with a benchmark in the repository that shows it pays.

Speed note: ``tanh`` and ``log1p`` are scalar libm calls inside the loops
(no SIMD), so ``tanh_forward``, ``softplus_forward`` and the BCE loss are
slower than NumPy's vectorised ufuncs; the exp-only kernels (sigmoid, the
Gaussian NLL) are faster.
"""

import numba
import numpy as np

# Identity has nothing to compute, hence nothing to compile: its twin is the
# reference itself (out = x, the same object; cache None; dx = dout).
from .functional import LOG_2PI, identity_backward, identity_forward  # noqa: F401

_JIT = dict(cache=True, fastmath=False, nogil=True, error_model="numpy")
jit = numba.njit(**_JIT)


def _flat(x):
    """x: any shape -> (x.size,) C-contiguous view (a copy only if needed)."""
    return np.ascontiguousarray(x).reshape(-1)


def _map(core, x, *more):
    """Apply an element-wise ``core`` to flat ``x, *more``; out shaped like x."""
    return core(_flat(x), *[_flat(a) for a in more]).reshape(np.shape(x))


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


# --------------------------------------------------------------------------
# Affine map
# --------------------------------------------------------------------------

@jit
def _linear_forward(x, W, b):
    """x: (batch, n_in), W: (n_in, n_out), b: (n_out,) -> x W + b."""
    out = np.dot(x, W)  # BLAS gemm
    for n in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[n, j] += b[j]
    return out


@jit
def _linear_backward(dout, x, W):
    """dx = dout W^T, dW = x^T dout (BLAS), db = sum_n dout[n] (a loop)."""
    dx = np.dot(dout, W.T)
    dW = np.dot(x.T, dout)
    db = np.zeros(dout.shape[1], dout.dtype)
    for n in range(dout.shape[0]):  # row by row, as NumPy's sum(axis=0)
        for j in range(dout.shape[1]):
            db[j] += dout[n, j]
    return dx, dW, db


def linear_forward(x, W, b):
    """Affine map ``out = x W + b`` (twin of ``functional.linear_forward``).

    x: (batch, n_in), W: (n_in, n_out), b: (n_out,) -> out: (batch, n_out).
    cache = (x, W), C-contiguous.
    """
    x, W = np.ascontiguousarray(x), np.ascontiguousarray(W)
    return _linear_forward(x, W, _flat(b)), (x, W)


def linear_backward(dout, cache):
    """``dx = dout W^T, dW = x^T dout, db = sum_n dout[n]``.

    dout: (batch, n_out) -> dx: (batch, n_in), dW: (n_in, n_out), db: (n_out,).
    """
    x, W = cache
    return _linear_backward(np.ascontiguousarray(dout),
                            np.ascontiguousarray(x), np.ascontiguousarray(W))


# --------------------------------------------------------------------------
# Activations: element-wise on flat arrays (x, out, dout, dx share a shape).
# --------------------------------------------------------------------------

@jit
def _sigmoid(x):
    """out = s(x) = (x >= 0 ? 1 : e) / (1 + e), e = exp(-|x|)."""
    one = x.dtype.type(1)
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = _sigmoid_e(x[i], np.exp(-abs(x[i])), one)
    return out


@jit
def _sigmoid_backward(dout, out):
    """dx = dout * out * (1 - out)."""
    one = out.dtype.type(1)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = dout[i] * out[i] * (one - out[i])
    return dx


@jit
def _tanh(x):
    """out = tanh(x)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = np.tanh(x[i])
    return out


@jit
def _tanh_backward(dout, out):
    """dx = dout * (1 - out^2)."""
    one = out.dtype.type(1)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = dout[i] * (one - out[i] * out[i])
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
    zero, one = out.dtype.type(0), out.dtype.type(1)
    dx = np.empty_like(dout)
    for i in range(dout.size):
        dx[i] = dout[i] * (one if out[i] > zero else zero)
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
        dx[i] = dout[i] * _sigmoid_e(x[i], np.exp(-abs(x[i])), one)
    return dx


def sigmoid_forward(x):
    """``out = s(x)``, exact on both tails; cache = out."""
    out = _map(_sigmoid, x)
    return out, out


def sigmoid_backward(dout, cache):
    """``dx = dout * out * (1 - out)``; cache = out."""
    return _map(_sigmoid_backward, dout, cache)


def tanh_forward(x):
    """``out = tanh(x)``; cache = out."""
    out = _map(_tanh, x)
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


@jit
def _bce_with_logits(z, t, n):
    """L = (1/n) sum softplus(z) - t z, dz = (s(z) - t) / n; one exp per element."""
    zero, one, nf = z.dtype.type(0), z.dtype.type(1), z.dtype.type(n)
    dz = np.empty_like(z)
    total = 0.0
    for i in range(z.size):
        e = np.exp(-abs(z[i]))
        total += _softplus_e(z[i], e, zero) - t[i] * z[i]
        dz[i] = (_sigmoid_e(z[i], e, one) - t[i]) / nf
    return total / n, dz


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
    loss, dz = _bce_with_logits(_flat(logits), _flat(target), np.shape(logits)[0])
    return loss, dz.reshape(np.shape(logits))


def gaussian_nll_loss(mu, logvar, target):
    """``L = (1/N) sum_{n,d} 0.5 (log 2 pi + logvar + (target - mu)^2 / exp(logvar))``.

    mu, logvar, target: (batch, d). Returns (L, dmu, dlogvar), mu's dtype.
    """
    shape = np.shape(mu)
    loss, dmu, dlogvar = _gaussian_nll(_flat(mu), _flat(logvar), _flat(target), shape[0])
    return loss, dmu.reshape(shape), dlogvar.reshape(shape)
