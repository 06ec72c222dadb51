"""Lesson 06: the variational autoencoder — the ELBO, the reparameterisation trick and its hand-written gradient."""

# %% [markdown]
# # Lesson 06: the variational autoencoder
#
# **You will learn** what a variational autoencoder (VAE) is as a model of the
# data; how the evidence lower bound (ELBO) follows from Jensen's inequality
# and what its gap is; the closed-form KL between two Gaussians; the
# reparameterisation trick and the two lines of backward pass it gives; why
# the older score-function (REINFORCE) estimator of the same gradient is far
# noisier; how importance weighting tightens the bound; and how to read
# samples, reconstructions, interpolations and a two-dimensional latent space.
#
# **It assumes** lesson 00 (finite-difference gradient checks) and lesson 02
# (an MLP autoencoder trained with binary cross-entropy on logits and Adam,
# exercises 2, 3 and 5). Exercise 9 goes with this lesson.
#
# Run it as a script with `python lessons/06_vae.py` (5 epochs, under a
# minute) or `--epochs 10` for the published 10-epoch figure.

# %%
import time

import numpy as np

from tinyae import backend, fit
from tinyae.data import load_mnist
from tinyae.course.judge import recognised_share
from tinyae.course.lesson import Lesson
from tinyae.models import VAE
from tinyae.optim import Adam
from tinyae.course.plotting import image_grid
from tinyae.course.plotting.vae import (estimator_variances, kl_per_dimension, latent_grid,
                                        latent_scatter, loss_curve_vs_published)

#: PyTorch VAE example, test loss per image (one eps draw): epoch -> value (+- tol).
PUBLISHED = {1: 128.0, 10: (105.5, 1.0)}
DEFAULT_EPOCHS = 5
DTYPE = np.float32

lesson = Lesson("06_vae", __doc__, epochs=DEFAULT_EPOCHS, full_epochs=10)
x_train, _ = load_mnist("train", dtype=DTYPE)
x_test, y_test = load_mnist("test", dtype=DTYPE)

# %% [markdown]
# ## 1. A latent-variable model and its evidence lower bound
#
# A VAE says each image $x$ was made in two steps: draw a code $z$ from the
# prior $p(z) = \mathcal N(0, I)$, then draw the pixels from the decoder,
# $p_\theta(x \mid z) = \mathrm{Bernoulli}(\mathrm{sigmoid}(\mathrm{dec}_\theta(z)))$
# (the grey levels serve as soft targets, as in lesson 02). We would like to
# fit $\theta$ by maximum likelihood, but
#
# $$
# \log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz
# $$
#
# is an integral over all codes, which no one can compute for a neural
# decoder. The VAE brings in an encoder that proposes likely codes,
# $q_\phi(z \mid x) = \mathcal N(\mu(x), \mathrm{diag}\,\sigma^2(x))$ with
# $\sigma^2 = e^{\mathrm{logvar}}$ (the encoder outputs the log of a
# *variance*). Multiply and divide by $q$ inside the integral, and use that
# $\log$ is concave (Jensen: $\log \mathbb E[w] \ge \mathbb E[\log w]$):
#
# $$
# \log p(x) = \log \mathbb E_{q(z \mid x)}\!\left[\frac{p(x \mid z)\, p(z)}{q(z \mid x)}\right]
# \;\ge\; \mathbb E_{q}\!\left[\log \frac{p(x \mid z)\, p(z)}{q(z \mid x)}\right]
# = \underbrace{\mathbb E_q[\log p(x \mid z)]}_{\text{reconstruction}}
# - \mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big) = \mathrm{ELBO}(x).
# $$
#
# How loose is it? Write $p(x \mid z)\,p(z) = p(z \mid x)\,p(x)$ inside the
# second expectation: $\mathrm{ELBO} = \log p(x) - \mathbb E_q[\log q(z \mid x) / p(z \mid x)]$, so
#
# $$
# \log p(x) - \mathrm{ELBO}(x) = \mathrm{KL}\big(q(z \mid x)\,\|\,p(z \mid x)\big) \ge 0,
# $$
#
# zero exactly when the encoder finds the true posterior. Training
# maximises the ELBO in both $\theta$ and $\phi$: it raises the likelihood
# and pulls $q$ towards the posterior at once.

# %% [markdown]
# ## 2. The KL term in closed form
#
# For one latent dimension, $q = \mathcal N(\mu, \sigma^2)$ and
# $p = \mathcal N(0, 1)$. With $z = \mu + \sigma\epsilon$,
# $\mathbb E_q[(z - \mu)^2] = \sigma^2$ and $\mathbb E_q[z^2] = \sigma^2 + \mu^2$:
#
# $$
# \mathrm{KL}(q\,\|\,p) = \mathbb E_q[\log q(z) - \log p(z)]
# = \mathbb E_q\!\left[-\tfrac12 \log \sigma^2 - \frac{(z-\mu)^2}{2\sigma^2} + \frac{z^2}{2}\right]
# = \tfrac12\left(\sigma^2 + \mu^2 - 1 - \log \sigma^2\right).
# $$
#
# The $\log 2\pi$ terms cancel; the latent dimensions are independent, so the
# KL of the code is the sum of this over dimensions. Its derivatives, using
# $\sigma^2 = e^{\mathrm{logvar}}$, are
#
# $$
# \frac{\partial\,\mathrm{KL}}{\partial \mu} = \mu, \qquad
# \frac{\partial\,\mathrm{KL}}{\partial\,\mathrm{logvar}} = \tfrac12\left(\sigma^2 - 1\right).
# $$
#
# The loss per image is $-\mathrm{ELBO}$: binary cross-entropy summed over the
# 784 pixels at one sampled $z$, plus the KL. Averaged over the 10,000 test
# images it is the number the PyTorch VAE example prints as its test loss.

# %%
def test_loss(model, x_test, seed):
    """The PyTorch example's number: sum over the test set of (BCE summed over
    pixels + KL) with one eps per image, divided by 10,000 = -mean ELBO."""
    return float(-model.elbo(x_test, rng=np.random.default_rng(seed)).mean())


# %% [markdown]
# ## 3. The reparameterisation trick and its backward pass
#
# The reconstruction term $\mathbb E_{q_\phi}[f(z)]$, with
# $f(z) = \log p_\theta(x \mid z)$, is an expectation under a distribution
# that depends on the encoder's outputs. We cannot push the derivative inside
# the expectation as it stands. Kingma and Welling's trick writes a draw of
# $q$ as a deterministic function of $(\mu, \mathrm{logvar})$ and noise that
# has no parameters:
#
# $$
# z = \mu + \sigma \odot \epsilon, \qquad \sigma = e^{\mathrm{logvar}/2}, \qquad \epsilon \sim \mathcal N(0, I).
# $$
#
# Now $\mathbb E_q[f(z)] = \mathbb E_\epsilon[f(\mu + \sigma\epsilon)]$, and the
# distribution of $\epsilon$ does not move with the parameters, so the chain
# rule applies inside. Since $\partial z / \partial \mu = 1$ and
# $\partial \sigma / \partial\,\mathrm{logvar} = \tfrac12 \sigma$,
#
# $$
# \frac{\partial}{\partial \mu} \mathbb E[f(z)] = \mathbb E[f'(z)], \qquad
# \frac{\partial}{\partial\,\mathrm{logvar}} \mathbb E[f(z)] = \mathbb E\!\left[f'(z)\, \tfrac12 \sigma \epsilon\right].
# $$
#
# A single $\epsilon$ per image gives an unbiased estimate. Add the KL of
# section 2, weighted by $\beta$ ($\beta = 1$ here; lesson 07 varies it) and
# averaged over a batch of $N$ images, and write $dz = \partial f / \partial z$
# for the gradient the decoder's backward pass hands back (already carrying its $1/N$):
#
# $$
# d\mu = dz + \frac{\beta}{N}\mu, \qquad
# d\,\mathrm{logvar} = \tfrac12\, dz \odot \epsilon \odot \sigma + \frac{\beta}{2N}\left(\sigma^2 - 1\right).
# $$
#
# These are the two lines of `reparameterize_kl_backward` in
# `tinyae/functional/dense.py`, and what exercise 9 asks you to write. The
# classic reference model is 784-400-20 with ReLU, a Bernoulli decoder, Adam
# with learning rate 1e-3 and batches of 128, as in the PyTorch VAE example,
# whose test loss per image is about 128 after one epoch and 105.5 ± 1.0
# after ten.

# %%
print(f"VAE 784-400-20 (ReLU, Bernoulli), Adam lr 1e-3, batch 128, {lesson.epochs} epochs, "
      f"backend {backend.get_backend()}, float32")
model = VAE(sizes=(784, 400, 20), activation="relu", likelihood="bernoulli",
            rng=lesson.rng, dtype=DTYPE)
track = []                                   # test loss per image after each epoch


def after_epoch(epoch, history):
    track.append(test_loss(model, x_test, [lesson.seed, 1000 + epoch]))
    lesson.report(f"epoch {epoch:2d}: train loss {history['loss'][-1]:7.2f} "
                  f"(recon {history['recon'][-1]:6.2f} + KL {history['kl'][-1]:5.2f}), "
                  f"test loss {track[-1]:7.2f}, {history['seconds'][-1]:.1f} s")


history = fit(model, x_train, optimizer=Adam(model.params, lr=1e-3), epochs=lesson.epochs,
              batch_size=128, rng=lesson.rng, progress=lesson.progress, callback=after_epoch)
lesson.report(f"mean epoch time {np.mean(history['seconds']):.1f} s "
              f"(469 steps of 128; numbers: {', '.join(f'{t:.2f}' for t in track)})")

# %%
lesson.save(loss_curve_vs_published({"train (running mean)": history["loss"],
                                     "test (one eps per image)": track}, PUBLISHED,
                                    ylabel="loss per image, -ELBO (nats)",
                                    title="VAE 784-400-20 on MNIST"), "training_curve")

# %% [markdown]
# The test curve starts on the published point: **128.14** nats per image
# after one epoch, and **108.66** after five, on its way to the published
# 105.5 at ten. The training curve lies above the test curve because each
# of its points is a running mean over an epoch in which the model was still
# improving.

# %%
lesson.claim("test loss per image after epoch 1 (PyTorch example: ~128)", track[0],
             within=(128.0, 3.0))
if lesson.epochs >= 10:
    lesson.claim("test loss per image after epoch 10 (PyTorch example: 105.5 +- 1.0)",
                 track[9], within=PUBLISHED[10])
elif lesson.epochs == DEFAULT_EPOCHS:
    lesson.claim(f"test loss per image after epoch {DEFAULT_EPOCHS}: on the published "
                 f"curve from 128 (epoch 1) to 105.5 (epoch 10)", track[-1], lt=110.0)
if lesson.epochs >= 2:
    lesson.claim("test loss falls with training: epoch 1 minus last epoch (nats)",
                 track[0] - track[-1], gt=0.0)

# %% [markdown]
# ## 4. Why reparameterise? The score-function estimator
#
# There is an older way to differentiate $\mathbb E_{q_\lambda}[f(z)]$ with
# respect to the parameters $\lambda$ of $q$, which needs only values of $f$.
# Differentiate under the integral and use $\nabla q = q\, \nabla \log q$:
#
# $$
# \nabla_\lambda \int f(z)\, q_\lambda(z)\, dz = \int f(z)\, q_\lambda(z)\, \nabla_\lambda \log q_\lambda(z)\, dz
# = \mathbb E_q\big[f(z)\, \nabla_\lambda \log q_\lambda(z)\big].
# $$
#
# This is the score-function or REINFORCE estimator. For our Gaussian,
# $\log q(z) = \sum_d \big[-\tfrac12 \log 2\pi - \tfrac12 \mathrm{logvar}_d - (z_d - \mu_d)^2 / (2 e^{\mathrm{logvar}_d})\big]$,
# and with $z_d - \mu_d = \sigma_d \epsilon_d$,
#
# $$
# \frac{\partial \log q}{\partial \mu_d} = \frac{z_d - \mu_d}{\sigma_d^2} = \frac{\epsilon_d}{\sigma_d}, \qquad
# \frac{\partial \log q}{\partial\,\mathrm{logvar}_d} = -\tfrac12 + \frac{(z_d - \mu_d)^2}{2\sigma_d^2} = \tfrac12\left(\epsilon_d^2 - 1\right).
# $$
#
# Both estimators are unbiased, but REINFORCE multiplies the *value*
# $f(z) = \log p(x \mid z)$, around $-100$ nats here, by zero-mean noise,
# while the reparameterised one uses the *slope* $f'(z)$. Because
# $\mathbb E_q[\nabla \log q] = 0$, any constant $b$ may be subtracted,
# $\mathbb E_q[(f(z) - b)\,\nabla \log q]$, without changing the mean (a
# *baseline*); we take $b$ as the mean of $f$ over each image's draws, which
# removes most of the $-100$. We draw 4,000 samples of $\epsilon$ for each
# of 8 test images and measure the variance of one draw's estimate in each
# of the 40 coordinates $(\mu, \mathrm{logvar})$.

# %%
N_IMG, S = 8, 4000
xs = x_test[:N_IMG]
mu, logvar = model.encode(xs)                                    # (8, 20) each
sigma = np.exp(0.5 * logvar)
eps = lesson.rng.standard_normal((S, N_IMG, 20), dtype=DTYPE)    # (draws, image, latent)
z = mu + sigma * eps
# one row per (draw, image): (S * 8, 784)
x_rep = np.broadcast_to(xs, (S, N_IMG, 784)).reshape(S * N_IMG, 784)
logp, dz = [], []
for i in range(0, S * N_IMG, 4000):                              # bounded memory
    lp, g = model.grad_log_px_given_z(np.ascontiguousarray(x_rep[i:i + 4000]),
                                      z.reshape(S * N_IMG, 20)[i:i + 4000])
    logp.append(lp)                                              # f(z)
    dz.append(g)                                                 # f'(z)
logp = np.concatenate(logp).reshape(S, N_IMG, 1).astype(np.float64)  # (S, 8, 1)
dz = np.concatenate(dz).reshape(S, N_IMG, 20).astype(np.float64)     # (S, 8, 20)

# %%
eps64, sigma64 = eps.astype(np.float64), sigma.astype(np.float64)
centred = logp - logp.mean(0)                  # f minus the per-image baseline
estimators = {
    # reparameterisation: f'(z) and f'(z) eps sigma / 2
    "reparameterisation": np.concatenate([dz, dz * eps64 * sigma64 / 2], axis=2),
    # score function: f(z) d log q / d(mu, logvar)
    "REINFORCE": np.concatenate([logp * eps64 / sigma64, logp * (eps64**2 - 1) / 2], axis=2),
    # ... with the per-image mean of f as a baseline (fitted on the same draws)
    "REINFORCE, baseline": np.concatenate([centred * eps64 / sigma64,
                                           centred * (eps64**2 - 1) / 2], axis=2),
}
var = {k: v.var(axis=0, ddof=1) for k, v in estimators.items()}   # (8, 40) per coordinate
mean = {k: v.mean(axis=0) for k, v in estimators.items()}
for k in estimators:
    lesson.report(f"{k:20s}: variance per coordinate, mean {var[k].mean():.4g}, "
                  f"median {np.median(var[k]):.4g}")

# %%
lesson.save(estimator_variances(var, title="gradient of E_q[log p(x|z)] w.r.t. (mu, logvar)"),
            "estimator_variance")

# %% [markdown]
# Each histogram counts the 320 coordinates (8 images, 40 outputs) by the
# variance of a single-draw estimate, on a log scale. The REINFORCE histogram
# sits several decades to the right of the reparameterised one: on
# average its variance is **6231** times larger. The baseline pulls it most of
# the way back, to **19.0** times. Both estimators still have the same mean:
# the last claim compares the two averages over 4,000 draws, coordinate by
# coordinate, in units of their standard error.

# %%
ratio = var["REINFORCE"].mean() / var["reparameterisation"].mean()
ratio_b = var["REINFORCE, baseline"].mean() / var["reparameterisation"].mean()
lesson.claim("variance: REINFORCE / reparameterisation (mean over 8 images x 40 "
             "coordinates)", ratio, gt=100.0)
lesson.claim("variance: REINFORCE with a baseline / reparameterisation", ratio_b, gt=3.0)
zscore = (mean["reparameterisation"] - mean["REINFORCE"]) / np.sqrt(
    (var["reparameterisation"] + var["REINFORCE"]) / S)
lesson.report(f"mean gradients agree: |z| max {np.abs(zscore).max():.2f}, "
              f"mean z^2 {np.mean(zscore**2):.3f} over {zscore.size} coordinates "
              f"(unbiased: z ~ N(0, 1), mean z^2 ~ 1)")
lesson.claim("same mean: mean z^2 of (reparam - REINFORCE) / standard error (320 "
             "coordinates; 1 if both unbiased)", np.mean(zscore**2), within=(1.0, 0.35))

# %% [markdown]
# ## 5. Tighter bounds, and what the 20 dimensions do
#
# The ratio inside Jensen's inequality of section 1,
# $w = p(x \mid z)\,p(z) / q(z \mid x)$ with $z \sim q$, has mean
# $\mathbb E_q[w] = \int p(x \mid z)\, p(z)\, dz = p(x)$. So has the average of
# $k$ independent copies, and averaging makes it less spread, so Jensen's
# inequality costs less (Burda et al., 2016):
#
# $$
# \mathcal L_k(x) = \mathbb E\!\left[\log \frac1k \sum_{i=1}^k w_i\right], \qquad
# \mathrm{ELBO} = \mathcal L_1 \le \mathcal L_{10} \le \mathcal L_{100} \le \log p(x).
# $$
#
# Lesson 10 uses these bounds to measure a VAE's likelihood. Here they show
# how far the trained encoder is from the true posterior. Next, the KL term
# splits into one term per latent dimension. A dimension whose posterior mean
# does not vary with $x$ carries no information; Burda et al. call dimension
# $d$ *active* when $A_d = \mathrm{Cov}_x\big(\mathbb E_{q(z \mid x)}[z_d]\big) > 0.01$.

# %%
xb = x_test[:500]
bounds = {"ELBO": float(model.elbo(xb, rng=lesson.rng, n_samples=10).mean())}
for k in (10, 100):
    bounds[f"L_{k}"] = float(model.iw_bound(xb, k, rng=lesson.rng).mean())
lesson.report("  ".join(f"{k} {v:.2f}" for k, v in bounds.items()) + "  (nats per image)")
lesson.claim("importance weighting tightens the bound: L_100 - ELBO (nats)",
             bounds["L_100"] - bounds["ELBO"], gt=0.5)
lesson.claim("L_100 - L_10 (nats)", bounds["L_100"] - bounds["L_10"], gt=0.0)

# %%
kl_dim = model.kl_per_dimension(x_test)
n_active, activity = model.active_units(x_test)
lesson.report(f"active units (Cov_x E_q[z_d] > 0.01): {n_active} of 20; KL per dim "
              f"from {kl_dim.min():.3f} to {kl_dim.max():.2f}, total {kl_dim.sum():.2f}")
lesson.save(kl_per_dimension(kl_dim, active=activity > 0.01,
                             title=f"KL per latent dimension ({n_active}/20 active)"),
            "kl_per_dimension")

# %% [markdown]
# On 500 test images, 100 importance samples raise the bound by **3.98** nats
# over the ELBO: the encoder's Gaussian is a few nats from the true
# posterior. In the bar chart every one of the 20 dimensions is active after
# five epochs, none carrying more than two nats; grey bars would
# mark collapsed dimensions, which lesson 07 provokes by raising $\beta$.

# %% [markdown]
# ## 6. What the model learned: samples, reconstructions, interpolations
#
# Three ways to look at a VAE. *Samples*: decode $z \sim \mathcal N(0, I)$ and
# show the mean of $p(x \mid z)$ (the pixel probabilities, not a Bernoulli
# draw). *Reconstructions*: decode the posterior mean $\mu(x)$ of a test
# image. *Interpolations*: decode points on the path between the codes of two
# test images, either the straight line $z(t) = (1-t)\,z_a + t\,z_b$ or the
# great circle (slerp), which keeps the norm typical of Gaussian draws.

# %%
fig_rng = np.random.default_rng(lesson.seed + 7)
lesson.save(image_grid(model.sample(64, rng=fig_rng), rows=8,
                       row_labels=[f"draws {8 * r + 1}-{8 * r + 8}" for r in range(8)],
                       title="samples: decoder means at z ~ N(0, I)"), "samples")

# %%
recon = model.reconstruct(x_test[:32])
rows = [part for i in range(0, 32, 8) for part in (x_test[i:i + 8], recon[i:i + 8])]
lesson.save(image_grid(np.concatenate(rows), rows=8,                # input row, its output
                       row_labels=["test image", "decoded mu"] * 4,
                       title="reconstructions: each test image above its decoded "
                             "posterior mean"), "reconstructions")

# %% [markdown]
# Each reconstruction is the same digit as the test image above it, a little
# blurred: the stroke width and slant survive, fine texture does not. The
# digit judge (a classifier trained on real digits, `tinyae.course.judge`)
# agrees.

# %%
lesson.claim("share of the shown reconstructions the digit judge names as their input's "
             "digit", recognised_share(recon, y_test[:32]), gt=0.9)

# %%
pairs = [(0, 1), (2, 3), (4, 7)]
strips = np.concatenate([model.interpolate(x_test[a], x_test[b], 10) for a, b in pairs]
                        + [model.interpolate(x_test[a], x_test[b], 10, mode="slerp")
                           for a, b in pairs])
names = [f"{y_test[a]} to {y_test[b]}, {mode}" for mode in ("linear", "slerp")
         for a, b in pairs]
lesson.save(image_grid(strips, rows=2 * len(pairs), row_labels=names,
                       col_labels=[f"t={i}/9" for i in range(10)],
                       title="interpolation between posterior means"), "interpolation")

# %% [markdown]
# Along every row the digit changes gradually. The middle of a line between
# two different digits is often a blend that is neither (look at the 7 to 2
# row near $t = 4/9$); the slerp rows differ little from the linear ones,
# since with 20 dimensions the two codes have similar norms already.

# %% [markdown]
# ## 7. A 2-latent model: the manifold and the codes
#
# With only two latent units the whole latent space fits on a page. We train
# a 784-400-2 VAE for one epoch, decode a 20 × 20 grid of codes placed at
# normal quantiles 0.05 to 0.95 (so that each cell covers the same prior
# mass, as in Kingma and Welling's Figure 4), and plot the posterior means of
# all 10,000 test digits, coloured by their label.

# %%
start = time.perf_counter()
model2 = VAE(sizes=(784, 400, 2), rng=lesson.rng, dtype=DTYPE)
fit(model2, x_train, optimizer=Adam(model2.params, lr=1e-3), epochs=1, batch_size=128,
    rng=lesson.rng, progress=lesson.progress)
lesson.report(f"1 epoch, {time.perf_counter() - start:.1f} s; test loss "
              f"{test_loss(model2, x_test, [lesson.seed, 2]):.2f} "
              f"(20 latents: {track[-1]:.2f})")

# %%
images, grid_z = model2.decode_grid(20)
lesson.save(latent_grid(images, grid_z, n=20,
                        title="decoded grid of z (normal quantiles 0.05..0.95)"),
            "manifold_2d")

# %%
lesson.save(latent_scatter(model2.encode(x_test)[0], y_test,
                           title="posterior means of the 10,000 test digits"),
            "latent_scatter")

# %% [markdown]
# Read the two figures together. Each region of the grid draws the digit
# whose codes occupy the same region of the scatter plot (the 0s and 1s
# have their own corners; 4, 7 and 9 overlap and blend into one another).
# Two numbers per image cannot keep ten digits and their styles apart, so
# the 2-latent model's test loss is far above the 20-latent one's.

# %% [markdown]
# ## Check your understanding
#
# 1. The REINFORCE estimator's variance is thousands of times the
#    reparameterised one's, yet a baseline brings it much closer. Which term of the estimator does the baseline remove, and
#    why is that term so large for $f = \log p(x \mid z)$ on MNIST?
# 2. Suppose `reparameterize_kl` sampled with $\sigma = e^{\mathrm{logvar}}$
#    instead of $e^{\mathrm{logvar}/2}$, and its backward pass were changed
#    to match (so $\partial z / \partial\,\mathrm{logvar} = \sigma\epsilon$).
#    Would a finite-difference check catch it? Which of this lesson's
#    computations would you use instead?
# 3. Change `for k in (10, 100)` in section 5 to `(10, 100, 1000)`. What do
#    you expect $\mathcal L_{1000} - \mathcal L_{100}$ to be compared with
#    $\mathcal L_{100} - \mathcal L_{10}$, and why can it never be negative
#    on average?
# 4. Run the lesson with `--epochs 1`. Which claims are no longer made, and
#    how does the gap $\mathcal L_{100} - \mathrm{ELBO}$ change?
# 5. The 2-latent model's test loss is far above the 20-latent model's.
#    Which of the two terms of the loss, reconstruction or KL, would you
#    expect to account for the difference?

# %% [markdown]
# ## Exercises
#
# Exercise 9, `ex09_reparam_kl.py` (`tinyae exercises start DIR`): write
# `reparameterize_kl` (one sample $z = \mu + \sigma\epsilon$ and the batch-mean
# Gaussian KL) and its backward pass `reparameterize_kl_backward`, the two
# lines derived in section 3. The checker compares them with finite
# differences and with a moment test (the sample variance of $z$ must equal
# $e^{\mathrm{logvar}}$), which catches the mistake of question 2.
#
# ## References
#
# - Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes.
#   *International Conference on Learning Representations (ICLR)*. Section 2.2
#   (the variational lower bound), Section 2.4 (the reparameterisation trick),
#   Appendix B (the Gaussian KL in closed form), Figure 4 (the learned
#   2-D MNIST manifold).
# - Rezende, D. J., Mohamed, S. and Wierstra, D. (2014). Stochastic
#   backpropagation and approximate inference in deep generative models.
#   *International Conference on Machine Learning (ICML)*. Stochastic
#   backpropagation: the same gradient, derived independently.
# - Williams, R. J. (1992). Simple statistical gradient-following algorithms
#   for connectionist reinforcement learning. *Machine Learning* 8(3-4),
#   229-256. (The score-function estimator, REINFORCE.)
# - Mohamed, S., Rosca, M., Figurnov, M. and Mnih, A. (2020). Monte Carlo
#   gradient estimation in machine learning. *Journal of Machine Learning
#   Research* 21(132). The score-function and pathwise estimators, and
#   variance reduction with baselines.
# - Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted
#   autoencoders. *ICLR*. Section 3 (the bound $\mathcal L_k$ and its
#   monotonicity, Theorem 1) and section 5.2 (the activity statistic $A_u$
#   and active units).
# - White, T. (2016). Sampling generative networks. arXiv:1609.04468.
#   (Spherical linear interpolation, "slerp", between latent codes.)
# - PyTorch examples, `vae/main.py` (github.com/pytorch/examples): the
#   784-400-20 reference model, its training settings and the test losses
#   it prints (about 128 after one epoch, 105.5 after ten).

# %%
lesson.finish()
