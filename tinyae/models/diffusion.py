"""A denoising diffusion model: one denoising autoencoder for a whole ladder
of noise levels (Ho, Jain and Abbeel, 2020; lesson 19).

The forward process
-------------------
Levels t = 1..T with variances beta_t (the paper's linear schedule, as
the limit of many levels makes it the same ladder for any T: ``alpha_bars``;
alpha_bar_T ~ 4.3e-5, pure noise). One step is

    q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I),   alpha_t = 1 - beta_t,

and t steps compose into one Gaussian (lesson 19 derives it; the paper's
Eq. 4), with alpha_bar_t = prod_{s <= t} alpha_s,

    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I)

(``diffuse``). The model never runs the chain forwards: it draws (t, eps)
and jumps there.

The loss (the paper's Eq. 14, Algorithm 1)
------------------------------------------
A network eps_theta(x_t, t) predicts the noise that made x_t:

    L = E_{x_0, t ~ U{1..T}, eps} || eps - eps_theta(x_t, t) ||^2

(sum over features, mean over the batch: the tinyae convention). Its
minimiser is E[eps | x_t] = -sqrt(1 - alpha_bar_t) grad log p_t(x_t), minus
the noise level times the score of the diffused density (Tweedie; lesson 19
derives it): denoising score matching (Vincent, 2011) at every level at
once. The network is a plain ``dense_stack`` on the input
[x_t, embedding of t] (``level_embedding``: sines and cosines of t, no
parameters), so its backward pass is the dense layers' own; the loss's
gradient is ``functional.mse_loss``'s, 2 (eps_theta - eps) / N.

Sampling (the paper's Algorithm 2)
----------------------------------
From x_T ~ N(0, I), for t = T..1,

    x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta(x_t, t)) / sqrt(alpha_t)
              + sigma_t z,        z ~ N(0, I) (z = 0 at t = 1),

with sigma_t^2 = beta_tilde_t = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t),
the variance of q(x_{t-1} | x_t, x_0) (one of the paper's two choices).
``sample(..., levels=...)`` walks a sub-ladder t_1 < ... < t_K = T of the
training levels instead, with the betas that ladder implies,
beta'_k = 1 - alpha_bar_{t_k} / alpha_bar_{t_{k-1}} (alpha_bar_{t_0} = 1):
fewer network evaluations (the "respacing" of Nichol and Dhariwal, 2021).
"""

import numpy as np

from .._validation import (check_array, check_choice, check_dtype, check_positive_float,
                           check_positive_int, check_rng, check_sizes)
from ..backend import ops
from ..layers import ACTIVATIONS, INITS, dense_stack
from ..losses import check_support
from .base import Model, batched


def alpha_bars(n_levels, beta_min=0.1, beta_max=20.0):
    """alpha_bar_1..alpha_bar_T of the DDPM schedule, for any T.

    Ho et al.'s betas rise linearly from 1e-4 to 0.02 over T = 1000 levels;
    in the limit of many levels that is the rate beta(u) = beta_min +
    (beta_max - beta_min) u over u = t / T in [0, 1] with beta_min = 0.1,
    beta_max = 20 (Song et al., 2021, the VP SDE), whose survival factor is

        alpha_bar(u) = exp(-(beta_min u + (beta_max - beta_min) u^2 / 2)).

    Sampling it at u = t / T gives every T the same ladder, from nearly
    clean to alpha_bar(1) = exp(-10.05) ~ 4.3e-5 (pure noise); at T = 1000
    the betas 1 - alpha_bar_t / alpha_bar_{t-1} are the paper's to within
    2e-4 (its largest, 0.02, to 1%).
    Returns (T,) float64, decreasing.
    """
    T = check_positive_int(n_levels, "n_levels")
    lo = check_positive_float(beta_min, "beta_min")
    hi = check_positive_float(beta_max, "beta_max")
    if hi < lo:
        raise ValueError(f"beta_max must be >= beta_min, got beta_min={beta_min!r}, "
                         f"beta_max={beta_max!r}")
    u = np.arange(1, T + 1) / T                                        # (T,)
    return np.exp(-(lo * u + 0.5 * (hi - lo) * u * u))


def level_embedding(t, dim, n_levels):
    """Sines and cosines of the level: t (n,) integers -> (n, dim) float64.

    Features [sin(w_f t), cos(w_f t)] for f = 0 .. dim/2 - 1, the angular
    frequencies w_f = T^(-f / (dim/2 - 1)) spaced geometrically from 1 (one
    radian per level: neighbouring levels differ) down to 1 / T (one radian
    over the whole ladder: a smooth trend), as the Transformer's positions
    (Vaswani et al., 2017) and the DDPM's levels are embedded. ``dim`` even,
    at least 4. No parameters, so no gradient.
    """
    half = dim // 2
    omega = float(n_levels) ** (-np.arange(half) / (half - 1))        # (dim/2,)
    angle = np.asarray(t, dtype=np.float64)[:, None] * omega[None, :]  # (n, dim/2)
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


def diffuse(x0, eps, alpha_bar):
    r"""The closed form of the forward process, one level per row:

    $$
    x_t = \sqrt{\bar\alpha}\, x_0 + \sqrt{1 - \bar\alpha}\, \epsilon ,
    $$

    ``x0, eps: (n, d)``, ``alpha_bar: (n,)`` (row $i$ noised at the
    level whose survival factor is ``alpha_bar[i]``). Returns ``(n, d)``
    (float32 when every input is). No validation (``DiffusionModel.diffuse``
    checks).
    """
    ab = alpha_bar[:, None]                                            # (n, 1)
    return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps


def noise_to_score(eps_hat, alpha_bar):
    r"""The score estimate of a noise prediction, one level per row:

    $$
    s(x_t) = -\frac{\hat\epsilon(x_t)}{\sqrt{1 - \bar\alpha}}
    \approx \nabla_{x_t} \log p_t(x_t) ,
    $$

    since the best noise prediction is $\mathbb{E}[\epsilon \mid x_t] =
    -\sigma_t \nabla \log p_t(x_t)$ with $\sigma_t = \sqrt{1 - \bar\alpha_t}$
    (Tweedie; lesson 19, section 3). ``eps_hat: (n, d)``, ``alpha_bar: (n,)``
    below 1. Returns ``(n, d)`` (float32 when both inputs are).
    """
    return -eps_hat / np.sqrt(1 - alpha_bar)[:, None]


class DiffusionModel(Model):
    """A DDPM noise predictor eps_theta(x_t, t) and its schedule (module docstring).

    Hyperparameters (keyword-only): sizes = (n_in, hidden...) (at least one
    hidden width; the last layer maps back to n_in, linearly), n_levels T,
    rng, embed_dim (even, >= 4: the level's features, ``level_embedding``),
    activation, beta_min and beta_max (the schedule, ``alpha_bars``), init,
    dtype. Module (and attribute): ``net``, the
    Sequential (n_in + embed_dim) -> hidden... -> n_in. Schedule (float64,
    index t - 1 for level t): ``betas``, ``alphas``, ``alpha_bars``.

    Levels are the paper's t = 1..T (t = 0 is the data).
    """

    def __init__(self, *, sizes, n_levels, rng, embed_dim=16, activation="relu",
                 beta_min=0.1, beta_max=20.0, init="he", dtype=np.float64):
        super().__init__()
        self.sizes = check_sizes(sizes)
        self.n_in = self.sizes[0]
        self._set_up(n_levels, embed_dim, activation, beta_min, beta_max, rng, init, dtype)
        self.net = dense_stack((self.n_in + self.embed_dim,) + self.sizes[1:] + (self.n_in,),
                               activation, rng=rng, init=init, dtype=self.dtype)
        self.modules = {"net": self.net}

    def _set_up(self, n_levels, embed_dim, activation, beta_min, beta_max, rng, init,
                dtype):
        """Check what every diffusion model shares and build its schedule."""
        self.n_levels = check_positive_int(n_levels, "n_levels")
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        if self.embed_dim < 4 or self.embed_dim % 2:
            raise ValueError(f"embed_dim must be an even number >= 4, got {embed_dim!r}")
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.beta_min, self.beta_max = beta_min, beta_max
        check_rng(rng)
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        self.alpha_bars = alpha_bars(self.n_levels, beta_min, beta_max)      # (T,)
        self.alphas = self.alpha_bars / np.concatenate([[1.0], self.alpha_bars[:-1]])
        self.betas = 1.0 - self.alphas

    # -- the forward process -------------------------------------------------
    def _check_t(self, t, n):
        """t: an int (every row at that level) or (n,) integers in 1..T -> (n,) int64."""
        arr = np.asarray(t)
        if arr.ndim == 0:
            arr = np.full(n, arr)
        if arr.shape != (n,) or arr.dtype.kind not in "iu":
            raise ValueError(f"t must be an integer or an integer array of shape ({n},) "
                             f"(one level per row), got {np.asarray(t).dtype} array of "
                             f"shape {np.shape(t)}")
        if arr.min() < 1 or arr.max() > self.n_levels:
            raise ValueError(f"t must hold levels in 1..{self.n_levels} (n_levels), got "
                             f"values in {int(arr.min())}..{int(arr.max())}")
        return arr.astype(np.int64)

    def _draw(self, x, t, noise, rng):
        """The (t, eps) of one loss evaluation: as given, or drawn from rng;
        x refused when too large for x_t and the first layer's product
        (``losses.check_support``, as every Gaussian model)."""
        check_support(self._check_x(x, self.n_in), "gaussian")
        n = x.shape[0]
        if (t is None or noise is None) and rng is None:
            raise ValueError("pass rng (a numpy Generator), or both t and noise: the "
                             "loss draws a level t ~ U{1..T} and eps ~ N(0, I) per row")
        t = check_rng(rng).integers(1, self.n_levels + 1, size=n) if t is None \
            else self._check_t(t, n)
        if noise is None:
            noise = rng.standard_normal(x.shape).astype(self.dtype)
        else:
            check_array(noise, "noise", shape=x.shape, dtype=self.dtype)
        return t, noise

    def diffuse(self, x0, t, noise):
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise.

        x0, noise: (n, n_in); t: int or (n,) levels in 1..T. Returns (n, n_in)
        in x0's dtype."""
        check_array(x0, "x0", shape=(None, self.n_in))
        check_array(noise, "noise", shape=x0.shape)
        ab = self.alpha_bars[self._check_t(t, x0.shape[0]) - 1]            # (n,)
        return diffuse(x0, noise, ab).astype(x0.dtype)

    # -- the network -----------------------------------------------------------
    def _inputs(self, x_t, t):
        """[x_t, embedding of t]: (n, n_in + embed_dim) in the model's dtype."""
        emb = level_embedding(t, self.embed_dim, self.n_levels).astype(self.dtype)
        return np.concatenate([x_t, emb], axis=1)

    def predict_noise(self, x_t, t):
        """eps_theta(x_t, t): x_t (n, n_in), t int or (n,) -> (n, n_in)."""
        self._check_x(x_t, self.n_in, "x_t")
        t = self._check_t(t, x_t.shape[0])
        return batched(self.net.forward, self._inputs(x_t, t))

    def score(self, x_t, t):
        """The network's estimate of grad log p_t(x_t), -eps_theta / sigma_t
        (``noise_to_score``): x_t (n, n_in), t int or (n,) -> (n, n_in)."""
        eps = self.predict_noise(x_t, t)
        ab = self.alpha_bars[self._check_t(t, x_t.shape[0]) - 1]
        return noise_to_score(eps, ab).astype(eps.dtype)

    def loss_and_grad(self, x, *, t=None, noise=None, rng=None):
        """Eq. 14 of Ho et al. and its gradients. x: (n, n_in) clean data; t
        (n,) levels and noise (n, n_in) fix the draw, else from rng."""
        t, noise = self._draw(x, t, noise, rng)
        self.zero_grad()
        x_t = self.diffuse(x, t, noise)
        pred = self.net.forward(self._inputs(x_t, t))            # (n, n_in)
        loss, dpred = ops.mse_loss(pred, noise)
        self.net.backward(dpred, need_dx=False)                  # x_t is data: no dx
        self.last_stats = {"recon": loss}
        return loss, self.grads

    def loss(self, x, *, t=None, noise=None, rng=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        t, noise = self._draw(x, t, noise, rng)
        pred = self.net.forward(self._inputs(self.diffuse(x, t, noise), t))
        loss = ops.mse_loss(pred, noise)[0]
        self.last_stats = {"recon": loss}
        return loss

    # -- ancestral sampling ------------------------------------------------------
    def _ladder(self, levels):
        """(levels, alpha_bar at each, alpha_bar one rung below): the full
        ladder 1..T, or a strictly increasing sub-ladder ending at T."""
        if levels is None:
            levels = np.arange(1, self.n_levels + 1)
        else:
            levels = np.atleast_1d(np.asarray(levels))
            levels = self._check_t(levels, levels.size)
            if levels[-1] != self.n_levels or np.any(np.diff(levels) <= 0):
                raise ValueError(f"levels must increase strictly and end at "
                                 f"n_levels={self.n_levels}, got {levels.tolist()}")
        ab = self.alpha_bars[levels - 1]
        return levels, ab, np.concatenate([[1.0], ab[:-1]])

    def sample(self, n, *, rng, levels=None, x_T=None, record=None, noise_fn=None):
        """Algorithm 2 of Ho et al. (module docstring) for n points.

        levels: None (every level, T network evaluations) or a sub-ladder
        t_1 < ... < t_K = T. x_T: (n, n_in) starting noise (default drawn).
        noise_fn: ``f(x_t, t) -> eps`` used in place of the network
        (default ``predict_noise``), e.g. the exact -sigma_t * score of a
        known density, to separate the network's error from the ladder's.
        Returns (n, n_in) in the model's dtype, or with ``record`` (a
        collection of levels) also a dict level -> states x_t at that level
        (level 0: the samples).
        """
        n = check_positive_int(n, "n")
        check_rng(rng)
        levels, ab, ab_prev = self._ladder(levels)
        noise_fn = self.predict_noise if noise_fn is None else noise_fn
        x = rng.standard_normal((n, self.n_in)) if x_T is None \
            else check_array(x_T, "x_T", shape=(n, self.n_in)).astype(np.float64)
        kept = {}
        for k in range(len(levels) - 1, -1, -1):
            t = int(levels[k])
            if record is not None and t in record:
                kept[t] = x.astype(self.dtype)
            beta = 1.0 - ab[k] / ab_prev[k]                      # this rung's beta
            eps = np.asarray(noise_fn(x.astype(self.dtype), t), dtype=np.float64)
            x = (x - beta / np.sqrt(1.0 - ab[k]) * eps) / np.sqrt(1.0 - beta)
            if k > 0:                                            # z = 0 on the last rung
                var = beta * (1.0 - ab_prev[k]) / (1.0 - ab[k])  # beta tilde
                x = x + np.sqrt(var) * rng.standard_normal(x.shape)
        x = x.astype(self.dtype)
        if record is None:
            return x
        if 0 in record:
            kept[0] = x
        return x, kept
