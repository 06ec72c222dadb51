"""Lesson 15: energy-based latent-variable models, and decoders that are random on purpose."""

# %% [markdown]
# # Lesson 15: energy-based latent-variable models, and decoders that are random on purpose
#
# **You will learn**, in part 1, to see an autoencoder from the energy-based
# side (LeCun and Canziani's NYU Deep Learning course, week 8): a latent is
# *inferred* by minimising an energy $E(y, z)$ rather than computed by an
# encoder; the free energy at zero and at finite temperature, and Laplace's
# method for how one approaches the other; an encoder as a warm start for
# inference (target propagation); and the VAE's KL term as what inflates each
# posterior into a "bubble". In part 2 you will learn what happens when the
# decoder is random on purpose: a Gaussian decoder with a variance network,
# the unbounded likelihood it can run into and the floor that fixes it, and a
# denoising autoencoder run as a Markov chain that generates data (a
# generative stochastic network).
#
# **It assumes** lessons 03 (a DAE's residual estimates a score), 06 (the VAE,
# its reparameterised ELBO and the Gaussian KL) and 07 (beta-VAEs), and
# exercise 9 (the Gaussian KL and its gradient).

# %%
import numpy as np

from tinyae.data import load_mnist, mixture_2d
from tinyae.inference.energy import (descend, ellipse_decoder, ellipse_energy,
                                     ellipse_energy_curvature, ellipse_free_energy,
                                     ellipse_points, laplace_free_energy)
from tinyae.analysis.generative import gsn_chain, mmd2
from tinyae.gradcheck.cases import CASES
from tinyae.course.lesson import Lesson
from tinyae.models import VAE, GaussianDenoiser, LatentEnergyAutoencoder, VarianceNetworkVAE
from tinyae.optim import Adam
from tinyae.course.plotting.energy import (chain_samples, energy_landscape,
                                           free_energy_vs_beta, posterior_bubbles,
                                           step_histograms, variance_pathology,
                                           variance_tracking)
from tinyae.analysis.scores import fit_fresh
from tinyae.train import DEFAULT_DIVERGENCE, fit

W = np.array([1.0, 2.0])                 # the ellipse's semi-axes (w1, w2)
N_GRID = 2**14                           # quadrature points over z in [-pi, pi)
BETAS = np.logspace(2, 4, 5)             # where the Laplace slope is measured
VAR_FLOOR = 0.01                         # the variance floor of the MNIST fix
GSN_SIGMAS = (0.1, 0.25, 0.5, 1.0, 2.0)

lesson = Lesson("15_energy_and_stochastic_decoders", __doc__, epochs=6, full_epochs=20)
rng = lesson.rng                          # one generator for the whole lesson, in order

# %% [markdown]
# ## 1. An energy instead of an encoder: the ellipse
#
# A latent-variable energy-based model scores a pair (observation $y$,
# latent $z$) by an energy $E(y, z) \ge 0$, low when $z$ explains $y$ well,
# and *infers* $z$ by minimising it. The course's toy: $y \in \mathbb R^2$
# near an ellipse, a 1-D latent $z$ (an angle) and the fixed decoder
# $g(z) = (w_1 \cos z,\, w_2 \sin z)$ with $w = (1, 2)$,
#
# $$
# E(y, z) = \lVert y - g(z) \rVert^2 = r_1^2 + r_2^2, \qquad
# r_1 = y_1 - w_1 \cos z,\quad r_2 = y_2 - w_2 \sin z .
# $$
#
# Since $\partial r_1 / \partial z = w_1 \sin z$ and
# $\partial r_2 / \partial z = -w_2 \cos z$,
#
# $$
# \frac{\partial E}{\partial z} = 2 r_1 w_1 \sin z - 2 r_2 w_2 \cos z ,
# \qquad
# \frac{\partial E}{\partial y} = (2 r_1,\, 2 r_2),
# \qquad
# \frac{\partial E}{\partial w} = (-2 r_1 \cos z,\, -2 r_2 \sin z).
# $$
#
# Differentiating $\partial E / \partial z$ once more gives the curvature we
# need in section 3,
# $E'' = 2\,(w_1^2 \sin^2 z + r_1 w_1 \cos z + w_2^2 \cos^2 z + r_2 w_2 \sin z)$.
# `tinyae.inference.energy` implements these by hand; first we check them
# against central differences.

# %%
y, _ = ellipse_points(10, rng=rng, w=W, noise=0.3)             # (10, 2) observations
rep = CASES["energy ellipse E(y, z) (y, z, w)"](np.random.default_rng(0))
lesson.claim("ellipse energy: hand-written dE/dz, dE/dy, dE/dw vs central "
             "differences (worst relative error)", rep.worst, lt=1e-7)

# %% [markdown]
# ## 2. Zero temperature: inference by gradient descent
#
# At zero temperature the latent is the best explanation,
# $\check z(y) = \arg\min_z E(y, z)$, and the **free energy** is the energy
# there, $F_\infty(y) = \min_z E(y, z)$: the squared distance from $y$ to the
# ellipse. $E$ is not convex in $z$, so we descend,
# $z \leftarrow z - 0.05\, \partial E / \partial z$, from 8 evenly spaced
# starts per observation, keep the best, and compare it with the minimum over
# a grid of $2^{14}$ latents.

# %%
starts = np.linspace(-np.pi, np.pi, 8, endpoint=False)
z_all, e_all, steps_all = [], [], []
for z0 in starts:
    z, steps, e = descend(lambda z: ellipse_energy(y, z, W), np.full(len(y), z0),
                          lr=0.05, max_steps=5000, tol=1e-10)
    z_all.append(z), e_all.append(e), steps_all.append(steps)
e_all = np.array(e_all)                                    # (starts, n)
best = e_all.argmin(axis=0)
z_check = np.array(z_all)[best, np.arange(len(y))]
e_check = e_all.min(axis=0)
_, e_grid = ellipse_free_energy(y, W, 1.0, n_grid=N_GRID)
lesson.report(f"descent: {np.median(steps_all):.0f} steps (median) to ||dE/dz|| <= 1e-10;"
              f" {np.mean(e_all > e_check + 1e-6):.0%} of the starts stop in a "
              f"non-global local minimum")

# %% [markdown]
# A few of the starts, **8**%, end in a local minimum that is not the global
# one: for a point inside the ellipse near its major axis, the far side of
# the ellipse is a second valley of $E$. Keeping the best of 8 starts finds
# the global minimum for every observation.

# %%
lesson.claim("zero temperature: best descended E(y, z_check) minus the minimum over "
             f"{N_GRID} grid latents (max over 10 y)", np.max(e_check - e_grid), lt=1e-9)

# %% [markdown]
# ## 3. Finite temperature: the free energy and Laplace's method
#
# At inverse temperature $\beta$ the free energy is a soft minimum over $z$,
#
# $$
# F_\beta(y) = -\frac1\beta \log \int e^{-\beta E(y, z)}\, dz ,
# $$
#
# computed by quadrature on a uniform grid $z_i$ of spacing $\Delta z$ with a
# max-shifted log-sum-exp,
# $F_\beta \approx -\frac1\beta \big[\operatorname{logsumexp}_i(-\beta E_i) + \log \Delta z\big]$.
# As $\beta \to \infty$ the integral is dominated by the neighbourhood of the
# minimum $\check z$. Expanding $E$ to second order there,
# $E(y, z) \approx F_\infty + \tfrac12 E'' (z - \check z)^2$, and the Gaussian
# integral $\int e^{-\beta E'' u^2 / 2} du = \sqrt{2\pi / (\beta E'')}$ give
#
# $$
# F_\beta \approx -\frac1\beta \Big[ -\beta F_\infty + \tfrac12 \log \frac{2\pi}{\beta E''} \Big]
# \quad\Longrightarrow\quad
# \beta\,(F_\beta - F_\infty) \approx \tfrac12 \log \beta + \tfrac12 \log \frac{E''}{2\pi}.
# $$
#
# So $\beta (F_\beta - F_\infty)$ rises with slope $1/2$ against $\log \beta$,
# and the gap itself shrinks like $\log(\beta) / (2\beta)$.

# %%
curvature = ellipse_energy_curvature(y, z_check, W)
betas = np.logspace(0, 5, 11)
gaps = np.array([ellipse_free_energy(y, W, b, n_grid=N_GRID)[0] - e_check
                 for b in betas])                          # (betas, n)
laplace = np.array([laplace_free_energy(e_check, curvature, b) - e_check
                    for b in betas])
sel = (betas >= BETAS[0]) & (betas <= BETAS[-1])
slopes = np.polyfit(np.log(betas[sel]), (betas[:, None] * gaps)[sel], 1)[0]   # (n,)
lesson.report("beta (F_beta - F_inf) vs log beta, slope per y: "
              + " ".join(f"{s:.3f}" for s in slopes))

# %%
lesson.save(free_energy_vs_beta(betas, betas[:, None] * gaps, betas[:, None] * laplace),
            "free_energy_vs_beta")

# %% [markdown]
# One colour per observation; the $\beta$ axis is logarithmic. The dots
# (quadrature) lie on the dashed lines (Laplace) down to $\beta$ of about 10
# and leave them only slightly at $\beta = 1$, where the soft minimum still
# averages over much of the ellipse. Every line rises by $\tfrac12 \log 10
# \approx 1.15$ per decade of $\beta$: the median slope fitted over
# $\beta \in [10^2, 10^4]$ is **0.500**.

# %%
last = betas == 1e4
rel = np.abs(gaps[last] - laplace[last]) / np.abs(gaps[last])
lesson.claim(f"slope of beta (F_beta - F_inf) against log beta over beta in "
             f"[{BETAS[0]:g}, {BETAS[-1]:g}] (median over y; Laplace: 1/2)",
             np.median(slopes), within=(0.5, 0.02))
lesson.claim("beta = 1e4: |F_beta - F_inf - Laplace| / |F_beta - F_inf| (worst y)",
             rel.max(), lt=2e-3)
lesson.claim("beta = 1e4: F_beta - F_inf (worst y)", np.abs(gaps[last]).max(), lt=1e-3)

# %% [markdown]
# The free energy over the whole plane, at zero temperature and at
# $\beta = 1$ and 10; the white curve is the ellipse, the red segments join
# each observation to its inferred point $g(\check z)$.

# %%
axis = np.linspace(-3.0, 3.0, 61)
gx, gy = np.meshgrid(axis, axis)
plane = np.stack([gx.ravel(), gy.ravel()], axis=1)          # (61*61, 2)
panels = {"F_inf(y) = min_z E(y, z)":
          ellipse_free_energy(plane, W, 1.0, n_grid=512)[1].reshape(gx.shape)}
for b in (1.0, 10.0):
    panels[f"F_beta(y), beta = {b:g}"] = \
        ellipse_free_energy(plane, W, b, n_grid=512)[0].reshape(gx.shape)
curve = ellipse_decoder(np.linspace(-np.pi, np.pi, 200), W)
links = [np.stack([y[i], ellipse_decoder(z_check[i], W)]) for i in range(len(y))]
lesson.save(energy_landscape(axis, axis, panels, curve, trajectories=links),
            "energy_landscape")

# %% [markdown]
# At zero temperature the landscape is zero on the ellipse and has a crease
# along the major axis inside it, where two latents explain $y$ equally well
# and the minimum switches from one to the other. A finite temperature smooths
# the crease away: $F_\beta$ averages over all latents, weighting good ones
# most, and at $\beta = 1$ it even dips below zero, since the soft minimum of a
# wide valley can be lower than its floor (the $\log$ of the valley's width
# enters with a minus sign).

# %% [markdown]
# ## 4. Amortised inference and target propagation
#
# Descending $E$ for every new $y$ is slow. An encoder can *amortise* it:
# propose $\tilde z = \mathrm{Enc}(y)$ and descend
# $E(y, z) = \lVert y - \mathrm{Dec}(z) \rVert^2$ from there. Target
# propagation trains the two to cooperate: infer $\check z$ by 20 descent
# steps from $\tilde z$, then train the decoder on $C(y, \mathrm{Dec}(\check z))$
# and the encoder on $D(\check z, \tilde z) = \lVert \check z - \tilde z \rVert^2$,
# treating $\check z$ as a fixed target for each. The decoder reads its latent
# as an angle, $(\cos z, \sin z)$, like $g$. We compare it with the same
# networks trained end to end by backprop as a plain autoencoder, on 800
# noisy ellipse points (noise 0.05), and count the descent steps each test
# point needs to come within 0.001 of the energy that descent reaches,
# starting from the encoder's guess or cold from $z = 0$.

# %%
y_train, _ = ellipse_points(800, rng=rng, w=W, noise=0.05)
y_test, _ = ellipse_points(500, rng=rng, w=W, noise=0.05)
seed = int(rng.integers(2**31))
results, inference_steps = {}, {}
for rule in ("target_prop", "backprop"):
    model = LatentEnergyAutoencoder(sizes=(2, 8, 8, 1), circular=True, training=rule,
                                    lam_d=0.0, infer_lr=0.1, infer_steps=20,
                                    rng=np.random.default_rng(seed))
    fit(model, y_train, optimizer=Adam(model.params, lr=1e-2),
        epochs=120 if lesson.full else 40, batch_size=50, rng=rng, progress=lesson.progress)
    z_tilde = model.encode(y_test)
    enc_err = np.mean(np.sum((model.decode(z_tilde) - y_test) ** 2, axis=1))
    # the energy descent from the encoder's guess converges to, then the steps
    # each start needs to come within 0.001 of it (1000: never)
    _, _, e_ref = model.infer(y_test, steps=1000, lr=0.05, tol=1e-4)
    kw = dict(steps=1000, lr=0.05, target=e_ref + 1e-3)
    _, warm, e_warm = model.infer(y_test, **kw)
    _, cold, e_cold = model.infer(y_test, z0=np.zeros_like(z_tilde), **kw)
    results[rule] = dict(enc=enc_err, ref=e_ref.mean(), steps_warm=warm.mean(),
                         steps_cold=cold.mean())
    if rule == "target_prop":
        inference_steps = {"from the encoder's guess": warm, "from z = 0": cold}
    lesson.report(f"{rule}: test squared error {enc_err:.4f} (encoder alone), "
                  f"{e_ref.mean():.4f} (after inference from Enc(y)); steps to within "
                  f"0.001 of it, mean (median): {warm.mean():.1f} ({np.median(warm):.0f}) "
                  f"from Enc(y), {cold.mean():.1f} ({np.median(cold):.0f}) from z = 0 "
                  f"({np.mean(cold == 1000):.0%} of the cold starts never get there: "
                  f"other local minima; counted as 1000)")
lesson.report("data variance 2.5, noise floor 0.005 (2 x 0.05^2)")

# %%
lesson.save(step_histograms(inference_steps), "inference_steps")

# %% [markdown]
# The histogram is for the target-propagation model. Started from the
# encoder's guess, test points need **3.4** steps on average; started from
# $z = 0$ they need **144.2**, and **12**% never arrive (the bar at 1000)
# because they fall into the other local minimum across the ellipse. After
# inference the squared error is **0.0302**, against **0.0904** for the
# encoder's guess decoded directly.

# %%
tp = results["target_prop"]
lesson.claim("target prop: mean inference steps from Enc(y) / from z = 0",
             tp["steps_warm"] / tp["steps_cold"], lt=0.5)
lesson.claim("target prop: test squared error after inference / encoder alone",
             tp["ref"] / tp["enc"], lt=0.5)
lesson.claim("target prop: test squared error after inference", tp["ref"], lt=0.1)

# %% [markdown]
# ## 5. The VAE's bubbles
#
# A VAE's encoder gives each input a Gaussian posterior
# $q(z \mid x) = \mathcal N(\mu, \operatorname{diag} v)$, and its loss pays
# $\mathrm{KL}(q \,\|\, \mathcal N(0, I))$, per latent unit
#
# $$
# \mathrm{KL}_j = \tfrac12 \big( v_j + \mu_j^2 - \log v_j - 1 \big),
# \qquad
# \frac{\partial\, \mathrm{KL}_j}{\partial v_j} = \tfrac12 \Big( 1 - \frac{1}{v_j} \Big),
# $$
#
# which is zero at $v_j = 1$, and the second derivative $1/(2 v_j^2)$ is
# positive: the KL alone would inflate every posterior into a "bubble" of
# radius 1 at the origin. The reconstruction term wants the bubbles small and
# apart, so that a sample from one bubble still decodes to its own input.
# With $\beta > 1$ (lesson 07) the KL weighs more, and the bubbles should
# grow. We train a VAE with a 2-D latent (784-256-2) on 10,000 MNIST digits at
# $\beta = 1$ and at $\beta = 8$ and measure each test digit's bubble radius,
# the geometric mean of its two posterior standard deviations.

# %%
x_all, _ = load_mnist("train", dtype=np.float32)
x_test_all, labels_all = load_mnist("test", dtype=np.float32)
x_train = x_all[rng.permutation(len(x_all))[:30_000 if lesson.full else 10_000]]
x_test, labels = x_test_all[:2000], labels_all[:2000]
bubble_panels, radius = {}, {}
for beta in (1.0, 8.0):
    vae = VAE(sizes=(784, 256, 2), beta=beta, rng=rng, dtype=np.float32)
    fit(vae, x_train, optimizer=Adam(vae.params, lr=1e-3),
        epochs=8 if lesson.full else 2, batch_size=100, rng=rng, progress=lesson.progress)
    mu, logvar = (a.astype(np.float64) for a in vae.encode(x_test))
    std = np.exp(0.5 * logvar)                              # (n, 2) bubble semi-axes
    radius[beta] = np.exp(logvar.mean(axis=1) / 2)          # geometric-mean radius
    v = np.exp(logvar)
    lesson.report(f"beta {beta:g}: bubble radius median {np.median(radius[beta]):.3f} "
                  f"(10%-90%: {np.percentile(radius[beta], 10):.3f}-"
                  f"{np.percentile(radius[beta], 90):.3f}); mean per-unit "
                  f"v - log v - 1 = {np.mean(v - logvar - 1):.3f}; spread of the "
                  f"means {mu.std(axis=0).round(2)}")
    bubble_panels[f"beta = {beta:g}: 1-std bubbles of 400 test digits"] = \
        (mu[:400], std[:400], labels[:400])

# %%
v_axis = np.linspace(0.05, 4.0, 200)
lesson.save(posterior_bubbles(bubble_panels, (v_axis, v_axis - np.log(v_axis) - 1)),
            "bubbles")

# %% [markdown]
# Each ellipse is one test digit's posterior, one standard deviation wide,
# coloured by digit; the dashed circle is the prior's. At $\beta = 1$ the
# bubbles are small (median radius **0.253**) and their centres spread well
# beyond the prior's circle, so that different digits stay apart. At
# $\beta = 8$ the KL weighs eight times more: the bubbles are about twice as
# large (**0.534**), their centres are pulled in towards the prior, and they
# overlap heavily, so the latent says less about each digit. The right panel
# is the per-unit KL (without its factor 1/2) against the variance, smallest
# at $v = 1$.

# %%
lesson.claim("beta 1: median bubble radius (posterior std; the KL alone "
             "would make it 1)", np.median(radius[1.0]), within=(0.3, 0.25))
lesson.claim("median bubble radius, beta 8 / beta 1",
             np.median(radius[8.0]) / np.median(radius[1.0]), gt=1.5)

# %% [markdown]
# ## 6. A decoder with a variance network
#
# Part 2. A Gaussian decoder (Doersch, 2016, keeps its variance fixed) can
# also learn the variance with a second network:
# $p(y \mid z) = \mathcal N(\mu(z), \operatorname{diag} e^{s(z)})$.
# Per coordinate, with $r = y - \mu(z)$, the negative log-likelihood and its
# derivative in the log-variance $s$ are
#
# $$
# \ell = \tfrac12 \big( \log 2\pi + s + r^2 e^{-s} \big),
# \qquad
# \frac{\partial \ell}{\partial s} = \tfrac12 \big( 1 - r^2 e^{-s} \big),
# $$
#
# zero at $e^{s} = r^2$: averaged over the data the learned variance should
# match the squared residual, the noise level. We test it on synthetic data
# whose noise is known and changes with position: $t \sim U(-1, 1)$,
# $y_1 = t + 0.02\, e_1$, $y_2 = 0.5 \sin 3t + \mathrm{sd}(t)\, e_2$ with
# $\mathrm{sd}(t) = 0.02 + 0.15\,(1 + t)$ rising from 0.02 to 0.32.

# %%
def heteroscedastic_data(n, rng):
    """y_1 = t + 0.02 e_1, y_2 = 0.5 sin(3t) + sd(t) e_2, sd(t) = 0.02 + 0.15 (1 + t),
    t ~ U(-1, 1). Returns (y (n, 2), t (n,), sd (n,))."""
    t = rng.uniform(-1.0, 1.0, n)
    sd = 0.02 + 0.15 * (1.0 + t)
    e = rng.standard_normal((n, 2))
    y = np.stack([t + 0.02 * e[:, 0], 0.5 * np.sin(3 * t) + sd * e[:, 1]], axis=1)
    return y, t, sd


y_h, _, _ = heteroscedastic_data(5000, rng)
y_h_test, t_test, sd_test = heteroscedastic_data(2000, rng)
vnet = VarianceNetworkVAE(sizes=(2, 32, 1), activation="tanh", rng=rng)
fit(vnet, y_h, optimizer=Adam(vnet.params, lr=3e-3), epochs=60 if lesson.full else 20,
    batch_size=100, rng=rng, progress=lesson.progress)
_, s = vnet.decode(vnet.encode(y_h_test)[0])                # (n, 2) log-variances
learned = np.exp(s[:, 1])
corr = np.corrcoef(s[:, 1], np.log(sd_test ** 2))[0, 1]
rel_var = np.median(np.abs(learned / sd_test ** 2 - 1))
low = t_test < -0.7
lesson.report(f"log-variance correlation {corr:.3f}, median relative error {rel_var:.3f}; "
              f"where the noise is smallest (t < -0.7, true std 0.02-0.065) the learned "
              f"std is {np.median(np.sqrt(learned[low]) / sd_test[low]):.2f} x the true "
              f"one: the decoder variance also absorbs the spread of the mean over "
              f"q(z | y)")

# %%
lesson.save(variance_tracking(t_test, sd_test, np.sqrt(learned)), "learned_vs_true_variance")

# %% [markdown]
# The learned standard deviation (dots) rises along $t$ with the true one
# (line), but it bends: where the true noise is smallest it is **1.98** times
# too large (the median for $t < -0.7$). The decoder's variance also covers
# the spread of its mean over the posterior $q(z \mid y)$, which after this
# short run is still wide (`--full` trains three times longer and brings the
# two closer).

# %%
lesson.claim("variance network: correlation of learned and true log-variance of y_2",
             corr, gt=0.85)
lesson.claim("variance network: median |learned v / true v - 1| over test points",
             rel_var, lt=0.35)

# %% [markdown]
# ## 7. The unbounded likelihood, and a variance floor
#
# On MNIST some pixels are blank in every training image. The mean network
# can predict them exactly, $r = 0$, and then their NLL is
# $\tfrac12(\log 2\pi + s)$, which falls without bound as $s \to -\infty$.
# Take the direction in parameter space "blank pixels' mean exact, their
# log-variance lowered by $\delta$": along it each blank pixel's NLL changes
# by $\tfrac12 (s - \delta) - \tfrac12 s = -\delta / 2$, so with $n_b$ blank
# pixels
#
# $$
# \frac{d\, \mathrm{NLL}}{d\delta} = -\tfrac12\, n_b \quad \text{for every } \delta,
# $$
#
# and the likelihood has no maximum. A **variance floor** fixes it: the
# decoder outputs $s = l + \mathrm{softplus}(\tilde s - l)$ with
# $l = \log 0.01$, so $s > l$ always, and lowering the raw output $\tilde s$
# can gain at most $\tfrac12 \sum_{\text{blank}} (s - l)$ nats. We train two
# VAEs alike (784-256-8, Adam $3 \times 10^{-4}$, 5,000 images), without and
# with the floor, and follow the blank pixels' mean decoder log-variance.

# %%
def nll_along_blank_direction(model, x, blank, deltas):
    """Mean NLL per image of x (decoded at the posterior means) as the blank
    pixels' mean is made exact (their decoder_mean weights and biases set to
    0, so r = 0 there) and their log-variance bias lowered by each delta in
    ``deltas``. The parameters are restored afterwards. Returns (len(deltas),)."""
    W_mean, b_mean = model.decoder_mean.params["W"], model.decoder_mean.params["b"]
    lb = model.decoder_logvar.params["b"]
    saved = W_mean[:, blank].copy(), b_mean[blank].copy(), lb[blank].copy()
    W_mean[:, blank], b_mean[blank] = 0.0, 0.0
    out = []
    for d in deltas:
        lb[blank] = saved[2] - d
        out.append(model.recon_nll(x).mean())
    W_mean[:, blank], b_mean[blank], lb[blank] = saved
    return np.array(out)


x_v = x_train[:15000 if lesson.full else 5000]
blank = x_v.max(axis=0) == 0                                # (784,) never inked
n_blank = int(blank.sum())
probe = x_v[:1000]
lesson.report(f"{n_blank} pixels are 0 in all {len(x_v)} training images; "
              f"{np.mean((x_test_all[:, blank] > 0).any(axis=1)):.2%} of test images "
              f"have ink on one of them")

# %%
seed = int(rng.integers(2**31))
deltas = np.linspace(0.0, 40.0, 9)
histories, drops, floor_models = {}, {}, {}
for label, floor in (("no floor", None), (f"floor {VAR_FLOOR:g}", VAR_FLOOR)):
    model = VarianceNetworkVAE(sizes=(784, 256, 8), var_floor=floor,
                               rng=np.random.default_rng(seed), dtype=np.float32)
    h = {"nll": [], "blank_logvar": []}

    def track(epoch, history, model=model, h=h):
        h["nll"].append(history["recon"][-1])
        h["blank_logvar"].append(float(model.decode(model.encode(probe)[0])[1][:, blank]
                                       .mean()))

    # divergence=None: the unfloored run's loss spikes are the pathology under
    # study, not a learning rate to lower
    fit(model, x_v, optimizer=Adam(model.params, lr=3e-4), epochs=lesson.epochs,
        batch_size=100, rng=rng, progress=lesson.progress, callback=track,
        divergence=None if floor is None else DEFAULT_DIVERGENCE)
    nll = model.recon_nll(x_test_all)
    histories[label], floor_models[label] = h, model
    drops[label] = nll_along_blank_direction(model, probe, blank, deltas)
    lesson.report(f"{label}: training NLL per epoch "
                  + " ".join(f"{v:.0f}" for v in h["nll"])
                  + "; blank-pixel log-variance " + " ".join(f"{v:.2f}" for v in
                                                             h["blank_logvar"])
                  + f"; test NLL median {np.median(nll):.0f}, worst {nll.max():.0f}")

# %%
lesson.save(variance_pathology(histories, float(np.log(VAR_FLOOR)),
                               (deltas, {k: v - v[0] for k, v in drops.items()})),
            "variance_pathology")

# %% [markdown]
# Left: without the floor training is erratic; the NLL jumps back up whenever
# a mean error is divided by a tiny variance. Middle: the blank pixels'
# log-variance dives far below $\log 0.01$ without the floor and settles on it
# with the floor. Right: along the direction of the derivation the unfloored
# NLL falls on a straight line for ever; the floored one stays flat: it can
# drop by at most $\tfrac12 \sum (s - l)$, here **1.97** nats per image,
# too small to see at this scale.

# %%
free, floored = histories["no floor"], histories[f"floor {VAR_FLOOR:g}"]
log_floor = float(np.log(VAR_FLOOR))
lesson.claim("no floor: lowest blank-pixel log-variance over the epochs minus "
             "log(floor)", min(free["blank_logvar"]) - log_floor, lt=-1.5)
slope = np.polyfit(deltas, drops["no floor"], 1)[0]
lesson.report("NLL per image along the direction, delta = 0..40: no floor "
              + " ".join(f"{v:.0f}" for v in drops["no floor"]) + "; floor "
              + " ".join(f"{v:.0f}" for v in drops[f"floor {VAR_FLOOR:g}"]))
lesson.claim("no floor: d NLL / d delta along that direction, in units of "
             "-0.5 per blank pixel (1: unbounded, linear forever)",
             slope / (-0.5 * n_blank), within=(1.0, 1e-3))

# %%
floored_model = floor_models[f"floor {VAR_FLOOR:g}"]
s0 = floored_model.decode(floored_model.encode(probe)[0])[1][:, blank].astype(np.float64)
bound = 0.5 * np.sum(s0 - log_floor, axis=1).mean()         # the most the floor allows
drop = drops[f"floor {VAR_FLOOR:g}"]
lesson.report(f"floor {VAR_FLOOR:g}: NLL drop along the direction {drop[0] - drop[-1]:.2f} "
              f"nats per image; bound 0.5 sum (s - log floor) = {bound:.2f}")
lesson.claim(f"floor {VAR_FLOOR:g}: NLL drop along the same direction (delta 40) / "
             "its bound 0.5 sum (s - log floor)", (drop[0] - drop[-1]) / bound,
             within=(1.0, 0.02))
lesson.claim(f"floor {VAR_FLOOR:g}: blank-pixel log-variance after training minus "
             "log(floor)", floored["blank_logvar"][-1] - log_floor, within=(0.0, 0.1))

# %% [markdown]
# ## 8. A denoising autoencoder as a generator
#
# A DAE with a *Gaussian reconstruction distribution*
# $p_\theta(x \mid \tilde x) = \mathcal N(\mu(\tilde x), \operatorname{diag} e^{s(\tilde x)})$
# defines a Markov chain (Bengio et al., 2013): corrupt, then sample a
# reconstruction,
#
# $$
# \tilde x_t = x_t + \sigma e_t, \qquad x_{t+1} \sim p_\theta(x \mid \tilde x_t),
# $$
#
# and if $p_\theta$ is a consistent estimator of the true $p(x \mid \tilde x)$,
# the chain's stationary distribution approaches the data distribution. We run
# 1,000 chains, started uniformly on the square $[-4, 4]^2$, for 100 steps on
# the 2-D mixture of lesson 03, for five corruption levels, and compare their
# states with data by the unbiased squared maximum mean discrepancy with a
# Gaussian kernel $k(a, b) = e^{-\lVert a - b \rVert^2 / 2}$ (Gretton et al.,
# 2012):
#
# $$
# \widehat{\mathrm{MMD}}^2 = \frac{1}{n(n-1)} \sum_{i \ne j} k(x_i, x_j)
# + \frac{1}{m(m-1)} \sum_{i \ne j} k(y_i, y_j) - \frac{2}{nm} \sum_{i, j} k(x_i, y_j),
# $$
#
# an unbiased estimate of a distance between distributions that is zero only
# when they are equal.

# %%
mixture = mixture_2d()
data = mixture.sample(1000, rng=rng)
mmd_floor = mmd2(data, mixture.sample(1000, rng=rng), bandwidth=1.0)
x0 = rng.uniform(-4.0, 4.0, size=(1000, 2))
mmd_start = mmd2(x0, data, bandwidth=1.0)
chains, dist = {}, {}
for sigma in GSN_SIGMAS:
    denoiser = GaussianDenoiser(sizes=(2, 32, 32), sigma=sigma, var_floor=1e-4, rng=rng)
    fit_fresh(denoiser, lambda n, r: mixture.sample(n, rng=r),
              optimizer=Adam(denoiser.params, lr=1e-2), epochs=30 if lesson.full else 10,
              n_per_epoch=10_000, batch_size=256, rng=rng, lr_end=1e-3)
    chains[sigma] = gsn_chain(denoiser, x0, steps=100, rng=rng)
    dist[sigma] = mmd2(chains[sigma], data, bandwidth=1.0)
lesson.report(f"MMD^2 (bandwidth 1): start {mmd_start:.4f}, two data samples "
              f"{mmd_floor:.5f}; after 100 steps: "
              + ", ".join(f"sigma {s:g}: {d:.4f}" for s, d in dist.items()))

# %%
lesson.save(chain_samples(chains, mixture.density, (-4.0, 4.0), dist), "chain_samples")

# %% [markdown]
# The grey contours are the true density. At an intermediate $\sigma$ the
# chains' states look like data; at $\sigma = 0.1$ they are still drifting
# towards the modes (small steps mix slowly, and the model's small errors
# accumulate over 100 steps); at $\sigma = 2$ they are smeared, because the
# true $p(x \mid \tilde x)$ is then multimodal, which one Gaussian cannot fit.
# The MMD curve on the right has its minimum in between.

# %%
best_sigma = min(dist, key=dist.get)
lesson.claim(f"GSN: best MMD^2 after 100 steps (sigma {best_sigma:g}) / MMD^2 at the start",
             dist[best_sigma] / mmd_start, lt=0.1)
lesson.claim(f"GSN: MMD^2 at sigma {GSN_SIGMAS[-1]:g} (multimodal posterior) / best",
             dist[GSN_SIGMAS[-1]] / dist[best_sigma], gt=2.0)
lesson.claim(f"GSN: MMD^2 at sigma {GSN_SIGMAS[0]:g} (slow, drifting chain) / best",
             dist[GSN_SIGMAS[0]] / dist[best_sigma], gt=2.0)

# %% [markdown]
# ## Check your understanding
#
# 1. The descent report says what share of the 8 starts per observation end
#    in a non-global minimum. Where on the ellipse are those minima, and why
#    does a start at $z = 0$ in section 4 sometimes never reach the target?
# 2. Section 3 predicts the gap $F_\beta - F_\infty$ from the curvature $E''$
#    alone. For which observations would you expect Laplace's method to need
#    the largest $\beta$ before it is accurate? (Hint: the crease.)
# 3. The bubble cell reports the mean per-unit $v - \log v - 1$ at
#    $\beta = 1$ and at $\beta = 8$. Why does it fall as $\beta$ grows, and
#    why are the bubbles still well under the prior's radius 1 at $\beta = 8$?
# 4. In section 7, why does the unfloored model's slope along the direction
#    come out as exactly $-\tfrac12$ per blank pixel, whatever the trained
#    weights are?
# 5. In section 8, at which $\sigma$ is the MMD smallest, and how does it
#    compare with the MMD between two samples of the data itself?
#
# ## Exercises
#
# Exercise 19, `ex19_gaussian_nll.py` (`tinyae exercises start DIR`): write the
# Gaussian negative log-likelihood with a learned log-variance and its two
# gradients (section 6), and the variance floor of section 7 with its backward
# pass; the checker runs them as the variance-network decoder does, on blank
# pixels far below the floor too, and trains a small Gaussian-decoder
# autoencoder with them.
#
# Try it: in the GSN cell of section 8, record the chains' states at steps 1,
# 10 and 100 (`gsn_chain(..., record={1, 10, 100})` returns them) and compute
# the MMD at each step for $\sigma = 0.1$ and for the best $\sigma$: is the
# small-noise chain slow, or does it converge to the wrong distribution?
#
# ## References
#
# * LeCun, Y. and Canziani, A. (2020). Deep Learning (NYU DS-GA 1008), the weeks on
#   energy-based models and autoencoders: the ellipse example with $E(y, z)$ and the free
#   energy at zero and finite temperature, target propagation, and the VAE's
#   "bubbles" (lecture and practicum notes, atcold.github.io/pytorch-Deep-Learning).
# * LeCun, Y., Chopra, S., Hadsell, R., Ranzato, M. and Huang, F. J. (2006). A
#   tutorial on energy-based learning. In *Predicting Structured Data*, MIT
#   Press. Energies, inference as minimisation, the free energy as a soft
#   minimum.
# * Doersch, C. (2016). Tutorial on variational autoencoders.
#   arXiv:1606.05908. The Gaussian decoder $\mathcal N(f(z), \sigma^2 I)$ (there
#   with a fixed variance, here learnt).
# * Bengio, Y., Yao, L., Alain, G. and Vincent, P. (2013). Generalized denoising
#   auto-encoders as generative models. *NeurIPS* 26. The Markov chain of
#   corruption and reconstruction sampling, and its consistency.
# * Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. and Smola, A.
#   (2012). A kernel two-sample test. *Journal of Machine Learning Research*
#   13, 723-773. Lemma 6 (the unbiased estimate of MMD$^2$).
# * Mattei, P.-A. and Frellsen, J. (2018). Leveraging the exact likelihood of
#   deep latent variable models. *NeurIPS* 31. The likelihood of a
#   Gaussian-decoder VAE is unbounded; bounding the variance from below makes
#   it well posed.

# %%
lesson.finish()
