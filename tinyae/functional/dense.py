"""Dense ops: the affine map, activations, losses, penalties and the fused
ops of the MLP training step (conventions in ``tinyae.functional``)."""


import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


# --------------------------------------------------------------------------
# Affine map
# --------------------------------------------------------------------------

def linear_forward(x, W, b):
    r"""Affine map $\mathrm{out} = x W + b$.

    ``x: (batch, n_in)``, ``W: (n_in, n_out)``, ``b: (n_out,)`` ->
    ``out: (batch, n_out)``; ``cache = (x, W)``.
    """
    out = x @ W + b
    return out, (x, W)


def linear_backward(dout, cache, need_dx=True, dW_out=None):
    r"""Backward pass of $\mathrm{out} = x W + b$.

    Entry by entry the map is

    $$
    \mathrm{out}_{nj} = \sum_i x_{ni} W_{ij} + b_j,
    $$

    so $\partial \mathrm{out}_{nj} / \partial x_{ni} = W_{ij}$,
    $\partial \mathrm{out}_{nj} / \partial W_{ij} = x_{ni}$ and
    $\partial \mathrm{out}_{nj} / \partial b_j = 1$. The chain rule sums over
    every output entry that depends on the variable (over $j$ for $x_{ni}$,
    over $n$ for $W_{ij}$ and $b_j$):

    $$
    \frac{\partial L}{\partial x_{ni}} &= \sum_j \frac{\partial L}{\partial \mathrm{out}_{nj}} W_{ij}, \\
    \frac{\partial L}{\partial W_{ij}} &= \sum_n x_{ni} \frac{\partial L}{\partial \mathrm{out}_{nj}}, \\
    \frac{\partial L}{\partial b_j} &= \sum_n \frac{\partial L}{\partial \mathrm{out}_{nj}},
    $$

    that is, as matrix products:

    * ``dx = dout @ W.T``, ``(batch, n_in)``, None if not ``need_dx``;
    * ``dW = x.T @ dout``, ``(n_in, n_out)``;
    * ``db = dout.sum(axis=0)``, ``(n_out,)``.

    ``need_dx=False`` skips the product nobody reads when ``x`` is the data.
    ``dW_out``: an ``(n_in, n_out)`` array of ``W``'s dtype to write ``dW``
    into (its old content is overwritten, not added to), which is then the
    ``dW`` returned; None: a new array.
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
    r"""Logistic function $s(x) = 1 / (1 + e^{-x})$, without overflow.

    With $u = e^{-|x|}$ (never above 1, so it cannot overflow): for
    $x \ge 0$, $u = e^{-x}$ and $s(x) = 1 / (1 + u)$; for $x < 0$,
    multiplying numerator and denominator by $e^{x} = u$ gives

    $$
    s(x) = \frac{1}{1 + e^{-x}} = \frac{e^{x}}{e^{x} + 1} = \frac{u}{1 + u}.
    $$

    Both forms are exact in relative terms on their tail
    ($s(-10^4) = 0$, not NaN).
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def softplus(x):
    r"""$\operatorname{softplus}(x) = \log(1 + e^x)$, computed as
    $\max(x, 0) + \log(1 + e^{-|x|})$.

    The two agree: for $x < 0$ the second form is the first, and for $x \ge 0$

    $$
    \log(1 + e^x) = \log\big(e^x (e^{-x} + 1)\big) = x + \log(1 + e^{-x}).
    $$

    The second never overflows (``log1p`` of a number in $(0, 1]$):
    $\operatorname{softplus}(10^4) = 10^4$ exactly.
    """
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid_forward(x):
    r"""$\mathrm{out} = s(x)$; ``cache = out``, since the derivative is a
    function of the output:

    $$
    s'(x) = \frac{e^{-x}}{(1 + e^{-x})^2}
          = \frac{1}{1 + e^{-x}} \cdot \frac{e^{-x}}{1 + e^{-x}}
          = s(x) \, \big(1 - s(x)\big).
    $$
    """
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    r"""Backward of ``sigmoid_forward``, with $s'(x) = \mathrm{out} (1 - \mathrm{out})$:

    $$
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \mathrm{out}} \odot \mathrm{out} \odot (1 - \mathrm{out}).
    $$
    """
    out = cache
    return dout * out * (1 - out)


def tanh_forward(x):
    r"""$\mathrm{out} = \tanh(x)$; ``cache = out``, since

    $$
    \tanh'(x) = \frac{1}{\cosh^2 x} = \frac{\cosh^2 x - \sinh^2 x}{\cosh^2 x} = 1 - \tanh^2 x.
    $$
    """
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    r"""Backward of ``tanh_forward``:

    $$
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \mathrm{out}} \odot (1 - \mathrm{out}^2).
    $$
    """
    out = cache
    return dout * (1 - out * out)


def relu_forward(x):
    r"""$\mathrm{out} = \max(x, 0)$; ``cache = out`` ($\mathrm{out} > 0$
    exactly where $x > 0$)."""
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout, cache):
    r"""Backward of ``relu_forward``:

    $$
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \mathrm{out}} \odot [x > 0],
    $$

    with $[\cdot]$ equal to 1 where the condition holds and 0 elsewhere; the
    derivative at the kink $x = 0$ is taken as 0.
    """
    out = cache
    return dout * (out > 0)


def softplus_forward(x):
    r"""$\mathrm{out} = \operatorname{softplus}(x)$; ``cache = x``, since
    $\operatorname{softplus}'(x) = e^x / (1 + e^x) = s(x)$."""
    return softplus(x), x


def softplus_backward(dout, cache):
    r"""Backward of ``softplus_forward``:

    $$
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \mathrm{out}} \odot s(x).
    $$
    """
    x = cache
    return dout * sigmoid(x)


def identity_forward(x):
    r"""$\mathrm{out} = x$; nothing to cache."""
    return x, None


def identity_backward(dout, cache):
    r"""$\partial L / \partial x = \partial L / \partial \mathrm{out}$."""
    return dout


# --------------------------------------------------------------------------
# Top-k: keep the k largest entries of each row (a k-sparse code)
# --------------------------------------------------------------------------

def topk_forward(x, k):
    r"""Keep the $k$ largest entries of each row, zero the rest.

    ``x: (..., d)``, an int $1 \le k \le d$ -> ``out`` of the shape and
    dtype of ``x``; ``cache = mask`` (bool, shape of ``x``), the kept
    entries. Rows are the last axis: with $S(x) \subset \{1, \dots, d\}$ the
    indices of the $k$ largest entries of the row $x$,

    $$
    \mathrm{out}_i = x_i \, [i \in S(x)] .
    $$

    Ties are broken by index: among equal values the lower index is kept
    (a stable sort of $-x$), so the set has exactly $k$ members and both
    backends choose the same one. This is the k-sparse autoencoder's
    activation (Makhzani and Frey, 2013) and, followed by a ReLU, the TopK
    activation of Gao et al. (2024).
    """
    rows = x.reshape(-1, x.shape[-1])                          # (R, d)
    order = np.argsort(-rows, axis=1, kind="stable")[:, :k]     # (R, k): largest first
    mask = np.zeros(rows.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    mask = mask.reshape(x.shape)
    out = np.where(mask, x, 0).astype(x.dtype, copy=False)
    return out, mask


def topk_backward(dout, cache):
    r"""Backward of ``topk_forward``:

    $$
    \frac{\partial L}{\partial x_j} = \frac{\partial L}{\partial \mathrm{out}_j} \, [j \in S(x)] .
    $$

    Derivation. The set $S(x)$ changes only when the $k$-th and the
    $(k+1)$-th largest entries of a row trade places, that is at a tie
    $x_i = x_j$ with $i \in S$, $j \notin S$. Away from ties a small move of
    $x$ keeps $S$ fixed, so on a neighbourhood of $x$ the map is the linear
    $\mathrm{out}_i = x_i [i \in S]$ and

    $$
    \frac{\partial \mathrm{out}_i}{\partial x_j} = [i = j] \, [i \in S(x)] ,
    \qquad
    \frac{\partial L}{\partial x_j} = \sum_i \frac{\partial L}{\partial \mathrm{out}_i}
    \frac{\partial \mathrm{out}_i}{\partial x_j}
    = \frac{\partial L}{\partial \mathrm{out}_j} \, [j \in S(x)] .
    $$

    The gradient is a mask, like ReLU's, but the mask is the top $k$ rather
    than the positive entries: an entry outside $S$ gets no gradient however
    close it came to being chosen (which is why a latent that is never in
    $S$ never learns: a dead latent). At a tie the map is continuous but
    has no derivative (the one-sided slopes of the two tied entries differ);
    the mask of the chosen set is used there. A finite-difference check must
    stay further than its step from every tie.
    """
    mask = cache
    return dout * mask


# --------------------------------------------------------------------------
# Losses: (value, gradient) together. Sum over features, mean over batch.
# --------------------------------------------------------------------------

def mse_loss(pred, target):
    r"""Squared error summed over features, mean over the batch:

    $$
    L &= \frac{1}{N} \sum_{n,d} (\mathrm{pred}_{nd} - \mathrm{target}_{nd})^2, \\
    \frac{\partial L}{\partial \mathrm{pred}_{nd}} &= \frac{2}{N} (\mathrm{pred}_{nd} - \mathrm{target}_{nd}).
    $$

    ``pred, target: (batch, d)``. Returns ``(L, dpred)``, ``dpred`` in
    ``pred``'s dtype.
    """
    n = pred.shape[0]
    diff = pred - target
    loss = float(np.sum(diff * diff)) / n
    dpred = diff * (2.0 / n)
    return loss, dpred.astype(pred.dtype, copy=False)


def bce_with_logits_loss(logits, target):
    r"""Bernoulli negative log-likelihood of ``target`` under
    $p = s(\mathrm{logits})$.

    Per element, with $z$ the logit and $t \in [0, 1]$ the target,

    $$
    \ell(z, t) = -t \log s(z) - (1 - t) \log\big(1 - s(z)\big).
    $$

    Since $\log s(z) = -\log(1 + e^{-z}) = -\operatorname{softplus}(-z)$,
    $1 - s(z) = s(-z)$ and $\operatorname{softplus}(-z) = \operatorname{softplus}(z) - z$,

    $$
    \ell(z, t) = t \operatorname{softplus}(-z) + (1 - t) \operatorname{softplus}(z)
               = \operatorname{softplus}(z) - t z,
    $$

    which is finite for any $z$ (no log of 0). With
    $L = \frac{1}{N} \sum_{n,d} \ell$ and $\operatorname{softplus}' = s$,

    $$
    \frac{\partial L}{\partial z} = \frac{s(z) - t}{N}.
    $$

    ``logits, target: (batch, d)``. Returns ``(L, dlogits)``.
    """
    n = logits.shape[0]
    loss = float(np.sum(softplus(logits) - target * logits)) / n
    dlogits = (sigmoid(logits) - target) / n
    return loss, dlogits.astype(logits.dtype, copy=False)


def gaussian_nll_loss(mu, logvar, target):
    r"""Negative log-likelihood of ``target`` under
    $\mathcal{N}(\mu, e^{\mathrm{logvar}})$.

    Per element, with variance $v = e^{\mathrm{logvar}}$ and residual
    $r = \mathrm{target} - \mu$, minus the log of the normal density is

    $$
    \ell = \tfrac12 \left(\log 2\pi + \mathrm{logvar} + \frac{r^2}{v}\right).
    $$

    ``mu, logvar, target: (batch, d)`` (a fixed or per-feature variance is
    broadcast to ``(batch, d)`` by the caller). $L = \frac{1}{N} \sum_{n,d} \ell$.
    With $\partial r / \partial \mu = -1$ and
    $\partial (r^2 / v) / \partial\,\mathrm{logvar} = \partial (r^2 e^{-\mathrm{logvar}}) / \partial\,\mathrm{logvar} = -r^2 / v$,

    $$
    \frac{\partial L}{\partial \mu} = -\frac{r / v}{N}, \qquad
    \frac{\partial L}{\partial\,\mathrm{logvar}} = \frac{1}{2N} \left(1 - \frac{r^2}{v}\right).
    $$

    Returns ``(L, dmu, dlogvar)``.
    """
    n = mu.shape[0]
    r = target - mu
    inv_v = np.exp(-logvar)
    r2v = r * r * inv_v
    loss = float(np.sum(0.5 * (LOG_2PI + logvar + r2v))) / n
    dmu = -(r * inv_v) / n
    dlogvar = 0.5 * (1.0 - r2v) / n
    return loss, dmu.astype(mu.dtype, copy=False), dlogvar.astype(mu.dtype, copy=False)


def logvar_floor_forward(raw, var_floor):
    r"""A smooth floor under a variance, applied to its log: a network's raw
    log-variance output becomes

    $$
    s = l + \operatorname{softplus}(\mathrm{raw} - l), \qquad l = \log v_\mathrm{floor},
    $$

    so $e^s > v_\mathrm{floor}$ always (softplus is positive), and $s \approx
    \mathrm{raw}$ when $\mathrm{raw} \gg l$ (there
    $\operatorname{softplus}(u) = u + \log(1 + e^{-u}) \approx u$). Without it a
    Gaussian likelihood with a learned variance is unbounded (the stochastic
    decoders of ``tinyae.models.stochastic``). ``raw`` any shape,
    ``var_floor > 0``; ``s`` in ``raw``'s dtype; ``cache`` $= \mathrm{raw} - l$.
    """
    log_floor = raw.dtype.type(np.log(var_floor))
    u = raw - log_floor
    return log_floor + softplus(u), u


def logvar_floor_backward(ds, cache):
    r"""Backward of ``logvar_floor_forward``: with $u = \mathrm{raw} - l$ and
    $\operatorname{softplus}(u) = \log(1 + e^u)$,

    $$
    \frac{\partial s}{\partial\,\mathrm{raw}} = \frac{e^u}{1 + e^u} = s(u)
    \quad \text{(the logistic function)}, \qquad
    \frac{\partial L}{\partial\,\mathrm{raw}} = \frac{\partial L}{\partial s} \odot s(u),
    $$

    in $(0, 1)$: close to 1 far above the floor, close to 0 where the floor
    holds $s$ up (there lowering raw no longer lowers $s$).
    """
    return ds * sigmoid(cache)


# --------------------------------------------------------------------------
# Fused ops: the training step's hot path. Each is a composition of the ops
# above (or of a formula written out in another module), written as one
# function so that ``tinyae.kernels`` can compute it in fewer passes over
# memory. The NumPy versions here are the readable definition.
# --------------------------------------------------------------------------

def _sigmoid_slope(h):
    r"""$h = s(a)$: $\mathrm{act}'(a) = d(h) = h (1 - h)$, $d'(h) = 1 - 2h$."""
    return h * (1 - h), 1 - 2 * h


def _tanh_slope(h):
    r"""$h = \tanh(a)$: $\mathrm{act}'(a) = d(h) = 1 - h^2$, $d'(h) = -2h$."""
    return 1 - h * h, -2 * h


#: The one table of activations: name -> (forward, backward, slope). The
#: layers (``tinyae.layers.ACTIVATIONS``), the fused ops below and the Numba
#: twins are built from its names. ``slope`` gives $\mathrm{act}'(a)$ as a
#: function $d(h)$ of the output $h = \mathrm{act}(a)$, and its derivative
#: $d'(h)$ (what the contractive penalty needs); None where
#: $\mathrm{act}'$ is not a function of $h$ alone.
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
    r"""Affine map then activation: $\mathrm{out} = \mathrm{act}(x W + b)$.

    ``x: (batch, n_in)``, ``W: (n_in, n_out)``, ``b: (n_out,)`` ->
    ``out: (batch, n_out)``; ``activation`` is a key of ``ACTIVATIONS``.
    ``cache = ((x, W), act_cache, activation)``: the Linear's cache and the
    activation's, so the pair can also be run as two separate layers.
    """
    a, lin_cache = linear_forward(x, W, b)
    out, act_cache = ACTIVATIONS[activation][0](a)
    return out, (lin_cache, act_cache, activation)


def linear_act_backward(dout, cache, need_dx=True, dW_out=None):
    r"""Backward pass of $\mathrm{out} = \mathrm{act}(a)$, $a = x W + b$.

    First through the element-wise activation, then through the affine map
    exactly as in ``linear_backward``, with $\partial L / \partial a$ in
    place of $\partial L / \partial \mathrm{out}$:

    $$
    \frac{\partial L}{\partial a} &= \frac{\partial L}{\partial \mathrm{out}} \odot \mathrm{act}'(a), \\
    \frac{\partial L}{\partial x} &= \frac{\partial L}{\partial a} W^\top, \\
    \frac{\partial L}{\partial W} &= x^\top \frac{\partial L}{\partial a}, \\
    \frac{\partial L}{\partial b_j} &= \sum_n \frac{\partial L}{\partial a_{nj}}.
    $$

    Shapes: ``da: (batch, n_out)``, ``dx: (batch, n_in)`` (None if not
    ``need_dx``), ``dW: (n_in, n_out)``, ``db: (n_out,)``.

    ``need_dx=False`` skips the one matrix product nobody reads when ``x`` is
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
    r"""One Adam step (Kingma and Ba, 2015), **in place** on ``p``, ``m`` and ``v``.

    ``p, g, m, v``: one shape; ``t`` $\ge 1$ the step count (for the bias
    correction). With $b_1, b_2$ = ``b1, b2``, $\eta$ = ``lr`` and
    $\epsilon$ = ``eps``, the moment estimates and the step are

    $$
    m \leftarrow b_1 m + (1 - b_1) g, \qquad v \leftarrow b_2 v + (1 - b_2) g^2,
    $$

    $$
    p \leftarrow p - \frac{\eta}{1 - b_1^t} \cdot \frac{m}{\sqrt{v / (1 - b_2^t)} + \epsilon}.
    $$

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
    r"""Contractive penalty of a one-layer encoder $h = \mathrm{act}(x W + b)$.

    ``h: (N, n_h)``, ``W: (n_in, n_h)``. With $d_{nj} = \mathrm{act}'(a_{nj})$
    (a function $d(h_{nj})$ of the output, see ``ACTIVATIONS``) and the
    squared column norms $c_j = \sum_i W_{ij}^2$, the Jacobian of example $n$
    is $J_n = \operatorname{diag}(d_n) W^\top$, so
    $\|J_n\|_F^2 = \sum_{j,i} d_{nj}^2 W_{ij}^2 = \sum_j d_{nj}^2 c_j$ and

    $$
    P = \frac{\lambda}{N} \sum_{n,j} d_{nj}^2 c_j = \lambda \cdot \frac{1}{N} \sum_n \|J_n\|_F^2 .
    $$

    Holding the other argument fixed, $\partial (d_{nj}^2) / \partial h_{nj} = 2 d_{nj} d'(h_{nj})$
    and $\partial c_j / \partial W_{ij} = 2 W_{ij}$, so

    $$
    \frac{\partial P}{\partial h_{nj}} = \frac{\lambda}{N} \, 2 d_{nj} d'(h_{nj}) \, c_j, \qquad
    \frac{\partial P}{\partial W_{ij}} = \frac{\lambda}{N} \, 2 W_{ij} \sum_n d_{nj}^2,
    $$

    of shapes ``(N, n_h)`` and ``(n_in, n_h)``; $\lambda$ is ``lam``.
    (``tinyae.penalties.contractive_from_code`` derives it and explains the
    second path of ``W``'s gradient, through $h$.) Returns ``(P, dh, dW)``.
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
    r"""KL sparsity penalty $P = \beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)$.

    ``h: (N, n_h)`` in $(0, 1)$; $\hat\rho_j = \frac{1}{N} \sum_n h_{nj}$,
    clipped to ``[SPARSITY_EPS, 1 - SPARSITY_EPS]``. The KL divergence
    between Bernoulli distributions of means $\rho$ and $r$ and its
    derivative in $r$ are

    $$
    \mathrm{KL}(\rho \,\|\, r) &= \rho \log\frac{\rho}{r} + (1 - \rho) \log\frac{1 - \rho}{1 - r}, \\
    \frac{\partial\,\mathrm{KL}}{\partial r} &= -\frac{\rho}{r} + \frac{1 - \rho}{1 - r},
    $$

    and $\partial \hat\rho_j / \partial h_{nj} = 1/N$, so by the chain rule

    $$
    \frac{\partial P}{\partial h_{nj}} = \frac{\beta}{N} \left(-\frac{\rho}{\hat\rho_j} + \frac{1 - \rho}{1 - \hat\rho_j}\right).
    $$

    A batch statistic: $P$ has no $1/N$ of its own (``tinyae.penalties.kl``).
    Returns ``(P, dh)``, ``dh: (N, n_h)`` in ``h``'s dtype.
    """
    n = h.shape[0]
    rho_hat = np.clip(h.mean(axis=0, dtype=np.float64), SPARSITY_EPS, 1 - SPARSITY_EPS)
    value = beta * float(np.sum(rho * np.log(rho / rho_hat)
                                + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))
    drho_hat = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))      # (n_h,)
    dh = np.broadcast_to(drho_hat / n, h.shape).astype(h.dtype)
    return value, dh


def reparameterize(mu, logvar, eps):
    r"""The reparameterisation trick: one sample of
    $q = \mathcal{N}(\mu, \operatorname{diag} e^{\mathrm{logvar}})$ as a
    differentiable function of its parameters and parameter-free noise,

    $$
    z = \mu + \sigma \odot \epsilon, \qquad \sigma = e^{\mathrm{logvar}/2}, \qquad \epsilon \sim \mathcal{N}(0, I).
    $$

    ``mu, logvar, eps: (..., d)`` -> ``(z, sigma)``, each ``(..., d)``.
    ``logvar`` is a log *variance*: sampling with $e^{\mathrm{logvar}}$ as
    the standard deviation would pass a finite-difference check (forward and
    backward would agree with each other) and still sample the wrong
    distribution.

    Backward: $\partial z / \partial \mu = 1$, and since
    $\partial \sigma / \partial\,\mathrm{logvar} = \sigma / 2$,
    $\partial z / \partial\,\mathrm{logvar} = \epsilon \sigma / 2$; so

    $$
    \frac{\partial L}{\partial \mu} = \frac{\partial L}{\partial z}, \qquad
    \frac{\partial L}{\partial\,\mathrm{logvar}} = \frac{\partial L}{\partial z} \odot \frac{\epsilon \odot \sigma}{2}.
    $$
    """
    sigma = np.exp(0.5 * logvar)
    return mu + sigma * eps, sigma


def gaussian_kl(mu, logvar):
    r"""$\mathrm{KL}\big(\mathcal{N}(\mu, \operatorname{diag} e^{\mathrm{logvar}}) \,\|\, \mathcal{N}(0, I)\big)$
    per example, in closed form.

    With $v_d = e^{\mathrm{logvar}_d}$, the expectations under
    $q = \mathcal{N}(\mu, \operatorname{diag} v)$ of the two log densities
    are $\mathbb{E}_q[\log q] = -\frac12 \sum_d (\log 2\pi + \mathrm{logvar}_d + 1)$
    (as $\mathbb{E}_q[(z_d - \mu_d)^2] = v_d$) and
    $\mathbb{E}_q[\log \mathcal{N}(z; 0, I)] = -\frac12 \sum_d (\log 2\pi + v_d + \mu_d^2)$
    (as $\mathbb{E}_q[z_d^2] = v_d + \mu_d^2$). Their difference is

    $$
    \mathrm{KL} &= \frac12 \sum_d \left(e^{\mathrm{logvar}_d} + \mu_d^2 - 1 - \mathrm{logvar}_d\right), \\
    \frac{\partial\,\mathrm{KL}}{\partial \mu} &= \mu, \\
    \frac{\partial\,\mathrm{KL}}{\partial\,\mathrm{logvar}} &= \frac12 \left(e^{\mathrm{logvar}} - 1\right).
    $$

    ``mu, logvar: (..., d)`` -> ``(...,)``. Per unit, $v - \log v - 1$ is
    smallest at $v = 1$: the KL pulls every posterior towards unit variance.
    """
    return 0.5 * np.sum(np.exp(logvar) + mu * mu - 1.0 - logvar, axis=-1)


def reparameterize_kl(mu, logvar, eps):
    r"""One reparameterised sample and the mean KL to $\mathcal{N}(0, I)$,
    together: ``z, sigma = reparameterize(mu, logvar, eps)`` and

    $$
    \mathrm{KL} = \frac{1}{N} \sum_n \texttt{gaussian\_kl}(\mu_n, \mathrm{logvar}_n),
    $$

    a float, summed in float64, reusing $\sigma^2 = e^{\mathrm{logvar}}$.
    The VAE's training step.

    ``mu, logvar, eps: (N, d)``. Returns ``(z, KL, cache)``,
    ``cache = (mu, eps, sigma)``.
    """
    n = mu.shape[0]
    z, sigma = reparameterize(mu, logvar, eps)
    # gaussian_kl's formula with exp(logvar) = sigma^2 already at hand, every
    # element added in float64 (as the twin does)
    kl = 0.5 * float(np.sum(sigma * sigma + mu * mu - 1.0 - logvar, dtype=np.float64)) / n
    return z, kl, (mu, eps, sigma)


def reparameterize_kl_backward(dz, cache, beta):
    r"""Gradients of $L = f(z) + \beta \, \mathrm{KL}$ given
    ``dz`` $= \partial f / \partial z$.

    $\mu$ and $\mathrm{logvar}$ reach $L$ along two paths: through the sample
    $z$ (``reparameterize``: $\partial z / \partial \mu = 1$,
    $\partial z / \partial\,\mathrm{logvar} = \epsilon \sigma / 2$) and
    directly through the KL (``gaussian_kl``, divided by $N$ since the KL is
    a mean over the batch, with $e^{\mathrm{logvar}} = \sigma^2$). The two
    add:

    $$
    \frac{\partial L}{\partial \mu} &= \frac{\partial f}{\partial z} + \frac{\beta}{N} \mu, \\
    \frac{\partial L}{\partial\,\mathrm{logvar}} &= \frac{\partial f}{\partial z} \odot \frac{\epsilon \odot \sigma}{2} + \frac{\beta}{2N} (\sigma^2 - 1).
    $$

    ``dz: (N, d)`` -> ``(dmu, dlogvar)``, each ``(N, d)``.
    """
    mu, eps, sigma = cache
    b = beta / mu.shape[0]
    dmu = dz + b * mu
    dlogvar = 0.5 * dz * eps * sigma + (0.5 * b) * (sigma * sigma - 1.0)
    return dmu, dlogvar


def beta_vae_loss(x, logits, mu, logvar, beta):
    r"""The beta-VAE's loss for a Bernoulli decoder, given the decoder's
    logits and the encoder's outputs, with its gradient in each of them:
    the distortion plus $\beta$ times the rate (Higgins et al., 2017),

    $$
    L = \underbrace{\frac1N \sum_{n,d} \ell(\mathrm{logits}_{nd}, x_{nd})}_{D}
      + \beta \underbrace{\frac1N \sum_{n,j} \tfrac12 \left(e^{\mathrm{logvar}_{nj}} + \mu_{nj}^2 - 1 - \mathrm{logvar}_{nj}\right)}_{R},
    $$

    $\ell$ the Bernoulli negative log-likelihood of ``bce_with_logits_loss``
    and $R$ the mean of ``gaussian_kl``. Each term depends on one argument
    only, so each gradient is one term's: $\partial L / \partial\,\mathrm{logits}
    = (s(\mathrm{logits}) - x) / N$, and from the KL's derivatives (see
    ``gaussian_kl``)

    $$
    \frac{\partial L}{\partial \mu} = \frac{\beta}{N} \mu, \qquad
    \frac{\partial L}{\partial\,\mathrm{logvar}} = \frac{\beta}{2N} \left(e^{\mathrm{logvar}} - 1\right).
    $$

    These are the partial derivatives at fixed logits: in a VAE the logits
    depend on $\mu$ and logvar through $z$, and that path
    (``reparameterize``) adds to them. The conditional VAE has the same
    loss; its condition enters through the decoder's input.

    ``x, logits: (N, D)``, ``mu, logvar: (N, d)``. Returns
    ``(L, dlogits, dmu, dlogvar)``, each gradient in its argument's dtype.
    """
    recon, dlogits = bce_with_logits_loss(logits, x)
    n = mu.shape[0]
    v = np.exp(logvar)
    kl = 0.5 * float(np.sum(v + mu * mu - 1.0 - logvar, dtype=np.float64)) / n
    b = beta / n
    dmu = (b * mu).astype(mu.dtype, copy=False)
    dlogvar = ((0.5 * b) * (v - 1.0)).astype(logvar.dtype, copy=False)
    return recon + beta * kl, dlogits, dmu, dlogvar


def gaussian_corrupt(x, e, sigma):
    r"""Additive Gaussian corruption from standard-normal draws $e$:
    $\tilde x = x + \sigma e$. ``x, e: (batch, d)`` -> ``(batch, d)``, in
    ``x``'s dtype."""
    return (x + sigma * e).astype(x.dtype, copy=False)


def masking_corrupt(x, u, fraction):
    r"""Masking corruption from uniform draws $u \in [0, 1)$: drop (set to 0)
    where $u <$ ``fraction``, $\tilde x = x \odot [u \ge \mathrm{fraction}]$.
    ``x, u: (batch, d)``."""
    return x * (u >= fraction).astype(x.dtype)
