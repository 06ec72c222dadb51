"""Lesson 05: sparse autoencoders -- most code units off for any one input."""

# %% [markdown]
# # Lesson 05: sparse autoencoders
#
# **You will learn** a second way, besides a bottleneck, to stop an
# autoencoder from copying its input: allow many code units but ask that only
# a few be active for any one input. You will derive the gradients of two
# sparsity penalties, the L1 activity penalty and the KL sparsity penalty of
# the UFLDL sparse autoencoder, see why the second constrains each *unit*
# rather than each *example*, and measure what both do to a 400-unit code of
# MNIST digits.
#
# **It assumes** lessons 02 (an MLP autoencoder trained with Adam) and 04 (a
# penalty on the code added to the reconstruction loss), and exercises 2 and
# 5. Exercise 8 goes with this lesson.

# %%
import time

import numpy as np

from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import SparseAutoencoder
from tinyae.optim import Adam
from tinyae.course.plotting import image_grid
from tinyae.course.plotting.contractive import activation_histograms
from tinyae.train import evaluate, fit

N_HIDDEN, RHO, BETA, L1_LAM, NEAR_ZERO = 400, 0.05, 3.0, 0.1, 0.05
N_FILTERS = 64                        # filters shown per model

CONFIGS = {
    "none": dict(penalty="l1", lam=0.0),
    "L1": dict(penalty="l1", lam=L1_LAM),
    "KL": dict(penalty="kl", rho=RHO, beta=BETA),
}

lesson = Lesson("05_sparse_ae", __doc__, epochs=5, full_epochs=15)

# %% [markdown]
# ## 1. The model: a wide sigmoid code and a linear decoder
#
# Each digit $x \in [0, 1]^{784}$ is encoded by one layer of 400 sigmoid units
# and decoded by a free (untied) linear layer,
#
# $$
# h = \sigma(x W + b) \in (0, 1)^{400}, \qquad \hat x = h V + c ,
# $$
#
# trained on the squared error summed over pixels, averaged over the batch,
# $L_{\mathrm{rec}} = \frac1N \sum_n \lVert \hat x_n - x_n \rVert^2$. With 400
# units for 784 pixels nothing stops the code from spreading every digit over
# all its units. A sparsity penalty $P(h)$ added to the loss asks that, for
# any one input, most units be near 0. Each unit can then afford to specialise
# in a local part (a pen stroke) instead of a global blob.

# %% [markdown]
# ## 2. Two penalties and their gradients
#
# **L1 activity.** For a batch of $N$ codes $h_{nj}$,
#
# $$
# P_{L1} = \frac{\lambda}{N} \sum_{n=1}^{N} \sum_{j} \lvert h_{nj} \rvert ,
# \qquad
# \frac{\partial P_{L1}}{\partial h_{nj}} = \frac{\lambda}{N} \operatorname{sign}(h_{nj}) = \frac{\lambda}{N},
# $$
#
# the last step because a sigmoid code is always positive (the kink at 0 is
# never reached). Every activation is pushed down at the same constant rate,
# whatever the other examples do.
#
# **KL sparsity.** Let $\hat\rho_j = \frac1N \sum_n h_{nj}$ be unit $j$'s mean
# activation over the batch, and ask it to match a small target $\rho$ by the
# Kullback-Leibler divergence between two Bernoulli distributions,
#
# $$
# P_{KL} = \beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j), \qquad
# \mathrm{KL}(\rho \,\|\, \hat\rho) = \rho \log \frac{\rho}{\hat\rho} + (1 - \rho) \log \frac{1 - \rho}{1 - \hat\rho} .
# $$
#
# $h_{nj}$ enters only through $\hat\rho_j$, and $\partial \hat\rho_j / \partial h_{nj} = 1/N$, so
# by the chain rule
#
# $$
# \frac{\partial P_{KL}}{\partial h_{nj}}
# = \beta \frac{d\,\mathrm{KL}(\rho \,\|\, \hat\rho_j)}{d \hat\rho_j} \cdot \frac1N
# = \frac{\beta}{N} \left( -\frac{\rho}{\hat\rho_j} + \frac{1 - \rho}{1 - \hat\rho_j} \right).
# $$
#
# The bracket is negative when $\hat\rho_j < \rho$, zero at $\hat\rho_j = \rho$
# and positive above it. It is the same for every example of the batch: the
# penalty leaves each example alone and constrains each **unit**'s average.
# With $\rho = 0.05$ a unit should be on for about one input in twenty. Note
# that $P_{KL}$ is a function of the batch as a whole, not a mean of
# per-example terms, so it has no $1/N$ of its own.
#
# Either gradient reaches the encoder's pre-activation $a = xW + b$ through the
# sigmoid's slope, $\partial h / \partial a = h(1 - h)$, where it is added to
# the reconstruction's gradient. Neither penalty forces $\hat\rho$ to equal
# $\rho$: the reconstruction term pulls activations up, the penalty pulls
# them down, and training settles where the two balance. With $\beta = 3$ the
# KL term wins by a wide margin.

# %% [markdown]
# ## 3. Three autoencoders trained alike
#
# Three models start from the same initial weights and train the same way
# (Adam at $3 \times 10^{-3}$, batches of 100, 20,000 training images by
# default, all 60,000 with `--full`): no penalty; L1 with $\lambda = 0.1$; KL
# with $\rho = 0.05$, $\beta = 3$. For each we keep the test codes and the
# encoder's weight columns, the *filters*: column $j$ of $W$, seen as a 28x28
# image, is the input pattern that excites unit $j$ most.

# %%
rng = lesson.rng
x_all, _ = load_mnist("train", dtype=np.float32)
x_test, _ = load_mnist("test", dtype=np.float32)
n_train = len(x_all) if lesson.full else 20_000
x_train = x_all[rng.permutation(len(x_all))[:n_train]]
seed = int(rng.integers(2**31))                      # the same initial weights for all

# %%
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

# %% [markdown]
# ## 4. How sparse are the codes?
#
# The histograms count all 4,000,000 test activations (10,000 digits times
# 400 units) of each model on a log scale; the red line is their mean, the
# dashed line the KL target $\rho$.

# %%
lesson.save(activation_histograms(codes, rho=RHO), "activation_histograms")

# %% [markdown]
# Without a penalty the activations form a broad hump around 0.3 and only
# **1.5**% of them are below 0.05. Both penalties pile most activations into
# the first bin, with a long, thin tail of large values: for any one digit, a
# few units fire and the rest are off. The KL model's mean activation is
# **0.0529**, close to its target 0.05. The L1 model has about as many
# near-zero activations (**0.695** of them, against **0.680** for KL) but a
# heavier tail, and a mean of **0.0893**: its push is the same for every
# activation and aims at no target, so a unit that is useful for a digit
# stays strongly on.
#
# Sparsity has a price in reconstruction. The test squared error per image is
# **2.52** without a penalty, **6.02** with L1 and **14.03** with KL.

# %%
lesson.claim(f"KL (rho={RHO}, beta={BETA:g}): mean over units of rho_hat on test data",
             codes["KL"].mean(), within=(RHO, 0.01))
near_zero = {name: float(np.mean(h < NEAR_ZERO)) for name, h in codes.items()}
lesson.report("fraction of test activations < " f"{NEAR_ZERO}: "
              + ", ".join(f"{name} {v:.3f}" for name, v in near_zero.items()))
lesson.claim(f"fraction of test activations < {NEAR_ZERO}, L1 minus none",
             near_zero["L1"] - near_zero["none"], gt=0.4)
lesson.claim(f"fraction of test activations < {NEAR_ZERO}, KL minus none",
             near_zero["KL"] - near_zero["none"], gt=0.4)

# %% [markdown]
# ## 5. What the units have learnt
#
# The first 64 filters of each model, each scaled to its own range (white:
# the pixels that excite the unit, black: those that inhibit it). These are
# illustrations, not claims.

# %%
lesson.save(image_grid(np.concatenate([f[:N_FILTERS] for f in filters.values()]),
                       rows=3 * (N_FILTERS // 16), vmin=None, vmax=None,
                       row_labels=[f"{name}, units {16 * i}-{16 * i + 15}"
                                   for name in filters for i in range(N_FILTERS // 16)],
                       title="encoder filters (each scaled to its own range)"),
            "filters")

# %% [markdown]
# After the short default run the unpenalised filters are noise spread over
# the whole digit area. The L1 filters are mostly a fine, worm-like texture
# with a few blobs. The KL filters begin to show rings, strokes and pieces of
# whole digits standing out of the noise: a unit that may fire for only one
# input in twenty learns a pattern worth firing for. `--full` sharpens all of
# them.

# %% [markdown]
# ## Check your understanding
#
# 1. The KL model's mean activation sits slightly above $\rho$. Use the sign
#    of the KL gradient in section 2 to explain why the balance with the
#    reconstruction term lands above the target rather than below it.
# 2. Set `BETA = 0.3` in the first code cell and rerun the training cell:
#    which claims move, and in which direction?
# 3. The L1 model's activations are sparser than the KL model's, yet its
#    penalty has no target. What sets its final mean activation? What would
#    `L1_LAM = 0.01` do?
# 4. The KL model reconstructs worst of the three. Compare its test error
#    with PCA-30's in lesson 02: how many numbers per digit does a code with
#    400 units, each on for one input in twenty, carry on average? Does the
#    comparison seem fair to you?
#
# ## Exercises
#
# Exercise 8, `ex08_kl_sparsity.py` (`tinyae exercises start DIR`): write the
# KL sparsity penalty and its gradient of section 2, as a function of the
# whole batch of codes, and check that its gradient is the same for every
# example of a batch.
#
# ## References
#
# * Ng, A. (2011). Sparse autoencoder. CS294A lecture notes, Stanford
#   University. The sections "Autoencoders and sparsity" (the penalty
#   $\beta \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)$, $\rho = 0.05$, and its
#   gradient in backpropagation) and "Visualizing a trained autoencoder" (a
#   unit's weights seen as an image).
# * Goodfellow, I., Bengio, Y. and Courville, A. (2016). *Deep Learning*. MIT
#   Press. Section 14.2.1 (sparse autoencoders; the L1 penalty on the code).

# %%
lesson.finish()
