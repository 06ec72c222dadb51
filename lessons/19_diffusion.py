"""Lesson 19: diffusion models as many denoising autoencoders."""

# %% [markdown]
# # Lesson 19: diffusion models as many denoising autoencoders
#
# **You will learn** how a denoising diffusion model (Ho, Jain and Abbeel, 2020) is a
# denoising autoencoder trained at a whole ladder of noise levels at once: the forward
# noising process and its closed form, why predicting the noise is denoising score
# matching at every level (the network's output is minus the noise level times the score
# of the noised density), a small network conditioned on the level, and ancestral
# sampling, which walks down the ladder. On a 2-D density whose score is known exactly we
# measure what the network learned at each level, how close its samples come to the
# density (against a single-level DAE chain and against the density's own samples), and
# what the number of levels does to them. Then we move to MNIST digits, 784 dimensions,
# where the network needs the level at every layer and a skip path from its input to its
# output, and where its samples are judged by a digit classifier against lesson 14's VAE.
#
# **It assumes** lesson 03 (a denoising autoencoder's residual estimates the score of the
# noise-smoothed density: Tweedie's formula), lesson 15 (a DAE as a generative Markov chain,
# and the MMD between samples), lesson 14 (a VAE's samples judged by a classifier trained
# on real digits), lesson 02 (the undercomplete autoencoder) and lesson 00 (gradient
# checking).

# %%
import time

import numpy as np

from tinyae.analysis.generative import gsn_chain, mmd2
from tinyae.analysis.scores import ParameterAverage, fit_fresh, relative_score_error
from tinyae.course.judge import digit_judge
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import image_grid, xy_curves
from tinyae.course.plotting.diffusion import mmd_vs_levels, noise_fields, points_over_densities
from tinyae.data import load_mnist, mixture_2d
from tinyae.gradcheck import check_model
from tinyae.models import VAE, DiffusionModel, GaussianDenoiser, ImageDiffusionModel
from tinyae.optim import Adam, cosine_decay
from tinyae.train import fit

T, HIDDEN, EMBED = 100, 128, 16              # levels, hidden width, level features
N_PER_EPOCH, BATCH, LR, LR_END, DECAY = 40_000, 256, 3e-3, 3e-4, 0.999
SHOWN = (0, 5, 10, 20, 40, 100)              # the levels the figures show (0: the data)
N_SAMPLES, BANDWIDTH, N_FLOOR = 2000, 0.3, 10  # MMD: points, kernel width, data samples
LADDERS = (1, 2, 5, 10, 20, 50, 100)         # sampling ladders: levels (network evaluations)
GSN_SIGMAS = (0.25, 0.5)                     # two middle levels of lesson 15's sweep
N_DIGITS, CONFIDENT = 1000, 0.9              # samples judged; lesson 14's threshold
WALK = (100, 80, 60, 40, 30, 20, 10, 5)      # levels of the reverse walk the figure shows

lesson = Lesson("19_diffusion", __doc__, epochs=60, full_epochs=180)
rng = lesson.rng

# %% [markdown]
# ## 1. A density whose score we know
#
# We use the three-component Gaussian mixture of lessons 03 and 15,
# $p(x) = \sum_k w_k\, \mathcal{N}(x; \mu_k, \Sigma_k)$ in 2-D. Scale a point and add
# Gaussian noise, $y = a x + s \epsilon$ with $\epsilon \sim \mathcal{N}(0, I)$: given the
# component $k$, $y$ is Gaussian with mean $a\mu_k$ and covariance $a^2\Sigma_k + s^2 I$,
# so $y$ is again a mixture with the same weights,
#
# $$
# p_{a,s}(y) = \sum_k w_k\, \mathcal{N}\big(y;\; a\mu_k,\; a^2\Sigma_k + s^2 I\big),
# \qquad
# \nabla_y \log p_{a,s}(y) = \sum_k r_k(y)\, \big(a^2\Sigma_k + s^2 I\big)^{-1} (a\mu_k - y),
# $$
#
# with $r_k(y)$ the posterior probability of component $k$. Every density the lesson
# needs, and its score, is exact: `mixture.smoothed(s, scale=a)`.

# %%
mixture = mixture_2d()
model = DiffusionModel(sizes=(2, HIDDEN, HIDDEN), n_levels=T, embed_dim=EMBED,
                       activation="relu", rng=rng, dtype=np.float32)
a_bar = model.alpha_bars                                         # (T,), level t at t - 1
sigma = np.sqrt(1.0 - a_bar)                                     # noise level of each rung


def noised(t):
    """The exact density of x_t: the mixture of sqrt(a_bar_t) x_0 + sigma_t eps
    (t = 0: the mixture itself)."""
    return mixture if t == 0 else mixture.smoothed(sigma[t - 1], scale=np.sqrt(a_bar[t - 1]))


lesson.report("noise level sigma_t at levels " + ", ".join(
    f"t={t}: {sigma[t - 1]:.3f}" for t in (1, 2, 5, 10, 20, 40, 100)))

# %% [markdown]
# ## 2. The forward process and its closed form
#
# The forward process adds a little noise at each of $T$ levels and shrinks the point so
# that its variance stays bounded: with $\beta_t \in (0, 1)$ and $\alpha_t = 1 - \beta_t$,
#
# $$
# q(x_t \mid x_{t-1}) = \mathcal{N}\big(x_t;\; \sqrt{\alpha_t}\, x_{t-1},\; \beta_t I\big).
# $$
#
# Write $\bar\alpha_t = \prod_{s \le t} \alpha_s$. Suppose $x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,
# x_0 + \sqrt{1 - \bar\alpha_{t-1}}\, \epsilon'$ (true at $t = 1$ with $\bar\alpha_0 = 1$).
# One more step adds independent noise $\sqrt{\beta_t}\,\epsilon''$:
#
# $$
# x_t = \sqrt{\alpha_t \bar\alpha_{t-1}}\, x_0
# + \underbrace{\sqrt{\alpha_t (1 - \bar\alpha_{t-1})}\, \epsilon' + \sqrt{1 - \alpha_t}\,
# \epsilon''}_{\text{Gaussian, variance } \alpha_t - \bar\alpha_t + 1 - \alpha_t}
# = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon ,
# $$
#
# since a sum of independent Gaussians is Gaussian with the variances added. By induction
# the whole chain collapses into one draw (Ho et al., Eq. 4): $x_t$ is $x_0$ shrunk by
# $\sqrt{\bar\alpha_t}$ plus noise of level $\sigma_t = \sqrt{1 - \bar\alpha_t}$, and its
# density is the mixture of section 1 with $a = \sqrt{\bar\alpha_t}$, $s = \sigma_t$.
# Training never runs the chain: it draws $t$ and $\epsilon$ and jumps. The schedule is
# Ho et al.'s (betas rising linearly from $10^{-4}$ to $0.02$ over 1,000 levels), written as
# its many-level limit $\bar\alpha(u) = e^{-(0.1 u + 9.95 u^2)}$ at $u = t/T$ (Song et al.,
# 2021), so that any $T$ walks the same ladder from nearly clean to
# $\bar\alpha_T = 4.3 \times 10^{-5}$ (pure noise).
#
# We check the closed form against the chain itself: 20,000 points pushed through the $T$
# one-step kernels, their mean and covariance at each level against the exact moments of
# $\sqrt{\bar\alpha_t} x_0 + \sigma_t \epsilon$, namely $\sqrt{\bar\alpha_t}\, m$ and
# $\bar\alpha_t C + \sigma_t^2 I$ ($m$, $C$ the mixture's mean and covariance).

# %%
x = mixture.sample(20_000, rng=rng)                              # (20000, 2) float64
mean_err, cov_err, forward = [], [], {0: x[:N_SAMPLES].copy()}
for t in range(1, T + 1):
    x = np.sqrt(model.alphas[t - 1]) * x + np.sqrt(model.betas[t - 1]) \
        * rng.standard_normal(x.shape)                           # one step of q(x_t | x_t-1)
    exact_mean = np.sqrt(a_bar[t - 1]) * mixture.mean()
    exact_cov = a_bar[t - 1] * mixture.cov() + sigma[t - 1] ** 2 * np.eye(2)
    mean_err.append(np.max(np.abs(x.mean(axis=0) - exact_mean)))
    cov_err.append(np.linalg.norm(np.cov(x.T) - exact_cov) / np.linalg.norm(exact_cov))
    if t in SHOWN:
        forward[t] = x[:N_SAMPLES].copy()
lesson.report(f"one-step chain vs closed form over {T} levels: largest mean error "
              f"{max(mean_err):.4f}, largest relative covariance error {max(cov_err):.4f}")

# %% [markdown]
# With 20,000 points a mean is known to about $1/\sqrt{20000} \approx 0.007$ and a covariance
# to about $\sqrt{2/20000} = 1\%$, so a correct closed form keeps both errors at that size at
# every level (over all 100 levels the largest are **0.0185** and **0.0229**: the largest of
# 200 noisy numbers); a wrong one (say $\bar\alpha_t$ in place of $\sqrt{\bar\alpha_t}$ on
# $x_0$, or noise of variance $\beta_t$ without the shrink) drifts off by tens of percent
# within a few levels.

# %%
lesson.claim("forward process: largest |mean of the one-step chain - closed form| over "
             "all levels (standard error ~0.007)", max(mean_err), lt=0.03)
lesson.claim("forward process: largest relative covariance error of the chain against "
             "the closed form over all levels (sampling error ~1%)", max(cov_err), lt=0.04)

# %%
lesson.save(points_over_densities(
    {"forward: one-step chain": [forward[t] for t in SHOWN]},
    [noised(t).density for t in SHOWN],
    titles=[f"t = {t}, sigma_t = {sigma[t - 1]:.2f}" if t else "t = 0 (the mixture)"
            for t in SHOWN]), "forward_process")

# %% [markdown]
# Read the row left to right: the three clusters (grey contours: the exact density of
# $x_t$) first blur, then slide towards the origin as $\sqrt{\bar\alpha_t}$ shrinks them,
# and by $t = 100$ the points are a standard normal cloud with no trace of the mixture.
#
# ## 3. Predicting the noise is denoising score matching at every level
#
# Lesson 03 showed Tweedie's formula for $y = x + s\epsilon$:
# $\mathbb{E}[x \mid y] = y + s^2 \nabla_y \log p_s(y)$. Apply it to $u = a x_0$ (a
# scaled copy of the data, whose noised version is $x_t = u + s\epsilon$ with
# $a = \sqrt{\bar\alpha_t}$, $s = \sigma_t$): $\mathbb{E}[a x_0 \mid x_t] = x_t + s^2 \nabla
# \log p_t(x_t)$. Since $\epsilon = (x_t - a x_0)/s$,
#
# $$
# \mathbb{E}[\epsilon \mid x_t] = \frac{x_t - \mathbb{E}[a x_0 \mid x_t]}{s}
# = -\,\sigma_t\, \nabla_{x_t} \log p_t(x_t).
# $$
#
# The noise-prediction loss of Ho et al. (their Eq. 14, the "simplified" objective),
#
# $$
# L(\theta) = \mathbb{E}_{t \sim U\{1..T\},\, x_0,\, \epsilon}
# \big\| \epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t} x_0 + \sigma_t \epsilon,\; t) \big\|^2 ,
# $$
#
# is a squared error, so at each level its minimiser is the conditional mean: adding and
# subtracting $\mathbb{E}[\epsilon \mid x_t]$, the cross term vanishes and
#
# $$
# L(\theta) = \mathbb{E}\,\big\|\epsilon_\theta(x_t, t) - \mathbb{E}[\epsilon \mid x_t]\big\|^2
# + \mathbb{E}\,\big\|\epsilon - \mathbb{E}[\epsilon \mid x_t]\big\|^2 ,
# $$
#
# the second term not depending on $\theta$. So the best network is
# $\epsilon^*(x_t, t) = -\sigma_t \nabla \log p_t(x_t)$. Written with a score model
# $s_\theta = -\epsilon_\theta / \sigma_t$ and the score of the noising kernel,
# $\nabla_{x_t} \log q(x_t \mid x_0) = -(x_t - a x_0)/s^2 = -\epsilon/\sigma_t$, the loss at
# level $t$ is $\sigma_t^2\, \mathbb{E}\,\| s_\theta(x_t, t) - \nabla_{x_t} \log q(x_t \mid
# x_0)\|^2$: Vincent's (2011) denoising score matching at noise level $\sigma_t$, weighted by
# $\sigma_t^2$, which is exactly the weighting $\lambda(\sigma) = \sigma^2$ that Song and
# Ermon (2019) chose for their noise-conditional score network. A diffusion model is a
# denoising autoencoder at every rung of the ladder, sharing one network.
#
# ## 4. One network for every level
#
# The network sees $[x_t, e(t)]$, where $e(t)$ holds 16 sines and cosines of $t$ with
# angular frequencies from 1 radian per level down to $1/T$ (neighbouring levels differ,
# and the whole ladder is one smooth turn), as the Transformer embeds positions and the
# DDPM embeds its levels. A `dense_stack` (18 inputs, two hidden layers of 128 ReLU units,
# 2 linear outputs) maps it to $\epsilon_\theta$. The embedding has no parameters, so the
# gradient is nothing new: the squared error's $\partial L/\partial \epsilon_\theta =
# 2(\epsilon_\theta - \epsilon)/N$ back through the dense layers' own backward passes. The
# gradient checker agrees (`python -m tinyae.gradcheck -k Diffusion`); here is one check,
# in float64 with $t$ and $\epsilon$ fixed so the loss is a deterministic function of the
# weights.

# %%
probe = DiffusionModel(sizes=(2, 6, 5), n_levels=T, embed_dim=4, activation="tanh",
                       rng=np.random.default_rng(1), dtype=np.float64)
xb = mixture.sample(5, rng=rng)
report = check_model(probe, xb, t=rng.integers(1, T + 1, size=5),
                     noise=rng.standard_normal(xb.shape))
lesson.claim("gradient check of the noise-prediction loss: worst relative error "
             "(float64 central differences)", report.worst, lt=1e-7)

# %% [markdown]
# We train on a fresh sample of 40,000 mixture points every epoch (the density is known:
# there is no fixed training set to overfit), each point at a level $t$ drawn uniformly
# with its own $\epsilon$ (Algorithm 1), with Adam (learning rate decaying from 3e-3 to
# 3e-4) and an exponential moving average of the weights, as Ho et al. use (they take
# a decay of 0.9999 over 800,000 steps; our much shorter run takes 0.999).

# %%
optimizer = ParameterAverage(Adam(model.params, lr=LR), decay=DECAY)
start = time.process_time()
losses = fit_fresh(model, lambda n, r: mixture.sample(n, rng=r, dtype=np.float32),
                   optimizer=optimizer, epochs=lesson.epochs, n_per_epoch=N_PER_EPOCH,
                   batch_size=BATCH, rng=rng, lr_end=LR_END)
optimizer.copy_to_params()
lesson.report(f"trained {lesson.epochs} epochs ({lesson.epochs * N_PER_EPOCH // BATCH} "
              f"steps) in {time.process_time() - start:.1f} s of CPU; loss (sum over the 2 "
              f"noise coordinates) first epoch {losses[0]:.3f}, last {losses[-1]:.3f}")

# %% [markdown]
# The loss cannot fall near 0: most of $\epsilon$ is unpredictable from $x_t$ (the second
# term of the decomposition above). What matters is the first term, which we can measure
# because we know $\epsilon^*$ exactly.
#
# ## 5. What the network learned, level by level
#
# At each level we compare $\epsilon_\theta(\cdot, t)$ with $\epsilon^* = -\sigma_t \nabla
# \log p_t$ on an $81 \times 81$ grid over $[-4, 4]^2$, weighting each grid point by the
# density $p_t$ there (lesson 03's density-weighted relative error,
# $\sqrt{\sum_n p_t(x_n)\|\epsilon_\theta - \epsilon^*\|^2 / \sum_n p_t(x_n)\|\epsilon^*\|^2}$;
# 0 is perfect, predicting 0 scores 1). Beside it: how far the target of a classic bug is,
# the score of the mixture noised *without* the shrink $\sqrt{\bar\alpha_t}$.

# %%
g = np.linspace(-4.0, 4.0, 81)
gx, gy = np.meshgrid(g, g)
grid = np.stack([gx.ravel(), gy.ravel()], axis=1)               # (6561, 2)
levels = (1, 2, 5, 10, 20, 30, 40, 60, 80, 100)
err, bug = {}, {}
for t in levels:
    exact = -sigma[t - 1] * noised(t).score(grid)                # eps*(x, t): (6561, 2)
    weight = noised(t).density(grid)
    learned = model.predict_noise(grid.astype(np.float32), t)
    err[t] = relative_score_error(learned, exact, weight)
    size = np.sqrt(weight @ np.sum(exact ** 2, axis=1) / weight.sum())  # rms of eps* under p_t
    bug[t] = relative_score_error(-sigma[t - 1] * mixture.smoothed(sigma[t - 1]).score(grid),
                                  exact, weight)
    lesson.report(f"t={t:<3d} sigma_t={sigma[t - 1]:.3f}: rms of eps* {size:.3f}; relative "
                  f"error of eps_theta {err[t]:.3f} (no-shrink bug's target: {bug[t]:.3f})")

# %%
lesson.save(xy_curves({"network eps_theta vs -sigma_t * exact score":
                       (levels, [err[t] for t in levels]),
                       "target without the shrink (a bug) vs the right one":
                       (levels, [bug[t] for t in levels])},
                      xlabel="level t (noise level sigma_t printed above)",
                      ylabel="density-weighted relative error", logx=True, logy=True,
                      title="What the one network learned at each level"), "error_per_level")

# %% [markdown]
# The error is smallest at the top of the ladder and grows as $\sigma_t$ shrinks, like the
# single-level DAEs of lesson 03: at $t = 1$ ($\sigma_t = 0.045$) the signal $\epsilon^*$
# has a root-mean-square size of **0.161** while the target $\epsilon$ still has unit
# variance per coordinate, so the regression has little to go on, and the error there is
# **0.586** (it matters little: a sampler's last steps move points by about $\sigma_t$).
# From $t = 20$ ($\sigma_t = 0.58$) up the error is at most **0.054**, while the no-shrink
# target is **0.417** or more away there: a bound of 0.1 catches that bug, a sign error
# (error 2) and an untrained network (about 1). At $t = 5$ and 10 the regression is
# harder (the same variance argument), so we ask only for 0.25, still a quarter of what an
# untrained network scores; and the variance argument says the error must grow towards
# $t = 1$, which we claim with a modest margin (more than 3 times the largest error from
# $t = 20$ up). At the lowest levels the shrink barely matters, which is why the bug's
# curve falls towards 0 on the left.

# %%
upper = [t for t in levels if t >= 20]
lesson.claim(f"noise prediction vs -sigma_t * exact score, largest relative error over "
             f"the levels t >= 20 ({upper})", max(err[t] for t in upper), lt=0.1)
lesson.claim("noise prediction vs -sigma_t * exact score, relative error at t = 5 and "
             "t = 10 (sigma_t 0.17, 0.32), the larger", max(err[5], err[10]), lt=0.25)
lesson.claim("the price of a small sigma (lesson 03): error at t = 1 over the largest at "
             "t >= 20", err[1] / max(err[t] for t in upper), gt=3.0)

# %%
sub = slice(None, None, 5)                                       # every 5th grid point
mesh = (gx[sub, sub], gy[sub, sub])
rows = {}
for t in (10, 30):
    pts = np.stack([mesh[0].ravel(), mesh[1].ravel()], axis=1)
    shape = (*mesh[0].shape, 2)
    rows[f"t = {t}"] = (noised(t).density(pts).reshape(mesh[0].shape), {
        "network eps_theta": model.predict_noise(pts.astype(np.float32), t).reshape(shape),
        "exact -sigma_t * score": (-sigma[t - 1] * noised(t).score(pts)).reshape(shape)})
lesson.save(noise_fields(*mesh, rows), "noise_fields")

# %% [markdown]
# The predicted noise points *away* from the clusters of $p_t$ (blue): subtracting it, as the
# sampler does, moves a point towards them. At $t = 10$ the arrows of the network and of the
# exact field agree where the density is, and differ only where $p_t$ is nearly zero, which
# training never visits and the error above does not weigh.
#
# ## 6. Walking down the ladder: ancestral sampling
#
# Run the chain backwards. Given $x_0$, the step back is Gaussian (Bayes' rule on the two
# Gaussians $q(x_t \mid x_{t-1})$ and $q(x_{t-1} \mid x_0)$; Ho et al., Eqs. 6-7):
#
# $$
# q(x_{t-1} \mid x_t, x_0) = \mathcal{N}\Big(
# \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1 - \bar\alpha_t} x_0
# + \frac{\sqrt{\alpha_t}(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t} x_t,\;
# \tilde\beta_t I\Big),
# \qquad \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\beta_t .
# $$
#
# We do not know $x_0$, but the closed form gives it from the noise:
# $x_0 = (x_t - \sigma_t \epsilon)/\sqrt{\bar\alpha_t}$. Put in the network's
# $\epsilon_\theta$; with $\bar\alpha_t = \alpha_t \bar\alpha_{t-1}$ the coefficients of
# $x_t$ add up to $1/\sqrt{\alpha_t}$ and the mean becomes
#
# $$
# x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}
# \epsilon_\theta(x_t, t)\Big) + \sqrt{\tilde\beta_t}\, z, \qquad z \sim \mathcal{N}(0, I),
# $$
#
# from $x_T \sim \mathcal{N}(0, I)$ down to $t = 1$, where $z = 0$ (Ho et al.'s Algorithm 2
# with their choice $\sigma_t^2 = \tilde\beta_t$). Each step is one denoising-autoencoder
# pass: remove a little of the predicted noise, add back a little fresh noise. We draw
# 2,000 samples and keep the states at the levels of the figure in section 2.

# %%
samples, reverse = model.sample(N_SAMPLES, rng=rng, record=set(SHOWN) | {0})
lesson.save(points_over_densities(
    {"forward: one-step chain": [forward[t] for t in SHOWN],
     "reverse: Algorithm 2": [reverse[t] for t in SHOWN]},
    [noised(t).density for t in SHOWN], titles=[f"t = {t}" for t in SHOWN]),
    "reverse_process")

# %% [markdown]
# The second row is the sampler at the same levels, right to left in time: it starts as
# the same standard-normal cloud, and at each level its points fill the contours of the
# exact $p_t$ as the forward process's do, ending at $t = 0$ on the three clusters of the
# mixture.
#
# ## 7. Samples against a single-level DAE chain and against the mixture itself
#
# How good are the samples? We use lesson 15's measure, the unbiased MMD$^2$ with a
# Gaussian kernel, against a fixed reference sample of 2,000 mixture points, but with a
# bandwidth of 0.3 instead of lesson 15's 1: about the width of the narrowest cluster
# (standard deviation 0.22 across it), so that the measure sees the clusters' shapes, not
# only where they are. Two yardsticks:
#
# * the floor: fresh samples of the mixture itself scatter around 0; ten of them give the
#   scatter's size;
# * lesson 15's single-level DAE chain: a `GaussianDenoiser` (a mean and a variance
#   network) trained at one corruption level $\sigma$, run as a Markov chain (corrupt,
#   then sample the reconstruction distribution) for 100 steps from points spread
#   uniformly over $[-4, 4]^2$: as many network evaluations as our 100 levels. We train
#   it at two middle levels of lesson 15's sweep, 0.25 and 0.5, and keep the better chain
#   (question 4 tries a larger one).

# %%
reference = mixture.sample(N_SAMPLES, rng=rng)
floor = np.array([mmd2(mixture.sample(N_SAMPLES, rng=rng), reference, bandwidth=BANDWIDTH)
                  for _ in range(N_FLOOR)])
floor_std = float(floor.std(ddof=1))
mmd_diffusion = mmd2(samples, reference, bandwidth=BANDWIDTH)
lesson.report(f"MMD^2 of fresh mixture samples: mean {floor.mean():.5f}, std {floor_std:.5f}"
              f" over {N_FLOOR} samples; diffusion (100 levels) {mmd_diffusion:.5f}")

# %%
gsn = {}
x_start = rng.uniform(-4.0, 4.0, size=(N_SAMPLES, 2))
for s in GSN_SIGMAS:
    dae = GaussianDenoiser(sizes=(2, 32, 32), sigma=s, var_floor=1e-4, rng=rng)
    fit_fresh(dae, lambda n, r: mixture.sample(n, rng=r), optimizer=Adam(dae.params, lr=1e-2),
              epochs=30 if lesson.full else 10, n_per_epoch=10_000, batch_size=256, rng=rng,
              lr_end=1e-3)
    chain = gsn_chain(dae, x_start, steps=100, rng=rng)
    gsn[s] = (mmd2(chain, reference, bandwidth=BANDWIDTH), chain)
    lesson.report(f"single-level DAE chain, sigma {s:g}, 100 steps: MMD^2 {gsn[s][0]:.5f}")
best = min(gsn, key=lambda s: gsn[s][0])
mmd_gsn, chain = gsn[best]

# %%
lesson.save(points_over_densities(
    {"samples": [reference, samples, chain]}, [mixture.density] * 3,
    titles=["the mixture itself", f"diffusion, {T} levels",
            f"DAE chain, sigma {best:g}, 100 steps"]), "samples")

# %% [markdown]
# The diffusion samples are hard to tell from the mixture's own: three clusters with the
# right shapes and weights (grey: contours of the mixture's density). The DAE chain also
# finds the clusters, but its Gaussian reconstruction distribution smears them, and a
# single corruption level is a compromise between mixing across clusters and resolving
# them (lesson 15).
#
# We state the comparison in units of the floor's scatter, $z = (\mathrm{MMD}^2 -
# \text{floor mean}) / \text{floor std}$: a sampler as good as the mixture itself has $|z|$
# below about 2, and we allow 4 because ten samples give only a rough standard deviation
# (were the scatter Gaussian, a perfect sampler would exceed 4 about once in several hundred
# runs, while section 8's 20-level ladder, visibly too narrow, is already far above 10).
# The diffusion model lands at **1.0**, the DAE chain at **58.9**; the chain's bound of 6
# asks only that it be clearly distinguishable from the data.

# %%
z_diffusion = (mmd_diffusion - floor.mean()) / floor_std
z_gsn = (mmd_gsn - floor.mean()) / floor_std
lesson.report(f"in floor standard deviations: diffusion {z_diffusion:.1f}, DAE chain "
              f"{z_gsn:.1f}")
lesson.claim("diffusion samples vs the mixture: MMD^2 above the floor's mean, in floor "
             "standard deviations", z_diffusion, lt=4.0)
lesson.claim("single-level DAE chain (lesson 15, 100 steps) vs the mixture: MMD^2 above the "
             "floor's mean, in floor standard deviations", z_gsn, gt=6.0)

# %% [markdown]
# ## 8. How many levels?
#
# Fewer levels mean fewer network evaluations. Because our schedule is a function of
# $u = t/T$, a ladder of $K$ evenly spaced levels $t_k = kT/K$ of the trained model is
# exactly the ladder a $K$-level model would walk, with the betas it implies,
# $\beta'_k = 1 - \bar\alpha_{t_k}/\bar\alpha_{t_{k-1}}$ (`sample(levels=...)`; Nichol and
# Dhariwal, 2021, call this respacing). Two effects could hurt a short ladder: the
# network's errors, and the steps themselves, since $q(x_{t-1} \mid x_t)$ is only close to
# Gaussian when $\beta_t$ is small. To separate them we also sample with the *exact*
# $\epsilon^*$ in place of the network (`noise_fn=`): what any network, however good, would
# do on that ladder.

# %%
def exact_noise(x_t, t):
    """eps*(x_t, t) = -sigma_t * grad log p_t(x_t), in float64."""
    return -sigma[t - 1] * noised(t).score(x_t)


# %%
by_ladder = {"trained network": [], "exact noise eps*": []}
spread = {}
for k in LADDERS:
    ladder = np.arange(1, k + 1) * T // k                        # t_k = k T / K, ends at T
    for name, fn in (("trained network", None), ("exact noise eps*", exact_noise)):
        xs = model.sample(N_SAMPLES, rng=rng, levels=ladder, noise_fn=fn)
        by_ladder[name].append(mmd2(xs, reference, bandwidth=BANDWIDTH))
        spread[name, k] = float(np.sqrt(np.trace(np.cov(xs.T.astype(np.float64)))))
    lesson.report(f"{k:>3d} levels: MMD^2 network {by_ladder['trained network'][-1]:.5f}, "
                  f"exact {by_ladder['exact noise eps*'][-1]:.5f}; spread (rms distance "
                  f"to the mean) network {spread['trained network', k]:.2f}, exact "
                  f"{spread['exact noise eps*', k]:.2f} (data "
                  f"{np.sqrt(np.trace(mixture.cov())):.2f})")

# %%
lesson.save(mmd_vs_levels(LADDERS, by_ladder, floor_band=floor.mean() + 2 * floor_std,
                          bandwidth=BANDWIDTH,
                          references={f"DAE chain, sigma {best:g}, 100 steps": mmd_gsn}),
            "mmd_vs_levels")

# %% [markdown]
# Both curves fall steeply with the number of levels and reach the floor's band (grey;
# values at or below it are drawn at the bottom edge), or its edge, at 100 levels. From 5
# to 50 levels the two curves lie on top of each other: the exact noise does not rescue a
# short ladder, so there the loss is the ladder's, not the network's. A short ladder makes the
# samples too *narrow*: with 5 levels and the exact noise their spread (root-mean-square
# distance to their mean) is **1.25** against the data's **1.69**. The reason is
# $\tilde\beta_t$, the variance of $q(x_{t-1} \mid x_t, x_0)$ for a *known* $x_0$: it leaves
# out the uncertainty about $x_0$, a shortfall the big steps of a short ladder make large.
# With one level the sample is $x_0 = (x_T - \sigma_T\epsilon)/\sqrt{\bar\alpha_T}$: the exact
# noise puts every point at the posterior mean, near the mixture's mean (spread **0.01**),
# while the network's error is multiplied by $1/\sqrt{\bar\alpha_T} \approx 150$ and its points
# scatter far and wide (spread **4.64**). The DAE chain (red) spends 100 network
# evaluations to land just above the 10-level diffusion ladder.

# %%
net = np.array(by_ladder["trained network"])
z = (net - floor.mean()) / floor_std
at = {k: i for i, k in enumerate(LADDERS)}
lesson.claim("number of levels: MMD^2 with 5 levels, in floor standard deviations above "
             "the floor's mean", z[at[5]], gt=20.0)
lesson.claim("number of levels: MMD^2 with 100 levels, in floor standard deviations",
             z[at[100]], lt=4.0)
lesson.claim("number of levels: largest rise of MMD^2 from one ladder to the next longer, "
             "5 levels and up, in floor standard deviations", float(np.max(np.diff(z[at[5]:]))),
             lt=2.0)
lesson.claim("exact noise on 5 levels: spread of the samples / the data's (too narrow)",
             spread["exact noise eps*", 5] / np.sqrt(np.trace(mixture.cov())), lt=0.95)

# %% [markdown]
# ## 9. From two dimensions to 784: a diffusion model of digits
#
# Nothing so far depended on the dimension: the closed form of section 2, the argument of
# section 3 that the best noise prediction is $-\sigma_t$ times the score, the sampler of
# section 6. We now train on MNIST, each digit a point in 784 dimensions, at a small scale
# (two passes over the 60,000 training digits with an MLP; `--full` trains a
# convolutional network for three). Four things change.
#
# **The data and the schedule.** Pixels are scaled from $[0, 1]$ to $[-1, 1]$, as Ho et al.
# scale theirs (section 3.3), so that the data have the unit scale of the noise, and we
# keep the 100 levels and the $\bar\alpha_t$ of section 2: $x_T$ is again a standard normal
# draw, now of 784 numbers. A level is best read as its signal-to-noise ratio
# $\mathrm{SNR}_t = \bar\alpha_t / (1 - \bar\alpha_t)$, the variance of the shrunk digit
# $\sqrt{\bar\alpha_t}\,x_0$ over that of the noise, per pixel: about 500 at $t = 1$, 1 near
# $t = 26$, $4 \times 10^{-5}$ at $t = 100$.
#
# **The level.** In 2-D the 16 level features were 16 of the network's 18 inputs. Beside
# 784 pixels they would be a sliver of the first layer's input, reaching the deeper layers
# only through it. So every layer sees them, $h_l = \mathrm{relu}([h_{l-1}, e(t)]\,W_l +
# b_l)$: each layer's pre-activation gets a shift that depends on the level (`LevelMLP`;
# Ho et al. add a projection of the level's embedding in every block of their network).
#
# **A skip path.** At the top of the ladder $x_T$ is almost all noise, so the best
# prediction of $\epsilon$ is almost $x_T$ itself: the network must copy 784 numbers from
# its input to its output. In 2-D that was two numbers. Here they would have to pass hidden
# layers of 512 units, which cannot carry 784 independent numbers (lesson 02: an
# undercomplete autoencoder keeps at most as many directions as it has units), and the
# network learns even the part they could carry slowly. The cure is the closed form
# itself: let the network say what the clean digit is, $\hat x_0(x_t, t)$, and solve
# $x_t = \sqrt{\bar\alpha_t}\, x_0 + \sigma_t \epsilon$ for the noise,
#
# $$
# \epsilon_\theta(x_t, t) = \frac{x_t - \sqrt{\bar\alpha_t}\, \hat x_0(x_t, t)}{\sigma_t} .
# $$
#
# Now $x_t$ reaches the output directly, and the network is a denoising autoencoder at
# every level. Section 3 survives intact: $\epsilon_\theta$ is $\mathbb{E}[\epsilon \mid
# x_t] = (x_t - \sqrt{\bar\alpha_t}\,\mathbb{E}[x_0 \mid x_t])/\sigma_t$ exactly when
# $\hat x_0$ is $\mathbb{E}[x_0 \mid x_t]$. A digit lies near a low-dimensional set of
# digits, which a 512-unit layer can describe; the noise fills all 784 dimensions
# (Li and He, 2025, make this argument for predicting clean images at scale).
#
# **The weight of each level.** Subtract the two expressions for the noise:
# $\epsilon - \epsilon_\theta = \sqrt{\bar\alpha_t}\,(\hat x_0 - x_0)/\sigma_t$, so
#
# $$
# \|\epsilon - \epsilon_\theta\|^2 = \mathrm{SNR}_t\, \|x_0 - \hat x_0\|^2 .
# $$
#
# Eq. 14 is the reconstruction error weighted by $\mathrm{SNR}_t$, and the cleanest levels,
# with weights in the hundreds, would take nearly all of a small network's gradient for
# the finest corrections. We train on $\|x_0 - \hat x_0\|^2$, the same weight at every
# level: lesson 03's denoising loss. A weight per level moves no level's minimiser
# (section 3's decomposition holds level by level); it decides how a network of finite
# size shares its effort. Ho et al.'s Eq. 14 is itself such a reweighting of the
# variational bound (their section 3.4), and Hang et al. (2023) cap these weights for
# the same reason. The gradient is the autoencoder's, $\partial L/\partial \hat x_0 =
# 2(\hat x_0 - x_0)/N$, back through `LevelMLP`, where the one new rule is that the level
# features feed every layer, so their gradient is the sum of what each layer sends back
# (the `ImageDiffusionModel` and `models.denoisers` docstrings). The checker agrees:

# %%
x_train, _ = load_mnist("train", dtype=np.float32)
x_test, _ = load_mnist("test", dtype=np.float32)
digits, test_digits = 2 * x_train - 1, 2 * x_test - 1           # pixels in [-1, 1]
snr = a_bar / (1.0 - a_bar)
lesson.report("SNR_t at levels " + ", ".join(f"t={t}: {snr[t - 1]:.3g}"
                                             for t in (1, 10, 26, 50, 100)))
probe = ImageDiffusionModel(image_shape=(1, 3, 2), n_levels=T, hidden=(5, 4), embed_dim=4,
                            activation="tanh", rng=np.random.default_rng(1),
                            dtype=np.float64)
xb = rng.standard_normal((4, 6))
report = check_model(probe, xb, t=rng.integers(1, T + 1, size=4),
                     noise=rng.standard_normal(xb.shape))
lesson.claim("gradient check of the clean-image loss through LevelMLP: worst relative "
             "error (float64 central differences)", report.worst, lt=1e-7)

# %% [markdown]
# By default the network is a `LevelMLP` of two hidden layers of 512 ReLU units with 32
# level features; `--full` replaces it with a small U-Net (`LevelUNet`: 3x3 convolutions
# of 32 and 64 channels at three resolutions, the level a bias per channel in every
# block, skips from the way down to the way up, and a dense layer of 256 units across
# the whole lowest resolution, since a digit at a high noise level is denoised from the
# whole image, not from a pixel's neighbours). Adam with a cosine-decayed learning
# rate from 2e-3, batches of 128, and an average of the weights (decay 0.99: over the
# last hundred or so steps, since there are only about a thousand).

# %%
digit_epochs = 3 if lesson.full else 2
net = dict(denoiser="unet", channels=(32, 64)) if lesson.full else \
    dict(denoiser="mlp", hidden=(512, 512))
digit_model = ImageDiffusionModel(image_shape=(1, 28, 28), n_levels=T, embed_dim=32,
                                  rng=rng, dtype=np.float32, **net)
average = ParameterAverage(Adam(digit_model.params, lr=2e-3), decay=0.99)
start = time.process_time()
history = fit(digit_model, digits, optimizer=average, epochs=digit_epochs,
              batch_size=128, rng=rng, progress=lesson.progress,
              lr_schedule=cosine_decay(2e-3, digit_epochs))
average.copy_to_params()
lesson.report(f"{net['denoiser']} denoiser, {digit_model.n_params:,} parameters, "
              f"{digit_epochs} epochs in {time.process_time() - start:.1f} s of CPU; "
              f"reconstruction loss per digit, first epoch {history['loss'][0]:.1f}, "
              f"last {history['loss'][-1]:.1f}")

# %% [markdown]
# What does the skip path buy? The same `LevelMLP` trained as in section 4, predicting
# the noise with Eq. 14 (`predict="noise"`, `weighting="noise"`), for one pass over 20,000
# digits (a short run: enough to see where it stands). We measure Eq. 14 itself on 1,000
# test digits at five levels for both.

# %%
no_skip = ImageDiffusionModel(image_shape=(1, 28, 28), n_levels=T, embed_dim=32,
                              hidden=(512, 512), predict="noise", weighting="noise",
                              rng=rng, dtype=np.float32)
fit(no_skip, digits[:20000], optimizer=Adam(no_skip.params, lr=2e-3), epochs=1,
    batch_size=128, rng=rng, progress=lesson.progress)
eq14 = {}
for t in (1, 10, 26, 50, T):
    eq14[t] = [m.level_loss(test_digits[:1000], t, rng=rng) for m in (digit_model, no_skip)]
    lesson.report(f"t={t:<3d} SNR {snr[t - 1]:<8.3g} Eq. 14 per test digit: with the skip "
                  f"path {eq14[t][0]:8.2f}, without {eq14[t][1]:8.2f}")

# %% [markdown]
# Predicting zero noise scores 784 at every level (the squared length of the noise). The
# network without the skip path has not got past that anywhere, not even at $t = 100$,
# where the answer is almost its own input: **788.56**. With the skip path the top of the
# ladder costs **0.01**, and the model beats 784 at every level but the lowest. There it
# scores **32872.73**: Eq. 14 multiplies its reconstruction error by an SNR of **501**.
# Section 10 shows where that error ends up.

# %%
lesson.claim("Eq. 14 at t = 100 of the MLP without the skip path, after 20,000 digits "
             "(predicting zero scores 784)", eq14[T][1], gt=600.0)
lesson.claim("Eq. 14 at t = 100 of the digit model with the skip path", eq14[T][0], lt=1.0)

# %% [markdown]
# ## 10. Walking down the ladder to a digit
#
# Sampling is Algorithm 2 of section 6 unchanged, with $\epsilon_\theta$ from the formula
# above. We draw 1,000 digits and keep the states $x_t$ at a few levels, and beside each
# the network's guess $\hat x_0(x_t, t)$ of the digit it is heading for.

# %%
start = time.process_time()
drawn, walk = digit_model.sample(N_DIGITS, rng=rng, record=set(WALK))
lesson.report(f"{N_DIGITS} samples, {T} network evaluations each, in "
              f"{time.process_time() - start:.1f} s of CPU")
rows, labels = [], []
for i in range(3):
    rows += [walk[t][i] for t in WALK] + [drawn[i]]
    rows += [digit_model.predict_clean(walk[t][i:i + 1], t)[0] for t in WALK] + [drawn[i]]
    labels += [f"sample {i + 1}: state x_t", f"sample {i + 1}: network's x0_hat"]

# %%
lesson.save(image_grid((np.array(rows) + 1) / 2, rows=6, row_labels=labels,
                       col_labels=[f"t = {t}" for t in WALK] + ["t = 0"],
                       title="the reverse walk: states and the network's clean digit"),
            "digit_reverse_walk")

# %% [markdown]
# Read each pair of rows left to right. The state $x_t$ (upper row) is static until
# about $t = 40$; a digit comes out of it between $t = 30$ and $t = 10$. The network's
# guess (lower row) shows what happens before: at $t = 100$ it is the average digit, a
# blur; from $t = 60$ it sketches a shape and revises it until about $t = 20$; the lowest
# levels only sharpen it. The large levels choose the digit, the small ones draw it, as in
# 2-D the large levels chose a cluster. The last column is the network's guess too: at
# $t = 1$, $\beta_1 = 1 - \bar\alpha_1 = \sigma_1^2$, so Algorithm 2's last step
# $(x_1 - \sigma_1 \epsilon_\theta)/\sqrt{\bar\alpha_1}$ is exactly $\hat x_0(x_1, 1)$. A
# sample is as sharp as the network's reconstruction at the bottom of the ladder, the
# error that Eq. 14 weighted by 501 above.
#
# ## 11. Judged against the VAE of lesson 14
#
# Lesson 14 judged generators by the share of their samples a classifier trained on real
# digits names with probability above 0.9. We use the course's digit judge
# (`tinyae.course.judge`, the same 784-200-10 classifier on all 60,000 training digits)
# with the same threshold, and train lesson 14's VAE exactly as lesson 14 does (784-400-20,
# 8 epochs on 10,000 digits, Adam from 2e-3 with a cosine decay, batches of 64; with
# `--full` 20 epochs on all 60,000). A judge's confidence can be fooled: by images of
# static, for one. So we also count how the samples spread over the ten digits (the share
# of the commonest answer, which for real digits is little above a tenth), and judge
# static itself: the starting states $x_T$ shown as pixels.

# %%
judge = digit_judge(0)


def judged(images):
    """(share of images judged with probability > CONFIDENT, share of the commonest class)
    for images (N, 784) in [0, 1] (clipped)."""
    p = judge.predict_proba(np.clip(images, 0.0, 1.0).astype(np.float32))
    return (float(np.mean(p.max(axis=1) > CONFIDENT)),
            float(np.bincount(p.argmax(axis=1), minlength=10).max() / len(p)))


# %%
n_vae, vae_epochs = (60000, 20) if lesson.full else (10000, 8)
vae = VAE(sizes=(784, 400, 20), rng=rng, dtype=np.float32)
start = time.process_time()
fit(vae, x_train[rng.permutation(len(x_train))[:n_vae]], optimizer=Adam(vae.params, lr=2e-3),
    epochs=vae_epochs, batch_size=64, rng=rng, progress=lesson.progress,
    lr_schedule=cosine_decay(2e-3, vae_epochs))
lesson.report(f"VAE 784-400-20, {vae_epochs} epochs on {n_vae:,} digits in "
              f"{time.process_time() - start:.1f} s of CPU")
sources = {"diffusion": (drawn + 1) / 2,
           "VAE, z ~ N(0, I)": vae.decode(rng.standard_normal((N_DIGITS, 20))
                                          .astype(np.float32)),
           "real test digits": x_test[:N_DIGITS], "static (x_T as pixels)": (walk[T] + 1) / 2}
shares = {name: judged(images) for name, images in sources.items()}
for name, (share, top) in shares.items():
    lesson.report(f"{name:<24s} share above {CONFIDENT}: {share:.3f}; commonest class "
                  f"{top:.3f} of the images")

# %%
shown = np.concatenate([sources["diffusion"][:24], sources["VAE, z ~ N(0, I)"][:24]])
lesson.save(image_grid(shown, rows=4, row_labels=["diffusion"] * 2 + ["VAE, z ~ N(0, I)"] * 2,
                       title="samples: two rows per generator"), "digit_samples")

# %% [markdown]
# Several diffusion samples (top rows) are clean digits drawn with strokes; others are two
# digits blurred into one, the mark of a small network trained for a few seconds. The
# VAE's (bottom rows) are lesson 14's soft, blurred digits. The judge names **0.427** of
# the diffusion samples with probability above 0.9, **0.260** of the VAE's and **0.860**
# of real test digits. Static shows why the share alone proves little: the judge is as
# sure about **0.606** of the static images, and names **0.931** of them as one and the
# same digit. The diffusion samples spread over the digits much as real ones do (the
# commonest answer takes **0.178** of them, **0.124** of real digits). With `--full` the
# U-Net replaces the MLP and the VAE trains on all 60,000 digits for 20 epochs; the
# instructor's notes give those numbers.

# %%
diffusion_share, diffusion_top = shares["diffusion"]
lesson.claim(f"share of diffusion samples the judge names with probability above "
             f"{CONFIDENT}, minus the VAE's (lesson 14's measure; standard error ~0.02)",
             diffusion_share - shares["VAE, z ~ N(0, I)"][0], gt=0.0)
lesson.claim("commonest class among the diffusion samples (real test digits ~0.12; static, "
             "or a generator stuck on one digit, far more)", diffusion_top, lt=0.3)

# %% [markdown]
# ## Check your understanding
#
# 1. The relative error of section 5 at $t = 1$ is about thirty times that at $t = 40$, yet
#    the samples are as good as the mixture's own. Why do errors at the lowest levels cost
#    the sampler so little? (Hint: how far does one step at level 1 move a point?)
# 2. The no-shrink bug's target is almost exactly right at $t \le 5$ and far off at
#    $t \ge 20$. Using $x_t = \sqrt{\bar\alpha_t}x_0 + \sigma_t\epsilon$ and the printed
#    $\sigma_t$, explain both.
# 3. With the exact $\epsilon^*$ and 5 levels the samples are too narrow. Which term of the
#    sampler's step would you change to widen them, and what does Ho et al.'s other choice,
#    $\sigma_t^2 = \beta_t$, do to the spread?
# 4. Set `GSN_SIGMAS = (1.0,)` in the first code cell. How many floor standard deviations
#    does the DAE chain land at now, and why does no single level serve both mixing and
#    resolution?
# 5. Section 3 showed that Eq. 14 is denoising score matching weighted by $\sigma_t^2$,
#    section 9 that it is the reconstruction error weighted by $\mathrm{SNR}_t$. Build
#    `digit_model` with `weighting="noise"` (Eq. 14 itself) and rerun sections 9 to 11.
#    Which levels carry most of the loss now, and what do you expect of the samples and
#    of the judge's share? Predict first, using the $t = 1$ row of section 9's table.
#
# ## Exercises
#
# * Exercise 23, `ex23_noise_loss.py` (`tinyae exercises start DIR`): the training step
#   around the network: the noised input $x_t$ of section 2 with one level per row, the
#   noise-prediction loss of section 3 and its gradient, derived by hand, and the score
#   estimate a noise prediction gives. The check trains a small noise predictor with
#   your functions.
#
# Try it: build a `DiffusionModel` with `n_levels=10` and train it exactly as in section
# 4. Sample it on its own 10 levels and compare the MMD$^2$ with the 10-level ladder of the
# 100-level model in section 8: is a network trained only on the levels it will sample
# any better, and does the exact-noise curve say it could be?
#
# ## References
#
# * Ho, J., Jain, A. and Abbeel, P. (2020). Denoising diffusion probabilistic models.
#   *Advances in Neural Information Processing Systems 33 (NeurIPS 2020)*. Eq. 4 (the
#   closed form of the forward process), Eqs. 6-7 (the posterior $q(x_{t-1} \mid x_t,
#   x_0)$), Eq. 14 (the simplified noise-prediction loss), Algorithm 1 (training) and
#   Algorithm 2 (sampling); section 3.2 (the choices $\sigma_t^2 = \beta_t$ or
#   $\tilde\beta_t$), section 3.3 (images scaled to $[-1, 1]$), section 3.4 (Eq. 14 as a
#   reweighted variational bound), section 4 (the linear schedule from $10^{-4}$ to 0.02)
#   and appendix B (the exponential moving average of the weights, decay 0.9999, and a
#   U-Net whose every residual block receives the level's sinusoidal embedding, drawn on
#   in section 9).
# * Song, Y. and Ermon, S. (2019). Generative modeling by estimating gradients of the data
#   distribution. *Advances in Neural Information Processing Systems 32 (NeurIPS 2019)*.
#   Noise-conditional score networks and the weighting $\lambda(\sigma) = \sigma^2$.
# * Vincent, P. (2011). A connection between score matching and denoising autoencoders.
#   *Neural Computation* 23(7), 1661-1674. Denoising score matching.
# * Sohl-Dickstein, J., Weiss, E., Maheswaranathan, N. and Ganguli, S. (2015). Deep
#   unsupervised learning using nonequilibrium thermodynamics. *Proceedings of the 32nd
#   International Conference on Machine Learning (ICML)*, 2256-2265. The forward
#   diffusion and its learned reverse.
# * Song, Y., Sohl-Dickstein, J., Kingma, D. P., Kumar, A., Ermon, S. and Poole, B. (2021).
#   Score-based generative modeling through stochastic differential equations.
#   *International Conference on Learning Representations (ICLR 2021)*. The DDPM
#   schedule as the VP SDE with $\beta_{\min} = 0.1$, $\beta_{\max} = 20$.
# * Nichol, A. and Dhariwal, P. (2021). Improved denoising diffusion probabilistic models.
#   *Proceedings of the 38th International Conference on Machine Learning (ICML)*, 8162-8171.
#   Sampling on a sub-sequence of the training levels.
# * Hang, T., Gu, S., Li, C., Bao, J., Chen, D., Hu, H., Geng, X. and Guo, B. (2023).
#   Efficient diffusion training via Min-SNR weighting strategy. *Proceedings of the IEEE/CVF
#   International Conference on Computer Vision (ICCV 2023)*. The noise-prediction loss read as
#   the reconstruction error weighted by the SNR, and the weights capped.
# * Li, T. and He, K. (2025). Back to basics: let denoising generative models denoise.
#   arXiv:2511.13720 (CVPR 2026). The argument that clean images lie near a
#   low-dimensional manifold and noise does not, so a network of limited width should
#   predict the clean image.
# * Ronneberger, O., Fischer, P. and Brox, T. (2015). U-Net: convolutional networks for
#   biomedical image segmentation. *Medical Image Computing and Computer-Assisted
#   Intervention (MICCAI)*, 234-241. Section 2 and Figure 1 (the contracting and expanding
#   paths joined by skips: `LevelUNet`).
# * Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. and Smola, A. (2012). A kernel
#   two-sample test. *Journal of Machine Learning Research* 13, 723-773 (the MMD).
# * Bengio, Y., Yao, L., Alain, G. and Vincent, P. (2013). Generalized denoising
#   auto-encoders as generative models. *Advances in Neural Information Processing Systems
#   26 (NeurIPS 2013)*. The DAE Markov chain: corrupt, then sample a
#   reconstruction (section 7 here).

# %%
lesson.finish()
