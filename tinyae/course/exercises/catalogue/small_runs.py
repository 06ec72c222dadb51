"""The integration runs of exercises 22-24, whose functions the harness's
autoencoders do not use: an autoencoder with a LayerNorm after its hidden
layer, a small diffusion model on the 2-D mixture of lessons 03 and 19, and a
top-k sparse autoencoder. Each run takes a dict of functions (missing names:
the library's) and returns the loss of every step; ``compare`` trains with
the student's functions and with the library's (same seed: the same batches,
weights and draws) and compares the mean of the last ``harness.TAIL`` losses
within ``harness.TOL``, as ``harness.compare_training`` does for its runs.
"""

import functools

import numpy as np

from .... import functional as F
from ....data import mixture_2d
from ....models.diffusion import alpha_bars, diffuse, level_embedding
from .. import harness
from .base import dense_params, judge, tail


def _params(rng, sizes):
    """Glorot weights and zero biases W1, b1, W2, b2, ... for ``sizes``."""
    return dense_params(rng, {str(i): (a, b)
                              for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)})


def _adam(params, grads, state, t):
    for name, p in params.items():
        m, v = state.setdefault(name, (np.zeros_like(p), np.zeros_like(p)))
        F.adam_update(p, grads[name], m, v, harness.LR, *harness.ADAM, t)


def layernorm_autoencoder(f, *, steps=200, hidden=32, seed=0):
    """196 -> hidden -> LayerNorm -> ReLU -> 196 logits (BCE) on the digits,
    with ``f["layernorm_forward"]`` and ``f["layernorm_backward"]``."""
    x, rng = harness.digits(), np.random.default_rng(seed)
    params = _params(rng, (196, hidden, 196))
    params.update(gamma=np.ones(hidden), beta=np.zeros(hidden))
    state, losses = {}, []
    for t in range(1, steps + 1):
        xb = x[rng.choice(len(x), size=harness.BATCH, replace=False)]
        a, c1 = F.linear_forward(xb, params["W1"], params["b1"])
        n, cn = f["layernorm_forward"](a, params["gamma"], params["beta"], 1e-5)
        h, cr = F.relu_forward(n)
        out, c2 = F.linear_forward(h, params["W2"], params["b2"])
        loss, dout = F.bce_with_logits_loss(out, xb)
        dh, dW2, db2 = F.linear_backward(dout, c2)
        dn, dgamma, dbeta = f["layernorm_backward"](F.relu_backward(dh, cr), cn)
        _, dW1, db1 = F.linear_backward(dn, c1)
        _adam(params, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "gamma": dgamma,
                       "beta": dbeta}, state, t)
        losses.append(float(loss))
    return np.array(losses)


def diffusion_2d(f, *, steps=300, hidden=64, levels=20, embed=8, seed=0):
    """A noise predictor [x_t, e(t)] -> hidden (ReLU) -> 2 trained on the
    three-cluster mixture: ``f["diffuse"]`` noises the batch at a random
    level per row, ``f["mse_loss"]`` gives the loss and its gradient."""
    rng = np.random.default_rng(seed)
    data = mixture_2d().sample(4096, rng=rng)
    ab = alpha_bars(levels)
    params = _params(rng, (2 + embed, hidden, 2))
    state, losses = {}, []
    for step in range(1, steps + 1):
        x0 = data[rng.choice(len(data), size=64, replace=False)]
        t = rng.integers(1, levels + 1, size=64)
        eps = rng.standard_normal(x0.shape)
        x_t = f["diffuse"](x0, eps, ab[t - 1])
        inputs = np.concatenate([x_t, level_embedding(t, embed, levels)], axis=1)
        a, c1 = F.linear_forward(inputs, params["W1"], params["b1"])
        h, cr = F.relu_forward(a)
        eps_hat, c2 = F.linear_forward(h, params["W2"], params["b2"])
        loss, deps_hat = f["mse_loss"](eps_hat, eps)
        dh, dW2, db2 = F.linear_backward(deps_hat, c2)
        _, dW1, db1 = F.linear_backward(F.relu_backward(dh, cr), c1, need_dx=False)
        _adam(params, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, state, step)
        losses.append(float(loss))
    return np.array(losses)


def topk_autoencoder(f, *, steps=200, latents=64, k=8, seed=0):
    """196 -> latents -> top-k -> 196 (squared error) on the digits, with
    ``f["topk_forward"]`` and ``f["topk_backward"]``."""
    x, rng = harness.digits(), np.random.default_rng(seed)
    params = _params(rng, (196, latents, 196))
    state, losses = {}, []
    for t in range(1, steps + 1):
        xb = x[rng.choice(len(x), size=harness.BATCH, replace=False)]
        a, c1 = F.linear_forward(xb, params["W1"], params["b1"])
        h, ck = f["topk_forward"](a, k)
        out, c2 = F.linear_forward(h, params["W2"], params["b2"])
        loss, dout = F.mse_loss(out, xb)
        dh, dW2, db2 = F.linear_backward(dout, c2)
        _, dW1, db1 = F.linear_backward(f["topk_backward"](dh, ck), c1, need_dx=False)
        _adam(params, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, state, t)
        losses.append(float(loss))
    return np.array(losses)


#: The library's functions for the runs (a student's replace some of them).
REFERENCE = {"layernorm_forward": F.layernorm_forward,
             "layernorm_backward": F.layernorm_backward, "diffuse": diffuse,
             "mse_loss": F.mse_loss, "topk_forward": F.topk_forward,
             "topk_backward": F.topk_backward}

#: Run name -> (the run, the model it trains, for the report).
RUNS = {"layernorm": (layernorm_autoencoder,
                      "an autoencoder with a LayerNorm after its hidden layer"),
        "diffusion": (diffusion_2d, "a 20-level noise predictor on the 2-D mixture"),
        "topk": (topk_autoencoder, "a top-8 autoencoder with 64 latents")}


@functools.lru_cache(maxsize=None)
def _reference_tail(name):
    return tail(RUNS[name][0](REFERENCE))


def compare(name, funcs, names, *, what):
    """Run ``name`` with the student's ``names`` (taken from ``funcs``) and
    judge it against the library's run (``base.judge``)."""
    run, model = RUNS[name]
    reference = _reference_tail(name)
    with np.errstate(all="ignore"):
        losses = run(dict(REFERENCE, **{n: funcs[n] for n in names}))
    return judge(losses, reference, lambda mine, ref, steps: (
        f"{what} trains {model} for {steps} steps to a loss of {mine:.4f}, the library's "
        f"functions to {ref:.4f}"))
