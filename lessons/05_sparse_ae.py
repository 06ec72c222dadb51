"""Lesson 05: sparse autoencoders -- most code units off for any one input.

The idea
--------
A bottleneck is one way to stop an autoencoder from copying its input.
Another is to allow many code units but ask that only a few be active for
any one input. The code can then be wider than the input's intrinsic
dimension, and each unit tends to learn a localised part (a pen stroke)
instead of a global blob. Two penalties on the code h = f(x), h: (N, n_h):

* L1 activity, ``lam * (1/N) sum_n sum_j |h_nj|``: every activation is
  pushed towards 0 at a constant rate, gradient ``lam * sign(h) / N``
  (0 at the kink h = 0; sigmoid codes never reach it);
* KL sparsity (the UFLDL sparse autoencoder), ``beta * sum_j KL(rho ||
  rho_hat_j)`` with rho_hat_j = (1/N) sum_n h_nj the mean activation of unit
  j over the batch and KL the divergence between Bernoulli(rho) and
  Bernoulli(rho_hat_j). It leaves each example alone and constrains each
  UNIT's average: with rho = 0.05 a unit should be on for about 1 input in
  20. Its gradient reaches every example of the batch through rho_hat,
  ``dh_nj = beta * (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j)) / N``;
  it is a batch statistic, not a mean of per-example terms
  (``tinyae.penalties.kl``).

Neither penalty forces rho_hat to equal rho: the reconstruction term pulls
activations up, the penalty pulls them down, and training settles where the
two balance. With beta = 3 the KL term wins by a wide margin, and the mean
activation ends up near rho.

What the lesson measures
------------------------
Three one-layer autoencoders on MNIST (20,000 training images by default, all
60,000 with --full): 400 sigmoid code units, a free linear decoder and the
squared error (sum over pixels, mean over images), Adam (lr 3e-3, batches of
100), trained the same way:

* none: no penalty;
* L1: lam = 0.1;
* KL: rho = 0.05, beta = 3.

On the 10,000 test images: the mean of rho_hat over units (claim: within 0.01
of rho for KL), the fraction of near-zero activations (h < 0.05) against
the unpenalised code, histograms of activations, and the learned features:
the encoder's weight columns as 28x28 filters, each scaled to its own range.
After the short default run the KL filters begin to show strokes, rings and
pieces of digits while the unpenalised ones stay noisy and global (--full
sharpens both); these pictures are illustrations, not claims.

Run: ``python lessons/05_sparse_ae.py`` (~15 s); ``--full`` trains on
all of MNIST for 15 epochs.
"""

# %%
import time

import numpy as np

from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import SparseAutoencoder
from tinyae.optim import Adam
from tinyae.course.plotting import grids
from tinyae.course.plotting.contractive import activation_histograms
from tinyae.train import evaluate, fit

N_HIDDEN, RHO, BETA, L1_LAM, NEAR_ZERO = 400, 0.05, 3.0, 0.1, 0.05

CONFIGS = {
    "none": dict(penalty="l1", lam=0.0),
    "L1": dict(penalty="l1", lam=L1_LAM),
    "KL": dict(penalty="kl", rho=RHO, beta=BETA),
}


# %%
def main():
    lesson = Lesson("05_sparse_ae", __doc__, epochs=5, full_epochs=15)
    rng = lesson.rng
    x_all, _ = load_mnist("train", dtype=np.float32)
    x_test, _ = load_mnist("test", dtype=np.float32)
    n_train = len(x_all) if lesson.full else 20_000
    x_train = x_all[rng.permutation(len(x_all))[:n_train]]
    seed = int(rng.integers(2**31))                      # the same initial weights for all

    codes, filters = {}, {}
    for name, cfg in CONFIGS.items():
        model = SparseAutoencoder(sizes=(784, N_HIDDEN), likelihood="mse",
                                  rng=np.random.default_rng(seed), dtype=np.float32, **cfg)
        start = time.perf_counter()
        fit(model, x_train, optimizer=Adam(model.params, lr=3e-3), epochs=lesson.epochs,
            batch_size=100, rng=rng, progress=lesson.progress)
        seconds = time.perf_counter() - start
        _, stats = evaluate(model, x_test)
        h = model.encode(x_test)                         # (10000, N_HIDDEN)
        codes[name] = h
        rho_hat = h.mean(axis=0)                         # (N_HIDDEN,) per-unit means
        filters[name] = model.encoder[0].params["W"].T   # (N_HIDDEN, 784): one filter a row
        lesson.report(f"{name}: trained in {seconds:.1f} s; test squared error "
                      f"{stats['recon']:.2f} per image; rho_hat mean {rho_hat.mean():.4f} "
                      f"(units from {rho_hat.min():.3f} to {rho_hat.max():.3f}); "
                      f"activations < {NEAR_ZERO}: {100 * np.mean(h < NEAR_ZERO):.1f}%")

    lesson.claim(f"KL (rho={RHO}, beta={BETA:g}): mean over units of rho_hat on test data",
                 codes["KL"].mean(), within=(RHO, 0.01))
    near_zero = {name: float(np.mean(h < NEAR_ZERO)) for name, h in codes.items()}
    lesson.claim(f"fraction of test activations < {NEAR_ZERO}, L1 minus none",
                 near_zero["L1"] - near_zero["none"], gt=0.4)
    lesson.claim(f"fraction of test activations < {NEAR_ZERO}, KL minus none",
                 near_zero["KL"] - near_zero["none"], gt=0.4)

    lesson.save(activation_histograms(codes, rho=RHO), "activation_histograms")
    lesson.save(grids({f"{name}: first 64 encoder filters": f[:64]
                       for name, f in filters.items()}, rows=8, vmin=None, vmax=None),
                "filters")
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
