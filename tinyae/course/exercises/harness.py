"""Small training runs built from ops, so one op can be swapped for a
student's: the integration part of an exercise check.

Each run takes ``ops``, a dict from op name to function with the signature
of ``tinyae.functional`` (``linear_forward``, ``relu_backward``,
``bce_with_logits_loss``, ``adam_update``...). Missing names fall back to
the library's reference, so ``train_autoencoder({"linear_backward": mine})``
trains with every op from the library except the one the student wrote.
The runs are written out op by op (rather than through ``tinyae.layers``,
whose fused ops would bypass a swapped element-wise op) and are fully
deterministic: the same seed gives the same minibatches, initial weights
and noise for the student's run and for the reference run.

Data: the first 512 MNIST test digits, 2x2-average-pooled to 14x14 (196
grey levels in [0, 1]), so a few hundred steps take a fraction of a second.
"""

import functools

import numpy as np

from ... import functional as F
from ...data import load_mnist
from ...layers import init_weight
from ...distributions import log_bernoulli_logits, log_normal, log_standard_normal
from ...models.softmax import softmax_cross_entropy

#: Every function of the NumPy reference, by name (and the classifier's loss,
#: which lives with the softmax classifier).
REFERENCE_OPS = {name: getattr(F, name) for name in dir(F)
                 if not name.startswith("_") and callable(getattr(F, name))}
REFERENCE_OPS["softmax_cross_entropy"] = softmax_cross_entropy

N_DIGITS = 512
BATCH = 32
LR = 3e-3
ADAM = (0.9, 0.999, 1e-8)
#: The loss a run is judged by: the mean of its last TAIL steps.
TAIL = 25
#: Relative tolerance on that loss. A correct op computed in another order
#: lands within 1e-6 of the reference; a linear layer whose bias never
#: trains lands 0.8% above it, a VAE sampling with exp(logvar) as the
#: standard deviation 3% away.
TOL = 0.005


@functools.lru_cache(maxsize=1)
def digits():
    """(512, 196) float64: MNIST test digits 0..511 pooled 2x2 to 14x14."""
    x = load_mnist("test", dtype=np.float64)[0][:N_DIGITS]
    x = x.reshape(N_DIGITS, 14, 2, 14, 2).mean(axis=(2, 4))     # 2x2 blocks averaged
    return x.reshape(N_DIGITS, 196)


@functools.lru_cache(maxsize=1)
def digit_labels():
    """(512,) int64: the labels of ``digits()``."""
    return load_mnist("test", dtype=np.float64)[1][:N_DIGITS].astype(np.int64)


def _ops(ops):
    merged = dict(REFERENCE_OPS)
    merged.update(ops or {})
    return merged


def _adam_step(ops, params, grads, state, t):
    for name, p in params.items():
        m, v = state.setdefault(name, (np.zeros_like(p), np.zeros_like(p)))
        ops["adam_update"](p, grads[name], m, v, LR, *ADAM, t)


def _batches(rng, steps):
    for _ in range(steps):
        yield rng.choice(N_DIGITS, size=BATCH, replace=False)


def train_autoencoder(ops=None, *, activation="sigmoid", corruption=None, penalty=None,
                      steps=300, hidden=32, seed=0):
    """Train a 196-hidden-196 autoencoder (BCE on logits, Adam) for ``steps``
    minibatches of 32 and return the loss of every step, (steps,).

    activation: the hidden units ("sigmoid", "tanh" or "relu").
    corruption: None, ("masking", fraction) or ("gaussian", sigma): the
        encoder sees the corrupted digit, the loss compares with the clean one.
    penalty: None, ("contractive", lam) or ("kl", rho, beta) on the hidden
        code; the loss recorded is reconstruction + penalty.
    """
    ops = _ops(ops)
    x = digits()
    rng = np.random.default_rng(seed)
    n = x.shape[1]
    params = {"W1": init_weight("glorot", (n, hidden), n, hidden, rng, np.float64),
              "b1": np.zeros(hidden),
              "W2": init_weight("glorot", (hidden, n), hidden, n, rng, np.float64),
              "b2": np.zeros(n)}
    act_fwd, act_bwd = ops[f"{activation}_forward"], ops[f"{activation}_backward"]
    state, losses = {}, []
    for t, idx in enumerate(_batches(rng, steps), start=1):
        xb = x[idx]                                              # (32, 196)
        xin = xb
        if corruption is not None and corruption[0] == "masking":
            xin = ops["masking_corrupt"](xb, rng.random(xb.shape), corruption[1])
        elif corruption is not None:
            xin = ops["gaussian_corrupt"](xb, rng.standard_normal(xb.shape), corruption[1])
        a, c1 = ops["linear_forward"](xin, params["W1"], params["b1"])
        h, ca = act_fwd(a)                                       # (32, hidden)
        out, c2 = ops["linear_forward"](h, params["W2"], params["b2"])
        loss, dout = ops["bce_with_logits_loss"](out, xb)
        dh_pen, dW_pen = 0.0, 0.0
        if penalty is not None and penalty[0] == "contractive":
            value, dh_pen, dW_pen = ops["contractive_penalty"](h, params["W1"], activation,
                                                              penalty[1])
            loss += value
        elif penalty is not None:
            value, dh_pen = ops["kl_sparsity"](h, penalty[1], penalty[2])
            loss += value
        dh, dW2, db2 = ops["linear_backward"](dout, c2)
        da = act_bwd(dh + dh_pen, ca)
        _, dW1, db1 = ops["linear_backward"](da, c1)
        grads = {"W1": dW1 + dW_pen, "b1": db1, "W2": dW2, "b2": db2}
        _adam_step(ops, params, grads, state, t)
        losses.append(float(loss))
    return np.array(losses)


def train_conv_autoencoder(ops=None, *, steps=150, channels=4, seed=0):
    """Train a small convolutional autoencoder for ``steps`` minibatches of
    32 and return the loss of every step, (steps,):

        x (32, 1, 14, 14) -> conv 3x3, stride 2, padding 1 -> (32, C, 7, 7)
        -> ReLU -> max-pool 2x2, stride 1 (overlapping windows) -> (32, C, 6, 6)
        -> flatten -> linear -> 196 logits, BCE against x.

    ``ops["conv2d_forward"]`` is called as (x, K, b, stride, padding) and
    ``ops["max_pool2d_forward"]`` as (x, kernel, stride).
    """
    ops = _ops(ops)
    x = digits().reshape(N_DIGITS, 1, 14, 14)
    rng = np.random.default_rng(seed)
    n_flat = channels * 36
    params = {"K": init_weight("glorot", (channels, 1, 3, 3), 9, 9 * channels, rng,
                               np.float64),
              "bK": np.zeros(channels),
              "W": init_weight("glorot", (n_flat, 196), n_flat, 196, rng, np.float64),
              "b": np.zeros(196)}
    state, losses = {}, []
    for t, idx in enumerate(_batches(rng, steps), start=1):
        xb = x[idx]                                                   # (32, 1, 14, 14)
        a, cc = ops["conv2d_forward"](xb, params["K"], params["bK"], 2, 1)
        h, cr = ops["relu_forward"](a)                                # (32, C, 7, 7)
        pooled, cp = ops["max_pool2d_forward"](h, 2, 1)               # (32, C, 6, 6)
        out, cl = ops["linear_forward"](pooled.reshape(BATCH, n_flat), params["W"],
                                        params["b"])
        loss, dout = ops["bce_with_logits_loss"](out, xb.reshape(BATCH, 196))
        dflat, dW, db = ops["linear_backward"](dout, cl)
        dh = ops["max_pool2d_backward"](dflat.reshape(pooled.shape), cp)
        _, dK, dbK = ops["conv2d_backward"](ops["relu_backward"](dh, cr), cc)
        _adam_step(ops, params, {"K": dK, "bK": dbK, "W": dW, "b": db}, state, t)
        losses.append(float(loss))
    return np.array(losses)


def train_classifier(ops=None, *, steps=200, seed=0):
    """Train softmax regression 196 -> 10 (the read-out of lesson 08) on the
    digits' labels with ``ops["softmax_cross_entropy"]`` and Adam, for
    ``steps`` minibatches of 32; return the cross-entropy of every step."""
    ops = _ops(ops)
    x, y = digits(), digit_labels()
    rng = np.random.default_rng(seed)
    params = {"W": init_weight("glorot", (x.shape[1], 10), x.shape[1], 10, rng, np.float64),
              "b": np.zeros(10)}
    state, losses = {}, []
    for t, idx in enumerate(_batches(rng, steps), start=1):
        logits, cache = ops["linear_forward"](x[idx], params["W"], params["b"])
        loss, dlogits = ops["softmax_cross_entropy"](logits, y[idx])
        _, dW, db = ops["linear_backward"](dlogits, cache)
        _adam_step(ops, params, {"W": dW, "b": db}, state, t)
        losses.append(float(loss))
    return np.array(losses)


def _init_vae(rng, n, hidden, latent, n_cond=0):
    """Glorot weights and zero biases of the VAE; with ``n_cond`` the
    encoder reads (x, c) and the decoder (z, c)."""
    shapes = {"W1": (n + n_cond, hidden), "Wmu": (hidden, latent), "Wlv": (hidden, latent),
              "W3": (latent + n_cond, hidden), "W4": (hidden, n)}
    params = {}
    for name, (a, b) in shapes.items():
        params[name] = init_weight("glorot", (a, b), a, b, rng, np.float64)
        params["b" + name[1:]] = np.zeros(b)
    return params


def _vae_encode(ops, params, x):
    a1, c1 = ops["linear_forward"](x, params["W1"], params["b1"])
    h1, ch = ops["relu_forward"](a1)
    mu, cmu = ops["linear_forward"](h1, params["Wmu"], params["bmu"])
    logvar, clv = ops["linear_forward"](h1, params["Wlv"], params["blv"])
    return mu, logvar, (c1, ch, cmu, clv)


def _vae_decode(ops, params, z):
    a3, c3 = ops["linear_forward"](z, params["W3"], params["b3"])
    h3, ch3 = ops["relu_forward"](a3)
    out, c4 = ops["linear_forward"](h3, params["W4"], params["b4"])
    return out, (c3, ch3, c4)


def _vae_decoder_backward(ops, dout, cache):
    """dout = dL/dlogits -> (dL/d(decoder input), the decoder's gradients)."""
    c3, ch3, c4 = cache
    dh3, dW4, db4 = ops["linear_backward"](dout, c4)
    din, dW3, db3 = ops["linear_backward"](ops["relu_backward"](dh3, ch3), c3)
    return din, {"W3": dW3, "b3": db3, "W4": dW4, "b4": db4}


def _vae_encoder_backward(ops, dmu, dlogvar, cache):
    """(dL/dmu, dL/dlogvar) -> the encoder's gradients."""
    c1, ch, cmu, clv = cache
    dh1a, dWmu, dbmu = ops["linear_backward"](dmu, cmu)
    dh1b, dWlv, dblv = ops["linear_backward"](dlogvar, clv)
    _, dW1, db1 = ops["linear_backward"](ops["relu_backward"](dh1a + dh1b, ch), c1)
    return {"W1": dW1, "b1": db1, "Wmu": dWmu, "bmu": dbmu, "Wlv": dWlv, "blv": dblv}


def train_vae(ops=None, *, steps=300, hidden=64, latent=4, beta=1.0, seed=0,
              return_params=False):
    """Train a 196-64-(4+4)-64-196 VAE (ReLU, Bernoulli decoder, Adam) with
    ``ops["reparameterize_kl"]`` and its backward, for ``steps`` minibatches
    of 32. Returns the loss (negative ELBO, nats per digit) of every step,
    and the parameters too if ``return_params``."""
    ops = _ops(ops)
    x = digits()
    rng = np.random.default_rng(seed)
    params = _init_vae(rng, x.shape[1], hidden, latent)
    state, losses = {}, []
    for t, idx in enumerate(_batches(rng, steps), start=1):
        xb = x[idx]
        mu, logvar, enc_cache = _vae_encode(ops, params, xb)
        eps = rng.standard_normal(mu.shape)
        z, kl, rep_cache = ops["reparameterize_kl"](mu, logvar, eps)
        out, dec_cache = _vae_decode(ops, params, z)
        recon, dout = ops["bce_with_logits_loss"](out, xb)
        dz, grads = _vae_decoder_backward(ops, dout, dec_cache)
        dmu, dlogvar = ops["reparameterize_kl_backward"](dz, rep_cache, beta)
        grads.update(_vae_encoder_backward(ops, dmu, dlogvar, enc_cache))
        _adam_step(ops, params, grads, state, t)
        losses.append(recon + beta * kl)
    losses = np.array(losses)
    return (losses, params) if return_params else losses


def train_cvae(ops=None, *, steps=300, hidden=64, latent=2, beta=2.0, seed=0,
               return_params=False):
    """Train a conditional beta-VAE (Sohn et al., 2015) on the digits and
    their one-hot labels c: the encoder reads (x, c), 206-64-(2+2), the
    decoder (z, c), 12-64-196 (ReLU, Bernoulli, Adam), for ``steps``
    minibatches of 32, with the loss and its direct gradients from
    ``ops["beta_vae_loss"]``. The decoder's gradient with respect to its
    input (z, c) is cut back to its first ``latent`` columns, dz (c is data),
    and joins the loss's own dmu and dlogvar along the sample path
    z = mu + exp(logvar / 2) eps. Returns the loss of every step, and the
    parameters too if ``return_params``."""
    ops = _ops(ops)
    x, c = digits(), np.eye(10)[digit_labels()]
    rng = np.random.default_rng(seed)
    params = _init_vae(rng, x.shape[1], hidden, latent, n_cond=10)
    state, losses = {}, []
    for t, idx in enumerate(_batches(rng, steps), start=1):
        xb, cb = x[idx], c[idx]
        mu, logvar, enc_cache = _vae_encode(ops, params, np.concatenate([xb, cb], axis=1))
        eps = rng.standard_normal(mu.shape)
        z, sigma = F.reparameterize(mu, logvar, eps)
        out, dec_cache = _vae_decode(ops, params, np.concatenate([z, cb], axis=1))
        loss, dout, dmu, dlogvar = ops["beta_vae_loss"](xb, out, mu, logvar, beta)
        dzc, grads = _vae_decoder_backward(ops, dout, dec_cache)
        dz = dzc[:, :latent]                                     # (32, latent): c is data
        grads.update(_vae_encoder_backward(ops, dmu + dz, dlogvar + 0.5 * dz * eps * sigma,
                                           enc_cache))
        _adam_step(ops, params, grads, state, t)
        losses.append(float(loss))
    losses = np.array(losses)
    return (losses, params) if return_params else losses


def vae_negative_elbo(params, *, samples=5, seed=123, conditional=False):
    """The negative ELBO (nats per digit) of a VAE with ``params`` on all
    512 digits, from the library's ops alone (``samples`` draws of eps per
    digit from a fixed seed): how good the trained model is, whatever ops
    trained it. A VAE trained with a wrong sampler can report a fine
    training loss of its own and still be a poor model of the data.
    ``conditional``: a ``train_cvae`` model, given each digit's one-hot label."""
    x, rng, total = digits(), np.random.default_rng(seed), 0.0
    c = np.eye(10)[digit_labels()] if conditional else np.zeros((x.shape[0], 0))
    ops = REFERENCE_OPS
    for _ in range(samples):
        mu, logvar, _ = _vae_encode(ops, params, np.concatenate([x, c], axis=1))
        z, kl, _ = ops["reparameterize_kl"](mu, logvar, rng.standard_normal(mu.shape))
        out = _vae_decode(ops, params, np.concatenate([z, c], axis=1))[0]
        total += ops["bce_with_logits_loss"](out, x)[0] + kl
    return total / samples


@functools.lru_cache(maxsize=1)
def trained_vae_params(steps=300):
    """Parameters of the reference VAE after ``steps`` steps (cached)."""
    return train_vae(steps=steps, return_params=True)[1]


def vae_log_weights(params, x, k, rng):
    """log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x) for k draws
    z_i ~ q(z | x) per row of x: (k, batch), float64."""
    ops = REFERENCE_OPS
    mu, logvar, _ = _vae_encode(ops, params, x)                  # (batch, latent)
    eps = rng.standard_normal((k,) + mu.shape)                   # (k, batch, latent)
    z = mu + np.exp(0.5 * logvar) * eps
    out = _vae_decode(ops, params, z.reshape(-1, mu.shape[1]))[0]   # (k*batch, 196)
    logp_x = log_bernoulli_logits(np.tile(x, (k, 1)), out).reshape(k, -1)
    return logp_x + log_standard_normal(z) - log_normal(z, mu, logvar)


def _final_loss(kind, run):
    """The number a run is judged by: the mean training loss of the last
    TAIL steps (autoencoder), or the negative ELBO of the trained VAE
    evaluated with the library's ops."""
    if kind == "vae":
        return vae_negative_elbo(run[1])
    if kind == "cvae":
        return vae_negative_elbo(run[1], conditional=True)
    return float(np.mean(run[-TAIL:]))


def _train(kind, ops, settings):
    if kind == "vae":
        return train_vae(ops, return_params=True, **settings)
    if kind == "cvae":
        return train_cvae(ops, return_params=True, **settings)
    if kind == "classifier":
        return train_classifier(ops, **settings)
    if kind == "conv":
        return train_conv_autoencoder(ops, **settings)
    return train_autoencoder(ops, **settings)


@functools.lru_cache(maxsize=None)
def _reference_final(kind, key):
    return _final_loss(kind, _train(kind, None, dict(key)))


def compare_training(kind, student_ops, *, what, tol=TOL, **settings):
    """Train with the student's ops and with the reference's (same seed,
    same minibatches and draws) and compare the final losses.

    kind "autoencoder", "conv" or "classifier": the mean training loss of
    the last TAIL steps; kind "vae" or "cvae": the negative ELBO of the
    trained (conditional) VAE, evaluated with the library's ops. Returns a
    dict: passed, student, reference, tol, text.
    """
    reference = _reference_final(kind, tuple(sorted(settings.items())))
    with np.errstate(all="ignore"):
        run = _train(kind, student_ops, settings)
        losses = run[0] if kind in ("vae", "cvae") else run
        s = _final_loss(kind, run) if np.all(np.isfinite(losses)) else float("nan")
    passed = bool(np.isfinite(s) and abs(s - reference) <= tol * abs(reference))
    detail = ", ".join(f"{k}={v}" for k, v in settings.items())
    if kind in ("vae", "cvae"):
        name = "VAE" if kind == "vae" else "conditional VAE"
        measure = (f"a negative ELBO of {s:.3f} nats per digit (the trained {name} "
                   f"evaluated with the library's ops), the reference {reference:.3f}")
        model = f"the {name}" + (f" ({detail})" if detail and kind == "cvae" else "")
    else:
        measure = (f"{s:.3f}, the reference to {reference:.3f} (mean loss of the last "
                   f"{TAIL} steps)")
        model = {"conv": "the convolutional autoencoder",
                 "classifier": "the softmax classifier"}.get(kind, "the autoencoder") \
            + (f" ({detail})" if detail else "")
    return {"passed": passed, "student": s, "reference": reference, "tol": tol,
            "text": f"{what} trains {model} for {len(losses)} steps to {measure}: "
                    f"{'pass' if passed else 'FAIL'} (tolerance {100 * tol:g}%)"}
