"""Lesson 15: energy-based latent-variable models, and decoders that are
random on purpose.

Part 1 -- energies instead of encoders (NYU Deep Learning, week 8)
-----------------------------------------------------------------
A latent-variable energy-based model scores a pair (observation y, latent
z) by an energy E(y, z) and infers z by *minimising* it. The course's toy:
y in R^2 near an ellipse, a 1-D latent z (an angle) and the decoder
g(z) = [w1 cos z, w2 sin z], with

    E(y, z) = ||y - g(z)||^2 (+ R(z)),
    dE/dz = 2 r1 w1 sin z - 2 r2 w2 cos z,   r = y - g(z)

(the derivation is in ``tinyae.inference.energy``; the gradient checker tests it).

* Zero temperature: z_check = argmin_z E(y, z) by gradient descent on z,
  and the free energy F_inf(y) = min_z E(y, z): the squared distance from y
  to the ellipse. Its landscape over the plane has a crease along the major
  axis inside the ellipse, where two latents explain y equally well.
* Finite temperature: F_beta(y) = -(1/beta) log int exp(-beta E(y, z)) dz,
  a soft minimum over z, by quadrature with a log-sum-exp. As beta grows,
  F_beta -> F_inf, and Laplace's method predicts how fast: near a smooth
  minimum with curvature E'', F_beta - F_inf ~ (1/(2 beta)) log(beta E''/(2
  pi)), so beta (F_beta - F_inf) rises with slope 1/2 against log beta.
  Measured: that slope, and the gap against the Laplace prediction.
* Amortised inference and target propagation: an encoder proposes
  z_tilde = Enc(y); inference descends E(y, z) = ||y - Dec(z)||^2 from
  there; the decoder is trained on C(y, Dec(z_check)) and the encoder on
  D(z_check, z_tilde) (``models.LatentEnergyAutoencoder``, whose decoder
  reads its latent as an angle, [cos z, sin z], like g). Measured on noisy
  ellipse data: the gradient steps inference needs from the encoder's
  guess against a cold start at z = 0, and the reconstruction error with
  and without inference, beside the same networks trained end to end by
  backprop as a plain autoencoder.
* The VAE's KL term per latent unit, 0.5 (v + mu^2 - log v - 1), is
  minimised in the variance at v = 1: the KL inflates each posterior into a
  "bubble" of radius about 1 while the reconstruction term wants the
  bubbles small and apart. Measured on a 2-D-latent VAE on MNIST: the
  posterior standard deviations (bubble radii) per test input, at beta = 1
  and at beta = 8 (more weight on the KL: bigger bubbles).

Part 2 -- stochastic decoders and the DAE as a generator
--------------------------------------------------------
* The VAE tutorial's Gaussian decoder has a mean network *and* a variance
  network, p(x | z) = N(mu(z), diag exp(s(z))) (``models.VarianceNetworkVAE``).
  On synthetic data whose noise level is known and changes with position
  (y_1 = t + small noise, y_2 = 0.5 sin 3t + sd(t) e with sd rising from
  0.02 to 0.32 along t), the learned variance at the encoded z tracks
  sd(t)^2: measured by the correlation of the log-variances and the median
  relative error. In the short default run the learned std stays about
  twice too large where the true noise is smallest: the decoder's variance
  also covers the spread of its mean over the posterior q(z | y), and the
  posterior is still wide (reported, not claimed; --full trains three
  times longer and brings the median relative error from ~0.16 to ~0.05).
* The pathology: on MNIST, pixels that are blank in every training image
  can be predicted exactly, and then their NLL 0.5 (log 2 pi + s + r^2/e^s)
  falls without bound as s -> -inf. Measured on two VAEs trained alike
  (784-256-8, Adam 3e-4, 5,000 images): without a floor the blank pixels'
  decoder log-variance dives far below any sensible value (and training
  turns erratic: it jumps back up whenever a mean error is divided by a
  tiny variance); along the direction "blank pixels' mean exact, their
  log-variance lowered by delta" the NLL per image falls by exactly 0.5
  nats per blank pixel per unit of delta, for ever. A variance floor
  (``var_floor``: s = l + softplus(raw - l), l = log floor = log 0.01) pins
  those pixels at the floor, and the same direction then gains at most
  0.5 sum (s - l), about one nat.
* Generative stochastic networks (Bengio et al., 2013; the lecture deck): a
  denoising autoencoder with a Gaussian reconstruction distribution
  defines a Markov chain, x -> x + sigma e -> x' ~ p(x | x_tilde), whose
  samples approach the data distribution (``generative.gsn_chain``). On
  the 2-D Gaussian mixture of ``tinyae.data`` (known density), 1,000
  chains started uniformly on a square run 100 steps for each corruption
  level; the MMD^2 between the chains' states and fresh data samples
  (``generative.mmd2``) is smallest at an intermediate sigma: small sigma
  mixes slowly and lets the model's errors accumulate, large sigma makes
  the true p(x | x_tilde) multimodal, which a Gaussian cannot fit.

References: Y. LeCun and A. Canziani, NYU Deep Learning (2020), week 8
(energy-based models, the ellipse example, target propagation, the VAE's
bubbles); LeCun et al., "A tutorial on energy-based learning" (2006); C.
Doersch, "Tutorial on variational autoencoders" (2016); Bengio, Yao, Alain
and Vincent, "Generalized denoising auto-encoders as generative models"
(NeurIPS 2013); Gretton et al., "A kernel two-sample test" (JMLR 2012).

Run: ``python lessons/15_energy_and_stochastic_decoders.py`` (about 30 s of
CPU); ``--full`` trains every model about three times longer.
"""

# %%
import numpy as np

from tinyae.data import load_mnist, mixture_2d
from tinyae.inference.energy import (descend, ellipse_decoder, ellipse_energy,
                           ellipse_energy_curvature, ellipse_free_energy, ellipse_points,
                           laplace_free_energy)
from tinyae.analysis.generative import gsn_chain, mmd2
from tinyae.gradcheck.cases import CASES
from tinyae.course.lesson import Lesson
from tinyae.models import VAE, GaussianDenoiser, LatentEnergyAutoencoder, VarianceNetworkVAE
from tinyae.optim import Adam
from tinyae.course.plotting.energy import (chain_samples, energy_landscape, free_energy_vs_beta,
                                    posterior_bubbles, step_histograms, variance_pathology,
                                    variance_tracking)
from tinyae.analysis.scores import fit_fresh
from tinyae.train import DEFAULT_DIVERGENCE, fit

W = np.array([1.0, 2.0])                 # the ellipse's semi-axes (w1, w2)
N_GRID = 2**14                           # quadrature points over z in [-pi, pi)
BETAS = np.logspace(2, 4, 5)             # where the Laplace slope is measured
VAR_FLOOR = 0.01                         # the variance floor of the MNIST fix
GSN_SIGMAS = (0.1, 0.25, 0.5, 1.0, 2.0)


# %%
def zero_temperature(lesson, rng):
    """Gradient descent on z against the quadrature minimum; free energy vs beta."""
    y, _ = ellipse_points(10, rng=rng, w=W, noise=0.3)
    rep = CASES["energy ellipse E(y, z) (y, z, w)"](np.random.default_rng(0))
    lesson.claim("ellipse energy: hand-written dE/dz, dE/dy, dE/dw vs central "
                 "differences (worst relative error)", rep.worst, lt=1e-7)
    # zero temperature: 8 evenly spaced starts per observation, keep the best
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
    lesson.claim("zero temperature: best descended E(y, z_check) minus the minimum over "
                 f"{N_GRID} grid latents (max over 10 y)", np.max(e_check - e_grid), lt=1e-9)

    # finite temperature: F_beta -> F_inf = E(y, z_check)
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
    lesson.claim(f"slope of beta (F_beta - F_inf) against log beta over beta in "
                 f"[{BETAS[0]:g}, {BETAS[-1]:g}] (median over y; Laplace: 1/2)",
                 np.median(slopes), within=(0.5, 0.02))
    last = betas == 1e4
    rel = np.abs(gaps[last] - laplace[last]) / np.abs(gaps[last])
    lesson.claim("beta = 1e4: |F_beta - F_inf - Laplace| / |F_beta - F_inf| (worst y)",
                 rel.max(), lt=2e-3)
    lesson.claim("beta = 1e4: F_beta - F_inf (worst y)", np.abs(gaps[last]).max(), lt=1e-3)
    lesson.save(free_energy_vs_beta(betas, betas[:, None] * gaps, betas[:, None] * laplace),
                "free_energy_vs_beta")

    # the landscapes over the plane
    axis = np.linspace(-3.0, 3.0, 61)
    gx, gy = np.meshgrid(axis, axis)
    plane = np.stack([gx.ravel(), gy.ravel()], axis=1)          # (61*61, 2)
    panels = {"F_inf(y) = min_z E(y, z)  (zero temperature)":
              ellipse_free_energy(plane, W, 1.0, n_grid=512)[1].reshape(gx.shape)}
    for b in (1.0, 10.0):
        panels[f"F_beta(y), beta = {b:g}"] = \
            ellipse_free_energy(plane, W, b, n_grid=512)[0].reshape(gx.shape)
    curve = ellipse_decoder(np.linspace(-np.pi, np.pi, 200), W)
    links = [np.stack([y[i], ellipse_decoder(z_check[i], W)]) for i in range(len(y))]
    lesson.save(energy_landscape(axis, axis, panels, curve, trajectories=links),
                "energy_landscape")


# %%
def amortised_inference(lesson, rng):
    """Target propagation against backprop on noisy ellipse data."""
    y, _ = ellipse_points(800, rng=rng, w=W, noise=0.05)
    y_test, _ = ellipse_points(500, rng=rng, w=W, noise=0.05)
    seed = int(rng.integers(2**31))
    epochs = 120 if lesson.full else 40
    results, steps = {}, {}
    for rule in ("target_prop", "backprop"):
        model = LatentEnergyAutoencoder(sizes=(2, 8, 8, 1), circular=True, training=rule,
                                        lam_d=0.0, infer_lr=0.1, infer_steps=20,
                                        rng=np.random.default_rng(seed))
        fit(model, y, optimizer=Adam(model.params, lr=1e-2), epochs=epochs, batch_size=50,
            rng=rng, progress=lesson.progress)
        z_tilde = model.encode(y_test)
        enc_err = np.mean(np.sum((model.decode(z_tilde) - y_test) ** 2, axis=1))
        # the energy the descent from the encoder's guess converges to, then the
        # steps each start needs to come within 0.001 of it (1000: never)
        _, _, e_ref = model.infer(y_test, steps=1000, lr=0.05, tol=1e-4)
        kw = dict(steps=1000, lr=0.05, target=e_ref + 1e-3)
        _, warm, e_warm = model.infer(y_test, **kw)
        _, cold, e_cold = model.infer(y_test, z0=np.zeros_like(z_tilde), **kw)
        results[rule] = dict(enc=enc_err, ref=e_ref.mean(), never=np.mean(cold == 1000),
                             steps_warm=warm.mean(), steps_cold=cold.mean())
        if rule == "target_prop":
            steps = {"from the encoder's guess": warm, "from z = 0": cold}
        lesson.report(f"{rule}: test squared error {enc_err:.4f} (encoder alone), "
                      f"{e_ref.mean():.4f} (after inference from Enc(y)); steps to within "
                      f"0.001 of it, mean (median): {warm.mean():.1f} ({np.median(warm):.0f}) "
                      f"from Enc(y), {cold.mean():.1f} ({np.median(cold):.0f}) from z = 0 "
                      f"({np.mean(cold == 1000):.0%} of the cold starts never get there: "
                      f"other local minima; counted as 1000)")
    tp = results["target_prop"]
    lesson.report("data variance 2.5, noise floor 0.005 (2 x 0.05^2)")
    lesson.claim("target prop: mean inference steps from Enc(y) / from z = 0",
                 tp["steps_warm"] / tp["steps_cold"], lt=0.5)
    lesson.claim("target prop: test squared error after inference / encoder alone",
                 tp["ref"] / tp["enc"], lt=0.5)
    lesson.claim("target prop: test squared error after inference", tp["ref"], lt=0.1)
    lesson.save(step_histograms(steps), "inference_steps")


# %%
def bubbles(lesson, rng, x_train, x_test, labels):
    """Posterior standard deviations of a 2-D-latent VAE at beta 1 and 8."""
    panels, radius = {}, {}
    for beta in (1.0, 8.0):
        model = VAE(sizes=(784, 256, 2), beta=beta, rng=rng, dtype=np.float32)
        fit(model, x_train, optimizer=Adam(model.params, lr=1e-3),
            epochs=8 if lesson.full else 2, batch_size=100, rng=rng,
            progress=lesson.progress)
        mu, logvar = (a.astype(np.float64) for a in model.encode(x_test))
        std = np.exp(0.5 * logvar)                              # (n, 2) bubble semi-axes
        radius[beta] = np.exp(logvar.mean(axis=1) / 2)          # geometric-mean radius
        v = np.exp(logvar)
        lesson.report(f"beta {beta:g}: bubble radius median {np.median(radius[beta]):.3f} "
                      f"(10%-90%: {np.percentile(radius[beta], 10):.3f}-"
                      f"{np.percentile(radius[beta], 90):.3f}); mean per-unit "
                      f"v - log v - 1 = {np.mean(v - logvar - 1):.3f}; spread of the "
                      f"means {mu.std(axis=0).round(2)}")
        panels[f"beta = {beta:g}: 1-std bubbles of 400 test digits"] = \
            (mu[:400], std[:400], labels[:400])
    lesson.claim("beta 1: median bubble radius (posterior std; the KL alone "
                 "would make it 1)", np.median(radius[1.0]), within=(0.3, 0.25))
    lesson.claim("median bubble radius, beta 8 / beta 1",
                 np.median(radius[8.0]) / np.median(radius[1.0]), gt=1.5)
    v = np.linspace(0.05, 4.0, 200)
    lesson.save(posterior_bubbles(panels, (v, v - np.log(v) - 1)), "bubbles")


# %%
def heteroscedastic_data(n, rng):
    """y_1 = t + 0.02 e_1, y_2 = 0.5 sin(3t) + sd(t) e_2, sd(t) = 0.02 + 0.15 (1 + t),
    t ~ U(-1, 1). Returns (y (n, 2), t (n,), sd (n,))."""
    t = rng.uniform(-1.0, 1.0, n)
    sd = 0.02 + 0.15 * (1.0 + t)
    e = rng.standard_normal((n, 2))
    y = np.stack([t + 0.02 * e[:, 0], 0.5 * np.sin(3 * t) + sd * e[:, 1]], axis=1)
    return y, t, sd


def variance_network(lesson, rng):
    """The learned variance tracks a known, position-dependent noise level."""
    y, _, _ = heteroscedastic_data(5000, rng)
    y_test, t_test, sd_test = heteroscedastic_data(2000, rng)
    model = VarianceNetworkVAE(sizes=(2, 32, 1), activation="tanh", rng=rng)
    fit(model, y, optimizer=Adam(model.params, lr=3e-3), epochs=60 if lesson.full else 20,
        batch_size=100, rng=rng, progress=lesson.progress)
    _, s = model.decode(model.encode(y_test)[0])                # (n, 2) log-variances
    learned = np.exp(s[:, 1])
    corr = np.corrcoef(s[:, 1], np.log(sd_test ** 2))[0, 1]
    rel = np.median(np.abs(learned / sd_test ** 2 - 1))
    low = t_test < -0.7
    lesson.report(f"where the noise is smallest (t < -0.7, true std 0.02-0.065) the learned "
                  f"std is {np.median(np.sqrt(learned[low]) / sd_test[low]):.2f} x the true "
                  f"one: the decoder variance also absorbs the spread of the mean over "
                  f"q(z | y)")
    lesson.claim("variance network: correlation of learned and true log-variance of y_2",
                 corr, gt=0.85)
    lesson.claim("variance network: median |learned v / true v - 1| over test points",
                 rel, lt=0.35)
    lesson.save(variance_tracking(t_test, sd_test, np.sqrt(learned)), "learned_vs_true_variance")


# %%
def nll_along_blank_direction(model, x, blank, deltas):
    """Mean NLL per image of x (decoded at the posterior means) as the
    blank pixels' mean is made exact (their decoder_mean weights and biases
    set to 0, so r = 0 there) and their log-variance bias lowered by each
    delta in ``deltas``. The parameters are restored afterwards.
    Returns (len(deltas),) float64."""
    W, b = model.decoder_mean.params["W"], model.decoder_mean.params["b"]
    lb = model.decoder_logvar.params["b"]
    saved = W[:, blank].copy(), b[blank].copy(), lb[blank].copy()
    W[:, blank], b[blank] = 0.0, 0.0
    out = []
    for d in deltas:
        lb[blank] = saved[2] - d
        out.append(model.recon_nll(x).mean())
    W[:, blank], b[blank], lb[blank] = saved
    return np.array(out)


def unbounded_variance(lesson, rng, x_train, x_test):
    """Unbounded decoder variance on MNIST's blank pixels, and the floor."""
    x = x_train[:15000 if lesson.full else 5000]
    blank = x.max(axis=0) == 0                                  # (784,) never inked
    n_blank = int(blank.sum())
    probe = x[:1000]
    lesson.report(f"{n_blank} pixels are 0 in all {len(x)} training images; "
                  f"{np.mean((x_test[:, blank] > 0).any(axis=1)):.2%} of test images "
                  f"have ink on one of them")
    seed = int(rng.integers(2**31))
    deltas = np.linspace(0.0, 40.0, 9)
    histories, drops, models = {}, {}, {}
    for label, floor in (("no floor", None), (f"floor {VAR_FLOOR:g}", VAR_FLOOR)):
        model = VarianceNetworkVAE(sizes=(784, 256, 8), var_floor=floor,
                                   rng=np.random.default_rng(seed), dtype=np.float32)
        h = {"nll": [], "blank_logvar": []}

        def track(epoch, history, model=model, h=h):
            h["nll"].append(history["recon"][-1])
            h["blank_logvar"].append(float(model.decode(model.encode(probe)[0])[1][:, blank]
                                           .mean()))

        # divergence=None: the unfloored run's loss spikes are the pathology
        # under study, not a learning rate to lower
        fit(model, x, optimizer=Adam(model.params, lr=3e-4), epochs=lesson.epochs,
            batch_size=100, rng=rng, progress=lesson.progress, callback=track,
            divergence=None if floor is None else DEFAULT_DIVERGENCE)
        nll = model.recon_nll(x_test)
        histories[label], models[label] = h, model
        drops[label] = nll_along_blank_direction(model, probe, blank, deltas)
        lesson.report(f"{label}: training NLL per epoch "
                      + " ".join(f"{v:.0f}" for v in h["nll"])
                      + "; blank-pixel log-variance " + " ".join(f"{v:.2f}" for v in
                                                                 h["blank_logvar"])
                      + f"; test NLL median {np.median(nll):.0f}, worst {nll.max():.0f}")
    free, floored = histories["no floor"], histories[f"floor {VAR_FLOOR:g}"]
    log_floor = float(np.log(VAR_FLOOR))
    lesson.claim("no floor: lowest blank-pixel log-variance over the epochs minus "
                 "log(floor)", min(free["blank_logvar"]) - log_floor, lt=-1.5)
    # the direction along which the likelihood is unbounded: exact means, and
    # log-variances lowered by delta; the NLL falls by 0.5 per blank pixel per unit
    slope = np.polyfit(deltas, drops["no floor"], 1)[0]
    lesson.report("NLL per image along the direction, delta = 0..40: no floor "
                  + " ".join(f"{v:.0f}" for v in drops["no floor"]) + "; floor "
                  + " ".join(f"{v:.0f}" for v in drops[f"floor {VAR_FLOOR:g}"]))
    lesson.claim("no floor: d NLL / d delta along that direction, in units of "
                 "-0.5 per blank pixel (1: unbounded, linear forever)",
                 slope / (-0.5 * n_blank), within=(1.0, 1e-3))
    floored_model = models[f"floor {VAR_FLOOR:g}"]
    s0 = floored_model.decode(floored_model.encode(probe)[0])[1][:, blank].astype(np.float64)
    bound = 0.5 * np.sum(s0 - log_floor, axis=1).mean()         # the most the floor allows
    drop = drops[f"floor {VAR_FLOOR:g}"]
    lesson.claim(f"floor {VAR_FLOOR:g}: NLL drop along the same direction (delta 40) / "
                 "its bound 0.5 sum (s - log floor)", (drop[0] - drop[-1]) / bound,
                 within=(1.0, 0.02))
    lesson.claim(f"floor {VAR_FLOOR:g}: blank-pixel log-variance after training minus "
                 "log(floor)", floored["blank_logvar"][-1] - log_floor, within=(0.0, 0.1))
    lesson.save(variance_pathology(histories, log_floor,
                                   (deltas, {k: v - v[0] for k, v in drops.items()})),
                "variance_pathology")


# %%
def gsn(lesson, rng):
    """GSN chains on a 2-D mixture: MMD^2 to the data against sigma."""
    mixture = mixture_2d()
    data = mixture.sample(1000, rng=rng)
    floor = mmd2(data, mixture.sample(1000, rng=rng), bandwidth=1.0)
    x0 = rng.uniform(-4.0, 4.0, size=(1000, 2))
    start = mmd2(x0, data, bandwidth=1.0)
    samples, dist = {}, {}
    for sigma in GSN_SIGMAS:
        model = GaussianDenoiser(sizes=(2, 32, 32), sigma=sigma, var_floor=1e-4, rng=rng)
        fit_fresh(model, lambda n, r: mixture.sample(n, rng=r),
                  optimizer=Adam(model.params, lr=1e-2), epochs=30 if lesson.full else 10,
                  n_per_epoch=10_000, batch_size=256, rng=rng, lr_end=1e-3)
        samples[sigma] = gsn_chain(model, x0, steps=100, rng=rng)
        dist[sigma] = mmd2(samples[sigma], data, bandwidth=1.0)
    lesson.report(f"MMD^2 (bandwidth 1): start {start:.4f}, two data samples {floor:.5f}; "
                  "after 100 steps: " + ", ".join(f"sigma {s:g}: {d:.4f}"
                                                  for s, d in dist.items()))
    best = min(dist, key=dist.get)
    lesson.claim(f"GSN: best MMD^2 after 100 steps (sigma {best:g}) / MMD^2 at the start",
                 dist[best] / start, lt=0.1)
    lesson.claim(f"GSN: MMD^2 at sigma {GSN_SIGMAS[-1]:g} (multimodal posterior) / best",
                 dist[GSN_SIGMAS[-1]] / dist[best], gt=2.0)
    lesson.claim(f"GSN: MMD^2 at sigma {GSN_SIGMAS[0]:g} (slow, drifting chain) / best",
                 dist[GSN_SIGMAS[0]] / dist[best], gt=2.0)
    lesson.save(chain_samples(samples, mixture.density, (-4.0, 4.0), dist), "chain_samples")


# %%
def main():
    lesson = Lesson("15_energy_and_stochastic_decoders", __doc__, epochs=6, full_epochs=20)
    rng = lesson.rng
    zero_temperature(lesson, rng)
    amortised_inference(lesson, rng)
    x_all, _ = load_mnist("train", dtype=np.float32)
    x_test, labels = load_mnist("test", dtype=np.float32)
    x_train = x_all[rng.permutation(len(x_all))[:30_000 if lesson.full else 10_000]]
    bubbles(lesson, rng, x_train, x_test[:2000], labels[:2000])
    variance_network(lesson, rng)
    unbounded_variance(lesson, rng, x_train, x_test)
    gsn(lesson, rng)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
