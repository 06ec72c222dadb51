"""Lesson 08: stacked denoising autoencoders, what their codes are worth, and outlier detection by reconstruction error."""

# %% [markdown]
# # Lesson 08: stacked denoising autoencoders, what their codes are worth, and outlier detection
#
# A deep sigmoid autoencoder is hard to train from a random start. Greedy
# layer-wise pretraining builds it one shallow denoising autoencoder at a
# time, and fine-tuning then trains the whole stack end to end. We then ask
# two practical questions of the result: are its 64-number codes a good
# input for a classifier, and can its reconstruction error tell digits from
# things that are not digits?
#
# **You will learn** why gradients shrink through stacked sigmoids and how
# greedy pretraining sidesteps it (Bengio et al., 2007; Vincent et al., 2008);
# how to judge a representation by a linear read-out, against raw pixels and
# random projections; and how to use reconstruction error as an outlier
# score, with the ROC curve and its area derived as a ranking probability.
#
# **It assumes** lesson 02 (the MLP autoencoder, sigmoid units and the
# binary cross-entropy on logits of exercise 3) and lesson 03 (denoising
# autoencoders and masking noise, exercise 6).

# %%
import numpy as np

from tinyae.analysis.metrics import roc_auc, roc_curve
from tinyae.corruption import MaskingNoise, SaltAndPepper
from tinyae.course.judge import recognised_share
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import bars, curves, image_grid
from tinyae.course.plotting.outliers import (inputs_and_reconstructions, roc_curves,
                                             score_histograms)
from tinyae.data import load_mnist
from tinyae.models import SoftmaxClassifier, StackedAutoencoder
from tinyae.optim import Adam
from tinyae.train import fit

DTYPE = np.float32
SIZES = (784, 256, 64)
CLF_EPOCHS = 20
N_OUTLIER = 2000
lesson = Lesson("08_stacked_and_outliers", __doc__, epochs=5, full_epochs=20)

# %% [markdown]
# The default run trains on 20000 random training digits (all 60000 with
# `--full`, which also raises the epochs from 5 to 20) and tests on the
# 10000 test digits.

# %%
n_train = 60000 if lesson.full else 20000
x_all, y_all = load_mnist("train", dtype=DTYPE)
idx = lesson.rng.permutation(x_all.shape[0])[:n_train]
x_train, y_train = x_all[idx], y_all[idx]                   # (n_train, 784), (n_train,)
x_test, y_test = load_mnist("test", dtype=DTYPE)            # (10000, 784), (10000,)
lesson.report(f"{n_train} training digits, {x_test.shape[0]} test digits, float32")

# %% [markdown]
# ## 1. Why deep sigmoid stacks learn slowly, and greedy pretraining
#
# In a stack of sigmoid layers $h^{l+1} = \sigma(a^l)$, $a^l = h^l W_l + b_l$,
# backpropagation multiplies the gradient by one Jacobian per level:
#
# $$\frac{\partial L}{\partial h^{l}} = \Big(\frac{\partial L}{\partial h^{l+1}} \odot \sigma'(a^l)\Big) W_l^\top,
#   \qquad \sigma'(a) = \sigma(a)\big(1 - \sigma(a)\big) \le \tfrac14 .$$
#
# Taking norms, $\lVert \partial L / \partial h^{l} \rVert \le \tfrac14 \lVert W_l \rVert_2\,
# \lVert \partial L / \partial h^{l+1} \rVert$, so across $k$ levels the
# gradient reaching the first layer can shrink like $\prod_l \tfrac14 \lVert W_l \rVert_2$:
# with weights of moderate size, the first layers of a deep network barely move.
#
# Greedy pretraining avoids the deep gradient altogether. Train a one-layer
# denoising autoencoder $784 \to 256 \to 784$ on the pixels; keep its encoder;
# train a second one $256 \to 64 \to 256$ on the *clean* codes of the first.
# Each minimises the denoising loss of lesson 03,
#
# $$L_\text{DAE} = \mathbb{E}_{x}\, \mathbb{E}_{\tilde x \sim q(\tilde x \mid x)}
#   \Big[-\sum_d x_d \log \hat x_d + (1 - x_d) \log (1 - \hat x_d)\Big],
#   \qquad \hat x = g\big(f(\tilde x)\big),$$
#
# with $q$ masking noise (each input set to 0 with probability 0.25), and its
# gradient with respect to the output logits is simply $\hat x - x$
# (exercise 3). Each problem is shallow, so its gradient does not vanish. The
# codes of the second level lie in $(0, 1)$, so it too uses this loss.

# %%
sae = StackedAutoencoder(sizes=SIZES, activation="sigmoid", corruption=MaskingNoise(0.25),
                         rng=lesson.rng, dtype=DTYPE)
report = sae.pretrain(x_train, epochs=lesson.epochs, batch_size=64, lr=3e-3, rng=lesson.rng,
                      progress=lesson.progress)
for r in report:
    lesson.report(f"level {r['level']} {r['sizes'][0]} -> {r['sizes'][1]}: denoising loss "
                  f"{r['loss_before']:.1f} at random init -> {r['loss_after']:.1f}")

# %% [markdown]
# The first level's denoising loss falls from **551.1** at its random start to
# **73.4**; the second, which must reconstruct 256 codes rather than pixels,
# from **180.8** to **106.2**.

# %%
for r in report:
    lesson.claim(f"greedy pretraining of level {r['level']} cuts its loss to under 80% "
                 f"(after / before)", r["loss_after"] / r["loss_before"], lt=0.8)

# %% [markdown]
# ## 2. Unrolling and fine-tuning
#
# Stack the two encoders ($784 \to 256 \to 64$) and unroll them with the two
# decoders in mirror order ($64 \to 256 \to 784$). The deep autoencoder starts
# where the small ones left it, and fine-tuning trains all of it end to end
# on the denoising loss of the pixels. Its gradient is the ordinary MLP
# autoencoder's (lesson 02): nothing new to derive. The code of a digit is
# now the 64 activations in the middle.

# %%
loss_stacked = sae.reconstruction_loss(x_test)      # plain reconstruction of clean x
history = fit(sae, x_train, optimizer=Adam(sae.params, lr=1e-3), epochs=lesson.epochs,
              batch_size=64, rng=lesson.rng, progress=lesson.progress)
loss_tuned = sae.reconstruction_loss(x_test)
lesson.report(f"test reconstruction loss (BCE per image) of the unrolled stack: "
              f"{loss_stacked:.2f} as stacked, {loss_tuned:.2f} after fine-tuning")

# %%
lesson.save(curves({f"level {r['level']} ({r['sizes'][0]}->{r['sizes'][1]})":
                    r["history"]["loss"] for r in report}
                   | {"fine-tuning (whole stack)": history["loss"]},
                   ylabel="denoising loss per example (BCE)", logy=True,
                   title="greedy pretraining, then fine-tuning"), "training")

# %% [markdown]
# Each curve is a different problem, so compare slopes, not heights: the
# first level learns fast, the second more slowly (its targets are codes
# that are themselves still noisy), and the whole stack, already close to a
# good solution, improves steadily. On clean test digits the unrolled stack's
# loss goes from **87.23** before fine-tuning to **76.87** after.

# %%
lesson.claim("fine-tuning lowers the deep autoencoder's test loss (tuned / stacked)",
             loss_tuned / loss_stacked, lt=0.98)

# %%
W0 = sae.params["encoder.0.W"]                         # (784, 256): one filter per column
lesson.save(image_grid(W0[:, :64].T, rows=8, vmin=None, vmax=None,
                       row_labels=[f"units {i}-{i + 7}" for i in range(1, 65, 8)],
                       title="first-level filters, hidden units 1-64 of 256"), "filters")

# %% [markdown]
# Each tile is the 784 weights into one first-level hidden unit, scaled to its
# own range (black most negative, white most positive). After five epochs on
# 20000 digits many are still noisy, but some are already local: a dark or
# bright blob or short stroke at one place of the digit, the kind of detector
# masking noise encourages (Vincent et al., 2008), since a unit must
# be able to fill in a missing pixel from its neighbours.

# %%
shown = np.array([np.flatnonzero(y_test == d)[:2] for d in range(10)]).T.ravel()  # (20,)
recon = sae.reconstruct(x_test[shown])
blocks = [block[k:k + 10] for k in (0, 10) for block in (x_test[shown], recon)]
lesson.save(image_grid(np.concatenate(blocks), rows=4,
                       row_labels=["test digit", "reconstruction"] * 2,
                       col_labels=[str(d) for d in range(10)],
                       title="the fine-tuned stack: 784 -> 256 -> 64 -> 256 -> 784"),
            "reconstructions")

# %% [markdown]
# The first two test digits of each class and their reconstructions: through
# a 64-number code the stack keeps each digit and smooths its stroke; thin
# or unusual strokes come back thicker and more typical.

# %%
lesson.claim("share of the shown reconstructions the digit judge names as their input's "
             "digit", recognised_share(recon, y_test[shown]), gt=0.9)

# %% [markdown]
# ## 3. What the codes are worth: a linear read-out
#
# A representation is useful when a simple classifier can read the labels
# from it. We train the same softmax classifier (multinomial logistic
# regression, same budget) on three inputs: the 64 learned codes, the 784 raw
# pixels, and 64 random projections. For features $u$ (one row), logits
# $s = uW + b$ and $p = \mathrm{softmax}(s)$, its loss is
# $-\log p_y$, and since $\log p_y = s_y - \log \sum_j e^{s_j}$,
#
# $$\frac{\partial(-\log p_y)}{\partial s_k} = \frac{e^{s_k}}{\sum_j e^{s_j}} - [k = y] = p_k - [k = y]:$$
#
# the gradient is the predicted distribution minus the one-hot label, a
# convex problem whose optimum depends only on how linearly separable the
# features are. The random projection $u = x R$, with $R$ a $784 \times 64$
# matrix of independent $\mathcal N(0, 1)$ entries, keeps lengths on average,
# $\mathbb E \lVert x R \rVert^2 = \sum_j \mathbb E (x R_{:j})^2 = 64\, \lVert x \rVert^2$
# (and distances with high probability: Johnson and Lindenstrauss, 1984), but
# nothing makes it keep the directions along which the classes separate.
# Every feature set is standardised with its training mean and deviation.

# %%
def readout_accuracy(f_train, f_test):
    """Standardise with the training statistics, fit the softmax classifier
    for CLF_EPOCHS, return its test accuracy."""
    mean, std = f_train.mean(axis=0), f_train.std(axis=0) + 1e-2   # train statistics only
    f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
    clf = SoftmaxClassifier(n_in=f_train.shape[1], n_classes=10, rng=lesson.rng, dtype=DTYPE)
    fit(clf, (f_train, y_train), optimizer=Adam(clf.params, lr=1e-3), epochs=CLF_EPOCHS,
        batch_size=128, rng=lesson.rng, progress=lesson.progress)
    return clf.accuracy(f_test, y_test)


# %%
width = SIZES[-1]
R = lesson.rng.standard_normal((784, width)).astype(DTYPE)   # (784, 64) Gaussian projection
features = {f"SdA codes ({width})": (sae.encode(x_train), sae.encode(x_test)),
            "raw pixels (784)": (x_train, x_test),
            f"random projections ({width})": (x_train @ R, x_test @ R)}
accuracy = {}
for name, (f_train, f_test) in features.items():
    accuracy[name] = readout_accuracy(f_train, f_test)
    lesson.report(f"{name:<26s} test accuracy {accuracy[name]:.4f}")
acc_codes, acc_raw, acc_random = accuracy.values()

# %%
lesson.save(bars(accuracy, ylabel="test accuracy (softmax classifier)",
                 title="what a linear read-out finds"), "accuracy")

# %% [markdown]
# The bars look alike on a scale from 0 to 1; the printed accuracies tell
# them apart. A linear read-out of the 64 codes reaches **0.906**, close to
# the **0.918** of all 784 pixels, while 64 random projections reach only
# **0.856**: same width, learned from nothing.

# %%
lesson.claim(f"learned codes beat random projections of the same width ({width}) by more "
             f"than 2 points (accuracy difference)", acc_codes - acc_random, gt=0.02)
lesson.claim(f"{width} learned codes come within 3 points of all 784 pixels "
             f"(raw - codes accuracy)", acc_raw - acc_codes, lt=0.03)

# %% [markdown]
# ## 4. Outlier detection by reconstruction error
#
# An autoencoder reconstructs well only what resembles its training data, so
# the squared reconstruction error $s(x) = \sum_d (\hat x_d - x_d)^2$ is an
# outlier score that needs no labels and no density. We score 2000 held-out
# clean test digits (the negatives) and 2000 inputs of each of three kinds
# the model never saw (the positives): uniform noise images, inverted digits
# $1 - x$, and digits with 5% salt-and-pepper noise (about 20 stray white
# pixels on the background; the hardest of the three).
#
# Flag an input when $s \ge t$. As the threshold $t$ falls from $+\infty$,
# the ROC curve traces the false-positive rate $\mathrm{FPR}(t) = P(s_\text{neg} \ge t)$
# against the true-positive rate $\mathrm{TPR}(t) = P(s_\text{pos} \ge t)$. Its area is
#
# $$\mathrm{AUC} = \int_0^1 \mathrm{TPR}\; d\,\mathrm{FPR}
#   = \int P(s_\text{pos} \ge t)\, p_\text{neg}(t)\, dt = P(s_\text{pos} > s_\text{neg}),$$
#
# since $d\,\mathrm{FPR} = -p_\text{neg}(t)\,dt$ and the integral runs over
# every score a negative can have (ties count half). Ranks give it exactly:
# in the pooled sample, the rank of the $j$-th smallest positive is $j$ plus
# the number of negatives below it, so the rank sum of the positives is
# $R_\text{pos} = \tfrac{n_\text{pos}(n_\text{pos}+1)}{2} + n_\text{pos} n_\text{neg}\,\mathrm{AUC}$, that is
#
# $$\mathrm{AUC} = \frac{R_\text{pos} - n_\text{pos}(n_\text{pos} + 1)/2}{n_\text{pos}\, n_\text{neg}},$$
#
# the Mann-Whitney statistic (`tinyae.analysis.metrics.roc_auc`).

# %%
clean = x_test[:N_OUTLIER]                                 # negatives: held-out digits
other = x_test[N_OUTLIER:2 * N_OUTLIER]                    # different digits for positives
outliers = {"uniform noise": lesson.rng.random((N_OUTLIER, 784)).astype(DTYPE),
            "inverted digits (1 - x)": 1 - other,
            "salt-and-pepper 5%": SaltAndPepper(0.05)(other, lesson.rng)}
s_clean = sae.reconstruction_error(clean)                  # (N_OUTLIER,)
lesson.report(f"clean test digits: median score {np.median(s_clean):.1f}")
scores, rocs = {}, {}
for name, x_out in outliers.items():
    scores[name] = sae.reconstruction_error(x_out)
    fpr, tpr, _ = roc_curve(s_clean, scores[name])
    rocs[name] = (fpr, tpr, roc_auc(s_clean, scores[name]))
    lesson.report(f"{name:<26s} median score {np.median(scores[name]):7.1f}, "
                  f"AUC {rocs[name][2]:.4f}")

# %%
lesson.save(score_histograms(s_clean, scores, title="reconstruction error of the SdA"),
            "score_histograms")

# %% [markdown]
# On a log axis the clean digits' scores (median **9.1**) sit far left of
# uniform noise (**201.0**) and inverted digits (**566.2**), with no overlap.
# Salt-and-pepper digits (median **28.7**) overlap the clean digits' upper
# tail: a few stray pixels cost far less than a wrong image.

# %%
lesson.save(roc_curves(rocs, title="outlier detection by reconstruction error"), "roc")

# %% [markdown]
# Noise and inverted digits are separated perfectly (AUC 1: the curve goes
# straight up the left edge). For salt-and-pepper the curve bends just off
# the corner: an AUC of **0.994** means that a random salt-and-pepper digit
# outscores a random clean one 99.4% of the time.

# %%
for name, (_, _, auc) in rocs.items():
    lesson.claim(f"reconstruction error separates {name} from clean digits: AUC", auc,
                 gt=0.95)

# %%
pairs = {"clean digits": clean[:4]} | {name: x[:4] for name, x in outliers.items()}
pair_recon = {name: sae.reconstruct(x) for name, x in pairs.items()}
lesson.save(inputs_and_reconstructions({name: (x, pair_recon[name])
                                        for name, x in pairs.items()}), "outliers")

# %%
sp_name = "salt-and-pepper 5%"
sp_labels = y_test[N_OUTLIER:2 * N_OUTLIER]                # the digits under the noise
sp_all = recognised_share(sae.reconstruct(outliers[sp_name]), sp_labels)
sp_shown = recognised_share(pair_recon[sp_name], sp_labels[:4])
lesson.report(f"the digit judge names {sp_shown:.2f} of the 4 shown and {sp_all:.4f} of "
              f"all {N_OUTLIER} salt-and-pepper reconstructions as the digit under the noise")

# %% [markdown]
# The outliers' reconstructions show why they score high. Noise and
# inverted digits come back as the same grey digit-like smudge: the stack
# can only draw digits. The salt-and-pepper digits come back clean, as a
# denoising autoencoder should, so their score is mostly the stray pixels
# themselves. They stay recognisable: the digit judge names **0.75** of the
# 4 shown (it reads the second, a 5, as an 8) and **0.93** of all 2000 as
# the digit under the noise. The clean digits' reconstructions are
# recognisable too:

# %%
lesson.claim("share of the shown reconstructions of clean digits the digit judge names as "
             "their input's digit", recognised_share(pair_recon["clean digits"], y_test[:4]),
             gt=0.9)

# %% [markdown]
# ## Check your understanding
#
# 1. The second level's loss falls much less (from **180.8** to **106.2**)
#    than the first's. Its loss is a cross-entropy over 256 codes, not 784
#    pixels: why is neither number comparable with the first level's, and
#    what would you compare instead?
# 2. Build a fresh `StackedAutoencoder` with the same settings, skip
#    `pretrain`, and fine-tune it for the same 5 epochs (the cell of
#    section 2). Is its test loss above or below the pretrained stack's
#    **76.87**, and what do its first epochs look like?
# 3. The random-projection features have the same width as the codes. Set
#    `width` to 784 for `R` only (a random rotation-like map of the pixels):
#    what accuracy do you expect, and why?
# 4. Lower the salt-and-pepper rate from 5% to 1%. Which claim is the first
#    to be at risk, and which figure shows it coming?
#
# ## Exercises
#
# Exercise 14 (`ex14_softmax_xent.py`) asks for the softmax cross-entropy of
# section 3 and its gradient, safe for logits of $\pm 100$ and $\pm 1000$; its
# check trains softmax regression with it. **Try it**: replace
# the outlier score by PCA's. Fit `tinyae.models.PCA(64)` on `x_train`, score
# `clean` and the three outlier sets with `pca.reconstruction_error` per
# image (write the per-image version: `np.sum((pca.reconstruct(x) - x) ** 2,
# axis=1)`), and compute the three AUCs with `roc_auc`. Which outliers does
# the linear model catch as well as the stack, and which not? Explain the
# answer from what a 64-dimensional linear subspace can reconstruct.
#
# ## References
#
# - Bengio, Y., Lamblin, P., Popovici, D. and Larochelle, H. (2007). Greedy
#   layer-wise training of deep networks. *Advances in Neural Information
#   Processing Systems 19* (NIPS 2006), 153-160. The greedy layer-wise
#   procedure with auto-associators (autoencoders) in place of RBMs, then
#   supervised or unsupervised fine-tuning, and its comparison on MNIST with
#   a deep network trained from a random start (sections 1 and 2 here).
# - Vincent, P., Larochelle, H., Bengio, Y. and Manzagol, P.-A. (2008).
#   Extracting and composing robust features with denoising autoencoders.
#   *Proceedings of the 25th International Conference on Machine Learning*
#   (ICML), 1096-1103. The denoising autoencoder with masking noise, its
#   layer-wise initialisation and fine-tuning, and the first-level filters
#   it learns on MNIST.
#   The journal version, Vincent et al. (2010), *JMLR* 11, 3371-3408, extends
#   it (other corruptions, including salt-and-pepper noise).
# - Johnson, W. B. and Lindenstrauss, J. (1984). Extensions of Lipschitz
#   mappings into a Hilbert space. *Contemporary Mathematics* 26, 189-206.
#   The lemma that random projections keep distances (section 3 here).
# - Hanley, J. A. and McNeil, B. J. (1982). The meaning and use of the area
#   under a receiver operating characteristic (ROC) curve. *Radiology*
#   143(1), 29-36. The AUC as the probability that a positive outscores a
#   negative, equal to the Wilcoxon-Mann-Whitney statistic (section 4 here).
# - Hawkins, S., He, H., Williams, G. and Baxter, R. (2002). Outlier
#   detection using replicator neural networks. *Data Warehousing and
#   Knowledge Discovery* (DaWaK 2002), LNCS 2454, 170-180. Reconstruction
#   error of an autoencoder as the outlier score (section 4 here).

# %%
lesson.finish()
