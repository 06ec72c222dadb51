"""Reading a score out of a denoising autoencoder (lesson 03).

For Gaussian corruption ``x_tilde = x + sigma * e``, e ~ N(0, I), the denoiser
that minimises the expected squared error is the posterior mean
``r*(x_tilde) = E[x | x_tilde]``, and Tweedie's formula (Vincent, 2011;
Alain and Bengio, 2014) says

    (r*(y) - y) / sigma^2 = grad_y log p_sigma(y),

the score of the data density smoothed by N(0, sigma^2 I). So a trained
DAE's residual, divided by sigma^2, is a score estimate:

* ``dae_score(model, x, sigma)``: s_hat(x) = (r(x) - x) / sigma^2;
* ``relative_score_error(s_hat, s)``: how far it is from a reference score,
  weighted by where the evaluation points lie;
* ``fit_fresh(...)``: train on a new sample of the data every epoch, which a
  known density makes possible (no overfitting to a fixed set);
* ``ParameterAverage(optimizer)``: an exponential moving average of the
  iterates, used in place of the optimiser, to average out the jitter that
  the very noisy regression target leaves in the weights.
"""

import numpy as np

from .._validation import (check_array, check_decay, check_positive_float, check_positive_int,
                          check_rng, check_same_shape)
from ..optim import OptimizerWrapper
from ..train import fit


def dae_score(model, x, sigma):
    """The score estimate of a Gaussian-noise DAE: s_hat(x) = (r(x) - x) / sigma^2.

    model: anything with ``reconstruct(x)`` (an MLPAutoencoder trained
    with ``corruption=GaussianNoise(sigma)`` and ``likelihood="mse"``). x: (n, d) in the
    model's dtype. sigma: the training noise level (> 0).
    Returns (n, d) float64.
    """
    sigma = check_positive_float(sigma, "sigma")
    check_array(x, "x")
    r = model.reconstruct(x)                               # (n, d)
    return (r.astype(np.float64) - x.astype(np.float64)) / sigma**2


def relative_score_error(s_hat, s, weights=None):
    """Weighted relative error of a score estimate:

        err = sqrt( sum_n w_n ||s_hat_n - s_n||^2 / sum_n w_n ||s_n||^2 ).

    s_hat, s: (n, d). weights: (n,) >= 0, or None for equal weights. With the
    rows of s drawn from a density q and no weights this estimates
    sqrt(E_q ||s_hat - s||^2) / sqrt(E_q ||s||^2): the error where q puts its
    mass, in units of the score's own size (0 is perfect, 1 is as bad as
    predicting s_hat = 0). With points on a grid, pass w_n = q(x_n).
    """
    check_array(s_hat, "s_hat")
    check_array(s, "s")
    check_same_shape(s_hat, "s_hat", s, "s")
    if weights is None:
        w = np.ones(s.shape[0])
    else:
        w = check_array(np.asarray(weights, dtype=np.float64), "weights", ndim=1,
                        shape=(s.shape[0],))
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
    diff = np.sum((s_hat.astype(np.float64) - s) ** 2, axis=1)   # (n,)
    norm = np.sum(np.asarray(s, dtype=np.float64) ** 2, axis=1)  # (n,)
    den = w @ norm
    if den <= 0:
        raise ValueError("the reference score s is zero wherever weights > 0")
    return float(np.sqrt((w @ diff) / den))


def fit_fresh(model, sample, *, optimizer, epochs, n_per_epoch, batch_size, rng,
              lr_end=None):
    """Train with a fresh data set every epoch.

    sample: ``f(n, rng) -> (n, d)`` array in the model's dtype (for example
    ``lambda n, rng: mixture.sample(n, rng=rng, dtype=np.float32)``). Each
    epoch draws ``n_per_epoch`` new points and makes one pass of
    ``tinyae.train.fit`` over them; the optimiser keeps its state across
    epochs. With ``lr_end`` the learning rate decays geometrically from
    ``optimizer.lr`` (epoch 1) to ``lr_end`` (last epoch):
    lr_e = lr_0 (lr_end / lr_0)^((e - 1) / (epochs - 1)).
    Returns the per-epoch training losses, a list of floats.
    """
    epochs = check_positive_int(epochs, "epochs")
    n_per_epoch = check_positive_int(n_per_epoch, "n_per_epoch")
    check_rng(rng)
    lr_0 = optimizer.lr
    if lr_end is not None:
        lr_end = check_positive_float(lr_end, "lr_end")
    losses = []
    for epoch in range(epochs):
        if lr_end is not None and epochs > 1:
            optimizer.lr = lr_0 * (lr_end / lr_0) ** (epoch / (epochs - 1))
        x = sample(n_per_epoch, rng)                       # (n_per_epoch, d)
        hist = fit(model, x, optimizer=optimizer, epochs=1, batch_size=batch_size,
                   rng=rng, progress=False)
        losses.append(hist["loss"][0])
    return losses


class ParameterAverage(OptimizerWrapper):
    """Exponential moving average of the parameters an optimiser updates.

    Wraps ``optimizer`` (anything with ``params`` and ``step(grads)``, e.g.
    ``tinyae.optim.Adam``) and is used in its place; after each step

        avg <- decay * avg + (1 - decay) * theta      (bias-corrected: / (1 - decay^t)).

    Stochastic gradients make the iterates jitter around the optimum by about
    lr per step; the average cancels most of that jitter (Polyak and
    Juditsky, 1992), which matters here because the regression target (the
    clean x) is much noisier than the small residual r(x) - x we want.
    ``copy_to_params()`` writes the average into the model's arrays in place.
    """

    def __init__(self, optimizer, *, decay=0.999):
        super().__init__(optimizer)
        self.decay = check_decay(decay, "decay")
        self.avg = {k: np.zeros_like(p, dtype=np.float64) for k, p in self.params.items()}
        self.t = 0

    def after_step(self):
        self.t += 1
        for k, p in self.params.items():
            a = self.avg[k]
            a *= self.decay
            a += (1.0 - self.decay) * p

    def state_arrays(self):
        """The wrapped optimiser's state and the running average."""
        return {**super().state_arrays(), "average:t": np.array(self.t),
                **{f"average:{k}": a for k, a in self.avg.items()}}

    def load_state_arrays(self, arrays):
        own = {k[len("average:"):]: a for k, a in arrays.items() if k.startswith("average:")}
        super().load_state_arrays({k: a for k, a in arrays.items()
                                   if not k.startswith("average:")})
        self.t = int(own.pop("t"))
        for k, a in own.items():
            self.avg[k][...] = a

    def average(self):
        """The bias-corrected average: dict name -> float64 array."""
        if self.t == 0:
            raise RuntimeError("no step taken yet: nothing to average")
        c = 1.0 - self.decay ** self.t
        return {k: a / c for k, a in self.avg.items()}

    def copy_to_params(self):
        """Overwrite every parameter array, in place, with its average."""
        for k, a in self.average().items():
            self.params[k][...] = a
