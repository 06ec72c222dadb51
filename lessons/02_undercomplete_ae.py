"""Lesson 02: an undercomplete nonlinear autoencoder beats PCA at the same code width."""

# %% [markdown]
# # Lesson 02: an undercomplete nonlinear autoencoder beats PCA
#
# **You will learn** why a code narrower than the input stops an autoencoder
# from copying; why the best *linear* 30-number code is PCA, and what its
# error is in closed form; the Bernoulli cross-entropy on logits and its
# one-line gradient; how Adam and a cosine learning-rate decay train a
# 784-512-30-512-784 network in a few epochs of NumPy; and how a 2-number code
# of a nonlinear autoencoder separates digit classes that PCA-2 piles on top of
# each other.
#
# **It assumes** lesson 00 (gradient checking) and lesson 01 (a linear
# autoencoder learns the PCA subspace), and exercise 1 (the linear layer).
# Exercises 2, 3 and 5 go with this lesson.

# %%
import time

import numpy as np

from tinyae.data import load_mnist
from tinyae.course.judge import digit_judge, recognised_share
from tinyae.course.lesson import Lesson
from tinyae.models import PCA, MLPAutoencoder
from tinyae.optim import Adam, cosine_decay
from tinyae.course.plotting import curves, image_grid
from tinyae.course.plotting.linear import codes_2d
from tinyae.train import fit

N_CODE = 30
PCA30_HINTON = 13.87           # Hinton & Salakhutdinov (2006), PCA-30, MNIST test
DEEP_AE_HINTON = 3.00          # their pretrained 784-1000-500-250-30 autoencoder
N_2D_TRAIN = 20000             # training images for the 2-unit-code autoencoder
EPOCHS_2D = 8
N_KNN_TEST = 2000              # test codes classified by 5-NN among training codes
N_SHOWN = 20                   # test digits in the reconstruction figure

lesson = Lesson("02_undercomplete_ae", __doc__, epochs=6, full_epochs=40)

# %% [markdown]
# ## 1. Undercomplete: the code is narrower than the input
#
# An autoencoder is *undercomplete* when its code has fewer numbers than its
# input. Here each 784-pixel MNIST digit $x \in [0, 1]^{784}$ must pass through
# 30 numbers:
#
# $$
# \begin{aligned}
# h &= \mathrm{relu}(x W_1 + b_1) &&(512)\quad\text{encoder}\\
# z &= h W_2 + b_2 &&(30)\quad\text{the code}\\
# g &= \mathrm{relu}(z W_3 + b_3) &&(512)\quad\text{decoder}\\
# \hat x &= \sigma(g W_4 + b_4) &&(784)\quad\text{pixel probabilities.}
# \end{aligned}
# $$
#
# The network cannot copy its input through 30 numbers; it has to find the 30
# numbers from which a digit can be rebuilt best. We score a reconstruction by
# its squared error summed over the pixels, averaged over the $N$ test images,
#
# $$
# \mathrm{err} = \frac1N \sum_{n=1}^{N} \lVert \hat x_n - x_n \rVert^2,
# $$
#
# the number Hinton and Salakhutdinov (2006) report. Without the
# nonlinearities, lesson 01 showed, the best such network is PCA. Digits do not
# lie near a flat 30-dimensional subspace, though: slant, thickness and stroke
# shape change the pixels nonlinearly, so they lie near a *curved* surface. The
# decoder's image of $\mathbb{R}^{30}$ is such a curved surface, which is why
# the same 30 numbers can describe a digit far more accurately.

# %%
def squared_error(x_hat, x):
    """Squared error per image: (1/N) sum_n ||x_hat_n - x_n||^2, in float64.

    x_hat, x: (N, 784) -> float.
    """
    diff = x_hat.astype(np.float64) - x.astype(np.float64)   # (N, 784)
    return float(np.mean(np.sum(diff * diff, axis=1)))


x_train, y_train = load_mnist("train", dtype=np.float32)    # (60000, 784) in [0, 1]
x_test, y_test = load_mnist("test", dtype=np.float32)       # (10000, 784)

# %% [markdown]
# ## 2. The linear baseline: PCA-30 and its error in closed form
#
# Centre the training images, $X_c = X - \mathbf{1}\bar x^\top$, and take the
# singular value decomposition $X_c = U S V^\top$. The covariance
# $C = X_c^\top X_c / n$ has eigenvectors the columns of $V$ and eigenvalues
# $\lambda_j = S_j^2 / n$. A linear code of width $k$ followed by a linear
# decoder can at best project onto the principal subspace spanned by the first
# $k$ columns $V_k$ (Eckart and Young, 1936):
#
# $$
# \hat x = \bar x + (x - \bar x) V_k V_k^\top .
# $$
#
# Its training error then has a closed form. Since $X_c V = U S$ and the
# columns of $U$ are orthonormal,
#
# $$
# \frac1n \lVert X_c - X_c V_k V_k^\top \rVert_F^2
# = \frac1n \Big\lVert \sum_{j>k} S_j u_j v_j^\top \Big\rVert_F^2
# = \frac1n \sum_{j>k} S_j^2 = \sum_{j>k} \lambda_j ,
# $$
#
# the variance in the directions PCA throws away. On test images the error is
# measured directly; Hinton and Salakhutdinov report 13.87 for PCA-30.

# %%
start = time.perf_counter()
pca = PCA(N_CODE).fit(x_train)
pca_test = pca.reconstruction_error(x_test)
lesson.report(f"PCA-{N_CODE} fitted on the 60000 centred training images in "
              f"{time.perf_counter() - start:.1f} s; training error = sum of the discarded "
              f"eigenvalues = {pca.discarded_variance_:.2f} (of {pca.total_variance_:.2f}); "
              f"test error {pca_test:.2f}")

# %% [markdown]
# PCA-30 keeps about three quarters of the pixel variance; the rest, the sum
# of the discarded eigenvalues, is its training error, and the test error is
# close to it (the test digits happen to be a little easier).

# %%
lesson.claim(f"PCA-{N_CODE} squared error per test image (Hinton & Salakhutdinov 2006)",
             pca_test, within=(PCA30_HINTON, 0.02))

# %% [markdown]
# ## 3. Training the nonlinear autoencoder: loss, gradient, optimiser
#
# **The loss.** The decoder outputs logits $a = g W_4 + b_4$ and pixel
# probabilities $\hat x = \sigma(a)$. We read the grey level $t \in [0, 1]$ of
# each pixel as the target of a Bernoulli likelihood and minimise its negative
# log, per pixel
#
# $$
# \ell(a, t) = -t \log \sigma(a) - (1 - t) \log\big(1 - \sigma(a)\big).
# $$
#
# With $\log \sigma(a) = -\log(1 + e^{-a})$ and
# $\log(1 - \sigma(a)) = -a - \log(1 + e^{-a})$,
#
# $$
# \ell(a, t) = t \log(1 + e^{-a}) + (1 - t)\big(a + \log(1 + e^{-a})\big)
# = \log(1 + e^{a}) - t a = \mathrm{softplus}(a) - t a ,
# $$
#
# which is finite for every $a$ (no $\log 0$), and since
# $\mathrm{softplus}'(a) = \sigma(a)$,
#
# $$
# \frac{\partial \ell}{\partial a} = \sigma(a) - t = \hat x - t .
# $$
#
# The loss is summed over pixels and averaged over the batch of $N$, so
# $\partial L / \partial a_{nd} = (\hat x_{nd} - t_{nd}) / N$: the error signal
# that flows back through the decoder is simply prediction minus target. Each
# ReLU passes it on where its input was positive,
# $\partial\,\mathrm{relu}(u)/\partial u = [u > 0]$, and blocks it elsewhere.
#
# **The optimiser.** Adam (Kingma and Ba, 2015) keeps running means of the
# gradient $g_t$ and of its square, corrects their bias towards the zero start,
# and steps by their ratio:
#
# $$
# m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t,\quad
# v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,\quad
# \theta_t = \theta_{t-1} - \eta_e \frac{m_t / (1 - \beta_1^t)}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}.
# $$
#
# The learning rate of epoch $e$ of $E$ follows half a cosine from
# $\eta = 2 \times 10^{-3}$ towards 0 (Loshchilov and Hutter, 2017),
# $\eta_e = \tfrac{\eta}{2}\big(1 + \cos\tfrac{\pi (e - 1)}{E}\big)$, so the
# early epochs move fast and the last ones settle.

# %%
def train(model, x, *, epochs, lr, batch_size, rng, progress, on_epoch=None):
    """Adam with a cosine learning-rate decay from ``lr`` towards 0 over ``epochs``."""
    return fit(model, x, optimizer=Adam(model.params, lr=lr), epochs=epochs,
               batch_size=batch_size, rng=rng, progress=progress,
               lr_schedule=cosine_decay(lr, epochs), callback=on_epoch)


ae = MLPAutoencoder(sizes=(784, 512, N_CODE), activation="relu",
                    code_activation="identity", likelihood="bernoulli", rng=lesson.rng,
                    dtype=np.float32)
test_error = []                                             # after each epoch


def track(epoch, history):
    test_error.append(squared_error(ae.reconstruct(x_test), x_test))


# %%
start = time.perf_counter()
train(ae, x_train, epochs=lesson.epochs, lr=2e-3, batch_size=128,
      rng=lesson.rng, progress=lesson.progress, on_epoch=track)
ae_test = test_error[-1]
lesson.report(f"AE 784-512-{N_CODE}-512-784 (ReLU, linear code, Bernoulli output), "
              f"Adam 2e-3 cosine-decayed, batch 128, {lesson.epochs} epochs: "
              f"{time.perf_counter() - start:.1f} s; test squared error by epoch "
              + " ".join(f"{e:.3f}" for e in test_error))
lesson.report(f"for reference: Hinton & Salakhutdinov's pretrained 784-1000-500-250-"
              f"{N_CODE} AE reaches {DEEP_AE_HINTON:.2f}; ours is {ae_test:.3f} "
              f"({ae_test / DEEP_AE_HINTON:.2f}x theirs, {ae_test / pca_test:.2f} of PCA's)"
              + ("" if lesson.full else "; --full trains longer"))

# %%
lesson.save(curves({f"AE 784-512-{N_CODE} (test)": test_error},
                   ylabel="squared error per test image", references={
                       f"PCA-{N_CODE} {pca_test:.2f}": pca_test,
                       f"deep AE (2006) {DEEP_AE_HINTON:.2f}": DEEP_AE_HINTON},
                   title=f"{N_CODE}-unit code: nonlinear AE vs PCA"), "learning_curve")

# %% [markdown]
# The curve is below PCA's dashed line after the first epoch and still falling
# when the default run stops: six epochs reach **4.41**, **0.32** of PCA's
# error. The deep network of 2006 (784-1000-500-250-30, pretrained as a stack
# of RBMs) reached 3.00; `--full` (40 epochs) comes within about 10% of it with
# one hidden layer.

# %%
lesson.claim(f"AE-{N_CODE} squared error per test image", ae_test,
             lt=3.5 if lesson.full else 5.5)
lesson.claim(f"AE-{N_CODE} / PCA-{N_CODE} test squared error", ae_test / pca_test,
             lt=0.4)

# %% [markdown]
# ## 4. Looking at the reconstructions
#
# A smaller number is only worth having if the digits look right. A digit
# judge, a classifier trained on real MNIST digits (`tinyae.course.judge`),
# reads each reconstruction, and we count how often it names the input's
# digit. The judge errs too, on about 3% of clean test digits, so the figure
# shows the first 20 test digits it reads correctly when clean (top row),
# their PCA-30 projections and the autoencoder's reconstructions; the columns
# are labelled with the true digit.

# %%
readable = digit_judge().predict(x_test) == y_test          # (10000,) bool
show_idx = np.flatnonzero(readable)[:N_SHOWN]
lesson.report(f"the digit judge names {readable.mean():.4f} of the clean test digits; "
              f"skipped in the figure (misread even when clean): test digits "
              f"{np.flatnonzero(~readable[:show_idx[-1]]).tolist()}")
shown, shown_labels = x_test[show_idx], y_test[show_idx]
pca_shown = np.clip(pca.reconstruct(shown), 0, 1)
ae_shown = ae.reconstruct(shown)
lesson.save(image_grid(np.concatenate([shown, pca_shown, ae_shown]), rows=3,
                       row_labels=["test digit", f"PCA-{N_CODE} ({pca_test:.2f})",
                                   f"AE-{N_CODE} ({ae_test:.2f})"],
                       col_labels=[str(d) for d in shown_labels],
                       title="reconstructions (squared error per test image)"),
            "reconstructions")

# %% [markdown]
# PCA's projections are blurred: thin strokes are smeared into a grey halo, and
# the first 4 leans towards a 9. The autoencoder's strokes are sharp and keep
# each digit's shape. Blur is not yet confusion, though: the judge names every
# digit of both rows correctly (a share of **1.00** each).

# %%
lesson.claim("share of the shown AE-30 reconstructions the digit judge names as their "
             "input's digit", recognised_share(ae_shown, shown_labels), gt=0.9)
lesson.claim("share of the shown PCA-30 reconstructions the digit judge names as their "
             "input's digit", recognised_share(pca_shown, shown_labels), gt=0.9)

# %% [markdown]
# ## 5. Two numbers per digit: PCA-2 against a 784-256-64-2 autoencoder
#
# With a 2-unit code the difference is visible. PCA's components are nested,
# so PCA-2 is the first two coordinates of PCA-30: the two directions of
# largest pixel variance. A 784-256-64-2 autoencoder (the same recipe, trained
# on 20,000 images) can bend its two coordinates. We measure how well each
# code separates the classes with a $k$-nearest-neighbour vote ($k = 5$): a
# test code $z$ gets the digit most common among the 5 reference codes $z_i$
# closest to it,
#
# $$
# \hat y(z) = \arg\max_{c} \sum_{i \in \mathcal N_5(z)} [y_i = c], \qquad
# \lVert z - z_i \rVert^2 = \lVert z \rVert^2 - 2 z^\top z_i + \lVert z_i \rVert^2,
# $$
#
# the expansion letting one matrix product give all the distances.

# %%
def knn_accuracy(z_train, y_train, z_test, y_test, *, k=5, chunk=500):
    """Fraction of test codes whose k nearest training codes vote their label.

    z_train: (n, c), z_test: (m, c) codes; y_*: integer labels. Ties go to
    the smaller label.
    """
    correct = 0
    for start in range(0, len(z_test), chunk):
        q = z_test[start:start + chunk].astype(np.float64)            # (b, c)
        d2 = (np.sum(q * q, axis=1)[:, None] - 2 * q @ z_train.T
              + np.sum(z_train * z_train, axis=1)[None, :])          # (b, n)
        nearest = np.argpartition(d2, k, axis=1)[:, :k]               # (b, k)
        votes = np.eye(10)[y_train[nearest]].sum(axis=1)              # (b, 10)
        correct += int(np.sum(votes.argmax(axis=1) == y_test[start:start + chunk]))
    return correct / len(z_test)


def pca2_codes(pca, x):
    """PCA-2 codes, x: (N, 784) -> (N, 2): the first two PCA-30 coordinates."""
    return pca.transform(x)[:, :2]


# %%
rng2 = np.random.default_rng(lesson.seed + 1)
subset = rng2.choice(len(x_train), N_2D_TRAIN, replace=False)
ae2 = MLPAutoencoder(sizes=(784, 256, 64, 2), activation="relu",
                     code_activation="identity", likelihood="bernoulli", rng=rng2,
                     dtype=np.float32)
start = time.perf_counter()
train(ae2, x_train[subset], epochs=EPOCHS_2D, lr=5e-3, batch_size=128, rng=rng2,
      progress=lesson.progress)
V2 = pca.components_[:2]                                    # (2, 784) orthonormal
pca2_test = squared_error(pca2_codes(pca, x_test) @ V2 + pca.mean_, x_test)
lesson.report(f"AE 784-256-64-2 (Adam 5e-3) on {N_2D_TRAIN} training images, "
              f"{EPOCHS_2D} epochs: {time.perf_counter() - start:.1f} s; test squared error "
              f"{squared_error(ae2.reconstruct(x_test), x_test):.2f} vs PCA-2 {pca2_test:.2f}")

# %%
x_ref, y_ref = x_train[subset[:10000]], y_train[subset[:10000]]   # labelled codes
x_q, y_q = x_test[:N_KNN_TEST], y_test[:N_KNN_TEST]               # queries
acc_pca2 = knn_accuracy(pca2_codes(pca, x_ref), y_ref, pca2_codes(pca, x_q), y_q)
acc_ae2 = knn_accuracy(ae2.encode(x_ref), y_ref, ae2.encode(x_q), y_q)
lesson.report(f"5-NN digit accuracy on 2-D codes ({N_KNN_TEST} test digits): "
              f"PCA-2 {acc_pca2:.3f}, AE-2 {acc_ae2:.3f}")

# %%
lesson.save(codes_2d({f"PCA-2 (5-NN accuracy {acc_pca2:.2f})": pca2_codes(pca, x_q),
                      f"AE 784-256-64-2 (5-NN accuracy {acc_ae2:.2f})": ae2.encode(x_q)},
                     y_q, title=f"2-D codes of {N_KNN_TEST} test digits"), "codes_2d")

# %% [markdown]
# In PCA-2 only the 1s (orange) and, less cleanly, the 0s (blue) have a region
# of their own; the other classes overlap in the middle, and 5-NN names
# **0.41** of the test digits correctly. The autoencoder pulls the 1s, 0s, 6s
# and 7s out into arms of their own and reaches **0.66**. Each panel has its
# own scale: the units of two different codes are not comparable.

# %%
lesson.claim("5-NN accuracy on 2-D codes, AE-2 minus PCA-2", acc_ae2 - acc_pca2,
             gt=0.15)

# %% [markdown]
# ## Check your understanding
#
# 1. The PCA cell reports the training error as the sum of the discarded
#    eigenvalues. Refit with `PCA(60)` in that cell: by how much does the test
#    error fall, and is the 30-unit autoencoder still better than PCA with
#    twice as many numbers?
# 2. Look at the per-epoch test errors the training cell reports. How much did
#    the last epoch gain compared with the first two, and what does the cosine
#    schedule have to do with it?
# 3. Section 3 shows that $\partial \ell / \partial a = \hat x - t$. What is
#    the gradient at a pixel that is exactly 0 in the target when the network
#    predicts $\hat x = 0.01$, and why does a squared error on $\hat x$ give a
#    much smaller signal there?
# 4. Replace `code_activation="identity"` by `"relu"` in the cell that builds
#    `ae` and rerun it: which claim moves, and why might a ReLU code lose
#    capacity?
# 5. In the 2-D figure, which digit classes does the autoencoder still mix,
#    and does that agree with which digits look alike?
#
# ## Exercises
#
# Start them with `tinyae exercises start DIR`.
#
# * Exercise 2, `ex02_activations.py`: the forward and backward passes of
#   sigmoid, tanh and ReLU, the nonlinearities that bend this lesson's code
#   space.
# * Exercise 3, `ex03_bce_logits.py`: the binary cross-entropy on logits of
#   section 3, written so that it never takes $\log 0$, with its gradient
#   $(\sigma(a) - t)/N$.
# * Exercise 5, `ex05_adam.py`: Adam's update in place, with the bias
#   correction of section 3.
#
# ## References
#
# * Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality
#   of data with neural networks. *Science* 313(5786), 504-507. The caption
#   of Fig. 2B: average squared reconstruction errors on MNIST test images,
#   3.00 for their pretrained 30-dimensional autoencoder (784-1000-500-250-30,
#   in the text) and 13.87 for PCA-30.
# * Eckart, C. and Young, G. (1936). The approximation of one matrix by another
#   of lower rank. *Psychometrika* 1(3), 211-218 (the best rank-$k$
#   approximation; section 2 here).
# * Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic
#   optimization. *ICLR*. Algorithm 1 (the update and its bias correction).
# * Loshchilov, I. and Hutter, F. (2017). SGDR: stochastic gradient descent
#   with warm restarts. *ICLR*. Equation 5 (the cosine schedule; used here
#   without restarts).
# * Goodfellow, I., Bengio, Y. and Courville, A. (2016). *Deep Learning*. MIT
#   Press. Section 14.1 (undercomplete autoencoders; a linear decoder with
#   squared error learns the PCA subspace).

# %%
lesson.finish()
