"""Lesson 16: sparse coding by ISTA and FISTA, predictive sparse
decomposition, and recirculation -- learning without backpropagation.

The idea
--------
**Sparse coding** explains a signal x (here a 12x12 MNIST patch, d = 144)
as a sparse combination of K = 256 atoms, the rows of an overcomplete
dictionary D: (K, d). The code is not computed by an encoder but *inferred*,
by minimising an energy per example,

    F(z) = 1/2 ||x - z D||^2 + lam ||z||_1.

The first term is smooth (its gradient (z D - x) D^T is Lipschitz with
L = ||D||_2^2); the second is not, but its proximal map is the
soft-threshold ``soft(v, t) = sign(v) max(|v| - t, 0)``. ISTA alternates a
gradient step and a threshold, z <- soft(z - grad/L, lam/L); FISTA takes
the same step from an extrapolated point (Nesterov's momentum). Beck and
Teboulle (2009, SIAM J. Imaging Sci. 2(1), Theorems 3.1 and 4.4) prove

    ISTA   F(z_k) - F* <= L ||z_0 - z*||^2 / (2k)
    FISTA  F(z_k) - F* <= 2 L ||z_0 - z*||^2 / (k + 1)^2,

O(1/k) against O(1/k^2). The ops (the soft-threshold, its subgradient,
one ISTA step with its hand-derived gradient) are in
``tinyae.functional.sparse_coding``; the solvers in ``tinyae.inference.sparse_coding``.

**Predictive sparse decomposition** (Kavukcuoglu, Ranzato and LeCun, 2008,
"Fast inference in sparse coding algorithms with applications to object
recognition"; they used 12x12 patches and 256 atoms too) adds an encoder
F(x) = g * tanh(x W + b) and a term alpha/2 ||z - F(x)||^2 to the energy;
each minibatch infers codes by FISTA from the encoder's guess, then takes a
gradient step on the dictionary and the encoder with the codes fixed
(``tinyae.models.PSD``). The dictionary is learned by the same training: its
atoms are the first figure.

**Recirculation** (Hinton and McClelland, 1988, "Learning representations
by recirculation", NIPS) trains an autoencoder with no backward pass: the
input goes up, the reconstruction comes down (mixed with the input by a
regression lam = 0.75), goes up again, and each weight moves by its input
times the change of its output unit between the two visits
(``tinyae.models.RecirculationAutoencoder``). The decoder's rule is exactly
(1 - lam) times minus the gradient of the Bernoulli log-likelihood; the
encoder's agrees with the gradient only as far as the encoder's weights
are the transpose of the decoder's.

What the lesson measures
------------------------
1. PSD on 30,000 training patches (patches whose mean ink is >= 0.1;
   ``--epochs`` (2) epochs of Adam, lr 0.01, lam 0.5, alpha 1, 15 FISTA iterations per
   batch; --full: 60,000 patches, 6 epochs).
2. On 100 test patches with the learned D: F* from 3,000 FISTA iterations,
   then 2,000 iterations of ISTA and of FISTA from z_0 = 0, and at every k
   the ratio gap / bound (claim: never above 1 for either method) and the
   iterations each needs to reach a gap of 1e-4 F* (claim: FISTA needs
   several -- at least 3 -- times fewer).
3. On 1,000 test patches: the encoder's codes against FISTA's (plain
   sparse coding, run to convergence): relative error ||F(x) - z*|| /
   ||z*||, support overlap (the fraction of FISTA's active atoms among the
   encoder's |S| largest), energy, and the cost: one encoder product
   against the FISTA iterations needed to come within 1% of F*, in
   multiply-adds (each FISTA iteration costs two products the size of the
   encoder's), plus the CPU time as measured. And FISTA warm-started at
   F(x): how many iterations it saves. After the short default training the
   encoder picks the right atoms far above chance (claim: overlap > 5
   times chance) but predicts them shrunk (median 0.5 of FISTA's
   magnitude) with small nonzero values elsewhere, so entry by entry it is
   still far from z* (relative error 0.84; 0.88 with --full: longer
   training does not close it) while its reconstructions are nearly as
   good as FISTA's.
4. Recirculation against backpropagation on 10,000 8x8 patches, 16 sigmoid
   hidden units, plain SGD (lr 1, batches of 50, 20 epochs; --full 60):
   per epoch, on 500 test patches, the cosine between recirculation's
   update and the true gradient (decoder block, encoder block, all), the
   symmetry cos(W1, W2^T), and the test reconstruction error (BCE) of both:
   after 20 epochs they are close (claim: ratio within 1 +- 0.3); with
   --full (60 epochs) backprop keeps improving while recirculation, whose
   update is not the gradient of anything, stops and drifts back up (claim:
   ratio > 1.1; measured 1.41).

Run: ``python lessons/16_sparse_coding_and_recirculation.py`` (about 25 s
of CPU); ``--full`` for the longer training.
"""

# %%
import time

import numpy as np

from tinyae.data import load_mnist, random_patches
from tinyae.course.lesson import Lesson
from tinyae.models import PSD, RecirculationAutoencoder
from tinyae.optim import SGD, Adam
from tinyae.course.plotting import curves, image_grid
from tinyae.course.plotting.sparse_coding import (agreement_over_training, code_comparison,
                                           convergence_with_bounds)
from tinyae.inference.sparse_coding import (beck_teboulle_bounds, fista, ista, iterations_to_gap,
                                  lipschitz_constant, sparse_coding_energy)
from tinyae.train import evaluate, fit

PATCH, ATOMS, LAM, ALPHA, MIN_INK = 12, 256, 0.5, 1.0, 0.1
N_BOUND, K_STAR, K_RUN, REL_TARGET = 100, 3000, 2000, 1e-4
K_CODES = 200
RC_PATCH, RC_HIDDEN, RC_REGRESSION = 8, 16, 0.75


# %%
def train_psd(lesson, x_train, x_test):
    rng = lesson.rng
    n = 60_000 if lesson.full else 30_000
    patches = random_patches(x_train, size=PATCH, n=n, rng=rng, min_ink=MIN_INK)
    model = PSD(n_in=PATCH * PATCH, n_atoms=ATOMS, lam=LAM, alpha=ALPHA, n_infer=15,
                rng=rng, dtype=np.float64)
    start = time.process_time()
    hist = fit(model, patches.astype(np.float64), optimizer=Adam(model.params, lr=1e-2),
               epochs=lesson.epochs, batch_size=100, rng=rng,
               progress=lesson.progress)
    lesson.report(f"PSD trained in {time.process_time() - start:.1f} s CPU; last epoch: "
                  f"energy {hist['loss'][-1]:.3f} per patch (recon {hist['recon'][-1]:.3f}, "
                  f"L1 {hist['l1'][-1]:.3f}, prediction {hist['prediction'][-1]:.3f}), "
                  f"{100 * hist['active'][-1]:.1f}% of code entries active")
    lesson.save(image_grid(model.D[:128], rows=8, shape=(PATCH, PATCH), vmin=None, vmax=None,
                           title="PSD dictionary: first 128 of 256 atoms"), "dictionary")
    test = random_patches(x_test, size=PATCH, n=1000, rng=rng, min_ink=MIN_INK)
    return model, test.astype(np.float64)


# %%
def bounds(lesson, D, x):
    L = lipschitz_constant(D)
    z_star, e_star = fista(x, D, LAM, n_iter=K_STAR, record=True)
    F_star = e_star[-1]
    dist2 = float(np.sum(z_star ** 2))                           # z_0 = 0
    lesson.report(f"{len(x)} patches: L = {L:.2f}, F* = {F_star:.6f} (sum over patches; "
                  f"last 100 of {K_STAR} FISTA iterations moved it by "
                  f"{e_star[-101] - F_star:.2e}), ||z*||^2 = {dist2:.2f}")
    gaps, bound_curves, needed = {}, {}, {}
    k = np.arange(K_RUN + 1)
    b_ista, b_fista = beck_teboulle_bounds(np.maximum(k, 1), L, dist2)
    target = REL_TARGET * F_star
    for name, solver, b in (("ISTA", ista, b_ista), ("FISTA", fista, b_fista)):
        _, e = solver(x, D, LAM, n_iter=K_RUN, record=True)
        gaps[name], bound_curves[name] = e - F_star, b
        worst = float(np.max(gaps[name][1:] / b[1:]))
        lesson.claim(f"{name}: max over k = 1..{K_RUN} of (F(z_k) - F*) / Beck-Teboulle "
                     f"bound", worst, lt=1.0)
        needed[name] = iterations_to_gap(gaps[name], target)
        lesson.report(f"{name}: iterations to a gap of {REL_TARGET:g} F* = {target:.2e}: "
                      f"{needed[name]}")
    if needed["ISTA"] is None:        # not reached in K_RUN: the ratio is at least this
        needed["ISTA"] = K_RUN
        lesson.report(f"ISTA did not reach the target in {K_RUN} iterations; counted as {K_RUN}")
    lesson.claim(f"iterations to gap {REL_TARGET:g} F*: ISTA / FISTA",
                 needed["ISTA"] / needed["FISTA"], gt=3.0)
    lesson.save(convergence_with_bounds(gaps, bound_curves, target=target), "convergence")


# %%
def psd_versus_fista(lesson, model, x):
    D, n = model.D, len(x)
    start = time.process_time()
    z_star, e = fista(x, D, LAM, n_iter=K_CODES, record=True)
    fista_seconds = time.process_time() - start
    F_star = e[-1]
    k_fista = iterations_to_gap(e - F_star, 0.01 * F_star)
    start = time.process_time()
    for _ in range(5):
        p = model.predict(x)
    enc_seconds = (time.process_time() - start) / 5
    rel = np.linalg.norm(p - z_star) / np.linalg.norm(z_star)
    active = z_star != 0
    size = active.sum(axis=1)                                     # |S| per patch
    top = np.argsort(-np.abs(p), axis=1)
    overlap = np.mean([np.isin(np.flatnonzero(active[i]), top[i, :size[i]]).mean()
                       for i in range(n) if size[i] > 0])
    e_enc = float(sparse_coding_energy(p, x, D, LAM).sum())
    rec = lambda z: np.linalg.norm(x - z @ D) / np.linalg.norm(x)  # noqa: E731
    lesson.report(f"FISTA codes: {100 * active.mean():.1f}% active ({size.mean():.1f} atoms "
                  f"per patch); energy per patch: FISTA {F_star / n:.3f}, encoder "
                  f"{e_enc / n:.3f}, zero code {0.5 * np.sum(x ** 2) / n:.3f}; relative "
                  f"reconstruction error: FISTA {rec(z_star):.3f}, encoder {rec(p):.3f}")
    lesson.claim("PSD encoder vs FISTA codes: relative error ||F(x) - z*|| / ||z*|| "
                 "(the zero code: 1)", rel, lt=0.95)
    lesson.report(f"support overlap {overlap:.3f} against {size.mean() / ATOMS:.3f} for |S| atoms "
                  f"picked at random; on FISTA's support the encoder's codes have "
                  f"{np.median(np.abs(p[active]) / np.abs(z_star[active])):.2f} times FISTA's "
                  f"magnitude (median): the right atoms, shrunk, plus small dense values")
    lesson.claim("PSD encoder vs FISTA codes: fraction of FISTA's active atoms among the "
                 "encoder's |S| largest", overlap, gt=0.45)
    lesson.claim("PSD support overlap / the overlap of |S| atoms drawn at random",
                 overlap / (size.mean() / ATOMS), gt=5)
    # cost in multiply-adds per patch: encoder d K; a FISTA iteration 2 d K
    lesson.report(f"FISTA reaches within 1% of F* after {k_fista} iterations: "
                  f"{2 * k_fista} encoder-sized products; measured CPU time for {n} patches: "
                  f"encoder {1e3 * enc_seconds:.2f} ms, {K_CODES} FISTA iterations "
                  f"{1e3 * fista_seconds:.0f} ms, so {k_fista} iterations "
                  f"{fista_seconds * k_fista / K_CODES / enc_seconds:.0f} times the encoder's")
    lesson.claim("inference cost, FISTA to within 1% of F* / PSD encoder (multiply-adds)",
                 2 * k_fista, gt=10)
    _, e_warm = fista(x, D, LAM, n_iter=K_CODES, z0=p, record=True)
    k_warm = iterations_to_gap(e_warm - F_star, 0.01 * F_star)
    lesson.report(f"FISTA from F(x) instead of 0: {k_warm} iterations to within 1% of F* "
                  f"(from 0: {k_fista})")
    lesson.save(code_comparison(z_star, p), "psd_codes")


# %%
def recirculation(lesson, x_train, x_test):
    rng = lesson.rng
    train = random_patches(x_train, size=RC_PATCH, n=10_000, rng=rng,
                           min_ink=MIN_INK).astype(np.float64)
    test = random_patches(x_test, size=RC_PATCH, n=2000, rng=rng,
                          min_ink=MIN_INK).astype(np.float64)
    probe = test[:500]
    seed = int(rng.integers(2**31))                  # the same initial weights for both
    epochs = 60 if lesson.full else 20
    errors, series, curves_ = {}, {}, {}
    for rule in ("recirculation", "backprop"):
        model = RecirculationAutoencoder(sizes=(RC_PATCH ** 2, RC_HIDDEN),
                                         regression=RC_REGRESSION, rule=rule,
                                         rng=np.random.default_rng(seed))
        track, probe_bce = [model.agreement(probe)], []

        def after_epoch(epoch, hist, m=model, t=track, e=probe_bce):
            t.append(m.agreement(probe))
            e.append(m.loss(probe))
        fit(model, train, optimizer=SGD(model.params, lr=1.0), epochs=epochs, batch_size=50,
            rng=rng, progress=lesson.progress, callback=after_epoch)
        curves_[rule] = probe_bce
        errors[rule] = evaluate(model, test)[0]
        series[rule] = {k: np.array([t[k] for t in track]) for k in track[0]}
        lesson.report(f"{rule}: test BCE {errors[rule]:.3f} per patch, squared error "
                      f"{np.sum((model.reconstruct(test) - test) ** 2) / len(test):.3f}; "
                      f"probe BCE lowest at epoch {int(np.argmin(probe_bce)) + 1} "
                      f"({min(probe_bce):.3f}), last {probe_bce[-1]:.3f}")
    rc = series["recirculation"]
    lesson.report("recirculation-trained model, cosine with the gradient per epoch: all "
                  + " ".join(f"{v:.2f}" for v in rc["all"]) + "; encoder W "
                  + " ".join(f"{v:.2f}" for v in rc["encoder.0.W"]) + "; symmetry "
                  + " ".join(f"{v:.2f}" for v in rc["symmetry"]))
    lesson.claim("recirculation: min over training of cos(decoder update, gradient) "
                 "(exactly the gradient: 1)", rc["decoder.0.W"].min(), within=(1.0, 1e-9))
    lesson.claim("recirculation: mean over epochs 1.. of cos(encoder update, gradient)",
                 rc["encoder.0.W"][1:].mean(), gt=0.25)
    lesson.claim("recirculation: weight symmetry cos(W1, W2^T) after training minus at "
                 "initialisation", rc["symmetry"][-1] - rc["symmetry"][0], gt=0.2)
    ratio = errors["recirculation"] / errors["backprop"]
    if lesson.full:      # 60 epochs: backprop keeps descending, recirculation drifts
        lesson.claim("test BCE after 60 epochs, recirculation / backprop (the gap opens)",
                     ratio, gt=1.1)
    else:
        lesson.claim("test BCE after 20 epochs, recirculation / backprop (same net, SGD, "
                     "lr, epochs)", ratio, within=(1.0, 0.3))
    lesson.save(curves({f"{rule}: BCE on 500 test patches": c for rule, c in curves_.items()},
                       ylabel="BCE per patch"), "recirculation_error")
    lesson.save(agreement_over_training({
        "cos(update, gradient): all parameters": rc["all"],
        "cos: encoder W1": rc["encoder.0.W"],
        "cos: decoder W2 (exact)": rc["decoder.0.W"],
        "symmetry cos(W1, W2^T)": rc["symmetry"],
        "symmetry, backprop-trained": series["backprop"]["symmetry"]}), "recirculation_cosine")


# %%
def main():
    lesson = Lesson("16_sparse_coding_and_recirculation", __doc__, epochs=2, full_epochs=6)
    x_train, _ = load_mnist("train", dtype=np.float32)
    x_test, _ = load_mnist("test", dtype=np.float32)
    model, test = train_psd(lesson, x_train, x_test)
    bounds(lesson, model.D, test[:N_BOUND])
    psd_versus_fista(lesson, model, test)
    recirculation(lesson, x_train, x_test)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
