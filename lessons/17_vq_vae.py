"""Lesson 17: VQ-VAE -- a discrete code, the straight-through estimator, and codebook collapse."""

# %% [markdown]
# # Lesson 17: VQ-VAE, a discrete code
#
# **You will learn** how a VQ-VAE turns an image into a few hundred bits by replacing
# each encoder output with the nearest of $K$ codebook vectors; why no gradient passes
# through that choice, and how the straight-through estimator gets around it (checked
# to the last bit); the codebook and commitment losses and the EMA codebook update,
# derived; and codebook collapse: why it happens, how to see it (codes used,
# perplexity), and two cures (dead-code restarts, the EMA update).
#
# **It assumes** lesson 06 (the VAE: an encoder, a decoder and a loss with a regulariser
# on the code), lesson 13 (a code measured in bits) and lesson 00 (finite-difference
# checks).

# %%
import numpy as np

from tinyae.backend import ops
from tinyae.course.judge import recognised_share
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import image_grid
from tinyae.course.plotting.vq import codebook_usage
from tinyae.data import load_mnist
from tinyae.functional.vq import perplexity
from tinyae.gradcheck import numerical_gradient, rel_error
from tinyae.models.vq import VQVAE, CodebookEMA, normalized_mse
from tinyae.optim import Adam
from tinyae.train import fit

N_CODES, N_POSITIONS, CODE_DIM, HIDDEN, BETA = 128, 49, 16, 256, 0.25
KERAS_NMSE = 0.088
RUNS = {
    "careless (codebook loss, N(0,1) codes)": dict(codebook_update="loss",
                                                   codebook_init="normal", restart=False),
    "careless + dead-code restart": dict(codebook_update="loss", codebook_init="normal",
                                         restart=True),
    "EMA codebook": dict(codebook_update="ema", codebook_init="uniform", restart=False),
}

lesson = Lesson("17_vq_vae", __doc__, epochs=4, full_epochs=5)
x_all, _ = load_mnist("train", dtype=np.float32)
x_test, y_test = load_mnist("test", dtype=np.float32)
n_train = len(x_all) if lesson.full else 12_000
x_train = x_all[lesson.rng.permutation(len(x_all))[:n_train]]

# %% [markdown]
# ## 1. A code of symbols
#
# A VQ-VAE (van den Oord, Vinyals and Kavukcuoglu, 2017) encodes an image into a grid
# of $P$ vectors $z_e^{(p)} \in \mathbb{R}^D$ and replaces each by the nearest of $K$
# codebook vectors $e_1, \dots, e_K$:
#
# $$
# k_p = \arg\min_k \|z_e^{(p)} - e_k\|^2, \qquad z_q^{(p)} = e_{k_p} .
# $$
#
# The decoder sees only $z_q$, so the whole image is described by the $P$ indices
# $k_p$: $P \log_2 K$ bits. Convolutional layers are not in tinyae yet, so our encoder
# and decoder are MLPs (784 - 256 - 49 x 16 with ReLU, and back); the 49 code vectors
# are read from the encoder's output as a 7 x 7 grid has 49 positions. With $K = 128$
# that is $49 \times \log_2 128 = 49 \times 7 = 343$ bits per image, the rate of Keras'
# convolutional VQ-VAE example on MNIST (7 x 7 x 16 latent, $K = 128$).
#
# ## 2. No gradient through a choice, and the straight-through estimator
#
# $z_q$ is piecewise constant in $z_e$: move $z_e$ a little and the nearest code stays
# the same, so $\partial z_q / \partial z_e = 0$ almost everywhere, and the encoder
# would never learn. The straight-through estimator (Bengio, Léonard and Courville,
# 2013) writes the forward value as
#
# $$
# z_q = z_e + \mathrm{sg}(z_q - z_e),
# $$
#
# where the stop-gradient $\mathrm{sg}$ is the identity in the forward pass and has
# derivative 0. The value is still $z_q$, but now $\partial z_q / \partial z_e = I$, so
# $\partial L / \partial z_e := \partial L / \partial z_q$: the decoder's gradient is
# copied across the quantiser unchanged. We check three things on a small float64
# model: the copy is exact; the decoder's $\partial L / \partial z_q$ is right
# (central differences); and the true derivative of the loss in $z_e$ is indeed 0.

# %%
st_model = VQVAE(rng=np.random.default_rng(lesson.seed), hidden=32, n_positions=N_POSITIONS,
                 code_dim=CODE_DIM, n_codes=N_CODES, beta=0.0, dtype=np.float64)
x2 = x_test[:2].astype(np.float64)
z_e = st_model.encoder.forward(x2)                               # (N, P, D)


def loss_of(z, quantize=True):
    out = st_model.decoder.forward(st_model.quantizer.forward(z) if quantize else z)
    return ops.mse_loss(out, x2)


z_q = st_model.quantizer.forward(z_e)
_, dout = ops.mse_loss(st_model.decoder.forward(z_q), x2)
dz_q = st_model.decoder.backward(dout)                           # dL/dz_q
dz_e = st_model.quantizer.backward(dz_q)                         # straight through
lesson.claim("straight-through: max |dL/dz_e (ST) - dL/dz_q|", np.max(np.abs(dz_e - dz_q)),
             within=(0.0, 0.0))

# %%
z_fixed = z_q.copy()                 # perturbed in place by the finite differences
# the decoder is piecewise linear, the loss piecewise quadratic: central
# differences are exact up to rounding, so a larger step only lowers the error
fd_q = numerical_gradient(lambda: loss_of(z_fixed, quantize=False)[0], z_fixed, h=1e-4)
lesson.claim("dL/dz_q by hand vs central differences (relative error)",
             rel_error(dz_q, fd_q), lt=1e-7)
z_probe = z_e.copy()
fd_e = numerical_gradient(lambda: loss_of(z_probe)[0], z_probe, h=1e-6)
lesson.claim("true derivative of the loss in z_e (central differences): max |.|",
             np.max(np.abs(fd_e)), within=(0.0, 0.0))

# %% [markdown]
# The true derivative is exactly 0 (no step of $10^{-6}$ changes which code is
# nearest), and the straight-through gradient is exactly the decoder's: it is a
# *choice* of gradient, not an approximation of one a finite difference could confirm.
#
# ## 3. Moving the codes: codebook loss, commitment, EMA
#
# The straight-through gradient trains the encoder and decoder, but nothing yet moves
# the codes. The VQ-VAE adds two terms per position (its equation 3):
#
# $$
# L = \|x - \hat x(z_q)\|^2 + \|\mathrm{sg}(z_e) - e_{k}\|^2 + \beta\,\|z_e - \mathrm{sg}(e_{k})\|^2 .
# $$
#
# The **codebook loss** moves only the codes. Summed over the positions $S_k$ that
# chose code $k$,
#
# $$
# \frac{\partial}{\partial e_k} \sum_{p \in S_k} \|z_e^{(p)} - e_k\|^2
# = 2 \sum_{p \in S_k} (e_k - z_e^{(p)}) = 2 |S_k| \big(e_k - \bar z_k\big),
# $$
#
# with $\bar z_k$ the mean of the vectors assigned to $k$: each code is pulled towards
# the centre of its cluster, as in k-means. The **commitment loss**
# $\beta\|z_e - \mathrm{sg}(e)\|^2$ (gradient $2\beta(z_e - e_k)$, to the encoder only;
# $\beta = 0.25$ as in the paper) keeps the encoder's outputs from drifting away from
# their codes.
#
# The **EMA update** (the paper's appendix A.1) replaces the codebook loss by the
# minimiser it is stepping towards: per batch, with $n_k = |S_k|$ and decay
# $\gamma = 0.99$, $N_k \leftarrow \gamma N_k + (1 - \gamma) n_k$,
# $m_k \leftarrow \gamma m_k + (1 - \gamma) \sum_{p \in S_k} z_e^{(p)}$, and
# $e_k = m_k / N_k$, a running mean of the assigned vectors.
#
# **Codebook collapse.** If $S_k$ is empty, the gradient above is $0$ (and the EMA
# leaves $e_k$ where it is): a code no vector chooses never moves, so it can never
# start being chosen. Start the codes far from the encoder's outputs (here $N(0, 1)$
# codes against small initial outputs) and a handful of codes win every assignment,
# training pulls only those, and the rest are dead for good. A **dead-code restart**
# (after each epoch, every code unused on 2,000 training images is moved onto a random
# encoder output) revives them; the EMA codebook started near the outputs, at
# $U(-1/K, 1/K)$, never loses them.
#
# ## 4. Three runs
#
# All three train on 12,000 images for 4 epochs (Adam, learning rate 1e-3, batches of
# 128; `--full`: 60,000 images, 5 epochs) from the same initial weights. After every
# epoch we count, on 2,000 test images (98,000 code positions), the codes used and the
# perplexity $\exp(H)$ of their frequencies $\pi_k$, $H = -\sum_k \pi_k \log \pi_k$:
# the number of equally used codes that would give the same entropy, at most $K = 128$.

# %%
rng = lesson.rng
probe = x_test[:2000]
seed = int(rng.integers(2**31))
variance = float(np.var(x_test))
results = {}

# %%
for label, cfg in RUNS.items():
    model = VQVAE(rng=np.random.default_rng(seed), hidden=HIDDEN, n_positions=N_POSITIONS,
                  code_dim=CODE_DIM, n_codes=N_CODES, beta=BETA,
                  codebook_update=cfg["codebook_update"],
                  codebook_init=cfg["codebook_init"], dtype=np.float32)
    opt = Adam(model.params, lr=1e-3)
    if cfg["codebook_update"] == "ema":
        opt = CodebookEMA(model, opt, decay=0.99)
    used, perp, restarted = [], [], []

    def after_epoch(epoch, hist, model=model, cfg=cfg, used=used, perp=perp,
                    restarted=restarted):
        counts = model.code_usage(probe)
        used.append(int(np.count_nonzero(counts)))
        perp.append(perplexity(counts))
        if cfg["restart"] and epoch < lesson.epochs:
            sample = x_train[rng.choice(len(x_train), 2000, replace=False)]
            restarted.append(model.restart_dead_codes(sample, rng))
    hist = fit(model, x_train, optimizer=opt, epochs=lesson.epochs, batch_size=128,
               rng=rng, progress=lesson.progress, callback=after_epoch)
    nmse = normalized_mse(model, x_test, variance=variance)
    results[label] = dict(model=model, used=used, perplexity=perp, nmse=nmse)
    lesson.report(f"{label}: codes used per epoch {used}, test perplexity "
                  + " ".join(f"{p:.1f}" for p in perp) + ", mean batch perplexity "
                  + " ".join(f"{p:.1f}" for p in hist["perplexity"])
                  + (f", codes restarted {restarted}" if cfg["restart"] else "")
                  + f"; test MSE / variance {nmse:.4f}")
careless, restart, ema = (results[k] for k in RUNS)

# %% [markdown]
# (The per-batch perplexity of training, over 128 x 49 = 6,272 assignments, is printed
# beside the test-set one and is lower for the same model: a batch sees fewer codes.)

# %%
lesson.save(codebook_usage({k: r["used"] for k, r in results.items()},
                           {k: r["perplexity"] for k, r in results.items()},
                           n_codes=N_CODES), "codebook_usage")

# %% [markdown]
# The careless run collapses at once and stays collapsed: after the last epoch it uses
# **24** of 128 codes, with a perplexity of **6.1**, about six codes doing all the work.
# The restarts revive almost every code after the first epoch, and the perplexity
# climbs epoch by epoch to **99.5** as the revived codes find their clusters. The EMA
# codebook uses all 128 from the start, with a perplexity near the maximum
# (**125.9**).

# %%
lesson.claim("careless: codes used on the test set after the last epoch (collapse)",
             careless["used"][-1], lt=40)
lesson.claim("careless: test perplexity after the last epoch", careless["perplexity"][-1],
             lt=30)
lesson.claim("with dead-code restarts: codes used after the last epoch",
             restart["used"][-1], gt=100)
lesson.claim("with dead-code restarts: test perplexity / careless perplexity",
             restart["perplexity"][-1] / careless["perplexity"][-1], gt=4)

# %% [markdown]
# ## 5. What collapse costs: the reconstructions
#
# Fewer codes in use means fewer distinct descriptions of a patch of the image. We
# measure the reconstruction error on all 10,000 test images as MSE / pixel variance (the
# figure Keras' example reports; it is quoted at 0.088 after 5 epochs on the 60,000
# training images, a training-set figure not re-run here and a calibration point for
# this MLP, not a target), and ask the digit judge (a classifier trained on real
# digits) to name the digit in 1,000 test reconstructions of each model.

# %%
shares = {label: recognised_share(np.clip(r["model"].reconstruct(x_test[:1000]), 0, 1),
                                  y_test[:1000]) for label, r in results.items()}
for label, r in results.items():
    lesson.report(f"{label}: test MSE / variance {r['nmse']:.3f}; the judge names the "
                  f"input's digit in {100 * shares[label]:.1f}% of 1,000 reconstructions")
shown, shown_labels = x_test[:20], y_test[:20]
shown_recon = np.clip(ema["model"].reconstruct(shown), 0, 1)       # (20, 784)
tiles = np.concatenate([shown[:10], shown_recon[:10], shown[10:], shown_recon[10:]])

# %%
lesson.save(image_grid(tiles, rows=4, row_labels=["input", "EMA VQ-VAE", "input",
                                                  "EMA VQ-VAE"],
                       title=f"First 20 test digits through 343 bits (EMA codebook, MSE/var "
                             f"{ema['nmse']:.3f})"), "reconstructions")

# %% [markdown]
# The figure shows the EMA model, the one that kept its codebook: 19 of the 20 digits
# come back as the digit they were (the judge's share, **0.95**, is claimed below),
# blurred but legible after passing through 343 bits. The collapsed codebook is another
# matter. Over 1,000 test digits the judge names the input's digit in **93.8**% of the
# EMA model's reconstructions, **84.5**% of the restarted model's and only **40.5**% of
# the careless model's, whose test MSE / variance is **0.506** against **0.324** and
# **0.173**: with about six codes doing the work, each position is described by less than
# three bits, and the decoder can only draw blurred averages. (We do not show those: a
# figure of blobs would say less than these three numbers.)

# %%
lesson.claim("share of the shown reconstructions the digit judge names as their input's digit",
             recognised_share(shown_recon, shown_labels), gt=0.9)
lesson.claim("test MSE / variance: careless / with restarts",
             careless["nmse"] / restart["nmse"], gt=1.1)
lesson.claim("EMA codebook: codes used after the last epoch", ema["used"][-1], gt=100)
best = min(r["nmse"] for r in results.values())
lesson.claim(f"best test MSE / variance (Keras' conv VQ-VAE: {KERAS_NMSE} after 5 epochs "
             "on 60,000 images)", best, lt=0.3 if not lesson.full else 0.12)

# %% [markdown]
# ## 6. The rate
#
# Every image costs exactly $P \log_2 K$ bits if each index is stored in 7 bits. An
# entropy code can do better when some codes are rarer than others: the per-position
# entropy $\log_2 \mathrm{perplexity}$ of the EMA model's code usage on the test set,
# times 49, is what such a code would spend per image.

# %%
lesson.claim("rate: positions x log2(codes), bits per image", ema["model"].bits_per_image,
             within=(343.0, 0.0))
counts = ema["model"].code_usage(x_test)
lesson.report(f"EMA model: empirical code entropy {np.log2(perplexity(counts)):.2f} bits "
              f"per position, so {N_POSITIONS * np.log2(perplexity(counts)):.0f} bits per "
              f"image under a per-position entropy code (<= {ema['model'].bits_per_image:.0f})")

# %% [markdown]
# The EMA model uses its codes so evenly (**6.98** bits of entropy per position out of
# 7) that an entropy code would save almost nothing: **342** bits per image instead of
# 343. A codebook this evenly used is what the VQ-VAE wants; saving bits would take a
# prior over the codes that knows which codes follow which (the paper fits a PixelCNN).
#
# ## Check your understanding
#
# 1. After the last epoch the careless run uses 25 codes but has a perplexity of 6.1.
#    What does the gap between the two numbers say about how those 25 codes are used,
#    and how many bits per position does the careless code carry at most, in entropy?
# 2. In section 2 the finite-difference step in $z_e$ is $10^{-6}$ and the measured
#    derivative is exactly 0. Make it $h = 1$ in that cell: what do you expect the
#    "derivative" to become, and why is it no gradient either?
# 3. Using the codebook gradient $2|S_k|(e_k - ar z_k)$ of section 3, explain why the
#    careless run's 25 codes never grow to 128 by themselves, while the restart run,
#    given 119 new codes after epoch 1, keeps nearly all of them.
# 4. Section 6 prints the EMA model's entropy per position. Using the careless run's
#    test perplexity instead, how many bits per image would a per-position entropy code
#    spend on the careless model, and why is that no bargain?
#
# ## Exercises
#
# Exercise 21, `ex21_vq.py` (`tinyae exercises start DIR`): write the quantiser of
# sections 1 to 3 yourself: the nearest-code search, the straight-through pair, and the
# codebook and commitment losses with their gradients (two rows sharing a code, a
# codebook of one code, ties); the checker trains a small VQ-VAE with them.
#
# Try it: in the `RUNS` table of the first code cell, give the careless run
# `codebook_init="uniform"` (small codes, near the encoder's first outputs) but keep the
# codebook loss and no restarts. Does it still collapse? Compare its codes used,
# perplexity and MSE / variance with the EMA run, to separate what the EMA update does
# from what a good initialisation does.
#
# ## References
#
# * van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural discrete
#   representation learning. *Advances in Neural Information Processing Systems 30
#   (NeurIPS)*. Section 3.1 (the quantiser), section 3.2 and equation 3 (the
#   straight-through gradient, the codebook and commitment losses, $\beta = 0.25$),
#   appendix A.1 (the EMA codebook update).
# * Bengio, Y., Léonard, N. and Courville, A. (2013). Estimating or propagating
#   gradients through stochastic neurons for conditional computation.
#   arXiv:1308.3432. The straight-through estimator.
# * Dhariwal, P., Jun, H., Payne, C., Kim, J. W., Radford, A. and Sutskever, I. (2020).
#   Jukebox: a generative model for music. arXiv:2005.00341. The subsection "Random restarts
#   for embeddings" of their music VQ-VAE section: random
#   restarts of unused codes against codebook collapse.
# * Paul, S. (2021). Vector-quantized variational autoencoders. Keras code examples,
#   keras.io/examples/generative/vq_vae. The MNIST configuration (7 x 7 x 16 latent,
#   $K = 128$, $\beta = 0.25$) whose rate this lesson matches.

# %%
lesson.finish()
