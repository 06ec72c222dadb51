"""Lesson 07: the beta-VAE as a rate-distortion trade-off, and a conditional VAE that writes the digit it is asked for."""

# %% [markdown]
# # Lesson 07: the beta-VAE and the conditional VAE
#
# **You will learn** how the VAE's bound splits into a *rate* (the nats the
# code carries) and a *distortion* (the nats lost reconstructing), why the
# ELBO alone cannot choose between models on the line rate + distortion =
# constant, what the weight $\beta$ of the beta-VAE buys, why latent units
# collapse to the prior as $\beta$ grows, and how a conditional VAE separates
# a digit's identity (the label) from its style (the code).
#
# **It assumes** lesson 06 (the ELBO, the Gaussian KL, the reparameterisation
# trick) and exercise 9.
#
# Run it as a script with `python lessons/07_beta_and_conditional_vae.py`
# (under a minute on a quiet machine) or `--full` (the sweep on all 60,000
# training images, 10 epochs for every model); `--cvae-latent N` sets the
# conditional VAE's code size (default 2).

# %%
import time

import numpy as np
from scipy.stats import spearmanr

from tinyae import fit
from tinyae.data import load_mnist
from tinyae.course.judge import digit_judge, recognised_share
from tinyae.course.lesson import Lesson
from tinyae.models import VAE, ConditionalVAE
from tinyae.optim import Adam
from tinyae.course.plotting.vae_extra import active_units_vs_beta, rate_distortion, rows_by_label
from tinyae.train import evaluate

DTYPE = np.float32
BETAS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
HIDDEN, LATENT = (256,), 16            # small fast models: 784-256-16, ReLU, Bernoulli
N_SWEEP = 20_000                       # training images per beta (default run)
LR, BATCH = 2e-3, 64                   # Adam; measured: with lr 1e-3 and batch 128,
#   3 epochs left all 16 units of the beta = 8 model above the 0.01 threshold
#   (unused units die slowly: their A_d decays over many steps), so we take
#   more, larger steps
N_PER_LABEL, N_SHOWN = 100, 12         # CVAE samples classified per label / drawn
CVAE_BETA = 2.0                        # see section 4: fewer prior draws off-class


def extra_flags(parser):
    parser.add_argument("--cvae-latent", type=int, default=2,
                        help="latent size of the conditional VAE (default 2; try 16)")


def onehot(labels):
    """labels: (n,) ints in [0, 10) -> (n, 10) one-hot rows in DTYPE."""
    return np.eye(10, dtype=DTYPE)[labels]


lesson = Lesson("07_beta_and_conditional_vae", __doc__, epochs=4, full_epochs=10,
                extra=extra_flags)
label_epochs = 10 if lesson.full else 4        # the conditional VAE (section 4)
x_train, y_train = load_mnist("train", dtype=DTYPE)
x_test, y_test = load_mnist("test", dtype=DTYPE)

# %% [markdown]
# ## 1. Rate and distortion
#
# Average lesson 06's bound over the data and give its two terms names
# (Alemi et al., 2018):
#
# $$
# D = \mathbb E_x\, \mathbb E_{q(z \mid x)}\big[-\log p(x \mid z)\big], \qquad
# R = \mathbb E_x\, \mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big), \qquad
# \mathbb E_x[\mathrm{ELBO}(x)] = -(D + R).
# $$
#
# The *distortion* $D$ is the nats lost in reconstructing $x$ from its code,
# the *rate* $R$ the nats the code carries about $x$. Maximising the ELBO
# fixes only their sum: every model on a line $D + R = \text{const}$ has the
# same bound, whether it uses $z$ a lot or not at all. The beta-VAE (Higgins
# et al., 2017) minimises $D + \beta R$ instead. Read it as a Lagrangian:
# to minimise $D$ subject to $R \le R_0$, minimise $D + \beta (R - R_0)$, so
# $\beta$ is the price of one nat of rate in nats of distortion. On the best
# achievable curve $D(R)$, the optimum for a given $\beta$ is where the
# derivative of $D(R) + \beta R$ vanishes:
#
# $$
# D'(R) = -\beta .
# $$
#
# There is a check we can make with finitely many models. If $(R_1, D_1)$
# minimises $D + \beta_1 R$ and $(R_2, D_2)$ minimises $D + \beta_2 R$, with
# $\beta_1 < \beta_2$, then each beats the other at its own price:
# $D_1 + \beta_1 R_1 \le D_2 + \beta_1 R_2$ and
# $D_2 + \beta_2 R_2 \le D_1 + \beta_2 R_1$. Rearranged, with $R_1 > R_2$,
#
# $$
# \beta_1 \;\le\; \frac{D_2 - D_1}{R_1 - R_2} \;\le\; \beta_2 :
# $$
#
# the distortion paid per nat of rate given up lies between the two prices.
# We train one 784-256-16 VAE per $\beta$ on 20,000 training images and
# measure $R$ and $D$ on the 10,000 test images, with one $z \sim q(z \mid x)$
# per image.

# %%
rng = lesson.rng
n_sweep = x_train.shape[0] if lesson.full else N_SWEEP
print(f"beta-VAE 784-{HIDDEN[0]}-{LATENT} (ReLU, Bernoulli), Adam lr {LR:g}, batch {BATCH}, "
      f"{lesson.epochs} epochs on {n_sweep} training images per beta; rate and distortion "
      f"on the 10,000 test images")
subset = x_train[rng.permutation(x_train.shape[0])[:n_sweep]]
rates, distortions, active = [], [], []
for beta in BETAS:
    start = time.perf_counter()
    model = VAE(sizes=(784, *HIDDEN, LATENT), beta=beta, rng=rng, dtype=DTYPE)
    fit(model, subset, optimizer=Adam(model.params, lr=LR), epochs=lesson.epochs,
        batch_size=BATCH, rng=rng, progress=lesson.progress)
    # one z ~ q(z|x) per test image (a fixed generator): D = mean -log p(x|z),
    # R = mean closed-form KL, both in nats per image
    _, stats = evaluate(model, x_test, rng=np.random.default_rng([lesson.seed, 7]))
    count, _ = model.active_units(x_test)
    rates.append(stats["kl"])
    distortions.append(stats["recon"])
    active.append(count)
    lesson.report(f"beta {beta:5.2f}: rate R {stats['kl']:6.2f}, distortion D "
                  f"{stats['recon']:7.2f}, R + D {stats['kl'] + stats['recon']:7.2f}, "
                  f"active units {count:2d}/{LATENT}  ({time.perf_counter() - start:.1f} s)")
rates, distortions = np.array(rates), np.array(distortions)

# %%
best = BETAS[int(np.argmin(rates + distortions))]
lesson.report(f"lowest R + D (= -ELBO) at beta {best:g}; Spearman rank correlation with "
              f"beta: rate {spearmanr(BETAS, rates)[0]:+.3f}, distortion "
              f"{spearmanr(BETAS, distortions)[0]:+.3f}")
price = -np.diff(distortions) / np.diff(rates)       # (D2 - D1) / (R1 - R2) per step
for b1, b2, p in zip(BETAS, BETAS[1:], price):
    lesson.report(f"beta {b1:g} -> {b2:g}: {p:.2f} nats of distortion per nat of rate "
                  f"(between the prices {b1:g} and {b2:g}: {b1 <= p <= b2})")
lesson.save(rate_distortion(rates, distortions, BETAS,
                            title=f"beta-VAE 784-{HIDDEN[0]}-{LATENT} on MNIST (test set); "
                                  f"dotted: R + D constant"), "rate_distortion")

# %% [markdown]
# Each point is one model; $\beta$ grows from the bottom right to the top
# left. The dotted lines are lines of constant $R + D$, that is, of constant
# ELBO: the $\beta = 1$ model touches the lowest one, as it should, since it
# alone maximises the ELBO. The curve is convex and steepens with $\beta$: from
# $\beta = 1$ to $\beta = 2$ each nat of rate given up costs **1.76** nats of
# distortion, between the two prices, and the printed table shows the same
# for every step.

# %%
# strict monotonicity, measured step by step: every doubling of beta lowers the
# rate and raises the distortion (checked for seeds 0, 1 and 2)
lesson.claim("rate falls at every doubling of beta: largest change of R between "
             "adjacent betas (nats, < 0)", np.diff(rates).max(), lt=0.0)
lesson.claim("distortion rises at every doubling of beta: smallest change of D "
             "between adjacent betas (nats, > 0)", np.diff(distortions).min(), gt=0.0)

# %% [markdown]
# ## 2. Posterior collapse
#
# The KL is a sum over latent units, and lesson 06 gave each unit's term:
# $\tfrac12(\sigma_d^2 + \mu_d^2 - 1 - \log \sigma_d^2)$. It is zero exactly when
# $\mu_d = 0$ and $\sigma_d = 1$: $\sigma^2 - 1 - \log\sigma^2 \ge 0$ with
# equality only at $\sigma^2 = 1$ (the tangent of $\log$ at 1 lies above it).
# A unit earns its place only if the distortion it saves is worth more than
# $\beta$ times the nats it costs. If not, the cheapest choice is
# $q(z_d \mid x) = p(z_d) = \mathcal N(0, 1)$ for every $x$: its KL is 0, its
# mean no longer depends on $x$, and the decoder learns to ignore it. Burda
# et al. (2016) call unit $d$ *active* when
#
# $$
# A_d = \mathrm{Var}_x\!\big(\mathbb E_{q(z \mid x)}[z_d]\big) = \mathrm{Var}_x\big(\mu_d(x)\big) > 0.01 .
# $$

# %%
lesson.save(active_units_vs_beta(BETAS, active, latent=LATENT), "active_units")

# %% [markdown]
# Up to $\beta = 2$ all 16 units are in use; beyond, units collapse, and at
# $\beta = 8$ only **10** remain active: the price of rate is high enough that
# six units are not worth their nats.

# %%
lesson.claim(f"posterior collapse: active units at beta {BETAS[-1]:g} minus at beta "
             f"{BETAS[0]:g} ({active[-1]} vs {active[0]})", active[-1] - active[0], lt=0)

# %% [markdown]
# ## 3. A judge of digits
#
# To ask whether a generated image "is a 7" we need a reader that does not
# tire. The course's digit judge (`tinyae.course.judge`) is a softmax
# classifier 784-200-10 trained on the 60,000 real training digits only; it
# never sees a generated image. It is trained once per process and kept.

# %%
start = time.perf_counter()
judge = digit_judge(0)                     # the judge recognised_share uses
acc = judge.accuracy(x_test, y_test)
lesson.report(f"digit judge 784-200-10 trained on the real training digits: test accuracy "
              f"{acc:.4f} ({time.perf_counter() - start:.1f} s)")
lesson.claim("classifier accuracy on the 10,000 real test digits", acc, gt=0.95)

# %% [markdown]
# ## 4. Content and style: the conditional VAE
#
# A conditional VAE (Sohn et al., 2015) gives the label $c$ to both networks,
# $q(z \mid x, c)$ and $p(x \mid z, c)$, with the prior $p(z) = \mathcal N(0, I)$
# as before. Its bound is lesson 06's, conditioned on $c$ throughout:
#
# $$
# \log p(x \mid c) \;\ge\; \mathbb E_{q(z \mid x, c)}[\log p(x \mid z, c)] - \mathrm{KL}\big(q(z \mid x, c)\,\|\,p(z)\big).
# $$
#
# The decoder already knows which digit to draw, so rate spent on the digit's
# identity would be wasted: $z$ is left to carry what the label does not
# say, the *style* (slant, stroke width, size). Fix $c$ and draw
# $z \sim \mathcal N(0, I)$: a digit of class $c$ in a random style. Fix $z$
# and change $c$: the same style, another digit.
#
# The separation is not automatic. The encoder sees $x$, so $z$ *can* carry
# the identity too, and early in training it does. Two knobs from sections 1
# and 2 push identity out of $z$. A small code (2 units here) has no room for
# both identity and style. A $\beta$ above 1 (2 here) makes rate expensive,
# so the nats of identity that $c$ supplies for free are not paid for twice,
# and it pulls each class's codes towards the prior, so that a draw
# $z \sim \mathcal N(0, I)$ lands where the decoder has learned to write every
# digit.

# %%
cvae_latent = lesson.args.cvae_latent
print(f"ConditionalVAE 784-{HIDDEN[0]}-{cvae_latent} with one-hot labels (n_cond=10), "
      f"beta {CVAE_BETA:g}, Adam lr {LR:g}, batch {BATCH}, on the 60,000 training digits, "
      f"{label_epochs} epochs")
start = time.perf_counter()
cvae = ConditionalVAE(sizes=(784, *HIDDEN, cvae_latent), n_cond=10, beta=CVAE_BETA,
                      rng=rng, dtype=DTYPE)
fit(cvae, (x_train, onehot(y_train)), optimizer=Adam(cvae.params, lr=LR),
    epochs=label_epochs, batch_size=BATCH, rng=rng, progress=lesson.progress)
_, stats = evaluate(cvae, (x_test, onehot(y_test)), rng=np.random.default_rng([lesson.seed, 8]))
lesson.report(f"test: rate {stats['kl']:.2f}, distortion {stats['recon']:.2f} nats; "
              f"{time.perf_counter() - start:.1f} s")

# %% [markdown]
# Now the test. We draw 100 codes $z \sim \mathcal N(0, I)$ and decode each of
# them with every one of the ten labels, then ask the judge which digit each
# of the 1,000 images shows.

# %%
# the same N_PER_LABEL prior draws z for every label: column j of the figure
# is one style written as each digit (for each label the draws are iid N(0, I))
z = np.random.default_rng([lesson.seed, 9]).standard_normal((N_PER_LABEL, cvae_latent),
                                                           dtype=DTYPE)
labels = np.repeat(np.arange(10), N_PER_LABEL)                        # label-major
samples = cvae.decode(np.tile(z, (10, 1)), onehot(labels))            # (1000, 784) means
hit = (judge.predict(samples) == labels).reshape(10, N_PER_LABEL)     # row = label
per_label = hit.mean(axis=1)
lesson.report("fraction classified as the requested label: "
              + ", ".join(f"{d}: {r:.2f}" for d, r in enumerate(per_label))
              + f"; mean {per_label.mean():.3f}")
lesson.claim(f"CVAE samples classified as the label they were generated for: the "
             f"worst label's rate ({N_PER_LABEL} samples per label; worst is "
             f"{int(np.argmin(per_label))})", per_label.min(), gt=0.9)

# %%
shown = samples.reshape(10, N_PER_LABEL, 784)[:, :N_SHOWN].reshape(-1, 784)
shown_labels = np.repeat(np.arange(10), N_SHOWN)
lesson.save(rows_by_label(shown, 10, col_labels=[f"z{j + 1}" for j in range(N_SHOWN)],
                          title="CVAE: row = requested label, column = one z ~ N(0, I) "
                                "(one style)"), "cvae_samples")

# %% [markdown]
# Read the grid by columns: each column is one code $z$, written as each of
# the ten digits, and the style (slant, width, thickness) stays with the
# column while the identity follows the row. A wide, round style may have no
# good "1": the label whose styles cover the least of the prior is usually
# the weakest.

# %%
lesson.claim("share of the shown CVAE samples the digit judge names as the label asked "
             "for", recognised_share(shown, shown_labels), gt=0.9)

# %% [markdown]
# ## Check your understanding
#
# 1. From the printed rate and distortion of the six models, which $\beta$ has
#    the best ELBO? Could a model with a *higher* ELBO have a worse
#    reconstruction than the $\beta = 0.25$ model? Use the identity
#    $\mathbb E_x[\mathrm{ELBO}] = -(D + R)$.
# 2. Check the bracket of section 1 on the printed table: does every step's
#    price lie between its two $\beta$s? What would it mean for training if
#    one did not?
# 3. Why does the number of active units fall only above $\beta = 2$, when
#    the rate falls at every step of the sweep? (Think about what a unit
#    that is kept but used less looks like in $A_d$.)
# 4. Rerun with `--cvae-latent 16`. Which label's
#    rate drops, and what does that tell you about what $z$ now carries?
# 5. The conditional VAE's test rate is **3.38** nats, the sweep's
#    $\beta = 2$ model's **15.08**, though both were trained with
#    $\beta = 2$. Give two reasons the conditional model's code carries so
#    much less.

# %% [markdown]
# ## Exercises
#
# Exercise 13 (`ex13_beta_vae_loss.py`) asks for the beta-VAE's loss for a
# Bernoulli decoder, $D + \beta R$, and its gradients with respect to the
# logits, $\mu$ and logvar; its check trains a small conditional VAE with
# it. **Try it:** add one more model to the sweep, at
# $\beta = 16$, by extending `BETAS` in the first code cell. Predict, before
# running, whether its rate falls below the $\beta = 8$ model's, its
# number of active units, and where its point falls on the rate-distortion
# figure; then check the price bracket of section 1 for the new step.
#
# ## References
#
# - Alemi, A. A., Poole, B., Fischer, I., Dillon, J. V., Saurous, R. A. and
#   Murphy, K. (2018). Fixing a broken ELBO. *International Conference on
#   Machine Learning (ICML)*. Section 2, "Information-theoretic framework"
#   (rate, distortion and the ELBO as $-(D + R)$; the rate-distortion plane).
# - Higgins, I., Matthey, L., Pal, A., Burgess, C., Glorot, X., Botvinick, M.,
#   Mohamed, S. and Lerchner, A. (2017). beta-VAE: learning basic visual
#   concepts with a constrained variational framework. *International
#   Conference on Learning Representations (ICLR)*. The constrained
#   objective and its Lagrangian, with $\beta$ as the multiplier.
# - Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted
#   autoencoders. *ICLR*. Section 5.2 (the activity statistic $A_u$ and the
#   count of active units reported beside the log-likelihoods).
# - Sohn, K., Lee, H. and Yan, X. (2015). Learning structured output
#   representation using deep conditional generative models. *Advances in
#   Neural Information Processing Systems (NeurIPS)* 28. The conditional
#   VAE and its lower bound (there the prior may depend on the condition,
#   here it is $\mathcal N(0, I)$).

# %%
lesson.finish()
