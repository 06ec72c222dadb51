"""Lesson 12: what a code is for -- capacity and the identity trap, unrolling
the swiss roll, and t-SNE of the codes.

1. Capacity and the identity trap (lecture deck, "when autoencoders fail")
--------------------------------------------------------------------------
An autoencoder is useful because it *cannot* copy: a bottleneck or a
regulariser forces it to keep what is typical of its data. Take both away
-- 784 -> 1000 -> 784, wider than the input, no penalty -- and copying is
allowed: a linear 784-1000-784 network can represent the identity exactly,
and on MNIST's training digits the identity is a global minimum of the
squared error. Trained for a few hundred Adam steps it heads there, and the
lesson measures how close it gets:

* the Jacobian J = d x_hat / d x at test digits (central differences through
  ``reconstruct``), as ``||U^T (J - I) U||_F / ||I_100||_F`` with U the top
  100 principal directions of the training digits: 0 for the identity, at
  least sqrt(1 - 64/100) = 0.6 for any map of rank 64;
* the share of an input's energy ||x||^2 left in the error, on images that
  look nothing like digits: rectangle outlines (``data.rectangle_outlines``)
  and uniform noise.

Reconstruction error as an outlier score (lesson 08) then stops working on
the rectangles: digits and rectangles both come back almost perfectly, and
the error no longer ranks rectangles above digits (AUC, ``metrics.roc_auc``).
An undercomplete ReLU autoencoder (784-64-784) and a denoising one of the
same width as the copier (784-1000-784, Gaussian noise sigma = 0.5, trained
half as long) keep separating them (AUC > 0.95): neither can afford to
reconstruct what digits do not contain.

Uniform noise is the instructive exception: even the copier separates it,
because it learns the identity fastest along the directions where digits
vary most, and last (or never) where they hardly vary: the ~70 border
pixels that are 0 in every training digit, and the fine-grained directions
of tiny variance. Noise puts most of its energy exactly there. "Learns the
identity" means: on the span of its data, in order of variance.

2. Unrolling the swiss roll (survey)
------------------------------------
The swiss roll (``data.swiss_roll_3d``) is a 2-D sheet rolled up in 3-D,
with intrinsic coordinates (t along the roll, h across it). Unrolling means
a 2-D code in which t varies monotonically along some direction: measured
by the best |Spearman rank correlation| between t and the code projected
on a direction (180 directions tried). PCA only projects: layers of the
roll land on top of each other and the best direction reaches about 0.2.

An autoencoder 3-128-128-2-128-128-3 (ReLU) *can* unroll it -- the
unrolled chart is a perfect code -- but trained on the whole roll from a
random start it does not: its first code is close to a projection, and
gradient descent then separates the overlapping layers locally instead of
reorganising the code globally, ending in a folded code with a small
reconstruction error. Grown along the roll (continuation, or curriculum
learning: Bengio et al., 2009) -- trained first on the inner turn t <=
2.5 pi, then on ever longer pieces up to the whole roll, the same number of
steps in all -- the same network extends its chart piece by piece and
unrolls the roll (|Spearman| > 0.9).

Trustworthiness T(k) (``tinyae.analysis.embedding_metrics``: are a point's k nearest
neighbours in the code also near in 3-D?) is the weaker criterion here: it
is local. The folded code keeps neighbourhoods, so its T(10) is high,
close to the unrolled one's -- while it has not unrolled anything. Only a
global measure against the intrinsic coordinate tells them apart.

3. t-SNE of the codes (Murphy, PML book 2, section 20.3.1)
-----------------------------------------------------------
The book shows t-SNE maps of a 30-D autoencoder code coloured by digit.
``tinyae.analysis.tsne`` is exact t-SNE from scratch (van der Maaten and Hinton,
2008): Gaussian affinities calibrated to a perplexity by bisection, a
Student-t in 2-D, the KL gradient derived by hand in
``functional.tsne.tsne_kl_grad`` and gradient-checked, early exaggeration,
momentum and gains; its O(n^2) part is a Numba kernel with a NumPy twin.
On the codes of 2,000 test digits (an MLP autoencoder 784-256-30 trained
briefly) it is compared with PCA of the same codes to 2-D: trustworthiness
T(5) and leave-one-out 5-NN accuracy in 2-D. For calibration, the figures
usually quoted on scikit-learn's 8x8 digits are PCA-2 T(5) 0.83 and 5-NN
0.60, t-SNE 0.995 and 0.98 (that data set does not ship here; the tests
check this t-SNE on Gaussian clusters with a known answer instead).

Run: ``python lessons/12_capacity_and_manifolds.py`` (~30 s of CPU);
``--full`` grows the swiss roll longer and embeds 3,000 digits with 1,000
t-SNE steps. Section 1 keeps its budget (600 steps): trained ten times
longer at the same learning rate, the copier drifted *away* from the
identity off the digits' span (measured: AUC 0.90 on the rectangles, and an
error on uniform noise 3.5 times the noise's energy: the encoder weights
from the border pixels, 0 in every training digit, never receive a gradient,
and what they feed into the code is amplified as the rest trains).
"""

# %%
import numpy as np
from scipy.stats import spearmanr

from tinyae.corruption import GaussianNoise
from tinyae.data import load_mnist, rectangle_outlines, swiss_roll_3d
from tinyae.analysis.embedding_metrics import knn_accuracy, neighbour_ranks, trustworthiness
from tinyae.course.lesson import Lesson
from tinyae.analysis.metrics import roc_auc
from tinyae.models import PCA, MLPAutoencoder
from tinyae.optim import Adam
from tinyae.course.plotting import curves, grids
from tinyae.course.plotting.manifolds import embeddings_by_class, error_histograms, swiss_roll_codes
from tinyae.train import fit
from tinyae.analysis.tsne import TSNE

DTYPE = np.float32
WIDE, NARROW, SUBSPACE = 1000, 64, 100
N_OUT = 1000                                    # test digits and outliers per set
ROLL_T0, ROLL_T1 = 1.5 * np.pi, 4.5 * np.pi     # the range of t in data.swiss_roll_3d


# %%
def squared_errors(model, x):
    """Per-image squared reconstruction error: (n, 784) -> (n,)."""
    diff = model.reconstruct(x) - x
    return np.einsum("ij,ij->i", diff, diff)


# %%
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


# %%
def identity_trap(lesson):
    rng = lesson.rng
    x_all, _ = load_mnist("train", dtype=DTYPE)
    x_test, _ = load_mnist("test", dtype=DTYPE)
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
    lesson.save(error_histograms(errors, title="squared reconstruction error, per image"),
                "identity_trap_errors")
    show = {s: x[:6] for s, x in sets.items()}
    lesson.save(grids({f"{s} (top) / copier (bottom)": np.concatenate(
        [x, models[copier][0].reconstruct(x)]) for s, x in show.items()}, rows=2),
        "identity_trap_reconstructions")


# %%
def best_spearman(code, t, n_directions=180):
    """max over directions u of |Spearman(code u, t)|; code: (n, 2), t: (n,)."""
    angles = np.linspace(0.0, np.pi, n_directions, endpoint=False)
    u = np.stack([np.cos(angles), np.sin(angles)])                # (2, n_directions)
    return max(abs(spearmanr(code @ u[:, j], t)[0]) for j in range(n_directions))


# %%
def swiss_roll(lesson):
    rng = lesson.rng
    n_train = 4000 if lesson.full else 1500
    x, t = swiss_roll_3d(n_train, rng=rng, noise=0.02, return_t=True)
    x_test, t_test = swiss_roll_3d(1000, rng=rng, noise=0.02, return_t=True)
    stages = np.linspace(2.5 * np.pi, ROLL_T1, 11)                 # t_max of each stage
    per_stage = 12 if lesson.full else 6                           # epochs per stage
    # the same number of minibatch steps for both autoencoders
    steps = sum(int(np.ceil(np.sum(t <= s + 1e-12) / 32)) for s in stages) * per_stage
    plain_epochs = int(round(steps / np.ceil(n_train / 32)))
    seed = int(rng.integers(2**31))                                # the same initial weights
    autoencoders = {}
    for name in ("plain", "grown"):
        autoencoders[name] = MLPAutoencoder(sizes=(3, 128, 128, 2), activation="relu",
                                            likelihood="mse", rng=np.random.default_rng(seed),
                                            dtype=np.float64)
    plain, grown = autoencoders["plain"], autoencoders["grown"]
    h_plain = fit(plain, x, optimizer=Adam(plain.params, lr=3e-3), epochs=plain_epochs,
                  batch_size=32, rng=rng, progress=lesson.progress)
    optimizer = Adam(grown.params, lr=3e-3)
    h_grown = []
    for t_max in stages:                                           # continuation along t
        piece = x[t <= t_max + 1e-12]
        h_grown += fit(grown, piece, optimizer=optimizer, epochs=per_stage, batch_size=32,
                       rng=rng, progress=lesson.progress)["loss"]

    codes = {"PCA (2 components)": PCA(2).fit(x).transform(x_test),
             "AE trained on the whole roll": plain.encode(x_test),
             "AE grown along the roll": grown.encode(x_test)}
    ranks = neighbour_ranks(x_test)
    rho = {name: best_spearman(z, t_test) for name, z in codes.items()}
    trust = {name: trustworthiness(x_test, z, 10, ranks=ranks) for name, z in codes.items()}
    losses = {"AE trained on the whole roll": plain.loss(x_test),
              "AE grown along the roll": grown.loss(x_test)}
    for name in codes:
        extra = f", test loss {losses[name]:.4f}" if name in losses else ""
        lesson.report(f"{name:<30s} best |Spearman| with t {rho[name]:.3f}, "
                      f"T(10) {trust[name]:.3f}{extra}")
    pca, plain_name, grown_name = codes
    lesson.claim("PCA cannot unroll the roll: best |Spearman| of a direction with t",
                 rho[pca], within=(0.2, 0.1))
    lesson.claim("the autoencoder grown along the roll unrolls it: best |Spearman|",
                 rho[grown_name], gt=0.9)
    lesson.claim("trained on the whole roll from the start, the same autoencoder folds: "
                 "best |Spearman|", rho[plain_name], lt=0.5)
    lesson.claim("yet the folded code is trustworthy: T(10)", trust[plain_name], gt=0.95)
    lesson.claim("T(10) hardly tells folded from unrolled: |T(grown) - T(plain)|",
                 abs(trust[grown_name] - trust[plain_name]), lt=0.05)
    scores = {name: f"|Spearman| {rho[name]:.2f}, T(10) {trust[name]:.3f}" for name in codes}
    lesson.save(swiss_roll_codes(x_test, t_test, codes, scores=scores), "swiss_roll")
    lesson.save(curves({"whole roll": h_plain["loss"], "grown (stage by stage)": h_grown},
                       ylabel="squared error per point", logy=True,
                       title="the two autoencoders' training losses"), "swiss_roll_training")


# %%
def tsne_of_codes(lesson):
    rng = lesson.rng
    x_all, _ = load_mnist("train", dtype=DTYPE)
    x_test, y_test = load_mnist("test", dtype=DTYPE)
    x_train = x_all[rng.permutation(len(x_all))[:30_000 if lesson.full else 10_000]]
    model = MLPAutoencoder(sizes=(784, 256, 30), rng=rng, dtype=DTYPE)
    fit(model, x_train, optimizer=Adam(model.params, lr=1e-3),
        epochs=10 if lesson.full else 3, batch_size=100, rng=rng, progress=lesson.progress)
    n = 3000 if lesson.full else 2000
    pick = rng.permutation(len(x_test))[:n]
    codes, labels = model.encode(x_test[pick]).astype(np.float64), y_test[pick]   # (n, 30)

    tsne = TSNE(perplexity=30.0, n_iter=1000 if lesson.full else 200,
                exaggeration_iter=250 if lesson.full else 70)
    embeddings = {"t-SNE": tsne.fit_transform(codes),
                  "PCA (2 components)": PCA(2).fit(codes).transform(codes)}
    lesson.report(f"t-SNE of {n} codes: {tsne.n_iter_} steps, KL(P || Q) "
                  f"{tsne.kl_divergence_:.3f}, learning rate {tsne.learning_rate_:.0f}")
    ranks = neighbour_ranks(codes)
    trust = {name: trustworthiness(codes, y, 5, ranks=ranks) for name, y in embeddings.items()}
    knn = {name: knn_accuracy(y, labels, 5) for name, y in embeddings.items()}
    lesson.report(f"5-NN accuracy in the 30-D code itself: {knn_accuracy(codes, labels, 5):.3f}")
    for name in embeddings:
        lesson.report(f"{name:<20s} T(5) {trust[name]:.3f}, 5-NN accuracy {knn[name]:.3f} "
                      f"(8x8 digits, for calibration: "
                      f"{'0.995, 0.98' if name == 't-SNE' else '0.83, 0.60'})")
    lesson.claim("t-SNE keeps the codes' neighbourhoods better than PCA-2: T(5) difference",
                 trust["t-SNE"] - trust["PCA (2 components)"], gt=0.1)
    lesson.claim("t-SNE's 2-D map keeps the classes apart better than PCA-2: 5-NN accuracy "
                 "difference", knn["t-SNE"] - knn["PCA (2 components)"], gt=0.3)
    lesson.claim("t-SNE's T(5) on the codes", trust["t-SNE"], gt=0.95)
    titled = {f"{name}: T(5) {trust[name]:.3f}, 5-NN {knn[name]:.2f}": y
              for name, y in embeddings.items()}
    lesson.save(embeddings_by_class(titled, labels,
                                    title=f"{n} test digits' 30-D autoencoder codes in 2-D"),
                "tsne_vs_pca")


# %%
def main():
    lesson = Lesson("12_capacity_and_manifolds", __doc__, epochs=6)   # section 1 only
    print("\n1. Capacity and the identity trap")
    identity_trap(lesson)
    print("\n2. Unrolling the swiss roll")
    swiss_roll(lesson)
    print("\n3. t-SNE of the codes")
    tsne_of_codes(lesson)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
