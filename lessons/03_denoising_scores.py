"""Lesson 03: a denoising autoencoder learns the score of the data."""

# %% [markdown]
# # Lesson 03: a denoising autoencoder learns the score of the data
#
# **You will learn** why the best denoiser under the squared error is the
# posterior mean; Tweedie's formula, which turns that posterior mean into the
# *score* (the gradient of the log density) of the noise-smoothed data; the
# bias and the variance of reading a score out of a trained denoising
# autoencoder (DAE), measured on mixtures whose scores are known exactly; and
# how DAEs undo Gaussian noise, masking and salt-and-pepper noise on MNIST.
#
# **It assumes** lesson 02 (an MLP autoencoder trained with Adam) and the
# exercises that go with it (2, 3 and 5). Exercise 6 goes with this lesson.

# %%
import numpy as np

from tinyae.corruption import GaussianNoise, MaskingNoise, SaltAndPepper
from tinyae.data import load_mnist, mixture_1d, mixture_2d
from tinyae.course.judge import digit_judge, recognised_share
from tinyae.course.lesson import Lesson
from tinyae.models import MLPAutoencoder
from tinyae.optim import Adam, cosine_decay
from tinyae.course.plotting import image_grid
from tinyae.course.plotting.scores import error_vs_sigma, score_curves_1d, score_fields_2d
from tinyae.analysis.scores import ParameterAverage, dae_score, fit_fresh, relative_score_error
from tinyae.train import fit

SIGMAS = (0.1, 0.25, 0.5, 1.0)      # the 1-D sweep
MAIN_SIGMA = 0.5                    # the 1-D claim and the 2-D comparison
HIDDEN = 24
N_PER_EPOCH, BATCH, N_EVAL = 40_000, 256, 20_000
LR, LR_END, AVERAGE_DECAY = 1e-2, 3e-4, 0.999
N_SHOWN = 20                        # test digits in each MNIST figure

MNIST_CORRUPTIONS = {"gaussian": GaussianNoise(0.5), "masking": MaskingNoise(0.5),
                     "salt_and_pepper": SaltAndPepper(0.2)}

lesson = Lesson("03_denoising_scores", __doc__, epochs=20, full_epochs=60)

# %% [markdown]
# ## 1. The best denoiser, and Tweedie's formula
#
# Corrupt a clean point $x \sim p$ with Gaussian noise,
# $y = x + \sigma e$ with $e \sim \mathcal N(0, I)$, and train a denoiser $r$
# to give $x$ back under the squared error $\mathbb E \lVert r(y) - x \rVert^2$.
# For each fixed $y$, write $m(y) = \mathbb E[x \mid y]$; then
#
# $$
# \mathbb E\big[\lVert r(y) - x \rVert^2 \mid y\big]
# = \lVert r(y) - m(y) \rVert^2 + \mathbb E\big[\lVert x - m(y) \rVert^2 \mid y\big],
# $$
#
# because the cross term $2\,(r(y) - m(y))^\top \mathbb E[m(y) - x \mid y]$ is
# zero. Only the first term depends on $r$, so the best denoiser is the
# posterior mean, $r^*(y) = \mathbb E[x \mid y]$.
#
# The noisy points have the smoothed density
# $p_\sigma(y) = \int p(x)\, \mathcal N(y; x, \sigma^2 I)\, dx$. Since
# $\nabla_y \mathcal N(y; x, \sigma^2 I) = \mathcal N(y; x, \sigma^2 I)\,(x - y)/\sigma^2$,
# differentiating under the integral gives
#
# $$
# \nabla_y p_\sigma(y)
# = \int p(x)\, \mathcal N(y; x, \sigma^2 I)\, \frac{x - y}{\sigma^2}\, dx
# = p_\sigma(y)\, \frac{\mathbb E[x \mid y] - y}{\sigma^2},
# $$
#
# using Bayes' rule, $p(x \mid y) = p(x)\,\mathcal N(y; x, \sigma^2 I) / p_\sigma(y)$.
# Dividing by $p_\sigma(y)$ gives Tweedie's formula (Efron, 2011; Vincent,
# 2011):
#
# $$
# \frac{r^*(y) - y}{\sigma^2} = \nabla_y \log p_\sigma(y).
# $$
#
# A DAE never sees a density, yet its residual divided by $\sigma^2$ estimates
# the **score** of the noise-smoothed density. As $\sigma \to 0$, $p_\sigma \to p$
# and the residual approaches $\sigma^2$ times the clean score (Alain and
# Bengio, 2014).

# %% [markdown]
# ## 2. Bias against variance, and how we measure the error
#
# Two errors pull in opposite directions as we choose $\sigma$:
#
# * **bias**: for finite $\sigma$ the DAE learns the score of $p_\sigma$, not
#   of $p$; the gap between the two grows with $\sigma$;
# * **variance**: the residual $r(y) - y = \sigma^2 s(y)$ is tiny for small
#   $\sigma$, while the regression target $x$ is as noisy as the corruption
#   itself; any error in $r$ is divided by $\sigma^2$, so with a fixed
#   training budget the estimate degrades as $\sigma$ shrinks.
#
# We score an estimate $\hat s(y) = (r(y) - y)/\sigma^2$ against a reference
# score $s$ by the density-weighted relative error, estimated on
# $M = 20{,}000$ fresh points $y_i \sim p_\sigma$ (where the DAE is asked):
#
# $$
# \mathrm{err}(\hat s, s)
# = \sqrt{\frac{\mathbb E_{p_\sigma} \lVert \hat s(y) - s(y) \rVert^2}{\mathbb E_{p_\sigma} \lVert s(y) \rVert^2}}
# \approx \sqrt{\frac{\sum_{i=1}^{M} \lVert \hat s(y_i) - s(y_i) \rVert^2}{\sum_{i=1}^{M} \lVert s(y_i) \rVert^2}} .
# $$
#
# 0 is perfect; 1 is as bad as predicting $\hat s = 0$. The reference is
# either the exact smoothed score $\nabla \log p_\sigma$ (what Tweedie
# predicts the DAE learns) or the clean score $\nabla \log p$ (what we would
# like to know). "Bias alone" is $\mathrm{err}(\nabla \log p_\sigma, \nabla \log p)$:
# the part of the clean-score error no training can remove.
#
# The data are the 1-D and 2-D Gaussian mixtures of `tinyae.data`, whose
# densities and scores are exact. Each DAE is a smooth denoiser with no
# bottleneck: d-24-24-24-d tanh units, a linear output and the squared error,
# trained with Adam on a fresh sample of 40,000 points every epoch, its
# learning rate decaying geometrically from $10^{-2}$ to $3 \times 10^{-4}$.
# The target is so noisy that the raw weights jitter visibly, so we keep an
# exponential moving average of them,
# $\bar\theta_t = 0.999\,\bar\theta_{t-1} + 0.001\,\theta_t$, and use it at
# the end.

# %%
def train_score_dae(mixture, sigma, *, epochs, rng):
    """A Gaussian-noise DAE on fresh samples of ``mixture``; returns the model
    holding the averaged weights."""
    model = MLPAutoencoder(
        corruption=GaussianNoise(sigma), sizes=(mixture.dim, HIDDEN, HIDDEN), rng=rng,
        activation="tanh", code_activation="tanh", init="he", likelihood="mse",
        dtype=np.float32)
    optimizer = ParameterAverage(Adam(model.params, lr=LR), decay=AVERAGE_DECAY)
    fit_fresh(model, lambda n, r: mixture.sample(n, rng=r, dtype=np.float32),
              optimizer=optimizer, epochs=epochs, n_per_epoch=N_PER_EPOCH,
              batch_size=BATCH, rng=rng, lr_end=LR_END)
    optimizer.copy_to_params()
    return model


def score_errors(model, mixture, sigma, rng):
    """err against the smoothed and the clean score on y ~ p_sigma, and the
    bias alone (exact smoothed vs clean)."""
    smoothed = mixture.smoothed(sigma)
    y32 = smoothed.sample(N_EVAL, rng=rng, dtype=np.float32)       # (N_EVAL, d)
    y = y32.astype(np.float64)          # the references at exactly the same points
    s_hat = dae_score(model, y32, sigma)
    s_smooth, s_clean = smoothed.score(y), mixture.score(y)
    return {"smoothed": relative_score_error(s_hat, s_smooth),
            "clean": relative_score_error(s_hat, s_clean),
            "bias": relative_score_error(s_smooth, s_clean)}


# %% [markdown]
# ## 3. One dimension: sweeping the noise level
#
# The 1-D mixture is $p(x) = 0.3\,\mathcal N(x; -2, 0.5^2) + 0.7\,\mathcal N(x; 1.5, 0.8^2)$.
# Smoothing a Gaussian mixture adds $\sigma^2$ to every component's variance,
# so $p_\sigma$ and its score are exact too. We train one DAE per
# $\sigma \in \{0.1, 0.25, 0.5, 1\}$ and score each against both references.

# %%
mixture = mixture_1d()
errors, models = {}, {}
for sigma in SIGMAS:
    models[sigma] = train_score_dae(mixture, sigma, epochs=lesson.epochs, rng=lesson.rng)
    errors[sigma] = score_errors(models[sigma], mixture, sigma, lesson.rng)
    e = errors[sigma]
    lesson.report(f"1-D sigma={sigma:<5g} err vs smoothed score {e['smoothed']:.4f}   "
                  f"vs clean score {e['clean']:.4f}   (bias alone {e['bias']:.4f})")

# %%
lesson.save(error_vs_sigma(SIGMAS, {
    "DAE vs smoothed score": [errors[s]["smoothed"] for s in SIGMAS],
    "DAE vs clean score": [errors[s]["clean"] for s in SIGMAS],
    "bias alone: smoothed vs clean": [errors[s]["bias"] for s in SIGMAS]},
    title="1-D mixture: what the DAE residual estimates"), "errors_vs_sigma_1d")

# %% [markdown]
# Read the figure from right to left. Against the smoothed score (blue) the
# error falls as $\sigma$ grows: from **0.4980** at $\sigma = 0.1$ to
# **0.0456** at $\sigma = 0.5$, the variance of the estimate at work. Against
# the clean score (orange) it has a minimum near $\sigma = 0.25$ and then
# follows the bias line (green) upwards: at $\sigma \ge 0.5$ the DAE has
# learnt $\nabla \log p_\sigma$ almost perfectly, and all that is left is the
# difference between $p_\sigma$ and $p$.

# %%
rising = [s for s in SIGMAS if s >= 0.25]
steps = [errors[b]["clean"] - errors[a]["clean"] for a, b in zip(rising, rising[1:])]
lesson.claim(f"1-D, sigma={MAIN_SIGMA}: density-weighted relative error of "
             f"(r(x)-x)/sigma^2 against the exact smoothed score",
             errors[MAIN_SIGMA]["smoothed"], lt=0.10)
lesson.claim(f"1-D: error against the CLEAN score rises with sigma over "
             f"{rising} (smallest rise)", min(steps), gt=0.0)
lesson.claim(f"1-D: error against the SMOOTHED score stays small for sigma in "
             f"{rising} (largest)", max(errors[s]["smoothed"] for s in rising), lt=0.2)
lesson.claim(f"1-D: the price of a small sigma: smoothed-score error at sigma="
             f"{SIGMAS[0]} over that at sigma={MAIN_SIGMA}",
             errors[SIGMAS[0]]["smoothed"] / errors[MAIN_SIGMA]["smoothed"], gt=2.0)

# %% [markdown]
# The score itself, at $\sigma = 0.5$, over a grid: the DAE's curve, the
# exact smoothed score and the clean score, with the two densities below.

# %%
grid = np.linspace(-4.5, 4.5, 361)[:, None]                      # (361, 1)
smoothed = mixture.smoothed(MAIN_SIGMA)
lesson.save(score_curves_1d(grid, {
    "DAE: (r(x) - x) / sigma^2": dae_score(models[MAIN_SIGMA], grid.astype(np.float32),
                                           MAIN_SIGMA),
    "exact smoothed score": smoothed.score(grid),
    "clean score": mixture.score(grid)},
    densities={"p": mixture.density(grid), f"p_sigma, sigma={MAIN_SIGMA}":
               smoothed.density(grid)},
    title=f"1-D mixture, sigma = {MAIN_SIGMA}"), "score_1d")

# %% [markdown]
# The DAE's curve lies on the smoothed score wherever $p_\sigma$ has mass and
# only leaves it in the far tails, where no training point falls. The clean
# score is steeper: smoothing widens each bump, and a wider Gaussian has a
# flatter score, $-(x - \mu)/(s^2 + \sigma^2)$ instead of $-(x - \mu)/s^2$.

# %% [markdown]
# ## 4. Two dimensions: a score field
#
# The same recipe on the 2-D mixture of three tilted Gaussians, at
# $\sigma = 0.5$. A score in 2-D is a vector field: it points uphill on the
# log density, towards the nearest mode.

# %%
mixture2, sigma = mixture_2d(), MAIN_SIGMA
model2 = train_score_dae(mixture2, sigma, epochs=lesson.epochs, rng=lesson.rng)
e2 = score_errors(model2, mixture2, sigma, lesson.rng)
lesson.report(f"2-D sigma={sigma:<5g} err vs smoothed score {e2['smoothed']:.4f}   "
              f"vs clean score {e2['clean']:.4f}   (bias alone {e2['bias']:.4f})")

# %%
xx, yy = np.meshgrid(np.linspace(-3.5, 3.5, 22), np.linspace(-3.2, 2.4, 18))
pts = np.stack([xx.ravel(), yy.ravel()], axis=1)                  # (h*w, 2)
smoothed2 = mixture2.smoothed(sigma)
learned = dae_score(model2, pts.astype(np.float32), sigma).reshape(*xx.shape, 2)
exact = smoothed2.score(pts).reshape(*xx.shape, 2)
lesson.save(score_fields_2d(xx, yy, smoothed2.density(pts).reshape(xx.shape), {
    "DAE: (r(x) - x) / sigma^2": learned, "exact score of p_sigma": exact},
    title=f"2-D mixture, sigma = {sigma}: contours of p_sigma"), "score_field_2d")

# %% [markdown]
# The two fields are hard to tell apart: every arrow points towards the
# nearest of the three modes, and the arrows shrink to nothing at the modes
# and at the saddles between them. The relative error against the exact
# smoothed score is **0.0710**.

# %%
lesson.claim(f"2-D, sigma={sigma}: density-weighted relative error against the "
             f"exact smoothed score", e2["smoothed"], lt=0.15)

# %% [markdown]
# ## 5. Denoising MNIST: three kinds of corruption
#
# On images the score is out of reach (no exact density), but the denoiser is
# the same object. Three DAEs (784-256-64-256-784, ReLU, Bernoulli output),
# each trained for 3 epochs (`--full`: 10) on the 60,000 training images with
# Adam, its rate decaying from $2 \times 10^{-3}$ along half a cosine, learn
# to undo three corruptions of Vincent et al. (2010):
#
# * Gaussian noise: $\tilde x = x + 0.5\,e$, $e \sim \mathcal N(0, I)$
#   (not clipped to $[0, 1]$);
# * masking: $\tilde x = x \odot [u \ge 0.5]$, $u \sim U[0, 1)$ per pixel:
#   half the pixels set to 0;
# * salt and pepper: 20% of the pixels set to 0 or 1 with equal probability.
#
# The score of a DAE is its squared error per image against the clean test
# image, $\frac1N \sum_n \lVert r(\tilde x_n) - x_n \rVert^2$, compared with
# the same error of the corrupted input, $\frac1N \sum_n \lVert \tilde x_n - x_n \rVert^2$.

# %%
rng = lesson.rng
x_train, _ = load_mnist("train", dtype=np.float32)
x_test, y_test = load_mnist("test", dtype=np.float32)
mnist_epochs = 10 if lesson.full else 3
x_train = x_train[rng.permutation(x_train.shape[0])]              # (60000, 784) shuffled
# the figures show the first N_SHOWN test digits the judge reads correctly when clean
readable = digit_judge().predict(x_test) == y_test                # (10000,) bool
show_idx = np.flatnonzero(readable)[:N_SHOWN]
lesson.report(f"the digit judge names {readable.mean():.4f} of the clean test digits; "
              f"skipped in the figures (misread even when clean): test digits "
              f"{np.flatnonzero(~readable[:show_idx[-1]]).tolist()}")
ratio, shown = {}, {}
for name, corruption in MNIST_CORRUPTIONS.items():
    dae = MLPAutoencoder(corruption=corruption, sizes=(784, 256, 64), rng=rng,
                         activation="relu", likelihood="bernoulli", dtype=np.float32)
    fit(dae, x_train, optimizer=Adam(dae.params, lr=2e-3), epochs=mnist_epochs,
        batch_size=128, rng=rng, progress=lesson.progress,
        lr_schedule=cosine_decay(2e-3, mnist_epochs))
    noisy = corruption(x_test, rng)                                # (10000, 784)
    denoised = dae.reconstruct(noisy)
    err_noisy = float(np.mean(np.sum((noisy - x_test) ** 2, axis=1)))
    err_denoised = float(np.mean(np.sum((denoised - x_test) ** 2, axis=1)))
    lesson.report(f"MNIST {corruption!r}: squared error per test image: corrupted "
                  f"input {err_noisy:.2f}, denoised {err_denoised:.2f}")
    ratio[name] = err_denoised / err_noisy
    shown[name] = (noisy[show_idx], denoised[show_idx])

# %% [markdown]
# Each figure below shows the first 20 test digits that the digit judge of
# lesson 02 names correctly when they are clean (it misreads one of the first
# 21, a 5, even uncorrupted), so that its verdict on the denoised row measures
# what the denoiser lost, not the judge's own mistakes.
#
# The Gaussian noise has the largest error to begin with, about
# $784 \times 0.5^2 = 196$ per image (measured: **196.11**), and the DAE
# removes nearly all of it (**11.75**). Masking starts from the smallest error
# (**44.67**) and ends at **11.51**, the largest ratio of the three: half of
# every stroke is gone and must be guessed from the other half, while the
# other two corruptions leave most of the ink where it was.

# %%
for name in MNIST_CORRUPTIONS:
    lesson.claim(f"MNIST {name}: denoised error / corrupted-input error", ratio[name],
                 lt=0.5)


# %%
def denoising_figure(name):
    """Clean, corrupted and denoised test digits in three labelled rows."""
    noisy, denoised = shown[name]
    return image_grid(np.concatenate([x_test[show_idx], noisy, denoised]), rows=3,
                      row_labels=["clean", "corrupted", "denoised"],
                      col_labels=[str(d) for d in y_test[show_idx]],
                      title=f"MNIST, {MNIST_CORRUPTIONS[name]!r}")


lesson.save(denoising_figure("gaussian"), "mnist_gaussian")

# %% [markdown]
# Under Gaussian noise every pixel is perturbed, but the strokes still show
# through; the denoised row has a clean background and the strokes back, a
# little blurred.

# %%
lesson.claim("gaussian: share of the shown denoised digits the digit judge names as their "
             "input's digit", recognised_share(shown["gaussian"][1], y_test[show_idx]),
             gt=0.9)

# %%
lesson.save(denoising_figure("masking"), "mnist_masking")

# %% [markdown]
# With half the pixels gone the strokes are broken into dots; the DAE joins
# them up again, and blurs where a stroke could have gone either way (the 3
# leans towards an 8).

# %%
lesson.claim("masking: share of the shown denoised digits the digit judge names as their "
             "input's digit", recognised_share(shown["masking"][1], y_test[show_idx]),
             gt=0.9)

# %%
lesson.save(denoising_figure("salt_and_pepper"), "mnist_salt_and_pepper")

# %% [markdown]
# Salt and pepper scatters white dots over the black background, and the DAE
# removes them: an isolated bright pixel far from any stroke is not part of a
# digit.

# %%
lesson.claim("salt and pepper: share of the shown denoised digits the digit judge names as "
             "their input's digit",
             recognised_share(shown["salt_and_pepper"][1], y_test[show_idx]), gt=0.9)

# %% [markdown]
# ## Check your understanding
#
# 1. In the 1-D sweep, at which $\sigma$ is the error against the clean score
#    smallest, and which of the two errors (bias or variance) dominates on
#    either side of it?
# 2. Double `N_PER_EPOCH` in the first code cell (twice the training data per
#    epoch) and rerun the sweep: which of the reported errors should fall,
#    and which cannot? Use the "bias alone" column.
# 3. Why does the claim "error against the SMOOTHED score stays small" leave
#    out $\sigma = 0.1$?
# 4. For the Gaussian corruption the corrupted input's error is exactly what
#    you can compute by hand. What is it, and why does the masking corruption
#    start from a smaller error yet end with the largest ratio?
# 5. In `train_score_dae`, train with the plain `Adam` instead of wrapping it
#    in `ParameterAverage` (and drop `optimizer.copy_to_params()`), then rerun
#    the sweep: which $\sigma$ suffers most, and why?
#
# ## Exercises
#
# Exercise 6, `ex06_corruption.py` (`tinyae exercises start DIR`): write the
# masking and the Gaussian corruption of section 5 from uniform and
# standard-normal draws, $\tilde x = x \odot [u \ge f]$ and
# $\tilde x = x + \sigma e$.
#
# ## References
#
# * Vincent, P. (2011). A connection between score matching and denoising
#   autoencoders. *Neural Computation* 23(7), 1661-1674. Denoising score
#   matching: the DAE's residual and the score of the Parzen-smoothed
#   density.
# * Efron, B. (2011). Tweedie's formula and selection bias. *Journal of the
#   American Statistical Association* 106(496), 1602-1614. Tweedie's
#   formula, $\mathbb E[\mu \mid z] = z + \sigma^2 \frac{d}{dz} \log f(z)$.
# * Alain, G. and Bengio, Y. (2014). What regularized auto-encoders learn from
#   the data-generating distribution. *Journal of Machine Learning Research*
#   15, 3743-3773. The reconstruction minus the input estimates $\sigma^2$
#   times the score as $\sigma \to 0$.
# * Vincent, P., Larochelle, H., Lajoie, I., Bengio, Y. and Manzagol, P.-A.
#   (2010). Stacked denoising autoencoders: learning useful representations in
#   a deep network with a local denoising criterion. *Journal of Machine
#   Learning Research* 11, 3371-3408. The corruptions compared there:
#   additive Gaussian, masking and salt-and-pepper noise.
# * Polyak, B. T. and Juditsky, A. B. (1992). Acceleration of stochastic
#   approximation by averaging. *SIAM Journal on Control and Optimization*
#   30(4), 838-855 (averaging the iterates; we use an exponential moving
#   average).

# %%
lesson.finish()
