"""Lesson 04: the contractive autoencoder penalises the encoder's Jacobian.

The idea
--------
An autoencoder's code h = f(x) should change when x moves *along* the data
(one digit turning into a slightly thicker or slanted version of itself) and
ignore moves *off* it (noise). The contractive autoencoder (CAE; Rifai et al.,
2011) asks for this directly. Its loss is

    L(x) = recon(x, g(f(x))) + lam * ||J_f(x)||_F^2,   J_f(x) = dh/dx: (n_h, n_in),

so the encoder is pushed to be insensitive to EVERY input direction, and the
reconstruction term fights back only along the directions it needs to tell
training points apart: the tangent directions of the data manifold. The
result is an encoder whose Jacobian has a few large singular values (the
tangents it kept) and many tiny ones (the directions it squashed).

The penalty in closed form
--------------------------
For a one-layer encoder h = act(x W + b), x: (N, n_in), W: (n_in, n_h), the
Jacobian of one example is J = diag(act'(a)) W^T, so

    ||J||_F^2 = sum_j act'(a_j)^2 sum_i W_ij^2,

with act'(a_j) = h_j (1 - h_j) for sigmoid units and 1 - h_j^2 for tanh.
That is one pass over h and one over W: the penalty costs about as much as
one extra elementwise pass of a matmul's size, while a generic per-example
Jacobian (finite differences, or one backward pass per code unit) costs n_in
(or n_h) encoder passes. The lesson times both on one batch and prints the
ratio. The gradient goes to W by two paths -- the direct one,
2 act'(a_j)^2 W_ij, and the one through h -- and forgetting the 2 is the
classic bug: ``tests/test_penalties.py`` shows the finite-difference check
of the penalty alone catching it (see ``tinyae.penalties``).

What the lesson measures
------------------------
MNIST (a 20,000-image training subset by default, all 60,000 with --full):
three autoencoders with one layer of 200 sigmoid units, tied weights
(decoder = W^T, as in the paper: with a free decoder an encoder could shrink
its weights and let the decoder scale them back up, dodging the penalty) and
a Bernoulli output, trained the same way (Adam, lr 3e-3, batches of 100):

* AE: plain reconstruction;
* DAE: the same, from inputs with Gaussian noise (sigma 0.3) -- the
  denoising criterion is known to contract too (Alain and Bengio, 2014);
* CAE: reconstruction + lam ||J||_F^2, lam = 1.

On test digits we compare the mean ||J_f(x)||_F, the singular-value spectrum
of J (how much of ||J||_F^2 its top 10 singular values hold), the contraction
curve ||f(x + r u) - f(x)|| / r for random unit directions u and radii r,
and the CAE's tangent images: the leading right singular vectors of J, the
input directions the code is most sensitive to (thickening, slanting,
shifting strokes).

On a swiss roll in 3-D (a curved 2-D sheet; ``tinyae.data.swiss_roll_3d``,
stretched by 8 so that the arms are several sigmoid widths apart, noise 0.05)
the same comparison can be made exactly, because the normal to the sheet is
known: the CAE's most-contracted input direction (the last right singular
vector of J) lines up with the normal, and it contracts the normal direction
much more than the two tangent directions; the plain AE barely tells them
apart.

Run: ``python lessons/04_contractive_ae.py`` (~15 s);
``--full`` trains on all of MNIST for 20 epochs.
"""

# %%
import time

import numpy as np

from tinyae.bench import best_time
from tinyae.corruption import GaussianNoise
from tinyae.data import load_mnist, swiss_roll_3d
from tinyae.course.lesson import Lesson
from tinyae.models import ContractiveAutoencoder, MLPAutoencoder
from tinyae.optim import Adam
from tinyae.penalties import contractive, contractive_from_code
from tinyae.course.plotting import curves, grids
from tinyae.course.plotting.contractive import contraction_curves, roll_directions
from tinyae.train import fit

N_HIDDEN, LAM, DAE_SIGMA = 200, 1.0, 0.3
ROLL_SCALE, ROLL_HIDDEN, ROLL_LAM, ROLL_EPOCHS = 8.0, 128, 3.0, 60
TOP_K = 10


# %%
# --------------------------------------------------------------------------
# Jacobian diagnostics for any one-layer sigmoid encoder (AE, DAE, CAE alike)
# --------------------------------------------------------------------------

def spectra(model, x, chunk=50):
    """Singular values of J per example, (N, min(n_h, n_in)), in descending order."""
    return np.concatenate([np.linalg.svd(model.jacobian(x[i:i + chunk], dtype=np.float64), compute_uv=False)
                           for i in range(0, len(x), chunk)])


# %%
def contraction_ratios(model, x, radii, rng):
    """Mean over x of ||f(x + r u) - f(x)|| / r, u a random unit direction: (R,)."""
    h0 = model.encode(x)
    out = []
    for r in radii:
        u = rng.standard_normal(x.shape)
        u /= np.linalg.norm(u, axis=1, keepdims=True)            # unit rows
        h = model.encode((x + r * u).astype(x.dtype))
        out.append(float(np.mean(np.linalg.norm(h - h0, axis=1))) / r)
    return np.array(out)


# %%
def train(model, x, *, epochs, lr, batch_size, rng, progress):
    fit(model, x, optimizer=Adam(model.params, lr=lr), epochs=epochs,
        batch_size=batch_size, rng=rng, progress=progress)
    return model


# %%
# --------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------

def mnist_part(lesson):
    rng = lesson.rng
    x_all, _ = load_mnist("train", dtype=np.float32)
    x_test, y_test = load_mnist("test", dtype=np.float32)
    n_train = len(x_all) if lesson.full else 20_000
    x_train = x_all[rng.permutation(len(x_all))[:n_train]]
    shape = dict(activation="sigmoid", code_activation="sigmoid", tied=True,
                 dtype=np.float32)
    seed = int(rng.integers(2**31))                              # same init for all three
    models = {
        "AE": MLPAutoencoder(sizes=(784, N_HIDDEN), rng=np.random.default_rng(seed), **shape),
        "DAE": MLPAutoencoder(corruption=GaussianNoise(DAE_SIGMA), sizes=(784, N_HIDDEN),
                                    rng=np.random.default_rng(seed), **shape),
        "CAE": ContractiveAutoencoder(sizes=(784, N_HIDDEN), lam=LAM, tied=True,
                                      rng=np.random.default_rng(seed), dtype=np.float32),
    }
    for name, model in models.items():
        start = time.perf_counter()
        train(model, x_train, epochs=lesson.epochs, lr=3e-3, batch_size=100, rng=rng,
              progress=lesson.progress)
        recon = model.reconstruction_loss(x_test[:2000])                 # clean-input BCE
        lesson.report(f"{name}: trained in {time.perf_counter() - start:.1f} s, "
                      f"test reconstruction BCE {recon:.2f} nats/image")

    # ||J||_F on test digits
    x_eval = x_test[:300]
    s = {name: spectra(m, x_eval) for name, m in models.items()}        # (300, 200)
    fro = {name: np.sqrt(np.sum(v ** 2, axis=1)) for name, v in s.items()}
    for name in models:
        lesson.report(f"{name}: mean ||J_f(x)||_F on test digits {fro[name].mean():.3f}")
    lesson.claim("MNIST: mean test ||J||_F, CAE / AE", fro["CAE"].mean() / fro["AE"].mean(),
                 lt=0.75)
    lesson.claim("MNIST: mean test ||J||_F, CAE / DAE", fro["CAE"].mean() / fro["DAE"].mean(),
                 lt=0.8)

    # the spectrum: how much of ||J||_F^2 the top-k singular values hold
    share = {name: float(np.mean(np.sum(v[:, :TOP_K] ** 2, axis=1) / np.sum(v ** 2, axis=1)))
             for name, v in s.items()}
    for name in models:
        lesson.report(f"{name}: top-{TOP_K} singular values hold {100 * share[name]:.1f}% "
                      f"of ||J||_F^2; mean s_10 / s_1 = {np.mean(s[name][:, 9] / s[name][:, 0]):.3f}")
    lesson.claim(f"MNIST: share of ||J||_F^2 in the top {TOP_K} singular values, CAE minus AE",
                 share["CAE"] - share["AE"], gt=0.08)
    lesson.save(curves({name: np.mean(v[:, :100] / v[:, :1], axis=0) for name, v in s.items()},
                       xlabel="k", ylabel="mean s_k / s_1", logy=True,
                       title="Singular values of the encoder Jacobian (test digits)"),
                "spectrum")

    # contraction curve
    radii = np.logspace(-1, 1.3, 8)
    ratios = {name: contraction_ratios(m, x_test[:500], radii, np.random.default_rng(1))
              for name, m in models.items()}
    lesson.report("contraction ||f(x+ru)-f(x)||/r at r = " + ", ".join(f"{r:.2g}" for r in radii))
    for name, v in ratios.items():
        lesson.report(f"  {name}: " + ", ".join(f"{q:.3f}" for q in v))
    lesson.claim("MNIST: contraction ratio at every radius, max over radii of CAE / AE",
                 float(np.max(ratios["CAE"] / ratios["AE"])), lt=1.0)
    lesson.save(contraction_curves(radii, ratios, title="Contraction under random moves"),
                "contraction")

    # tangent images: leading right singular vectors of J for a few digits
    picks = [int(np.flatnonzero(y_test == d)[0]) for d in (0, 2, 3, 4, 7)]
    tangents = {}
    for name in ("CAE", "AE"):
        rows = []
        for i in picks:
            _, _, vt = np.linalg.svd(models[name].jacobian(x_test[i:i + 1], dtype=np.float64)[0])
            rows += [x_test[i]] + list(vt[:6])                  # digit, then 6 tangents
        tangents[f"{name}: digit, then leading tangents"] = np.array(rows)
    lesson.save(grids(tangents, rows=len(picks), vmin=None, vmax=None), "tangents")

    # what the analytic penalty costs, against a brute-force Jacobian
    cae = models["CAE"]
    W, b = cae.encoder[0].params["W"], cae.encoder[0].params["b"]
    xb = x_test[:100]
    h = cae.encode(xb)
    t_code = best_time(lambda: contractive_from_code(h, W, activation="sigmoid", lam=LAM))
    t_full = best_time(lambda: contractive(xb, W, b, activation="sigmoid", lam=LAM))
    t_matmul = best_time(lambda: xb @ W)
    t_brute = best_time(lambda: _brute_force_penalty(cae, xb), repeat=1)
    lesson.report(f"one batch of 100 (784 -> {N_HIDDEN}): the penalty and its partials from "
                  f"the code, as a training step adds them, {1e3 * t_code:.2f} ms; with its "
                  f"own forward pass and the full W, b gradient {1e3 * t_full:.2f} ms; "
                  f"one matmul x W {1e3 * t_matmul:.2f} ms")
    lesson.report(f"brute-force finite-difference Jacobian (2 x 784 encoder passes, value "
                  f"only) {1e3 * t_brute:.0f} ms: {t_brute / t_code:.0f}x the analytic "
                  f"penalty from the code, {t_brute / t_full:.0f}x with its full gradient")


# %%
def _brute_force_penalty(model, x, h=1e-2):
    """lam * mean ||J||_F^2 from a central-difference Jacobian, column by column:
    2 n_in encoder passes (float32, so a large step; for timing only)."""
    total = 0.0
    for i in range(x.shape[1]):
        xp, xm = x.copy(), x.copy()
        xp[:, i] += h
        xm[:, i] -= h
        col = (model.encode(xp) - model.encode(xm)) / (2 * h)   # (N, n_h): J[:, :, i]
        total += float(np.sum(col * col))
    return model.lam * total / x.shape[0]


# %%
# --------------------------------------------------------------------------
# Swiss roll
# --------------------------------------------------------------------------

def roll_part(lesson):
    rng = lesson.rng
    x = ROLL_SCALE * swiss_roll_3d(5000, rng=rng, noise=0.05 / ROLL_SCALE, dtype=np.float32)
    pts, t = swiss_roll_3d(400, rng=rng, noise=0.0, return_t=True)
    pts = (ROLL_SCALE * pts).astype(np.float32)
    # tangent along the roll: d/dt (t cos t, ., t sin t) = (cos t - t sin t, 0, sin t + t cos t);
    # along the width: (0, 1, 0); the normal is perpendicular to both.
    tan_t = np.stack([np.cos(t) - t * np.sin(t), np.zeros_like(t), np.sin(t) + t * np.cos(t)], 1)
    tan_t /= np.linalg.norm(tan_t, axis=1, keepdims=True)        # (n, 3)
    tan_h = np.tile([0.0, 1.0, 0.0], (len(t), 1))
    normal = np.stack([-tan_t[:, 2], np.zeros_like(t), tan_t[:, 0]], 1)

    seed = int(rng.integers(2**31))
    epochs = 3 * ROLL_EPOCHS if lesson.full else ROLL_EPOCHS
    gain, align, v_min = {}, {}, {}
    for name, lam in (("AE", 0.0), ("CAE", ROLL_LAM)):
        model = ContractiveAutoencoder(sizes=(3, ROLL_HIDDEN), lam=lam, tied=True,
                                       likelihood="mse", rng=np.random.default_rng(seed),
                                       dtype=np.float32)
        train(model, x, epochs=epochs, lr=3e-3, batch_size=50, rng=rng,
              progress=lesson.progress)
        J = model.jacobian(pts).astype(np.float64)               # (n, 128, 3)
        _, sv, vt = np.linalg.svd(J)
        v_min[name] = vt[:, -1, :]                               # most-contracted direction

        def g(v):
            return float(np.mean(np.linalg.norm(np.einsum("nji,ni->nj", J, v), axis=1)))
        gain[name] = g(normal) / np.sqrt(0.5 * (g(tan_t) ** 2 + g(tan_h) ** 2))
        align[name] = float(np.mean(np.abs(np.sum(v_min[name] * normal, axis=1))))
        recon = model.loss(pts)
        lesson.report(f"roll {name}: test squared error {model.last_stats['recon']:.4f} "
                      f"(loss {recon:.4f}); ||J n|| {g(normal):.3f}, ||J t_roll|| "
                      f"{g(tan_t):.3f}, ||J t_width|| {g(tan_h):.3f}; mean singular values "
                      + ", ".join(f"{q:.3f}" for q in sv.mean(axis=0))
                      + f"; mean |cos(v_min, normal)| {align[name]:.3f}")
    lesson.claim("swiss roll: CAE's most-contracted direction vs the normal, mean |cos|",
                 align["CAE"], gt=0.75)
    lesson.claim("swiss roll: normal / tangent gain ||J n|| / ||J t||, CAE",
                 gain["CAE"], lt=0.85)
    lesson.claim("swiss roll: normal / tangent gain, AE minus CAE", gain["AE"] - gain["CAE"],
                 gt=0.1)
    show = slice(0, 150)                                         # fewer segments: readable
    lesson.save(roll_directions(pts[show], normal[show], {
        f"{name}: most-contracted direction (red), normal (grey)": v[show]
        for name, v in v_min.items()}, colour=t[show], scale=0.45), "swiss_roll_directions")


# %%
def main():
    lesson = Lesson("04_contractive_ae", __doc__, epochs=5, full_epochs=20)
    mnist_part(lesson)
    roll_part(lesson)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
