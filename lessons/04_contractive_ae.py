"""Lesson 04: the contractive autoencoder penalises the encoder's Jacobian."""

# %% [markdown]
# # Lesson 04: the contractive autoencoder
#
# **You will learn** what the contractive penalty $\lambda\,\|J_f(x)\|_F^2$ asks of an
# encoder, how to compute it and its gradient in closed form for a one-layer encoder
# (and what that saves over a brute-force Jacobian), and how to see its effect: the
# size and the singular-value spectrum of the Jacobian on MNIST, the contraction of
# random moves, the "tangent images" the encoder is most sensitive to, and, on a swiss
# roll whose normal is known, the direction the encoder squashes.
#
# **It assumes** lesson 02 (training an autoencoder with `fit`, sigmoid units, the
# Bernoulli reconstruction loss), lesson 03 (the denoising autoencoder, our second
# baseline) and lesson 00 (gradient checking). Exercise 7 asks you to write the
# penalty's backward pass derived below.

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

lesson = Lesson("04_contractive_ae", __doc__, epochs=5, full_epochs=20)
rng = lesson.rng

# %% [markdown]
# ## 1. Sensitive along the data, insensitive across it
#
# An autoencoder's code $h = f(x)$ should change when $x$ moves *along* the data (a
# digit turning into a slightly thicker or slanted version of itself) and ignore moves
# *off* it (noise). The contractive autoencoder (CAE; Rifai et al., 2011) asks for this
# directly. With the encoder's Jacobian $J_f(x) = \partial h / \partial x$, an
# $n_h \times n_{in}$ matrix, its loss per example is
#
# $$
# \mathcal{L}(x) = \ell\big(x, g(f(x))\big) + \lambda \,\|J_f(x)\|_F^2 ,
# \qquad \|J\|_F^2 = \sum_{j,i} \Big(\frac{\partial h_j}{\partial x_i}\Big)^2 .
# $$
#
# Move the input by a small $\delta$: the code moves by $J\delta$. The penalty pushes the
# encoder to be insensitive to *every* input direction; the reconstruction term $\ell$
# fights back only along the directions it needs to tell training points apart, the
# tangent directions of the data manifold. What we expect, then, is a Jacobian with a
# few large singular values (the tangents it kept) and many tiny ones (the directions it
# squashed).
#
# We load MNIST: a 20,000-image training subset by default (all 60,000 with `--full`).

# %%
x_all, _ = load_mnist("train", dtype=np.float32)
x_test, y_test = load_mnist("test", dtype=np.float32)
n_train = len(x_all) if lesson.full else 20_000
x_train = x_all[rng.permutation(len(x_all))[:n_train]]

# %% [markdown]
# ## 2. The penalty in closed form, and its gradient
#
# For a one-layer encoder $h = \sigma(a)$, $a = xW + b$ with $W$ of shape
# $(n_{in}, n_h)$, one unit depends on the input only through its pre-activation:
# $\partial h_j / \partial x_i = \sigma'(a_j)\, W_{ij}$, that is
# $J = \mathrm{diag}(\sigma'(a))\, W^\top$. Write $d_j = \sigma'(a_j)$; for sigmoid units
# it is a function of the output, $d_j = h_j(1 - h_j)$ (for tanh, $1 - h_j^2$). Squaring
# and summing,
#
# $$
# \|J\|_F^2 = \sum_j \sum_i d_j^2 W_{ij}^2 = \sum_j d_j^2\, c_j ,
# \qquad c_j = \sum_i W_{ij}^2 ,
# $$
#
# one pass over $h$ and one over the columns of $W$: no $n_h \times n_{in}$ matrix per
# example is ever formed. Averaged over a batch of $N$, $P = \frac{\lambda}{N} \sum_n
# \sum_j d_{nj}^2 c_j$.
#
# $P$ depends on $W$ in two ways: directly through $c_j$, and through $h$ (which
# depends on $W$). Holding $h$ fixed, $\partial c_j / \partial W_{ij} = 2 W_{ij}$, so
#
# $$
# \frac{\partial P}{\partial W_{ij}}\Big|_{h} = \frac{2\lambda}{N}\, W_{ij} \sum_n d_{nj}^2 .
# $$
#
# Holding $W$ fixed, with $d'(h) = \mathrm{d}d/\mathrm{d}h = 1 - 2h$ for sigmoid units,
#
# $$
# \frac{\partial P}{\partial h_{nj}} = \frac{\lambda}{N}\, c_j \, 2\, d_{nj}\, d'(h_{nj}) ,
# $$
#
# and the chain rule carries this back through the encoder like any other gradient on
# the code: $\partial h_{nj}/\partial a_{nj} = d_{nj}$ and $\partial a_{nj} / \partial
# W_{ij} = x_{ni}$, adding $\sum_n \frac{\partial P}{\partial h_{nj}} d_{nj} x_{ni}$ to
# $\partial P / \partial W_{ij}$ and $\sum_n \frac{\partial P}{\partial h_{nj}} d_{nj}$
# to $\partial P / \partial b_j$. Forgetting either factor 2 is the classic bug; a
# finite-difference check of the penalty alone catches it (`tests/test_penalties.py`).
# `tinyae.penalties.contractive_from_code` returns $(P, \partial P/\partial h,
# \partial P/\partial W|_h)$; `contractive` adds the path through $h$.
#
# The closed form should agree with a brute-force Jacobian, built column by column
# from central differences ($2 n_{in}$ encoder passes), and cost far less. We compare
# the two on one batch of 100 test digits with an untrained CAE.

# %%
def brute_force_penalty(model, x, h=1e-2):
    """lam * mean ||J||_F^2 from a central-difference Jacobian, column by column:
    2 n_in encoder passes (float32, so a large step). x: (N, n_in)."""
    total = 0.0
    for i in range(x.shape[1]):
        xp, xm = x.copy(), x.copy()
        xp[:, i] += h
        xm[:, i] -= h
        col = (model.encode(xp) - model.encode(xm)) / (2 * h)   # (N, n_h): J[:, :, i]
        total += float(np.sum(col * col))
    return model.lam * total / x.shape[0]


# %%
probe = ContractiveAutoencoder(sizes=(784, N_HIDDEN), lam=LAM, tied=True,
                               rng=np.random.default_rng(1), dtype=np.float32)
W, b = probe.encoder[0].params["W"], probe.encoder[0].params["b"]
xb = x_test[:100]
h = probe.encode(xb)                                             # (100, 200)
p_closed = contractive_from_code(h, W, activation="sigmoid", lam=LAM)[0]
p_brute = brute_force_penalty(probe, xb)
lesson.report(f"penalty on 100 digits, untrained CAE: closed form {p_closed:.4f}, "
              f"finite-difference Jacobian {p_brute:.4f}")

# %%
t_code = best_time(lambda: contractive_from_code(h, W, activation="sigmoid", lam=LAM))
t_full = best_time(lambda: contractive(xb, W, b, activation="sigmoid", lam=LAM))
t_matmul = best_time(lambda: xb @ W)
t_brute = best_time(lambda: brute_force_penalty(probe, xb), repeat=1)
lesson.report(f"one batch of 100 (784 -> {N_HIDDEN}): the penalty and its partials from "
              f"the code, as a training step adds them, {1e3 * t_code:.2f} ms; with its "
              f"own forward pass and the full W, b gradient {1e3 * t_full:.2f} ms; "
              f"one matmul x W {1e3 * t_matmul:.2f} ms")
lesson.report(f"brute-force finite-difference Jacobian (2 x 784 encoder passes, value "
              f"only) {1e3 * t_brute:.0f} ms: {t_brute / t_code:.0f}x the analytic "
              f"penalty from the code, {t_brute / t_full:.0f}x with its full gradient")

# %% [markdown]
# The two values agree to the precision of a float32 finite difference. The closed form
# from the code costs less than one matrix product $xW$ (with its own forward pass and
# the full gradient, a few), while the brute force costs $2 n_{in}$ encoder passes:
# thousands of times more (the printed ratios depend on the machine and its load).
#
# ## 3. Three encoders on MNIST
#
# We train three autoencoders with one layer of 200 sigmoid units, a Bernoulli output
# and **tied weights** (the decoder is $W^\top$, as in the paper; with a free decoder
# the encoder could shrink its weights and let the decoder scale them back up, dodging
# the penalty), all from the same initial weights and with the same optimiser (Adam,
# learning rate 3e-3, batches of 100):
#
# * **AE**: plain reconstruction;
# * **DAE**: the same, from inputs with Gaussian noise of standard deviation 0.3; the
#   denoising criterion is known to contract too (Alain and Bengio, 2014);
# * **CAE**: reconstruction plus $\lambda \|J\|_F^2$ with $\lambda = 1$.

# %%
shape = dict(activation="sigmoid", code_activation="sigmoid", tied=True, dtype=np.float32)
seed = int(rng.integers(2**31))                                  # same init for all three
models = {
    "AE": MLPAutoencoder(sizes=(784, N_HIDDEN), rng=np.random.default_rng(seed), **shape),
    "DAE": MLPAutoencoder(corruption=GaussianNoise(DAE_SIGMA), sizes=(784, N_HIDDEN),
                          rng=np.random.default_rng(seed), **shape),
    "CAE": ContractiveAutoencoder(sizes=(784, N_HIDDEN), lam=LAM, tied=True,
                                  rng=np.random.default_rng(seed), dtype=np.float32),
}
for name, model in models.items():
    start = time.perf_counter()
    fit(model, x_train, optimizer=Adam(model.params, lr=3e-3), epochs=lesson.epochs,
        batch_size=100, rng=rng, progress=lesson.progress)
    recon = model.reconstruction_loss(x_test[:2000])                 # clean-input BCE
    lesson.report(f"{name}: trained in {time.perf_counter() - start:.1f} s, "
                  f"test reconstruction BCE {recon:.2f} nats/image")

# %% [markdown]
# The CAE pays for its contraction with a worse reconstruction: it gives up detail in
# the directions it squashed.
#
# ## 4. How much each encoder contracts
#
# The singular values $s_1 \ge s_2 \ge \dots$ of $J$ say how much the code stretches a
# unit move of the input along each of a set of orthogonal input directions, and
# $\|J\|_F^2 = \sum_k s_k^2$. We compute them exactly, with `model.jacobian`, on 300 test
# digits.

# %%
def spectra(model, x, chunk=50):
    """Singular values of J per example, (N, min(n_h, n_in)), in descending order."""
    return np.concatenate([np.linalg.svd(model.jacobian(x[i:i + chunk], dtype=np.float64),
                                         compute_uv=False)
                           for i in range(0, len(x), chunk)])


# %%
x_eval = x_test[:300]
s = {name: spectra(m, x_eval) for name, m in models.items()}        # (300, 200) each
fro = {name: np.sqrt(np.sum(v ** 2, axis=1)) for name, v in s.items()}
for name in models:
    lesson.report(f"{name}: mean ||J_f(x)||_F on test digits {fro[name].mean():.3f}")

# %% [markdown]
# The CAE's Jacobian is about half the size of the plain autoencoder's (mean
# $\|J\|_F$ **5.01** against **9.67**); the DAE's lies in between: noise on the input
# also teaches the encoder to ignore some directions, but less of them.

# %%
lesson.claim("MNIST: mean test ||J||_F, CAE / AE", fro["CAE"].mean() / fro["AE"].mean(),
             lt=0.75)
lesson.claim("MNIST: mean test ||J||_F, CAE / DAE", fro["CAE"].mean() / fro["DAE"].mean(),
             lt=0.8)

# %% [markdown]
# ## 5. The shape of the spectrum
#
# A smaller Jacobian alone could be a uniformly shrunk one. The CAE's claim is about
# *shape*: a few directions kept, the rest squashed. One number for it is the share of
# $\|J\|_F^2$ held by the top $k = 10$ singular values, $\sum_{k \le 10} s_k^2 /
# \sum_k s_k^2$, averaged over digits.

# %%
share = {name: float(np.mean(np.sum(v[:, :TOP_K] ** 2, axis=1) / np.sum(v ** 2, axis=1)))
         for name, v in s.items()}
for name in models:
    lesson.report(f"{name}: top-{TOP_K} singular values hold {100 * share[name]:.1f}% "
                  f"of ||J||_F^2; mean s_10 / s_1 = {np.mean(s[name][:, 9] / s[name][:, 0]):.3f}")

# %%
lesson.save(curves({name: np.mean(v[:, :100] / v[:, :1], axis=0) for name, v in s.items()},
                   xlabel="k (singular value index)", ylabel="mean s_k / s_1", logy=True,
                   title="Singular values of the encoder Jacobian (test digits)"),
            "spectrum")

# %% [markdown]
# On the log scale the AE's and DAE's spectra fall slowly and almost on top of each
# other; the CAE's falls off a cliff after the first twenty or so: from $k = 20$ on, its
# singular values are a much smaller fraction of its largest one. Its top ten hold
# **63.4**% of $\|J\|_F^2$, against **48.0**% for the AE.

# %%
lesson.claim(f"MNIST: share of ||J||_F^2 in the top {TOP_K} singular values, CAE minus AE",
             share["CAE"] - share["AE"], gt=0.08)

# %% [markdown]
# ## 6. Contraction under random moves
#
# The Jacobian is a statement about infinitesimal moves. Rifai et al. also measure
# finite ones: for a random unit direction $u$ and a radius $r$, the ratio
# $\|f(x + ru) - f(x)\| / r$. For small $r$ it tends to $\|Ju\|$, and for $u$ uniform on
# the unit sphere $\mathbb{E}[uu^\top] = I / n_{in}$, so
#
# $$
# \mathbb{E}\,\|Ju\|^2 = \mathbb{E}\,\mathrm{tr}(J^\top J\, u u^\top)
# = \frac{\mathrm{tr}(J^\top J)}{n_{in}} = \frac{\|J\|_F^2}{n_{in}} :
# $$
#
# at small radii the curve should sit near $\|J\|_F / \sqrt{784}$. At large radii the
# sigmoids saturate and the ratio falls.

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
radii = np.logspace(-1, 1.3, 8)
ratios = {name: contraction_ratios(m, x_test[:500], radii, np.random.default_rng(1))
          for name, m in models.items()}
lesson.report("contraction ||f(x+ru)-f(x)||/r at r = " + ", ".join(f"{r:.2g}" for r in radii))
for name, v in ratios.items():
    lesson.report(f"  {name}: " + ", ".join(f"{q:.3f}" for q in v)
                  + f"  (small-r prediction ||J||_F / 28: {fro[name].mean() / 28:.3f})")

# %%
lesson.save(contraction_curves(radii, ratios, title="Contraction under random moves"),
            "contraction")

# %% [markdown]
# The CAE's curve lies well below the other two at every radius and stays flat: its
# encoder shrinks random moves by the same factor near and far. At the smallest radius
# each curve sits close to the prediction $\|J\|_F/28$ printed beside it (the AE's at
# **0.337**, predicted **0.345**).

# %%
lesson.claim("MNIST: contraction ratio at every radius, max over radii of CAE / AE",
             float(np.max(ratios["CAE"] / ratios["AE"])), lt=1.0)

# %% [markdown]
# ## 7. Tangent images
#
# Write $J = U\,\mathrm{diag}(s)\,V^\top$. The rows of $V^\top$ are input directions,
# ordered by how much the code responds to them: $\|J v_k\| = s_k$. The leading ones are
# the moves the encoder refuses to ignore, the CAE's estimate of the tangent plane of
# the digit manifold at $x$. Shown as 28x28 images, they should look like edits of the
# digit: strokes thickened, shifted or bent.

# %%
picks = [int(np.flatnonzero(y_test == d)[0]) for d in (0, 2, 3, 4, 7)]
tangents = {}
for name in ("CAE", "AE"):
    rows = []
    for i in picks:
        _, _, vt = np.linalg.svd(models[name].jacobian(x_test[i:i + 1], dtype=np.float64)[0])
        rows += [x_test[i]] + list(vt[:6])                      # digit, then 6 tangents
    tangents[f"{name}: digit, then leading tangents"] = np.array(rows)

# %%
lesson.save(grids(tangents, rows=len(picks), vmin=None, vmax=None,
                  row_labels=[f"digit {y_test[i]}" for i in picks],
                  col_labels=["input"] + [f"v{k}" for k in range(1, 7)]), "tangents")

# %% [markdown]
# Each tangent is scaled to its own range (grey is zero, white and black the two
# signs). The CAE's tangents (left) are smooth and follow the strokes of the digit in
# the first column: moving along one adds ink beside a stroke and removes it on the
# other side. The AE's (right) are speckled patterns spread over the whole image; they
# are directions the plain encoder happens to be sensitive to, not edits of the digit.
#
# ## 8. A manifold whose normal we know: the swiss roll
#
# On MNIST we cannot check the tangents against the truth. On a swiss roll we can: it
# is the 2-D sheet $x(t, w) = (t\cos t,\; w,\; t\sin t)$ in 3-D (scaled; stretched by 8
# here so that its arms are several sigmoid widths apart, plus noise 0.05). Its two
# tangents are the partial derivatives
#
# $$
# \frac{\partial x}{\partial t} = (\cos t - t\sin t,\; 0,\; \sin t + t\cos t),
# \qquad \frac{\partial x}{\partial w} = (0, 1, 0),
# $$
#
# and the unit normal $n$ is perpendicular to both: with $\hat t = \partial_t x /
# \|\partial_t x\|$, $n = (-\hat t_3, 0, \hat t_1)$. A contractive encoder should
# squash $n$ most: its last right singular vector $v_{\min}$ should line up with $n$
# ($|\cos(v_{\min}, n)|$ near 1), and its gain $\|Jn\|$ should be small next to the
# tangent gains $\|J\hat t\|$, $\|J\hat w\|$.

# %%
x_roll = ROLL_SCALE * swiss_roll_3d(5000, rng=rng, noise=0.05 / ROLL_SCALE, dtype=np.float32)
pts, t = swiss_roll_3d(400, rng=rng, noise=0.0, return_t=True)
pts = (ROLL_SCALE * pts).astype(np.float32)
tan_t = np.stack([np.cos(t) - t * np.sin(t), np.zeros_like(t), np.sin(t) + t * np.cos(t)], 1)
tan_t /= np.linalg.norm(tan_t, axis=1, keepdims=True)            # (n, 3)
tan_w = np.tile([0.0, 1.0, 0.0], (len(t), 1))
normal = np.stack([-tan_t[:, 2], np.zeros_like(t), tan_t[:, 0]], 1)


# %%
def gain(J, v):
    """Mean over points of ||J v||: J (n, n_h, 3), v (n, 3)."""
    return float(np.mean(np.linalg.norm(np.einsum("nji,ni->nj", J, v), axis=1)))


# %% [markdown]
# Two encoders of 128 sigmoid units with tied weights and a squared-error output, from
# the same initial weights: a plain AE ($\lambda = 0$) and a CAE ($\lambda = 3$). The
# gain ratio compares the normal with the root-mean-square of the two tangent gains.

# %%
seed = int(rng.integers(2**31))
epochs = 3 * ROLL_EPOCHS if lesson.full else ROLL_EPOCHS
gain_ratio, align, v_min = {}, {}, {}
for name, lam in (("AE", 0.0), ("CAE", ROLL_LAM)):
    model = ContractiveAutoencoder(sizes=(3, ROLL_HIDDEN), lam=lam, tied=True,
                                   likelihood="mse", rng=np.random.default_rng(seed),
                                   dtype=np.float32)
    fit(model, x_roll, optimizer=Adam(model.params, lr=3e-3), epochs=epochs, batch_size=50,
        rng=rng, progress=lesson.progress)
    J = model.jacobian(pts).astype(np.float64)                   # (n, 128, 3)
    _, sv, vt = np.linalg.svd(J)
    v_min[name] = vt[:, -1, :]                                   # most-contracted direction
    gain_ratio[name] = gain(J, normal) / np.sqrt(0.5 * (gain(J, tan_t) ** 2
                                                        + gain(J, tan_w) ** 2))
    align[name] = float(np.mean(np.abs(np.sum(v_min[name] * normal, axis=1))))
    loss = model.loss(pts)
    lesson.report(f"roll {name}: test squared error {model.last_stats['recon']:.4f} "
                  f"(loss {loss:.4f}); ||J n|| {gain(J, normal):.3f}, ||J t_roll|| "
                  f"{gain(J, tan_t):.3f}, ||J t_width|| {gain(J, tan_w):.3f}; mean singular "
                  f"values " + ", ".join(f"{q:.3f}" for q in sv.mean(axis=0))
                  + f"; mean |cos(v_min, normal)| {align[name]:.3f}")

# %%
show = slice(0, 150)                                             # fewer segments: readable
panels = {f"{name} (lambda = {lam:g})": v_min[name][show]
          for name, lam in (("AE", 0), ("CAE", ROLL_LAM))}
lesson.save(roll_directions(pts[show], normal[show], panels, colour=t[show], scale=0.45,
                            colour_label="position t along the roll",
                            title="Most-contracted input direction (red) against the "
                                  "normal (grey)"), "swiss_roll_directions")

# %% [markdown]
# The figure is the roll seen end on (the $x$-$z$ plane, where it curls), each point
# coloured by its position $t$ along the roll. In the right panel the CAE's red segments
# lie along the grey normals almost everywhere (mean $|\cos|$ **0.902**); in the left
# panel the plain AE's point every which way, often along the roll (mean $|\cos|$
# **0.558**): its three singular values are nearly equal, so its "least sensitive"
# direction is close to arbitrary.

# %%
lesson.claim("swiss roll: CAE's most-contracted direction vs the normal, mean |cos|",
             align["CAE"], gt=0.75)
lesson.claim("swiss roll: normal / tangent gain ||J n|| / ||J t||, CAE",
             gain_ratio["CAE"], lt=0.85)
lesson.claim("swiss roll: normal / tangent gain, AE minus CAE",
             gain_ratio["AE"] - gain_ratio["CAE"], gt=0.1)

# %% [markdown]
# ## Check your understanding
#
# 1. Section 6 predicts the small-radius contraction ratio from $\|J\|_F$ alone. Why is
#    the measured ratio slightly *below* $\|J\|_F / 28$ for every model, never above?
#    (Hint: the mean of $\|Ju\|$ against the square root of the mean of $\|Ju\|^2$.)
# 2. The CAE's reconstruction BCE in section 3 is worse than the AE's. Set `LAM = 0.1`
#    in the first code cell and run the MNIST sections again: which claims still hold,
#    and which way do the BCE and the top-10 share move?
# 3. Why does the lesson tie the decoder to $W^\top$? Predict what an untied CAE would
#    do to $\|W\|$ and to the decoder's weights, and which claim of section 4 that would
#    make meaningless.
# 4. On the swiss roll the plain AE's mean $|\cos(v_{\min}, n)|$ is far from 1 although
#    it reconstructs the roll better than the CAE. What do its three mean singular values,
#    printed in section 8, say about why its least-sensitive direction is arbitrary?
# 5. The gradient of the penalty with respect to $W$ has a direct part and a part through
#    $h$. Which one would a model that fed the penalty's $\partial P / \partial h$ nowhere
#    miss, and would the lesson's claims notice?
#
# ## Exercises
#
# Exercise 7, `ex07_contractive.py` (`tinyae exercises start DIR`): write
# `contractive_penalty(h, W, activation, lam)`, returning the penalty of section 2 with
# its partial derivatives $\partial P/\partial h$ and $\partial P/\partial W|_h$, for
# sigmoid and tanh units. The checker compares it with finite differences and trains a
# small CAE with it; its hints name the factor-of-two mistakes above.
#
# ## References
#
# * Rifai, S., Vincent, P., Muller, X., Glorot, X. and Bengio, Y. (2011). Contractive
#   auto-encoders: explicit invariance during feature extraction. *Proceedings of the
#   28th International Conference on Machine Learning (ICML)*, 833-840. The penalty and
#   its closed form for sigmoid units; contraction curves under random moves and the
#   singular-value spectrum of the Jacobian.
# * Alain, G. and Bengio, Y. (2014). What regularized auto-encoders learn from the
#   data-generating distribution. *Journal of Machine Learning Research* 15, 3743-3773.
#   For small noise the denoising criterion is a contractive penalty on the whole
#   reconstruction function.
# * Goodfellow, I., Bengio, Y. and Courville, A. (2016). *Deep Learning*. MIT Press.
#   Section 14.7, contractive autoencoders (the leading singular vectors of $J$ as
#   tangent directions of the data manifold).

# %%
lesson.finish()
