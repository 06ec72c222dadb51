"""Lesson 10: how good is a VAE as a density model? Importance-weighted bounds and the log-likelihood of binarised MNIST."""

# %% [markdown]
# # Lesson 10: the likelihood of a VAE
#
# **You will learn** why the ELBO cannot tell you a VAE's likelihood; how
# Burda, Grosse and Salakhutdinov's importance-weighted bounds
# $\mathcal L_k$ close the gap, and why they can only rise with $k$; how to
# compute $\mathcal L_{5000}$ without overflow or running out of memory (a
# running log-sum-exp); and how the standard benchmark, dynamically
# binarised MNIST, is set up, so that our number can be read beside the
# published one.
#
# **It assumes** lesson 06 (the VAE, its ELBO and the gap
# $\mathrm{KL}(q(z \mid x)\,\|\,p(z \mid x))$) and exercise 9. Exercise 10 goes
# with this lesson.
#
# Run it as a script with `python lessons/10_vae_likelihood.py` (3 epochs,
# $k$ up to 5000 on 200 test images) or `--full` (10 epochs, 1,000 test
# images: the faithful setting, which adds the claim on $-\mathcal L_{5000}$);
# `--epochs N` and `--eval full|default` choose the two independently.

# %%
import time

import numpy as np

from tinyae import fit
from tinyae.data import binarize_dynamic, load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import VAE
from tinyae.optim import Adam
from tinyae.course.plotting import curves
from tinyae.course.plotting.vae_extra import bound_vs_k

#: Burda et al. (2016), Table 1: VAE (k = 1), one stochastic layer, 3,280 passes.
BURDA_VAE_NLL = 86.76
#: The seed that binarises the test images once (fixed, independent of --seed).
TEST_BINARIZE_SEED = 2016
#: Evaluation settings: (number of test images, k values of -L_k).
EVALS = {"default": (200, (1, 5, 50, 500, 5000)),
         "full": (1000, (1, 5, 50, 500, 5000))}


def extra(parser):
    parser.add_argument("--eval", choices=sorted(EVALS), default=None,
                        help="evaluation size (default: 'default', with --full: 'full')")


lesson = Lesson("10_vae_likelihood", __doc__, epochs=3, full_epochs=10, extra=extra)

# %% [markdown]
# ## 1. The benchmark: dynamically binarised MNIST
#
# A likelihood is only comparable on the same data. The benchmark of Burda
# et al. (2016) models *binary* images: each training image is a fresh
# Bernoulli draw with the grey levels as probabilities, drawn again at every
# epoch (*dynamic* binarisation, `tinyae.data.binarize_dynamic`), so the
# model cannot memorise one fixed set of black-and-white pixels. The model is
# a VAE with two deterministic tanh layers of 200 units and 50 latent units
# (784-200-200-50, mirrored in the decoder) and a Bernoulli decoder.
#
# We evaluate on the first test images, binarised once with
# `np.random.default_rng(2016)` and not with `--seed`, so every run sees the
# same binary test set (the default evaluation takes a prefix, the first 200,
# of the same 1,000 images `--full` uses).

# %%
eval_name = lesson.args.eval or ("full" if lesson.full else "default")
n_eval, ks = EVALS[eval_name]
x_train, _ = load_mnist("train", dtype=np.float32)
x_test, _ = load_mnist("test", dtype=np.float32)
x_eval = binarize_dynamic(x_test[:1000], np.random.default_rng(TEST_BINARIZE_SEED))[:n_eval]
lesson.report(f"evaluation: '{eval_name}', first {n_eval} test images (binarised once "
              f"with default_rng({TEST_BINARIZE_SEED})), k in {ks}; {lesson.epochs} epochs")

# %% [markdown]
# ## 2. Training the model
#
# Training maximises the ELBO of lesson 06 with Adam (learning rate 1e-3) and
# batches of 20, as in Burda et al.; with batches of 100, ten epochs reached
# only $-\mathcal L_{5000} = 101.8$ in an earlier measurement, because each
# epoch takes five times fewer steps. Burda et al. train for 3,280 passes; we
# train for three, so expect to stand well above their number.

# %%
rng = lesson.rng
model = VAE(sizes=(784, 200, 200, 50), activation="tanh", likelihood="bernoulli",
            rng=rng, dtype=np.float32)
start = time.perf_counter()
history = fit(model, x_train, optimizer=Adam(model.params, lr=1e-3), epochs=lesson.epochs,
              batch_size=20, rng=rng, transform=binarize_dynamic,
              val=x_eval,          # already binary: binarize_dynamic leaves 0/1 unchanged
              progress=lesson.progress,
              callback=lambda e, h: lesson.report(
                  f"epoch {e}: train -ELBO {h['loss'][-1]:.2f}, test -ELBO "
                  f"{h['val_loss'][-1]:.2f} ({h['seconds'][-1]:.1f} s)"))
lesson.report(f"training took {time.perf_counter() - start:.1f} s")

# %%
refs = {f"Burda et al. 2016, 3,280 passes: {BURDA_VAE_NLL}": BURDA_VAE_NLL}
lesson.save(curves({"train -ELBO (dynamic binarisation)": history["loss"],
                    f"test -ELBO ({n_eval} images)": history["val_loss"]},
                   ylabel="-ELBO, nats per image", references=refs,
                   title="training curve"), "training_curve")

# %% [markdown]
# Both curves are still falling after three epochs and sit far above
# the dashed line of the published model: the gap to it is mostly training
# we have not done. What we can measure well here is the gap between the
# ELBO and the likelihood, which is the subject of the rest of the lesson.

# %% [markdown]
# ## 3. Importance-weighted bounds
#
# Draw $z_1, \dots, z_k$ independently from $q(z \mid x)$ and form the
# importance weights $w_i = p(x \mid z_i)\, p(z_i) / q(z_i \mid x)$. Each has
# mean $p(x)$:
#
# $$
# \mathbb E_q[w_i] = \int q(z \mid x)\, \frac{p(x \mid z)\, p(z)}{q(z \mid x)}\, dz = \int p(x, z)\, dz = p(x),
# $$
#
# and so has their average $\hat p_k = \frac1k \sum_i w_i$. Since $\log$ is
# concave, Jensen's inequality gives the bound
#
# $$
# \mathcal L_k(x) = \mathbb E\!\left[\log \frac1k \sum_{i=1}^k w_i\right] \le \log \mathbb E[\hat p_k] = \log p(x),
# $$
#
# and $\mathcal L_1 = \mathbb E_q[\log w] = \mathrm{ELBO}$. Why does it rise with
# $k$? The average of $k+1$ weights equals the mean, over the $k+1$ ways of
# leaving one out, of the averages of $k$ of them:
# $\hat p_{k+1} = \mathbb E_I\big[\frac1k \sum_{i \in I} w_i\big]$ with $I$ a
# uniformly chosen subset of size $k$. Jensen once more, inside:
#
# $$
# \mathcal L_{k+1} = \mathbb E\!\left[\log \mathbb E_I \frac1k \sum_{i \in I} w_i\right]
# \ge \mathbb E\!\left[\mathbb E_I \log \frac1k \sum_{i \in I} w_i\right] = \mathcal L_k .
# $$
#
# As $k \to \infty$, $\hat p_k \to p(x)$ (law of large numbers), so
# $\mathcal L_k \to \log p(x)$ when the weights are bounded (Burda et al.,
# Theorem 1). $-\mathcal L_{5000}$ is the number reported as a VAE's
# negative log-likelihood on MNIST.
#
# **Computing it.** The log weights are around $-100$ nats, and
# $e^{-100}$ is tiny but $e^{-1000}$ underflows to 0, so shift by the
# largest log weight $m = \max_i \log w_i$ before exponentiating:
#
# $$
# \log \frac1k \sum_i w_i = m + \log \sum_i e^{\log w_i - m} - \log k .
# $$
#
# Every exponent is now at most 0 and one term equals 1. To keep memory
# bounded, `VAE.iw_bound` draws the samples in chunks and keeps a running
# pair $(m, s)$, $s = \sum e^{\log w_i - m}$: a new chunk with maximum $m'$
# gives $m \leftarrow \max(m, m')$ and rescales the old sum by
# $e^{m_{\text{old}} - m}$ before adding the new terms. So $k = 5000$ needs no
# more memory than $k = 50$.

# %%
print(f"Bounds on log p(x): -ELBO and -L_k, k = {', '.join(map(str, ks))}")
start = time.perf_counter()
eval_rng = np.random.default_rng(lesson.seed + 1)
neg_elbo = -float(model.elbo(x_eval, rng=eval_rng, n_samples=10).mean())
neg_L = {}
for k in ks:
    t = time.perf_counter()
    neg_L[k] = -float(model.iw_bound(x_eval, k, rng=eval_rng).mean())
    lesson.report(f"-L_{k:<5d} = {neg_L[k]:8.3f} nats   ({time.perf_counter() - t:.1f} s)")
lesson.report(f"-ELBO   = {neg_elbo:8.3f} nats (closed-form KL, 10 draws of z per image)")
k_max = ks[-1]
nll = neg_L[k_max]
lesson.report(f"evaluation took {time.perf_counter() - start:.1f} s")

# %%
lesson.save(bound_vs_k(list(neg_L), list(neg_L.values()), neg_elbo=neg_elbo,
                       references=refs,
                       title=f"-L_k on {n_eval} binarised test images after "
                             f"{lesson.epochs} epochs"), "bound_vs_k")

# %% [markdown]
# The negative bound falls at every step of $k$, and by less at each
# tenfold step, as the estimate $\hat p_k$ settles: from **113.09** nats at
# $k = 1$ to **106.14** at $k = 5000$. The cross at $k = 1$ is the ELBO with
# its KL term computed in closed form, **113.10**: the same quantity as
# $-\mathcal L_1$ in expectation, estimated with less noise. So the encoder's
# Gaussian posterior costs this model several nats of bound; the dashed
# published line is still far below, for the reason the training curve
# showed.

# %%
lesson.claim("-L_1 - (-L_50) > 0 (importance weighting tightens the bound)",
             neg_L[1] - neg_L[50], gt=0.0)
lesson.claim("-ELBO (10 draws, closed-form KL) - (-L_50) > 0", neg_elbo - neg_L[50], gt=0.0)
lesson.claim(f"-L_50 - (-L_{k_max}) > 0 (more samples, tighter bound)",
             neg_L[50] - nll, gt=0.0)

# %% [markdown]
# ## 4. Beside the published number
#
# Burda et al. (2016, Table 1) report $-\mathcal L_{5000} = 86.76$ nats for
# this one-stochastic-layer VAE after 3,280 passes. With ten epochs and the
# full evaluation (`--full`), a reference run of this lesson gave 98.9 nats
# (97.95 in another), and the lesson then claims a value in [96, 102]. The
# default run does not make that claim: three epochs are not enough.

# %%
lesson.report(f"for perspective: Burda et al. (2016), same architecture, 3,280 passes: "
              f"-L_5000 = {BURDA_VAE_NLL} nats; this run: -L_{k_max} = {nll:.2f} after "
              f"{lesson.epochs} epochs ({nll - BURDA_VAE_NLL:+.2f} nats)")
if lesson.epochs == 10 and eval_name == "full":
    lesson.claim("-L_5000 after 10 epochs, first 1,000 test images, in [96, 102] nats "
                 "(reference run 98.9)", nll, within=(99.0, 3.0))
else:
    lesson.report(f"(the 96-102 nats claim needs 10 epochs and the full evaluation, i.e. "
                  f"--full; this run: {lesson.epochs} epochs, '{eval_name}' evaluation)")

# %% [markdown]
# ## Check your understanding
#
# 1. The printed $-\mathcal L_1$ and $-\mathrm{ELBO}$ estimate the same
#    quantity. Why do they differ slightly, and which would you trust more
#    on 200 images?
# 2. From the printed bounds, how much does each step of $k$ gain? If the gains kept shrinking at the same rate, roughly how far
#    above $\log p(x)$ would you guess $\mathcal L_{5000}$ still is?
# 3. Run with `--eval full` (and the default 3 epochs). Which printed
#    numbers change, and which claims could change their verdict?
# 4. Remove the max-shift from the log-sum-exp of section 3 in your head:
#    if every log weight of an image were about $-800$ nats, what would
#    $e^{\log w}$ be in float64, and what would $\mathcal L_k$ come out as?
# 5. The printed per-$k$ times grow roughly tenfold with $k$. Which part of
#    the work is proportional to $k$, and which is done once per image?

# %% [markdown]
# ## Exercises
#
# Exercise 10, `ex10_iw_bound.py` (`tinyae exercises start DIR`): write
# `iw_bound(log_w)`, the max-shifted log-sum-exp of section 3 for a
# `(k, batch)` array of log weights, returning $\mathcal L_k$ and the
# normalised weights $w_i / \sum_j w_j$, which are its gradient with respect
# to the log weights.
#
# ## References
#
# - Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted
#   autoencoders. *International Conference on Learning Representations
#   (ICLR)*. Section 3 (the bound $\mathcal L_k$, Theorem 1), Section 5 (the
#   benchmark: dynamically binarised MNIST, the 784-200-200-50 tanh
#   architecture, the training schedule of 3,280 passes, $k = 5000$ for
#   evaluation) and Table 1 (VAE, one stochastic layer: 86.76 nats).
# - Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes.
#   *ICLR*. Section 2.2 (the ELBO).

# %%
lesson.finish()
