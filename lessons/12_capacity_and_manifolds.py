"""Lesson 12: what a code is for -- capacity and the identity trap, unrolling the swiss roll, and t-SNE of the codes, exact and Barnes-Hut."""

# %% [markdown]
# # Lesson 12: what a code is for
#
# An autoencoder is useful because it *cannot* copy: a bottleneck or a
# regulariser forces it to keep what is typical of its data. This lesson takes
# that constraint away to see what breaks, then asks two questions about the
# code a constrained autoencoder learns: does it find the low-dimensional sheet
# the data lie on, and what does a 30-number code of digits look like in 2-D?
#
# **You will learn**
# * why a network wider than its input drifts towards the identity, how to
#   measure how close it gets (its Jacobian), and why reconstruction error then
#   stops working as an outlier score;
# * that an autoencoder able to unroll a swiss roll need not do so, and how
#   growing the training set along the roll (continuation) makes it;
# * why a local criterion (trustworthiness) cannot tell a folded code from an
#   unrolled one;
# * t-SNE, with its gradient derived, against PCA on the codes of digits;
# * Barnes-Hut t-SNE: how a quadtree and one inequality make t-SNE of all
#   10,000 test codes take seconds, and what the approximation costs in
#   accuracy as its parameter $\theta$ and the number of points grow.
#
# **It assumes** lessons 01 (PCA), 02 (undercomplete autoencoders), 03
# (denoising) and 08 (reconstruction error as an outlier score, the ROC AUC).

# %%
import time

import numpy as np
from scipy.stats import spearmanr

from tinyae.analysis.embedding_metrics import knn_accuracy, neighbour_ranks, trustworthiness
from tinyae.analysis.metrics import roc_auc
from tinyae.analysis.tsne import TSNE, joint_probabilities, sparse_joint_probabilities
from tinyae.backend import ops
from tinyae.corruption import GaussianNoise
from tinyae.course.judge import recognised_share
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import curves, image_grid
from tinyae.course.plotting.manifolds import (approximation_error_and_time, embeddings_by_class,
                                              error_histograms, swiss_roll_codes)
from tinyae.data import load_mnist, rectangle_outlines, swiss_roll_3d
from tinyae.models import PCA, MLPAutoencoder
from tinyae.optim import Adam
from tinyae.train import fit

lesson = Lesson("12_capacity_and_manifolds", __doc__, epochs=6)   # section 1 only

DTYPE = np.float32
WIDE, NARROW, SUBSPACE = 1000, 64, 100
N_OUT = 1000                                    # test digits and outliers per set
ROLL_T0, ROLL_T1 = 1.5 * np.pi, 4.5 * np.pi     # the range of t in data.swiss_roll_3d

# %% [markdown]
# ## 1. Capacity and the identity trap
#
# Take both constraints away: 784 -> 1000 -> 784, wider than the input, no
# penalty. A *linear* network $\hat x = W_2 W_1 x$ with $W_1: 1000 \times 784$
# can represent the identity exactly (any $W_1$ of rank 784 and $W_2$ its left
# inverse), and on the training digits the identity is a global minimum of the
# squared error. Trained for 600 Adam steps, how close does it get?
#
# We measure the Jacobian $J = \partial \hat x / \partial x$ at test digits, on
# the $k = 100$ principal directions $U$ ($784 \times 100$, orthonormal columns)
# where digits vary most. Central differences give $J U$ one column at a time,
#
# $$
# J u_j = \frac{f(x + h u_j) - f(x - h u_j)}{2h} + O(h^2),
# $$
#
# and the **identity gap** is $\lVert U^\top (J - I) U \rVert_F / \lVert I_k \rVert_F$:
# 0 for the identity. A map through a 64-unit code has rank at most 64, so
# $U^\top J U$ has rank $r \le 64$. The nearest rank-$r$ matrix to $I_k$ (by the
# Eckart-Young theorem, keep $r$ of its $k$ unit singular values) is still
# $\sqrt{k - r}$ away in Frobenius norm, hence
#
# $$
# \frac{\lVert U^\top J U - I_k \rVert_F}{\lVert I_k \rVert_F} \ge \sqrt{\frac{k - r}{k}} = \sqrt{1 - \tfrac{64}{100}} = 0.6 .
# $$

# %%
def squared_errors(model, x):
    """Per-image squared reconstruction error: (n, 784) -> (n,)."""
    diff = model.reconstruct(x) - x
    return np.einsum("ij,ij->i", diff, diff)


def identity_gap(model, x, basis, h=1e-2):
    """||U^T (J - I) U||_F / ||I_k||_F, J the Jacobian of ``reconstruct`` at
    each row of x by central differences, averaged over the rows.

    x: (m, d); basis U: (d, k) orthonormal columns. Only the k directions
    are perturbed: J U = (f(x + h U) - f(x - h U)) / 2h, k pairs of inputs.
    """
    k = basis.shape[1]
    gaps = []
    for x0 in x:
        plus = (x0[None, :] + h * basis.T).astype(DTYPE)      # (k, d)
        minus = (x0[None, :] - h * basis.T).astype(DTYPE)
        ju = ((model.reconstruct(plus) - model.reconstruct(minus)) / (2 * h)).T  # (d, k): J U
        gaps.append(np.linalg.norm(basis.T @ ju - np.eye(k)) / np.sqrt(k))
    return float(np.mean(gaps))


# %% [markdown]
# Three input sets of 1,000 images each: test digits, rectangle outlines
# (`data.rectangle_outlines`, nothing like a digit) and uniform noise. Three
# models, trained on 5,000 digits: the copier; an undercomplete ReLU
# autoencoder 784-64-784; and a denoising ReLU autoencoder as wide as the copier
# (784-1000-784, Gaussian noise $\sigma = 0.5$, half as many epochs).

# %%
rng = lesson.rng
x_all, _ = load_mnist("train", dtype=DTYPE)
x_test, y_test = load_mnist("test", dtype=DTYPE)
x_train = x_all[rng.permutation(len(x_all))[:5_000]]      # the same with --full
sets = {"test digits": x_test[:N_OUT],
        "rectangles": rectangle_outlines(N_OUT, rng=rng, dtype=DTYPE),
        "uniform noise": rng.random((N_OUT, 784)).astype(DTYPE)}
energy = {name: np.einsum("ij,ij->i", x, x) for name, x in sets.items()}
basis = PCA(SUBSPACE).fit(x_train).components_.T           # (784, SUBSPACE)

half = max(lesson.epochs // 2, 1)
models = {                                                 # (model, lr, epochs)
    f"copier: linear 784-{WIDE}-784": (MLPAutoencoder(
        sizes=(784, WIDE), activation="identity", code_activation="identity",
        likelihood="mse", rng=rng, dtype=DTYPE), 3e-3, lesson.epochs),
    f"undercomplete: ReLU 784-{NARROW}-784": (MLPAutoencoder(
        sizes=(784, NARROW), activation="relu", code_activation="relu",
        likelihood="mse", rng=rng, dtype=DTYPE), 3e-3, lesson.epochs),
    f"denoising: ReLU 784-{WIDE}-784, sigma 0.5": (MLPAutoencoder(
        sizes=(784, WIDE), activation="relu", code_activation="relu",
        corruption=GaussianNoise(0.5), likelihood="mse", rng=rng, dtype=DTYPE), 1e-3, half),
}

# %% [markdown]
# For each model we record the squared error of every image, the identity gap
# at 5 test digits, and how well the error separates each outlier set from the
# digits: the ROC AUC, the probability that a random outlier scores a larger
# error than a random digit (1: perfect separation, 0.5: none).

# %%
errors, gaps, aucs = {}, {}, {}
for name, (model, lr, epochs) in models.items():
    fit(model, x_train, optimizer=Adam(model.params, lr=lr), epochs=epochs,
        batch_size=50, rng=rng, progress=lesson.progress)
    errors[name] = {s: squared_errors(model, x) for s, x in sets.items()}
    gaps[name] = identity_gap(model, x_test[N_OUT:N_OUT + 5], basis)
    aucs[name] = {s: roc_auc(errors[name]["test digits"], e)
                  for s, e in errors[name].items() if s != "test digits"}
    shares = ", ".join(f"{s} {np.median(errors[name][s] / energy[s]):.3f}" for s in sets)
    lesson.report(f"{name}: identity gap {gaps[name]:.3f}; median error / energy: "
                  f"{shares}; AUC vs digits: rectangles {aucs[name]['rectangles']:.3f}, "
                  f"uniform noise {aucs[name]['uniform noise']:.3f}")
copier, under, dae = models

# %%
lesson.save(error_histograms(errors, title="squared reconstruction error, per image"),
            "identity_trap_errors")

# %% [markdown]
# In the left panel the rectangles' errors overlap the digits' (both tiny),
# while noise stands far apart; in the other two panels both outlier sets lie
# to the right of the digits. The copier's identity gap is **0.029**: on the
# span of the digits it is nearly the identity, and the rectangles come back
# so well that their error separates them from digits only at an AUC of
# **0.795**. The undercomplete autoencoder's gap is **0.858**, above the
# bound of 0.6, as it must be.

# %%
lesson.claim(f"the copier is close to the identity on the digits' top {SUBSPACE} "
             f"principal directions: ||U^T (J - I) U|| / ||I||", gaps[copier], lt=0.15)
lesson.claim(f"an undercomplete map (rank {NARROW}) cannot be: its identity gap",
             gaps[under], gt=0.6)
lesson.claim("the copier reconstructs rectangles it never saw: median error / energy",
             np.median(errors[copier]["rectangles"] / energy["rectangles"]), lt=0.05)
lesson.claim("so its reconstruction error no longer separates rectangles from digits: AUC",
             aucs[copier]["rectangles"], lt=0.9)
lesson.claim("the undercomplete autoencoder separates them: AUC",
             aucs[under]["rectangles"], gt=0.95)
lesson.claim(f"the denoising autoencoder of the copier's width ({WIDE}) separates them: AUC",
             aucs[dae]["rectangles"], gt=0.95)
lesson.claim("uniform noise, mostly where digits never vary, is separated even by the "
             "copier: AUC", aucs[copier]["uniform noise"], gt=0.95)

# %% [markdown]
# Uniform noise is the instructive exception: even the copier separates it. It
# learns the identity fastest along the directions where digits vary most, and
# last (or never) where they hardly vary: the border pixels that are 0 in every
# training digit, and the fine-grained directions of tiny variance. Noise puts
# most of its energy exactly there. "Learns the identity" means: on the span of
# its data, in order of variance. Here is what the copier returns for six
# images of each set.

# %%
show = {s: x[:6] for s, x in sets.items()}
copies = {s: models[copier][0].reconstruct(x) for s, x in show.items()}
lesson.save(image_grid(np.concatenate([v for s in show for v in (show[s], copies[s])]),
                       rows=6, row_labels=[f"{s}{part}" for s in show
                                           for part in ("", ": copier")]),
            "identity_trap_reconstructions")

# %% [markdown]
# Digits and rectangles come back as they went in; noise comes back darker at
# the border and with its speckle changed: the copier loses half of its energy
# (median error over energy **0.531**). The digit judge (a classifier trained on real digits,
# `tinyae.course.judge`) checks the copied digits.

# %%
lesson.claim("share of the shown reconstructions the digit judge names as their input's digit",
             recognised_share(copies["test digits"], y_test[:6]), gt=0.9)

# %% [markdown]
# Section 1 keeps its budget with `--full`: trained ten times longer at the
# same learning rate, the copier drifted *away* from the identity off the
# digits' span (measured: AUC 0.90 on the rectangles, and an error on uniform
# noise 3.5 times the noise's energy). The encoder weights from the border
# pixels never receive a gradient, and what they feed into the code is
# amplified as the rest trains.
#
# ## 2. Unrolling the swiss roll
#
# The swiss roll (`data.swiss_roll_3d`) is a 2-D sheet rolled up in 3-D, with
# intrinsic coordinates $t$ along the roll ($1.5\pi \le t \le 4.5\pi$) and $h$
# across it. A 2-D code *unrolls* it if $t$ varies monotonically along some
# direction $u$ of the code. We measure the best rank correlation over 180
# directions,
#
# $$
# \rho^* = \max_{\theta} \big|\, \mathrm{Spearman}(z\, u_\theta,\ t) \big|, \qquad u_\theta = (\cos\theta, \sin\theta)^\top,
# $$
#
# and the **trustworthiness** $T(k)$ of the code: with $r(i, j)$ the rank of
# point $j$ among the 3-D neighbours of $i$ and $U_k(i)$ the points among $i$'s
# $k$ nearest in the code but not in 3-D (intruders),
#
# $$
# T(k) = 1 - \frac{2}{n k (2n - 3k - 1)} \sum_{i=1}^{n} \sum_{j \in U_k(i)} \big(r(i, j) - k\big),
# $$
#
# 1 when the code brings in no false neighbours. PCA can only project: layers of
# the roll land on top of each other. An autoencoder 3-128-128-2-128-128-3
# (ReLU) *can* unroll it; we train two copies from the same initial weights for
# the same number of steps, one on the whole roll, the other grown along it
# (continuation, or curriculum learning: Bengio et al., 2009): first the inner
# turn $t \le 2.5\pi$, then ever longer pieces up to the whole roll.

# %%
def best_spearman(code, t, n_directions=180):
    """max over directions u of |Spearman(code u, t)|; code: (n, 2), t: (n,)."""
    angles = np.linspace(0.0, np.pi, n_directions, endpoint=False)
    u = np.stack([np.cos(angles), np.sin(angles)])                # (2, n_directions)
    return max(abs(spearmanr(code @ u[:, j], t)[0]) for j in range(n_directions))


# %%
n_roll = 4000 if lesson.full else 1500
x_roll, t_roll = swiss_roll_3d(n_roll, rng=rng, noise=0.02, return_t=True)
x_roll_test, t_roll_test = swiss_roll_3d(1000, rng=rng, noise=0.02, return_t=True)
stages = np.linspace(2.5 * np.pi, ROLL_T1, 11)                  # t_max of each stage
per_stage = 12 if lesson.full else 6                            # epochs per stage
# the same number of minibatch steps for both autoencoders
steps = sum(int(np.ceil(np.sum(t_roll <= s + 1e-12) / 32)) for s in stages) * per_stage
plain_epochs = int(round(steps / np.ceil(n_roll / 32)))
seed = int(rng.integers(2**31))                                 # the same initial weights
plain, grown = (MLPAutoencoder(sizes=(3, 128, 128, 2), activation="relu", likelihood="mse",
                               rng=np.random.default_rng(seed), dtype=np.float64)
                for _ in range(2))

# %%
h_plain = fit(plain, x_roll, optimizer=Adam(plain.params, lr=3e-3), epochs=plain_epochs,
              batch_size=32, rng=rng, progress=lesson.progress)
optimizer = Adam(grown.params, lr=3e-3)
h_grown = []
for t_max in stages:                                            # continuation along t
    piece = x_roll[t_roll <= t_max + 1e-12]
    h_grown += fit(grown, piece, optimizer=optimizer, epochs=per_stage, batch_size=32,
                   rng=rng, progress=lesson.progress)["loss"]

# %%
codes = {"PCA (2 components)": PCA(2).fit(x_roll).transform(x_roll_test),
         "AE trained on the whole roll": plain.encode(x_roll_test),
         "AE grown along the roll": grown.encode(x_roll_test)}
ranks = neighbour_ranks(x_roll_test)
rho = {name: best_spearman(z, t_roll_test) for name, z in codes.items()}
trust = {name: trustworthiness(x_roll_test, z, 10, ranks=ranks) for name, z in codes.items()}
losses = {"AE trained on the whole roll": plain.loss(x_roll_test),
          "AE grown along the roll": grown.loss(x_roll_test)}
for name in codes:
    extra = f", test loss {losses[name]:.4f}" if name in losses else ""
    lesson.report(f"{name:<30s} best |Spearman| with t {rho[name]:.3f}, "
                  f"T(10) {trust[name]:.3f}{extra}")
pca_name, plain_name, grown_name = codes

# %%
scores = {name: f"|Spearman| {rho[name]:.2f}, T(10) {trust[name]:.3f}" for name in codes}
lesson.save(swiss_roll_codes(x_roll_test, t_roll_test, codes, scores=scores), "swiss_roll")

# %% [markdown]
# Follow the colour (the intrinsic $t$). In the grown code it runs from one end
# to the other in a single sweep (best $|\mathrm{Spearman}|$ **0.999**). In PCA's
# code the layers of the roll lie on top of each other (**0.23**); in the
# plainly trained code the colours double back, squeezed into a fold
# (**0.26**).

# %%
lesson.claim("PCA cannot unroll the roll: best |Spearman| of a direction with t",
             rho[pca_name], within=(0.2, 0.1))
lesson.claim("the autoencoder grown along the roll unrolls it: best |Spearman|",
             rho[grown_name], gt=0.9)
lesson.claim("trained on the whole roll from the start, the same autoencoder folds: "
             "best |Spearman|", rho[plain_name], lt=0.5)
lesson.claim("yet the folded code is trustworthy: T(10)", trust[plain_name], gt=0.95)
lesson.claim("T(10) hardly tells folded from unrolled: |T(grown) - T(plain)|",
             abs(trust[grown_name] - trust[plain_name]), lt=0.05)

# %% [markdown]
# Trained on the whole roll from a random start, the first code is close to a
# projection; gradient descent then separates the overlapping layers locally
# instead of reorganising the code globally, and ends in a folded code. Grown
# along the roll, the same network extends its chart piece by piece. $T(10)$ is
# local: the folded code keeps neighbourhoods, so its trustworthiness
# (**0.977**) is close to the unrolled one's (**0.998**). Only a global measure
# against the intrinsic coordinate tells them apart.

# %%
lesson.save(curves({"whole roll": h_plain["loss"], "grown (stage by stage)": h_grown},
                   xlabel="epoch (grown: over the piece of its stage)",
                   ylabel="squared error per point", logy=True,
                   title="the two autoencoders' training losses"), "swiss_roll_training")

# %% [markdown]
# The grown autoencoder's loss jumps each time a longer piece of the roll is
# added, then falls again. The one trained on the whole roll stalls: its test
# loss, **0.0542** per point, is about ten times the grown one's (**0.0050**).
# The fold costs reconstruction error, so the loss does see it; gradient
# descent just finds no path out of it.
#
# ## 3. t-SNE of the codes
#
# Murphy's book shows t-SNE maps of a 30-D autoencoder code coloured by digit.
# t-SNE (van der Maaten and Hinton, 2008) turns distances into affinities: in
# the data, $p_{j|i} \propto \exp(-\lVert x_i - x_j \rVert^2 / 2\sigma_i^2)$ with
# each $\sigma_i$ set by bisection so that the perplexity
# $2^{H(p_{\cdot|i})}$ is 30, symmetrised as $p_{ij} = (p_{j|i} + p_{i|j})/2n$;
# in the 2-D map, a Student-t,
#
# $$
# q_{ij} = \frac{w_{ij}}{Z}, \qquad w_{ij} = \frac{1}{1 + \lVert y_i - y_j \rVert^2}, \qquad Z = \sum_{a \ne b} w_{ab}.
# $$
#
# It minimises $C = \mathrm{KL}(P \,\Vert\, Q) = \sum p_{ij} \log p_{ij} - \sum p_{ij} \log w_{ij} + \log Z$
# (using $\sum p_{ij} = 1$). Since $\partial w_{ij} / \partial y_i = -2 w_{ij}^2 (y_i - y_j)$
# and each pair appears twice in the sums ($ij$ and $ji$),
#
# $$
# \frac{\partial}{\partial y_i}\Big(-\sum p \log w\Big) = 4 \sum_j p_{ij} w_{ij} (y_i - y_j),
# \qquad
# \frac{\partial \log Z}{\partial y_i} = \frac{2}{Z} \sum_j \big(-2 w_{ij}^2 (y_i - y_j)\big) = -4 \sum_j q_{ij} w_{ij} (y_i - y_j),
# $$
#
# so
#
# $$
# \frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij})\, w_{ij}\, (y_i - y_j).
# $$
#
# Pairs closer in the data than in the map ($p > q$) pull together, the others
# push apart. `tinyae.analysis.tsne` implements it from scratch
# (`functional.tsne.tsne_kl_grad`, gradient-checked), with early exaggeration,
# momentum and gains. First the codes: an MLP autoencoder 784-256-30 trained
# briefly, then the codes of 2,000 test digits.

# %%
x_ae = x_all[rng.permutation(len(x_all))[:30_000 if lesson.full else 10_000]]
model = MLPAutoencoder(sizes=(784, 256, 30), rng=rng, dtype=DTYPE)
fit(model, x_ae, optimizer=Adam(model.params, lr=1e-3),
    epochs=10 if lesson.full else 3, batch_size=100, rng=rng, progress=lesson.progress)
n = 3000 if lesson.full else 2000
pick = rng.permutation(len(x_test))[:n]
codes, labels = model.encode(x_test[pick]).astype(np.float64), y_test[pick]   # (n, 30)

# %%
schedule = dict(perplexity=30.0, n_iter=1000 if lesson.full else 200,
                exaggeration_iter=250 if lesson.full else 70)
tsne = TSNE(**schedule)
embeddings = {"t-SNE": tsne.fit_transform(codes),
              "PCA (2 components)": PCA(2).fit(codes).transform(codes)}
lesson.report(f"t-SNE of {n} codes: {tsne.n_iter_} steps, KL(P || Q) "
              f"{tsne.kl_divergence_:.3f}, learning rate {tsne.learning_rate_:.0f}")

# %% [markdown]
# Both maps are scored by $T(5)$ against the 30-D codes, and by the
# leave-one-out 5-nearest-neighbour accuracy of the digit labels in 2-D.

# %%
ranks = neighbour_ranks(codes)
trust = {name: trustworthiness(codes, y, 5, ranks=ranks) for name, y in embeddings.items()}
knn = {name: knn_accuracy(y, labels, 5) for name, y in embeddings.items()}
lesson.report(f"5-NN accuracy in the 30-D code itself: {knn_accuracy(codes, labels, 5):.3f}")
for name in embeddings:
    lesson.report(f"{name:<20s} T(5) {trust[name]:.3f}, 5-NN accuracy {knn[name]:.3f}")

# %%
titled = {f"{name}: T(5) {trust[name]:.3f}, 5-NN {knn[name]:.2f}": y
          for name, y in embeddings.items()}
lesson.save(embeddings_by_class(titled, labels,
                                title=f"{n} test digits' 30-D autoencoder codes in 2-D"),
            "tsne_vs_pca")

# %% [markdown]
# t-SNE separates most digits into islands of their own (4s and 9s share one);
# PCA-2 piles them into one cloud where only the 1s keep to themselves. In
# numbers: $T(5)$ **0.987** against **0.765**, and a 5-NN accuracy of **0.899**
# in t-SNE's 2-D map against **0.335** in PCA's, close to the **0.909** of the
# 30-D code itself.

# %%
lesson.claim("t-SNE keeps the codes' neighbourhoods better than PCA-2: T(5) difference",
             trust["t-SNE"] - trust["PCA (2 components)"], gt=0.1)
lesson.claim("t-SNE's 2-D map keeps the classes apart better than PCA-2: 5-NN accuracy "
             "difference", knn["t-SNE"] - knn["PCA (2 components)"], gt=0.3)
lesson.claim("t-SNE's T(5) on the codes", trust["t-SNE"], gt=0.95)

# %% [markdown]
# ## 4. Barnes-Hut t-SNE: all 10,000 codes
#
# Exact t-SNE pays for every pair: at $n = 10{,}000$ that is 50 million pairs
# a step and a matrix $P$ of 800 MB, which is why section 3 took 2,000 of the
# 10,000 test digits. Barnes-Hut t-SNE (van der Maaten, 2014) brings a step
# down to $O(n \log n)$ with one approximation for each half of the gradient.
# With $w_{ij} = (1 + \lVert y_i - y_j \rVert^2)^{-1}$ as before, the gradient
# of section 3 is an attraction minus a repulsion,
#
# $$
# \frac{\partial C}{\partial y_i} = 4 \Big( \sum_j p_{ij}\, w_{ij} (y_i - y_j) - \frac{1}{Z} \sum_{j \ne i} w_{ij}^2 (y_i - y_j) \Big), \qquad Z = \sum_i \sum_{j \ne i} w_{ij} .
# $$
#
# **The attraction: a sparse $P$.** Point $i$'s Gaussian is calibrated to
# perplexity $u = 30$, about 30 effective neighbours. The paper keeps only its
# $K = \lfloor 3u \rfloor = 90$ nearest neighbours, runs the same bisection
# over them and symmetrises as before; the neighbours are found exactly, a
# block of distances at a time (`embedding_metrics.nearest_neighbours`). The
# attraction then costs $O(nK)$.
#
# **The repulsion: a quadtree.** Take the smallest square around the map, cut
# it into four quadrants, each of those into four, and so on until a cell
# holds one point (or points at one place). Each cell $C$ keeps its number of
# points $N_C$ and their centre of mass $y_C$. Seen from far away, a cell's
# points push almost like $N_C$ points at $y_C$:
#
# $$
# \sum_{j \in C} w_{ij}^2 (y_i - y_j) \approx N_C\, w_{iC}^2 (y_i - y_C), \qquad \sum_{j \in C} w_{ij} \approx N_C\, w_{iC}, \qquad w_{iC} = \frac{1}{1 + \lVert y_i - y_C \rVert^2} .
# $$
#
# Why the centre of mass: write $f(y_j) = w_{ij}^2 (y_i - y_j)$ and expand it
# around $y_C$, $f(y_j) = f(y_C) + J\,(y_j - y_C) + O(\lVert y_j - y_C \rVert^2)$.
# Summed over the cell, the linear term is $J \sum_{j \in C} (y_j - y_C) = 0$:
# a cell's error is of second order in its size over its distance. "Far" is
# the criterion
#
# $$
# \frac{r_C}{\lVert y_i - y_C \rVert} < \theta ,
# $$
#
# $r_C$ the length of the cell's diagonal. For each point, walk the tree from
# the root: a cell that passes counts as one mass, one that fails is opened and
# its children are tested, and a leaf's points count one by one. $\theta = 0$
# opens every cell and gives the exact repulsion (to rounding:
# `tests/test_tsne_bh.py`); at the paper's $\theta = 0.5$ a point visits a few
# hundred cells instead of 10,000 points. The tree is rebuilt at every step.
# The KL this method reports is exact over the non-zero $p_{ij}$ of its sparse
# $P$, with $Z$ estimated by the same walk.
#
# First the two methods on the same 2,000 codes, with the same schedule and
# initialisation. To compare them on one scale, each final map is also scored
# by the exact method's cost (its dense $P$, $Z$ summed over every pair).

# %%
bh = TSNE(method="barnes_hut", theta=0.5, **schedule)
bh_map = bh.fit_transform(codes)
p_dense = joint_probabilities(codes, 30.0)                     # the exact method's P
sparse = sparse_joint_probabilities(codes, 30.0)[:3]           # Barnes-Hut's, compressed rows
kl = {"exact t-SNE": tsne.kl_divergence_,
      "Barnes-Hut's map, exact cost": ops.tsne_kl_grad(bh_map, p_dense)[0],
      "Barnes-Hut's own KL (sparse P)": bh.kl_divergence_,
      "exact map, scored with the sparse P": ops.tsne_bh_kl_grad(embeddings["t-SNE"], *sparse,
                                                                 0.0)[0]}
for name, value in kl.items():
    lesson.report(f"{name:<38s} KL {value:.3f}")
kl_ratio = kl["Barnes-Hut's map, exact cost"] / kl["exact t-SNE"]
lesson.report(f"Barnes-Hut's map under the exact cost: {100 * (kl_ratio - 1):+.1f}% from the "
              f"exact method's KL")

# %% [markdown]
# Scored by the same cost, the two maps end within **0.4%** of each other
# (**1.365** for Barnes-Hut's, **1.359** for the exact method's). The KL
# Barnes-Hut reports for itself, **1.404**, is higher because it is the KL of
# another $P$: the sparse one puts each point's mass on its 90 nearest
# neighbours only, and the exact method's own map, scored with that $P$, gets
# **1.406**, as much. Compare methods on one cost, not on the numbers each
# reports.

# %%
lesson.claim("Barnes-Hut (theta 0.5) against exact t-SNE, same 2,000 codes and schedule: "
             "KL of its final map under the exact cost / the exact method's final KL",
             kl_ratio, rel_within=(1.0, 0.03))

# %% [markdown]
# Now all 10,000 test codes, with the same schedule, against PCA-2 of the
# same codes. $T(5)$ is computed without the $(n \times n)$ ranks: only the
# input ranks of each point's 5 embedded neighbours, from blocks of distances.

# %%
codes_all = model.encode(x_test).astype(np.float64)           # (10000, 30): every test digit
big = TSNE(method="barnes_hut", theta=0.5, **schedule)
start = time.perf_counter()
big_maps = {"Barnes-Hut t-SNE": big.fit_transform(codes_all)}
seconds = time.perf_counter() - start
big_maps["PCA (2 components)"] = PCA(2).fit(codes_all).transform(codes_all)
lesson.report(f"Barnes-Hut t-SNE of all {len(codes_all)} codes: {big.n_iter_} steps in "
              f"{seconds:.1f} s, its KL (sparse P) {big.kl_divergence_:.3f}")
big_trust = {name: trustworthiness(codes_all, y, 5) for name, y in big_maps.items()}
big_knn = {name: knn_accuracy(y, y_test, 5) for name, y in big_maps.items()}
for name in big_maps:
    lesson.report(f"{name:<20s} T(5) {big_trust[name]:.3f}, 5-NN accuracy {big_knn[name]:.3f}")

# %%
titled = {f"{name}: T(5) {big_trust[name]:.3f}, 5-NN {big_knn[name]:.2f}": y
          for name, y in big_maps.items()}
lesson.save(embeddings_by_class(titled, y_test, title=f"all {len(codes_all):,} test digits' "
                                "30-D autoencoder codes in 2-D"), "barnes_hut_all_codes")

# %% [markdown]
# With five times the points, every digit has an island of its own, 4s beside
# 9s and 3s, 5s and 8s touching; PCA-2 again keeps only the 1s apart. $T(5)$
# is **0.992** against PCA's **0.765**, the 5-NN accuracy **0.942** against
# **0.329**: both above the 2,000-point map's, since each point now has more
# true neighbours of its class to land beside.

# %%
lesson.claim("Barnes-Hut t-SNE keeps the neighbourhoods of all 10,000 codes: T(5)",
             big_trust["Barnes-Hut t-SNE"], gt=0.95)
lesson.claim("and keeps the classes apart better than PCA-2: 5-NN accuracy difference",
             big_knn["Barnes-Hut t-SNE"] - big_knn["PCA (2 components)"], gt=0.3)

# %% [markdown]
# ## 5. How the error and the time grow with $\theta$ and $n$
#
# Only the repulsion is approximated. To see its error, take the 10,000-point
# map and random subsets of 1,000, 2,500 and 5,000 of its points; for each,
# compute the repulsion $F_i = -4 B_i / Z$ exactly ($\theta = 0$) and at
# $\theta$ from 0.1 to 1, and its relative error over all points,
# $\lVert F^\theta - F \rVert / \lVert F \rVert$. Then time one gradient
# of Barnes-Hut at three values of $\theta$ and of the exact method, whose
# $O(n^2)$ loop we time up to 5,000 points (its dense $P$ would take 800 MB
# at 10,000). $P$ is left empty in both: the attraction is exact and cheap,
# the repulsion is the part that scales. The times are the process's own CPU
# time, the least of five rounds, each of which times every size once: on a
# shared machine, the time other jobs take from the core does not count, and a
# slow spell of the machine falls on all sizes of a round rather than on one.

# %%
def cpu_seconds(fn):
    """The CPU time of one call of fn(), in seconds."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def repulsion(y, theta):
    """-4 B_i / Z for the points y: (n, 2) -> (n, 2): the Barnes-Hut gradient with P empty."""
    n = y.shape[0]
    empty = (np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    return ops.tsne_bh_kl_grad(y, *empty, theta, need_cost=False)[1]


thetas, timed_thetas, sizes = (0.1, 0.25, 0.5, 0.75, 1.0), (0.25, 0.5, 1.0), (1000, 2500, 5000, 10_000)
order = rng.permutation(len(codes_all))
errors, times = {}, {"exact": ([], [])}
times.update({f"Barnes-Hut, theta {t:g}": ([], []) for t in timed_thetas})
maps = {size: big_maps["Barnes-Hut t-SNE"][order[:size]] for size in sizes}   # (size, 2) each
for size, y in maps.items():
    exact = repulsion(y, 0.0)
    errors[f"n = {size:,}"] = (thetas, [np.linalg.norm(repulsion(y, t) - exact)
                                        / np.linalg.norm(exact) for t in thetas])
# the exact method's empty P, written now so that no timed call pages it in
no_p = {size: np.full((size, size), 0.0) for size in sizes if size <= 5000}
best = {}                                        # (name, size) -> least seconds
for _ in range(5):                               # rounds: every size once in each
    for size, y in maps.items():
        runs = {f"Barnes-Hut, theta {t:g}": lambda t=t: repulsion(y, t) for t in timed_thetas}
        if size in no_p:
            runs["exact"] = lambda: ops.tsne_kl_grad(y, no_p[size], False)
        for name, run in runs.items():
            best[name, size] = min(best.get((name, size), np.inf), cpu_seconds(run))
for (name, size), seconds in best.items():       # each name's sizes in increasing order
    times[name][0].append(size)
    times[name][1].append(seconds)
for i, size in enumerate(sizes):
    exact_ms = f"{1e3 * times['exact'][1][i]:.1f} ms" if size <= 5000 else "-"
    lesson.report(f"n = {size:>6,}: repulsion error at theta 0.5 "
                  f"{100 * errors[f'n = {size:,}'][1][2]:.2f}%; one gradient: Barnes-Hut "
                  f"(theta 0.5) {1e3 * times['Barnes-Hut, theta 0.5'][1][i]:.1f} ms, "
                  f"exact {exact_ms}")

# %%
lesson.save(approximation_error_and_time(
    errors, times, title="Barnes-Hut t-SNE: the repulsion's error against theta (left), "
                         "the time of a gradient against n (right)"), "barnes_hut_error_and_time")

# %% [markdown]
# Left: each line climbs steeply with $\theta$ (from $\theta = 0.25$ to 1 the
# error grows **30** times, more than the 16 of $\theta^2$, the bound on one
# cell's relative error: a larger $\theta$ also hands a larger share of the
# force to summaries), and the lines for 1,000 to 10,000 points lie
# almost on top of each other: the error is relative to each point's own
# distances, so it does not grow with $n$. At $\theta = 0.5$ the repulsion is
# off by **0.69%** at $n = 10{,}000$. Right: the exact gradient's time grows
# like $n^2$ (about four times per doubling of $n$); Barnes-Hut's grows
# barely faster than $n$, and $\theta$ moves it by a constant factor.

# %%
err = {name: dict(zip(th, e)) for name, (th, e) in errors.items()}
bh_ms = dict(zip(*times["Barnes-Hut, theta 0.5"]))
exact_ms = dict(zip(*times["exact"]))
lesson.claim("repulsion error at theta 0.5, n = 10,000 (relative, over all points)",
             err["n = 10,000"][0.5], lt=0.02)
lesson.claim("the error climbs with theta: error at theta 1 / at theta 0.25 (n = 10,000)",
             err["n = 10,000"][1.0] / err["n = 10,000"][0.25], gt=8)
lesson.claim("but not with n: error at theta 0.5, n = 10,000 / n = 1,000",
             err["n = 10,000"][0.5] / err["n = 1,000"][0.5], lt=2)
lesson.claim("Barnes-Hut (theta 0.5) against the exact gradient at n = 5,000: speed-up",
             exact_ms[5000] / bh_ms[5000], gt=5)
lesson.claim("Barnes-Hut's time from 2,500 to 10,000 points (4x; n^2 would be 16x): ratio",
             bh_ms[10_000] / bh_ms[2500], lt=8)

# %% [markdown]
# ## Check your understanding
#
# 1. The denoising autoencoder is as wide as the copier (1000 units), so no
#    rank bound stops it from being the identity. Read its identity gap from the
#    output: why is it far from the identity all the same?
# 2. Why does the copier lose about half of the energy of uniform noise but
#    almost none of a rectangle's? Use what section 1 says about the order in
#    which it learns directions.
# 3. Trustworthiness penalises *intruders*: points that are neighbours in the
#    code but not in 3-D. Which kind of mistake in a code does it not penalise,
#    and why does that let the folded code score above 0.95?
# 4. In the t-SNE gradient, what does a pair with $p_{ij} = 0$ do, and how does
#    its push depend on the distance $\lVert y_i - y_j \rVert$?
# 5. In the cell that runs Barnes-Hut on the 2,000 codes, set `theta=1.0`,
#    then `theta=0.0`, and re-run it. Predict first from section 5's figure
#    how far off the repulsion is at $\theta = 1$ and how much slower
#    $\theta = 0$ is. Does the final KL under the exact cost move by more
#    than the claim's 3%?
#
# ## Exercises
#
# Exercise 16, `ex16_tsne_grad.py` (`tinyae exercises start DIR`, then
# `tinyae exercises check 16`): write `tsne_kl_grad(y, p)`, the cost
# $\mathrm{KL}(P \,\Vert\, Q)$ of section 3 with its Student-t $Q$, and its
# gradient with respect to the map. The checker compares both with the
# library's on maps of one to three dimensions (down to two points, and
# points far apart), with finite differences of your cost, and in a short
# gradient descent on three clusters.
#
# **Try it:** give the copier a bottleneck
# in the cell that builds the models (`sizes=(784, 30)`, still linear) and
# re-run section 1. Predict from the rank bound what its identity gap must at
# least be, then check the gap and the AUC on the rectangles.
#
# ## References
#
# * Bengio, Y., Louradour, J., Collobert, R. and Weston, J. (2009). Curriculum
#   learning. *ICML 2009*, 41-48 (training on easy pieces first; section 2
#   here).
# * Eckart, C. and Young, G. (1936). The approximation of one matrix by another
#   of lower rank. *Psychometrika* 1(3), 211-218 (the rank bound of section 1 here).
# * van der Maaten, L. and Hinton, G. (2008). Visualizing data using t-SNE.
#   *Journal of Machine Learning Research* 9, 2579-2605. Section 3 (the
#   Student-t affinities, the cost and its gradient, equation 5).
# * van der Maaten, L. (2014). Accelerating t-SNE using tree-based algorithms.
#   *Journal of Machine Learning Research* 15, 3221-3245. Section 4 (the sparse
#   affinities over floor(3 u) neighbours, the quadtree and the criterion
#   r_cell / ||y_i - y_cell|| < theta; section 4 of this lesson).
# * Barnes, J. and Hut, P. (1986). A hierarchical O(N log N) force-calculation
#   algorithm. *Nature* 324, 446-449 (cells of a tree standing for their
#   points, at their centre of mass).
# * Venna, J. and Kaski, S. (2001). Neighborhood preservation in nonlinear
#   projection methods: an experimental study. *ICANN 2001*, Lecture Notes in
#   Computer Science 2130, 485-491 (trustworthiness).
# * Murphy, K. P. (2022). *Probabilistic Machine Learning: An Introduction*. MIT
#   Press. Section 20.3.1 (autoencoder codes of MNIST mapped to 2-D by t-SNE) and
#   section 20.4 (manifold learning, the swiss roll, t-SNE).
# * Hanley, J. A. and McNeil, B. J. (1982). The meaning and use of the area under
#   a receiver operating characteristic (ROC) curve. *Radiology* 143(1), 29-36
#   (the AUC as the probability that an outlier outscores a normal input).

# %%
lesson.finish()
