"""The NumPy reference: pure functions, the ground truth a student reads.

Every op comes as a pair. ``*_forward(...) -> (out, cache)`` computes the
value and keeps exactly what the backward pass needs; ``*_backward(dout,
cache)`` turns the upstream gradient ``dout = dL/dout`` into gradients with
respect to the inputs. Losses return their value and their gradient together.

Conventions used everywhere in tinyae:

* a batch is a 2-D array ``x: (batch, features)``; one row is one example;
* ``dname`` is ``dL/dname`` and has the shape of ``name``;
* losses are **summed over the dimensions of an example and averaged over the
  batch**: ``L = (1/N) sum_n sum_d l(pred[n, d], target[n, d])``. A loss of
  13.87 on MNIST is a squared error of 13.87 per image, not per pixel;
* the output dtype follows the input dtype (float32 in, float32 out).

No validation happens here (that is the job of the public classes in
``layers``, ``losses`` and ``models``), and ``tinyae.kernels`` holds a Numba
twin of every function with the same name, signature and cache.
"""

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


# --------------------------------------------------------------------------
# Affine map
# --------------------------------------------------------------------------

def linear_forward(x, W, b):
    """Affine map ``out = x W + b``.

    x: (batch, n_in), W: (n_in, n_out), b: (n_out,) -> out: (batch, n_out).
    cache = (x, W).
    """
    out = x @ W + b
    return out, (x, W)


def linear_backward(dout, cache):
    """Backward pass of ``out = x W + b``.

    With ``out[n, j] = sum_i x[n, i] W[i, j] + b[j]``:

        dx = dout W^T        (batch, n_in)
        dW = x^T dout        (n_in, n_out)
        db = sum_n dout[n]   (n_out,)
    """
    x, W = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


# --------------------------------------------------------------------------
# Activations. All are element-wise: x, out, dout, dx share one shape.
# --------------------------------------------------------------------------

def sigmoid(x):
    """Logistic function ``s(x) = 1 / (1 + exp(-x))`` without overflow.

    With ``e = exp(-|x|)`` (never above 1):
    ``s(x) = 1 / (1 + e)`` for x >= 0 and ``e / (1 + e)`` for x < 0,
    which is exact in relative terms on both tails (s(-1e4) = 0, not NaN).
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def softplus(x):
    """``softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``.

    The second form never overflows: softplus(1e4) = 1e4 exactly.
    """
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid_forward(x):
    """``out = s(x)``; cache = out, since ``s'(x) = s(x) (1 - s(x))``."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """``dx = dout * out * (1 - out)``."""
    out = cache
    return dout * out * (1 - out)


def tanh_forward(x):
    """``out = tanh(x)``; cache = out, since ``tanh'(x) = 1 - tanh(x)^2``."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """``dx = dout * (1 - out^2)``."""
    out = cache
    return dout * (1 - out * out)


def relu_forward(x):
    """``out = max(x, 0)``; cache = out (out > 0 exactly where x > 0)."""
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout, cache):
    """``dx = dout * [x > 0]``; the derivative at the kink x = 0 is taken as 0."""
    out = cache
    return dout * (out > 0)


def softplus_forward(x):
    """``out = softplus(x)``; cache = x, since ``softplus'(x) = s(x)``."""
    return softplus(x), x


def softplus_backward(dout, cache):
    """``dx = dout * s(x)``."""
    x = cache
    return dout * sigmoid(x)


def identity_forward(x):
    """``out = x``; nothing to cache."""
    return x, None


def identity_backward(dout, cache):
    """``dx = dout``."""
    return dout


# --------------------------------------------------------------------------
# Losses: (value, gradient) together. Sum over features, mean over batch.
# --------------------------------------------------------------------------

def mse_loss(pred, target):
    """Squared error ``L = (1/N) sum_{n,d} (pred - target)^2``.

    pred, target: (batch, d). Returns (L, dpred) with
    ``dpred = 2 (pred - target) / N``.
    """
    n = pred.shape[0]
    diff = pred - target
    loss = float(np.sum(diff * diff)) / n
    dpred = diff * (2.0 / n)
    return loss, dpred.astype(pred.dtype, copy=False)


def bce_with_logits_loss(logits, target):
    """Bernoulli negative log-likelihood of ``target`` under ``p = s(logits)``.

    Per element, with z = logit and t = target in [0, 1]:

        l(z, t) = -t log s(z) - (1 - t) log(1 - s(z)) = softplus(z) - t z

    which is finite for any z (no log of 0). L = (1/N) sum_{n,d} l, and

        dL/dz = (s(z) - t) / N.
    """
    n = logits.shape[0]
    loss = float(np.sum(softplus(logits) - target * logits)) / n
    dlogits = (sigmoid(logits) - target) / n
    return loss, dlogits.astype(logits.dtype, copy=False)


def gaussian_nll_loss(mu, logvar, target):
    """Negative log-likelihood of ``target`` under N(mu, exp(logvar)).

    Per element, with v = exp(logvar) and r = target - mu:

        l = 0.5 (log 2 pi + logvar + r^2 / v)

    mu, logvar, target: (batch, d) (a fixed or per-feature variance is
    broadcast to (batch, d) by the caller). L = (1/N) sum_{n,d} l, and

        dL/dmu     = -(r / v) / N
        dL/dlogvar = 0.5 (1 - r^2 / v) / N.
    """
    n = mu.shape[0]
    r = target - mu
    inv_v = np.exp(-logvar)
    r2v = r * r * inv_v
    loss = float(np.sum(0.5 * (LOG_2PI + logvar + r2v))) / n
    dmu = -(r * inv_v) / n
    dlogvar = 0.5 * (1.0 - r2v) / n
    return loss, dmu.astype(mu.dtype, copy=False), dlogvar.astype(mu.dtype, copy=False)
