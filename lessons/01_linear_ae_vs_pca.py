"""Lesson 01: a linear autoencoder learns the PCA subspace."""

# %% [markdown]
# # Lesson 01: a linear autoencoder learns the PCA subspace
#
# Squeeze each 784-pixel MNIST digit through a 30-number code with two
# matrices and train them by gradient descent on the squared error. Nothing
# in the training knows about eigenvectors, yet the network ends up doing
# exactly what principal component analysis (PCA) does in closed form.
#
# **You will learn** how PCA follows from one singular value decomposition
# and why its error is the sum of the discarded eigenvalues; the gradient of
# a linear autoencoder; why its minima are PCA's projection (Baldi and
# Hornik, 1989) but its weights are not PCA's components; how to compare two
# subspaces with principal angles; and what tying the decoder to the encoder
# changes.
#
# **It assumes** no earlier lesson (lesson 00's gradient checking helps but
# is not needed); matrix calculus at the level of
# $\partial\,\mathrm{tr}(A^\top X)/\partial X = A$; the singular value
# decomposition; and ideally exercise 1 (the linear layer, forward and
# backward), the layer this lesson's autoencoder is built from.

# %%
import time

import numpy as np

from tinyae.course.judge import recognised_share
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import curves, grids, image_grid
from tinyae.course.plotting.linear import angle_cosines, planes_3d
from tinyae.data import load_mnist
from tinyae.models import PCA, LinearAutoencoder, principal_angle_cosines
from tinyae.optim import Adam, cosine_decay
from tinyae.train import fit

N_CODE = 30
PCA30_HINTON = 13.87           # Hinton & Salakhutdinov (2006), PCA-30, MNIST test
lesson = Lesson("01_linear_ae_vs_pca", __doc__, epochs=6, full_epochs=20)

# %% [markdown]
# ## 1. PCA from one singular value decomposition
#
# Stack the $n = 60000$ training images as the rows of $X$ ($n \times 784$)
# and subtract the mean image, giving the centred $X_c$. Its SVD
# $X_c = U S V^\top$ diagonalises the covariance:
#
# $$C = \tfrac1n X_c^\top X_c = V \,\tfrac{S^2}{n}\, V^\top, \qquad \lambda_j = \tfrac{S_j^2}{n}.$$
#
# The columns of $V$ are the principal directions, ordered by the variance
# $\lambda_j$ along them. PCA with $k$ components keeps the first $k$,
# $V_k$ ($784 \times k$), and reconstructs an image by orthogonal projection,
# $\hat x = \bar x + (x - \bar x) V_k V_k^\top$. Its squared error per training image is
#
# $$\tfrac1n \lVert X_c - X_c V_k V_k^\top \rVert_F^2
#   = \tfrac1n \lVert U S V^\top (I - V_k V_k^\top) \rVert_F^2
#   = \tfrac1n \sum_{j>k} S_j^2 = \sum_{j>k} \lambda_j ,$$
#
# because $V^\top(I - V_k V_k^\top)$ keeps only rows $k+1, \dots, 784$ of
# $V^\top$ and $U$, $V$ preserve norms. By the Eckart-Young theorem no
# rank-$k$ reconstruction does better: the sum of the discarded eigenvalues
# is the floor for any linear code of size $k$.

# %%
x_train, _ = load_mnist("train", dtype=np.float32)          # (60000, 784) in [0, 1]
x_test, y_test = load_mnist("test", dtype=np.float32)       # (10000, 784), (10000,)
start = time.perf_counter()
pca = PCA(N_CODE).fit(x_train)
lesson.report(f"PCA-{N_CODE} by SVD of the centred 60000 x 784 training set: "
              f"{time.perf_counter() - start:.1f} s; the top {N_CODE} components "
              f"explain {100 * pca.explained_variance_ratio_.sum():.1f}% of the variance")
pca_test = pca.reconstruction_error(x_test)
pca_train = pca.reconstruction_error(x_train)
lesson.report(f"PCA-{N_CODE} training error {pca_train:.6f}, sum of the "
              f"{784 - N_CODE} discarded eigenvalues {pca.discarded_variance_:.6f}")

# %% [markdown]
# Thirty directions out of 784 keep **73.1**% of the pixel variance. The
# training error, **14.21** per image, is the sum of the 754 discarded
# eigenvalues to every printed digit, and the test error matches the PCA-30
# figure Hinton and Salakhutdinov (2006) report for MNIST, 13.87.

# %%
lesson.claim(f"PCA-{N_CODE} squared error per test image (Hinton & Salakhutdinov 2006)",
             pca_test, within=(PCA30_HINTON, 0.02))
lesson.claim("PCA training error / sum of the discarded eigenvalues",
             pca_train / pca.discarded_variance_, within=(1.0, 1e-6))

# %% [markdown]
# ## 2. A linear autoencoder and its gradient
#
# The autoencoder codes a centred image $x$ (a row) as $z = x W_e$
# ($W_e$: $784 \times 30$) and decodes it as $\hat x = z W_d$ ($W_d$:
# $30 \times 784$); with centred data it needs no biases. Its loss over a
# batch of $N$ rows is $L = \tfrac1N \lVert R \rVert_F^2$ with residual
# $R = X W_e W_d - X$. Take the differential:
#
# $$dL = \tfrac2N \mathrm{tr}\big(R^\top d\hat X\big), \qquad
#   d\hat X = Z\, dW_d + X\, dW_e\, W_d .$$
#
# Cycling each trace into the form $\mathrm{tr}(G^\top dW)$ reads off the gradients,
# which are exactly the linear layer's backward pass (exercise 1) applied twice:
#
# $$\frac{\partial L}{\partial W_d} = Z^\top \Big(\tfrac2N R\Big), \qquad
#   \frac{\partial L}{\partial W_e} = X^\top \Big(\tfrac2N R\Big) W_d^\top .$$
#
# Baldi and Hornik (1989) showed that this loss has no bad local minima:
# when the covariance's eigenvalues are distinct, every minimum has
# $W_e W_d = V_k V_k^\top$, PCA's projector, and every other critical point
# (a projector onto some other $k$ eigenvectors) is a saddle. So gradient
# descent should arrive at PCA's error. We train with Adam and a cosine
# learning-rate decay, and record the test error and the subspace after
# every epoch.

# %%
mean = pca.mean_.astype(np.float32)
xc_train, xc_test = x_train - mean, x_test - mean           # centred: no biases needed
pca_basis = pca.components_.T                               # V_k: (784, 30) orthonormal
P = pca.projector()                                         # V_k V_k^T: (784, 784)


def train_tracked(model, lr=5e-3):
    """Fit ``model`` on the centred images; per epoch, its test error and the
    smallest principal-angle cosine between its span and PCA's."""
    track = {"test error": [], "min cosine": []}

    def on_epoch(epoch, history):
        track["test error"].append(model.loss(xc_test))
        track["min cosine"].append(
            principal_angle_cosines(model.subspace(), pca_basis).min())

    start = time.perf_counter()
    fit(model, xc_train, optimizer=Adam(model.params, lr=lr), epochs=lesson.epochs,
        batch_size=256, rng=lesson.rng, progress=lesson.progress,
        lr_schedule=cosine_decay(lr, lesson.epochs), callback=on_epoch)
    lesson.report(f"{'tied' if model.tied else 'untied'} linear AE 784-{N_CODE}-784, "
                  f"Adam, {lesson.epochs} epochs: {time.perf_counter() - start:.1f} s; "
                  "test error by epoch " + " ".join(f"{e:.3f}" for e in track["test error"]))
    return track


# %%
ae = LinearAutoencoder(sizes=(784, N_CODE), tied=False, bias=False, rng=lesson.rng,
                       dtype=np.float32)
ae_track = train_tracked(ae)
ae_test = ae.loss(xc_test)
lesson.report(f"linear AE test error {ae_test:.4f} vs PCA {pca_test:.4f}")

# %% [markdown]
# ## 3. The same subspace: principal angles
#
# The autoencoder's reconstructions lie in the span of the rows of $W_d$,
# a 30-dimensional subspace of pixel space. To compare it with PCA's, take
# orthonormal bases $Q_A$ and $Q_B$ of the two subspaces (by QR). The
# principal angles $\theta_1 \le \dots \le \theta_{30}$ are defined one at a
# time: $\cos\theta_1$ is the largest $u^\top v$ over unit vectors
# $u \in \mathrm{span}(Q_A)$, $v \in \mathrm{span}(Q_B)$, the next is the largest
# over vectors orthogonal to those already used, and so on. Writing
# $u = Q_A a$, $v = Q_B b$ with unit $a$, $b$, this is
#
# $$\cos\theta_i = \max_{a, b}\; a^\top (Q_A^\top Q_B)\, b = \sigma_i(Q_A^\top Q_B),$$
#
# the singular values of a $30 \times 30$ matrix (Björck and Golub, 1973).
# All thirty cosines equal 1 exactly when the subspaces coincide; the
# smallest cosine is the worst direction.

# %%
cos_untied = principal_angle_cosines(ae.subspace(), pca_basis)      # (30,), descending
lesson.claim(f"untied linear AE vs PCA-{N_CODE}: smallest of the {N_CODE} "
             "principal-angle cosines", cos_untied.min(), gt=0.99)
lesson.claim("linear AE squared error per test image, relative to PCA's",
             ae_test / pca_test, rel_within=(1.0, 0.01))

# %% [markdown]
# After six epochs even the worst of the thirty directions has cosine
# **0.999** with PCA's subspace, and the test error is within a fraction of a
# percent of PCA's. The reconstructions themselves show it: below, the first
# two test digits of each class, each followed by its PCA-30 reconstruction
# and the autoencoder's.

# %%
shown = np.array([np.flatnonzero(y_test == d)[:2] for d in range(10)]).T.ravel()  # (20,)
recon_pca = np.clip(pca.reconstruct(x_test[shown]), 0, 1)
recon_ae = np.clip(ae.reconstruct(xc_test[shown]) + mean, 0, 1)
blocks = [block[k:k + 10] for k in (0, 10)
          for block in (x_test[shown], recon_pca, recon_ae)]       # 6 rows of 10
fig = image_grid(np.concatenate(blocks), rows=6,
                 row_labels=["test digit", f"PCA-{N_CODE}", "linear AE"] * 2,
                 col_labels=[str(d) for d in range(10)],
                 title="reconstructions from a 30-number code (columns: the digit)")

# %%
lesson.save(fig, "reconstructions")

# %% [markdown]
# In each block the two reconstruction rows are indistinguishable: blurred,
# with faint ghost strokes, because 30 linear directions cannot draw a sharp
# stroke anywhere. Most keep their digit's identity; the digit judge (a
# classifier trained on real digits, `tinyae.course.judge`) names **0.95** of
# the shown reconstructions as their input's digit. Look for the one it does
# not: the first 5, whose blurred lower stroke it reads as a 6 in both rows.

# %%
lesson.claim("share of the shown reconstructions the digit judge names as their input's "
             "digit", recognised_share(np.concatenate([recon_pca, recon_ae]),
                                       np.tile(y_test[shown], 2)), gt=0.9)

# %% [markdown]
# ## 4. Not the same basis: the rotation ambiguity
#
# What the autoencoder does *not* recover is the individual components. For
# any invertible $30 \times 30$ matrix $A$,
#
# $$(X W_e A)(A^{-1} W_d) = X W_e W_d ,$$
#
# so the pair $(W_e A, A^{-1} W_d)$ has the same loss, and the gradient
# has no reason to prefer orthonormal or variance-ordered rows. The decoder
# rows are some skewed basis of the principal subspace. We measure how far
# from orthonormal they are with $\lVert W_d W_d^\top - I \rVert_F$ (0 for
# orthonormal rows), and check that the reconstructions, $x W_e W_d$, are
# PCA's $x P$ all the same. (Only on the data: along pixels that never vary,
# such as the border, $W_e$ gets no gradient, since those columns of $X_c$
# are zero, and keeps its random initial values, so $W_e W_d \neq P$ as
# matrices.)

# %%
S = ae.subspace().astype(np.float64)                        # W_d^T: (784, 30)
gram_dev = np.linalg.norm(S.T @ S - np.eye(N_CODE))
diff = ae.reconstruct(xc_test).astype(np.float64) - (xc_test.astype(np.float64) @ P)
lesson.report(f"...yet the reconstructions agree with PCA's: squared difference "
              f"{np.mean(np.sum(diff ** 2, axis=1)):.4f} per test image "
              f"(vs an error of {pca_test:.2f})")
lesson.claim("untied decoder basis is not orthonormal: ||W_d W_d^T - I||_F",
             gram_dev, gt=0.5)

# %% [markdown]
# $\lVert W_d W_d^\top - I \rVert_F$ is **21.1**, far from the 0 of an
# orthonormal basis, yet the autoencoder's and PCA's reconstructions of a
# test image differ by a squared distance of only **0.0074**, against an
# error of 13.87 for either.

# %% [markdown]
# ## 5. Tying the decoder to the encoder
#
# Set $W_d = W^\top$ and $W_e = W$: one $784 \times 30$ matrix. The weight
# now enters twice, $\hat X = X W W^\top$, so its gradient has two terms,
# one through the encoder and one through the decoder:
#
# $$dL = \tfrac2N \mathrm{tr}\big(R^\top (X\, dW\, W^\top + X W\, dW^\top)\big)
#   \;\Rightarrow\;
#   \frac{\partial L}{\partial W} = \tfrac2N \big(X^\top R\, W + R^\top X W\big).$$
#
# At a minimum, Baldi and Hornik's result still gives $W W^\top = V_k V_k^\top$.
# The column space of $W$ is then that of $V_k$, so $W = V_k B$ for some
# $30 \times 30$ matrix $B$, and $V_k B B^\top V_k^\top = V_k V_k^\top$ forces
# $B B^\top = I$: $W = V_k R$ with $R$ a rotation, so $W$ has orthonormal columns
# and $W W^\top$ is exactly the projector $P$. Only the rotation is left free.
# The second gradient term also pulls the never-varying border pixels' rows
# of $W$ to zero, so here the identity holds as matrices.

# %%
tied = LinearAutoencoder(sizes=(784, N_CODE), tied=True, bias=False, rng=lesson.rng,
                         dtype=np.float32)
tied_track = train_tracked(tied)
W = tied.subspace().astype(np.float64)                      # W_e: (784, 30)
cos_tied = principal_angle_cosines(W, pca_basis)
lesson.report(f"tied: ||W^T W - I||_F = {np.linalg.norm(W.T @ W - np.eye(N_CODE)):.3f}, "
              f"smallest cosine {cos_tied.min():.4f}, test error "
              f"{tied.loss(xc_test):.4f}")

# %%
lesson.save(angle_cosines({"untied AE": cos_untied, "tied AE": cos_tied},
                          threshold=0.99,
                          title=f"principal angles: AE span vs PCA-{N_CODE}"),
            "angle_cosines")

# %% [markdown]
# Both curves stay close to 1 for all thirty angles, far above the claimed
# 0.99; the last few, the directions of smallest variance, are the slowest
# to settle.

# %%
lesson.save(curves({"untied AE (test)": ae_track["test error"],
                    "tied AE (test)": tied_track["test error"]},
                   ylabel="squared error per test image", references={
                       f"PCA-{N_CODE} {pca_test:.2f}": pca_test},
                   title="linear AE training"), "learning_curves")

# %% [markdown]
# Both test errors fall towards PCA's dashed line; the tied model starts
# higher and catches up in the last epochs as the learning rate decays. Its
# weights are now (nearly) orthonormal, so $W W^\top$ is close to PCA's
# projector $P$, whose own Frobenius norm is $\sqrt{30} \approx 5.48$: the
# distance is **0.18**.

# %%
lesson.claim("tied linear AE: ||W W^T - P||_F (P = PCA projector, ||P||_F = 5.48)",
             np.linalg.norm(W @ W.T - P), lt=0.25)

# %% [markdown]
# ## 6. Recovering the ordered components from the span
#
# The subspace is all the untied autoencoder learns, but it is enough to get
# the components back cheaply: orthonormalise the decoder rows ($S = Q R$ by
# QR), project the data onto them, $Y = X_c Q$ ($n \times 30$), and run PCA in
# those 30 coordinates, the eigendecomposition $\tfrac1n Y^\top Y = E \Lambda E^\top$.
# Since $\mathrm{span}(Q) = \mathrm{span}(V_k)$, the directions $Q E$ are
# PCA's components, in PCA's order (up to sign), at the cost of a
# $30 \times 30$ problem instead of a $784 \times 784$ one.

# %%
Q, _ = np.linalg.qr(S)                                      # (784, 30) orthonormal
Y = xc_train.astype(np.float64) @ Q                         # (60000, 30) coordinates
evals, evecs = np.linalg.eigh(Y.T @ Y / len(Y))             # ascending
recovered = (Q @ evecs[:, ::-1]).T                          # (30, 784), by variance
match = np.abs(np.sum(recovered * pca.components_, axis=1))
lesson.report("PCA within the AE's span recovers the components: |cos| with "
              "components 1-5: " + " ".join(f"{m:.4f}" for m in match[:5])
              + "; 26-30: " + " ".join(f"{m:.3f}" for m in match[-5:]))

# %%
signs = np.sign(np.sum(recovered * pca.components_, axis=1))[:, None]
lesson.save(grids({"PCA components (orthonormal, by variance)": pca.components_,
                   "untied AE decoder rows W_d (a skewed basis)": S.T,
                   "PCA inside the AE span": recovered * signs},
                  rows=5, vmin=None, vmax=None,
                  row_labels=[f"{i}-{i + 5}" for i in range(1, 31, 6)]), "filters")

# %% [markdown]
# Each 28 x 28 tile is one direction in pixel space (numbered row by row,
# 1-6 in the first row), scaled to its own range: black is its most negative
# pixel, white its most positive. The left panel is PCA's components, from
# broad blobs (component 1) to ever finer stroke patterns; the middle one the
# autoencoder's decoder rows, a mixture of them with no order; the right one
# the components recovered from the autoencoder's span, the same as the
# left, tile for tile.

# %% [markdown]
# ## 7. A picture in 3-D
#
# The same story in a space we can draw: 400 points near a tilted plane in
# 3-D, a 2-unit linear autoencoder (with biases, on raw data) trained full
# batch, and PCA's plane. The autoencoder's plane is
# $b_d + \mathrm{span}(W_d)$; we draw it through its point nearest the data
# mean.

# %%
toy_rng = np.random.default_rng(lesson.seed + 1)
normal = np.array([1.0, -2.0, 2.0]) / 3.0                   # the plane's normal
u = np.cross(normal, [0.0, 0.0, 1.0])
u /= np.linalg.norm(u)
v = np.cross(normal, u)
coef = toy_rng.normal(size=(400, 2)) * [2.0, 0.8]           # spread in the plane
toy = (np.array([1.0, 2.0, -1.0]) + coef[:, :1] * u + coef[:, 1:] * v
       + 0.15 * toy_rng.normal(size=(400, 1)) * normal)     # (400, 3)
toy_pca = PCA(2).fit(toy)
toy_ae = LinearAutoencoder(sizes=(3, 2), rng=toy_rng)       # with biases: raw data
opt = Adam(toy_ae.params, lr=0.02)
for _ in range(1500):                                       # full batch
    opt.step(toy_ae.loss_and_grad(toy)[1])
toy_cos = principal_angle_cosines(toy_ae.subspace(), toy_pca.components_.T)
lengths = np.linalg.norm(toy_ae.subspace(), axis=0)
cosine = abs(np.dot(*toy_ae.subspace().T)) / np.prod(lengths)
lesson.report(f"3-D toy: AE error {toy_ae.loss(toy):.5f}, PCA error "
              f"{toy_pca.reconstruction_error(toy):.5f}; decoder vectors have lengths "
              + ", ".join(f"{n:.2f}" for n in lengths) + f" and cosine {cosine:.2f}")

# %%
b_d = toy_ae.params["decoder.b"]
Qt, _ = np.linalg.qr(toy_ae.subspace())
ae_center = b_d + Qt @ (Qt.T @ (toy_pca.mean_ - b_d))
lesson.save(planes_3d(toy, center=toy_pca.mean_, pca_basis=toy_pca.components_.T,
                      ae_basis=toy_ae.subspace(), ae_center=ae_center,
                      title="PCA plane (blue) and 2-unit linear AE span (red)"),
            "toy_3d")

# %% [markdown]
# The red grid (the autoencoder's plane) lies on the blue one (PCA's). The
# arrows tell the two bases apart: PCA's blue ones are orthogonal and of unit
# length (scaled for drawing), while the autoencoder's red ones have lengths
# **1.58** and **0.84** and an angle whose cosine is **0.73**, a skewed basis
# of the same plane.

# %%
lesson.claim("3-D toy: smallest principal-angle cosine, 2-unit linear AE vs PCA plane",
             toy_cos.min(), gt=0.999)

# %% [markdown]
# ## Check your understanding
#
# 1. The PCA training error is the sum of the discarded eigenvalues, and
#    Eckart-Young says no rank-30 linear reconstruction of the training set
#    does better. Why does that guarantee say nothing about the test set,
#    and what do the two errors of section 1 tell you about how well the
#    training set's subspace fits new digits?
# 2. In section 4, replace `S` by `S @ A` for a random invertible
#    $30 \times 30$ matrix `A`. Which of the numbers printed in that section
#    and in section 6 change, and which cannot?
# 3. Run the lesson with `--epochs 2`. Which claims fail, which still hold,
#    and why is the test error a less sensitive test of "found PCA's
#    subspace" than the smallest principal-angle cosine?
# 4. The untied autoencoder's $W_e W_d$ differs from $P$ as a matrix, yet its
#    reconstructions agree with PCA's to **0.0074** per image. Which pixels
#    carry the difference, and why does the tied model not have it?
# 5. In the 3-D toy, set the in-plane spreads `[2.0, 0.8]` to `[1.0, 1.0]`.
#    Does PCA's plane stay well defined? Do its two components?
#
# ## Exercises
#
# Exercise 1, `ex01_linear.py` (`tinyae exercises start DIR`, then
# `tinyae exercises check 1`): write the linear layer's forward and backward
# pass, $dx = \text{dout}\,W^\top$, $dW = x^\top\text{dout}$,
# $db = \sum_n \text{dout}_n$. The autoencoder of this lesson is two such
# layers; its gradient in section 2 is that backward pass applied twice.
#
# ## References
#
# - Baldi, P. and Hornik, K. (1989). Neural networks and principal component
#   analysis: learning from examples without local minima. *Neural Networks*
#   2(1), 53-58. Their main result, as the abstract states it: the linear
#   autoencoder's mean squared error has one minimum (up to an invertible
#   $A$), the projection onto the top principal subspace, and every other
#   critical point is a saddle (sections 2 and 4 here).
# - Eckart, C. and Young, G. (1936). The approximation of one matrix by
#   another of lower rank. *Psychometrika* 1(3), 211-218. The best rank-$k$
#   approximation is the truncated SVD (section 1 here).
# - Björck, Å. and Golub, G. H. (1973). Numerical methods for computing angles
#   between linear subspaces. *Mathematics of Computation* 27(123), 579-594.
#   The recursive definition of the principal angles and their computation
#   as singular values after QR factorisations (section 3 here).
# - Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality
#   of data with neural networks. *Science* 313(5786), 504-507. The caption of
#   Fig. 2B: PCA-30's average squared error per MNIST test image, 13.87.
# - Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic
#   optimization. *ICLR*. Algorithm 1, the optimiser used here.
# - Loshchilov, I. and Hutter, F. (2017). SGDR: stochastic gradient descent
#   with warm restarts. *ICLR*. Equation 5, the cosine learning-rate decay
#   used here (one cycle, no restart).

# %%
lesson.finish()
