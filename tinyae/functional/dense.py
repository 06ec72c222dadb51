"""Dense ops: the affine map, activations, losses, penalties and the fused
ops of the MLP training step (conventions in ``tinyae.functional``)."""


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


def linear_backward(dout, cache, need_dx=True, dW_out=None):
    """Backward pass of ``out = x W + b``.

    With ``out[n, j] = sum_i x[n, i] W[i, j] + b[j]``:

        dx = dout W^T        (batch, n_in), None if not ``need_dx``
        dW = x^T dout        (n_in, n_out)
        db = sum_n dout[n]   (n_out,)

    ``need_dx=False`` skips the product nobody reads when x is the data.
    ``dW_out``: an (n_in, n_out) array of W's dtype to write dW into (its
    old content is overwritten, not added to), which is then the dW
    returned; None: a new array.
    """
    x, W = cache
    dx = dout @ W.T if need_dx else None
    dW = np.matmul(x.T, dout, out=dW_out)
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


# --------------------------------------------------------------------------
# Fused ops: the training step's hot path. Each is a composition of the ops
# above (or of a formula written out in another module), written as one
# function so that ``tinyae.kernels`` can compute it in fewer passes over
# memory. The NumPy versions here are the readable definition.
# --------------------------------------------------------------------------

def _sigmoid_slope(h):
    """h = s(a): act'(a) = d(h) = h (1 - h), d'(h) = 1 - 2 h."""
    return h * (1 - h), 1 - 2 * h


def _tanh_slope(h):
    """h = tanh(a): act'(a) = d(h) = 1 - h^2, d'(h) = -2 h."""
    return 1 - h * h, -2 * h


#: The one table of activations: name -> (forward, backward, slope). The
#: layers (``tinyae.layers.ACTIVATIONS``), the fused ops below and the Numba
#: twins are built from its names. ``slope`` gives act'(a) as a function of
#: the output h = act(a) and its h-derivative (what the contractive penalty
#: needs); None where act' is not a function of h alone.
ACTIVATIONS = {
    "sigmoid": (sigmoid_forward, sigmoid_backward, _sigmoid_slope),
    "tanh": (tanh_forward, tanh_backward, _tanh_slope),
    "relu": (relu_forward, relu_backward, None),
    "softplus": (softplus_forward, softplus_backward, None),
    "identity": (identity_forward, identity_backward, None),
}

#: Activations whose slope is a function of their output (sigmoid, tanh).
SLOPE_ACTIVATIONS = tuple(k for k, (_, _, slope) in ACTIVATIONS.items() if slope)


def linear_act_forward(x, W, b, activation):
    """Affine map then activation: ``out = act(x W + b)``.

    x: (batch, n_in), W: (n_in, n_out), b: (n_out,) -> out: (batch, n_out);
    ``activation`` is a key of ``ACTIVATIONS``. cache =
    ``((x, W), act_cache, activation)``: the Linear's cache and the
    activation's, so the pair can also be run as two separate layers.
    """
    a, lin_cache = linear_forward(x, W, b)
    out, act_cache = ACTIVATIONS[activation][0](a)
    return out, (lin_cache, act_cache, activation)


def linear_act_backward(dout, cache, need_dx=True, dW_out=None):
    """Backward pass of ``out = act(a)``, ``a = x W + b``.

        da = dout * act'(a)            (batch, n_out)
        dx = da W^T                    (batch, n_in), None if not need_dx
        dW = x^T da                    (n_in, n_out)
        db = sum_n da[n]               (n_out,)

    ``need_dx=False`` skips the one matrix product nobody reads when x is
    the data (the first layer of an encoder): a third of that layer's
    backward FLOPs. ``dW_out``: as in ``linear_backward``.
    """
    lin_cache, act_cache, activation = cache
    da = ACTIVATIONS[activation][1](dout, act_cache)
    x, W = lin_cache
    dW = np.matmul(x.T, da, out=dW_out)
    db = da.sum(axis=0)
    dx = da @ W.T if need_dx else None
    return dx, dW, db


def adam_update(p, g, m, v, lr, b1, b2, eps, t):
    """One Adam step (Kingma and Ba, 2015), **in place** on p, m and v.

    p, g, m, v: one shape; t >= 1 the step count (for the bias correction).

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        p <- p - lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)

    Returns None (like ``+=``: the arrays change, their identity does not).
    """
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * (g * g)
    step = lr / (1 - b1 ** t)
    denom = np.sqrt(v / (1 - b2 ** t))
    denom += eps
    p -= step * m / denom


def contractive_penalty(h, W, activation, lam):
    """Contractive penalty of a one-layer encoder h = act(x W + b).

    h: (N, n_h), W: (n_in, n_h); with d = act'(a) (a function of h, see
    ``ACTIVATIONS``) and c_j = sum_i W_ij^2:

        P      = lam / N * sum_{n,j} d_nj^2 c_j      = lam * mean_n ||J_n||_F^2
        dP/dh  = lam / N * 2 d_nj d'(h_nj) c_j       (N, n_h)
        dP/dW  = lam / N * 2 W_ij sum_n d_nj^2       (n_in, n_h), h held fixed

    (``tinyae.penalties.contractive_from_code`` derives it and explains the
    second path of W's gradient, through h.) Returns ``(P, dh, dW)``.
    """
    n = h.shape[0]
    d, dd = ACTIVATIONS[activation][2](h)
    c = np.sum(W * W, axis=0)                          # (n_h,)
    d2 = d * d
    value = lam * float(np.sum(d2 @ c)) / n
    dh = (2.0 * lam / n) * (d * dd) * c
    dW = (2.0 * lam / n) * W * np.sum(d2, axis=0)
    return value, dh.astype(h.dtype, copy=False), dW.astype(W.dtype, copy=False)


SPARSITY_EPS = 1e-7


def kl_sparsity(h, rho, beta):
    """KL sparsity penalty ``P = beta * sum_j KL(rho || rho_hat_j)``.

    h: (N, n_h) in (0, 1); rho_hat_j = (1/N) sum_n h_nj, clipped to
    [SPARSITY_EPS, 1 - SPARSITY_EPS]:

        KL(rho || r) = rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r))
        dP/dh_nj     = beta * (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j)) / N

    A batch statistic: P has no 1/N of its own (``tinyae.penalties.kl``).
    Returns ``(P, dh)``, dh: (N, n_h) in h's dtype.
    """
    n = h.shape[0]
    rho_hat = np.clip(h.mean(axis=0, dtype=np.float64), SPARSITY_EPS, 1 - SPARSITY_EPS)
    value = beta * float(np.sum(rho * np.log(rho / rho_hat)
                                + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))
    drho_hat = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))      # (n_h,)
    dh = np.broadcast_to(drho_hat / n, h.shape).astype(h.dtype)
    return value, dh


def reparameterize(mu, logvar, eps):
    """The reparameterisation trick: one sample of q = N(mu, diag exp(logvar))
    as a differentiable function of its parameters and parameter-free noise,

        z = mu + sigma * eps,   sigma = exp(logvar / 2),   eps ~ N(0, I).

    mu, logvar, eps: (..., d) -> ``(z, sigma)``, each (..., d). ``logvar`` is
    a log *variance*: sampling with exp(logvar) as the standard deviation
    would pass a finite-difference check (forward and backward would agree
    with each other) and still sample the wrong distribution.

    Backward: dz/dmu = 1 and dz/dlogvar = eps * sigma / 2 (since
    d sigma / d logvar = sigma / 2), so ``dmu = dz``,
    ``dlogvar = dz * eps * sigma / 2``.
    """
    sigma = np.exp(0.5 * logvar)
    return mu + sigma * eps, sigma


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example, in closed form:

        KL = 0.5 sum_d (exp(logvar_d) + mu_d^2 - 1 - logvar_d),
        dKL/dmu = mu,   dKL/dlogvar = 0.5 (exp(logvar) - 1).

    mu, logvar: (..., d) -> (...,). Per unit, v - log v - 1 (v the variance)
    is smallest at v = 1: the KL pulls every posterior towards unit variance.
    """
    return 0.5 * np.sum(np.exp(logvar) + mu * mu - 1.0 - logvar, axis=-1)


def reparameterize_kl(mu, logvar, eps):
    """One reparameterised sample and the mean KL to N(0, I), together:
    ``z, sigma = reparameterize(mu, logvar, eps)`` and
    ``KL = (1/N) sum_n gaussian_kl(mu_n, logvar_n)`` (a float, summed in
    float64, reusing sigma^2 = exp(logvar)). The VAE's training step.

    mu, logvar, eps: (N, d). Returns ``(z, KL, cache)``, cache = (mu, eps, sigma).
    """
    n = mu.shape[0]
    z, sigma = reparameterize(mu, logvar, eps)
    # gaussian_kl's formula with exp(logvar) = sigma^2 already at hand, every
    # element added in float64 (as the twin does)
    kl = 0.5 * float(np.sum(sigma * sigma + mu * mu - 1.0 - logvar, dtype=np.float64)) / n
    return z, kl, (mu, eps, sigma)


def reparameterize_kl_backward(dz, cache, beta):
    """Gradients of ``L = f(z) + beta * KL`` given dz = df/dz, from the
    derivatives of ``reparameterize`` and ``gaussian_kl`` (the KL is a mean
    over the batch, hence the 1/N):

        dmu     = dz + beta * mu / N
        dlogvar = dz * eps * sigma / 2 + beta * (sigma^2 - 1) / (2 N)

    dz: (N, d) -> (dmu, dlogvar).
    """
    mu, eps, sigma = cache
    b = beta / mu.shape[0]
    dmu = dz + b * mu
    dlogvar = 0.5 * dz * eps * sigma + (0.5 * b) * (sigma * sigma - 1.0)
    return dmu, dlogvar


def gaussian_corrupt(x, e, sigma):
    """Additive Gaussian corruption from standard-normal draws e:
    ``x_tilde = x + sigma * e``. x, e: (batch, d) -> (batch, d), x's dtype."""
    return (x + sigma * e).astype(x.dtype, copy=False)


def masking_corrupt(x, u, fraction):
    """Masking corruption from uniform draws u in [0, 1): drop (set to 0)
    where u < fraction, ``x_tilde = x * [u >= fraction]``. x, u: (batch, d)."""
    return x * (u >= fraction).astype(x.dtype)
