"""Lesson 07: the beta-VAE as a rate-distortion trade-off, and a conditional
VAE that writes the digit it is asked for.

Rate and distortion
-------------------
Averaged over the data, the VAE's evidence lower bound splits into two terms
that can be measured separately (Alemi et al., 2018, "Fixing a broken ELBO"):

    D = E_x E_q(z|x)[-log p(x | z)]         distortion: nats lost reconstructing x
    R = E_x KL(q(z | x) || p(z))             rate: nats the code carries about x

    ELBO = E_x E_q[log p(x | z)] - E_x KL(q(z | x) || p(z)) = -(D + R).

Maximising the ELBO only fixes the sum D + R: every model on the line
D + R = const has the same bound, however much (or little) it uses z. The
beta-VAE (Higgins et al., 2017) minimises ``D + beta R`` instead. Read as a
Lagrangian, beta is the price of one nat of rate in nats of distortion: the
optimum sits where the rate-distortion curve D(R) has slope -beta. A small
beta buys detailed codes (high rate, low distortion); a large beta squeezes
the code (low rate, blurry reconstructions). beta = 1 is the true ELBO.

Posterior collapse
------------------
The KL is a sum over latent units. A unit earns its place only if the
distortion it saves is worth more than beta times the nats it costs; if not,
the cheapest choice is q(z_d | x) = p(z_d) = N(0, 1) for every x: its KL is
0, its mean mu_d(x) no longer depends on x, and the decoder ignores it. Such
a unit is *inactive*: Burda et al. (2016) call unit d active when
A_d = Var_x(E_q[z_d]) > 0.01 (``VAE.active_units``). As beta grows, units
collapse one by one.

Content and style: the conditional VAE
--------------------------------------
A conditional VAE (Sohn et al., 2015) gives the label c to both networks,
q(z | x, c) and p(x | z, c). The decoder already knows which digit to draw,
so spending rate on the digit's identity would be wasted: z is left to carry
what the label does not say, the *style* (slant, stroke width, size). Fix c
and draw z ~ N(0, I): a digit of class c in a random style. Fix z and change
c: the same style, another digit. We measure "writes the digit it is asked
for" with a softmax classifier trained on real digits only (it never sees a
generated image): of the samples generated for each label, what fraction
does it assign to that label?

The separation is not automatic. The encoder sees x, so z *can* carry the
digit's identity too, and early in training it does: the decoder then reads
the digit from z and the label matters less (run with ``--cvae-latent 16``
and read the per-label rates). Two knobs from part 1 push identity out of
z. A small z (2 units here) has no room for both identity and style. A beta
above 1 (2 here) makes rate expensive, so the nats of identity that c
supplies for free are not paid for twice, and it pulls each class's codes
q(z | x, c) towards the prior, so a draw z ~ N(0, I) lands where the decoder
has learned to write every digit. Look at the grid: each column is one z,
and a wide, round style may have no good "1", the label whose styles cover
the least of the prior.

Run: python lessons/07_beta_and_conditional_vae.py          (~30 s)
     python lessons/07_beta_and_conditional_vae.py --full   (the sweep on all
         60,000 training images; 10 epochs for every model)
"""

# %%
import time

import numpy as np
from scipy.stats import spearmanr

from tinyae import fit
from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import VAE, ConditionalVAE
from tinyae.models.softmax import SoftmaxClassifier
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
CVAE_BETA = 2.0                        # see the docstring: fewer prior draws off-class


# %%
def extra_flags(parser):
    parser.add_argument("--cvae-latent", type=int, default=2,
                        help="latent size of the conditional VAE (default 2; try 16)")


# %%
def onehot(labels):
    """labels: (n,) ints in [0, 10) -> (n, 10) one-hot rows in DTYPE."""
    return np.eye(10, dtype=DTYPE)[labels]


# %%
# -- 1. The beta sweep: rate against distortion ---------------------------------
def sweep_part(lesson, x_train, x_test):
    rng = lesson.rng
    n_sweep = x_train.shape[0] if lesson.full else N_SWEEP
    print(f"\n1. beta-VAE 784-{HIDDEN[0]}-{LATENT} (ReLU, Bernoulli), Adam lr {LR:g}, "
          f"batch {BATCH}, "
          f"{lesson.epochs} epochs on {n_sweep} training images per beta; rate and "
          f"distortion on the 10,000 test images")
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
                      f"active units {count:2d}/{LATENT}  "
                      f"({time.perf_counter() - start:.1f} s)")
    rates, distortions = np.array(rates), np.array(distortions)
    best = BETAS[int(np.argmin(rates + distortions))]
    lesson.report(f"lowest R + D (= -ELBO) at beta {best:g}; Spearman rank correlation "
                  f"with beta: rate {spearmanr(BETAS, rates)[0]:+.3f}, distortion "
                  f"{spearmanr(BETAS, distortions)[0]:+.3f}")
    # strict monotonicity, measured step by step: every doubling of beta lowers the
    # rate and raises the distortion (checked for seeds 0, 1 and 2)
    lesson.claim("rate falls at every doubling of beta: largest change of R between "
                 "adjacent betas (nats, < 0)", np.diff(rates).max(), lt=0.0)
    lesson.claim("distortion rises at every doubling of beta: smallest change of D "
                 "between adjacent betas (nats, > 0)", np.diff(distortions).min(), gt=0.0)
    lesson.claim(f"posterior collapse: active units at beta {BETAS[-1]:g} minus at beta "
                 f"{BETAS[0]:g} ({active[-1]} vs {active[0]})", active[-1] - active[0], lt=0)
    lesson.save(rate_distortion(rates, distortions, BETAS,
                                title=f"beta-VAE 784-{HIDDEN[0]}-{LATENT} on MNIST "
                                      f"(test set): rate against distortion"),
                "rate_distortion")
    lesson.save(active_units_vs_beta(BETAS, active, latent=LATENT), "active_units")


# %%
# -- 2. A classifier trained on real digits: the judge ---------------------------
def judge_part(lesson, x_train, y_train, x_test, y_test, label_epochs):
    rng = lesson.rng
    print("\n2. SoftmaxClassifier 784-256-10 (ReLU) on the 60,000 real training digits, "
          f"Adam lr 1e-3, batch 128, {label_epochs} epochs")
    start = time.perf_counter()
    judge = SoftmaxClassifier(n_in=784, n_classes=10, hidden=(256,), rng=rng, dtype=DTYPE)
    fit(judge, (x_train, y_train), optimizer=Adam(judge.params, lr=1e-3), epochs=label_epochs,
        batch_size=128, rng=rng, progress=lesson.progress)
    acc = judge.accuracy(x_test, y_test)
    lesson.report(f"{time.perf_counter() - start:.1f} s")
    lesson.claim("classifier accuracy on the 10,000 real test digits", acc, gt=0.95)
    return judge


# %%
# -- 3. The conditional VAE: does it write the digit it is asked for? -------------
def cvae_part(lesson, judge, x_train, y_train, x_test, y_test, label_epochs):
    rng = lesson.rng
    cvae_latent = lesson.args.cvae_latent
    print(f"\n3. ConditionalVAE 784-{HIDDEN[0]}-{cvae_latent} with one-hot labels "
          f"(n_cond=10), beta {CVAE_BETA:g}, Adam lr {LR:g}, batch {BATCH}, on the 60,000 "
          f"training digits, {label_epochs} epochs")
    start = time.perf_counter()
    cvae = ConditionalVAE(sizes=(784, *HIDDEN, cvae_latent), n_cond=10,
                          beta=CVAE_BETA, rng=rng, dtype=DTYPE)
    fit(cvae, (x_train, onehot(y_train)), optimizer=Adam(cvae.params, lr=LR),
        epochs=label_epochs, batch_size=BATCH, rng=rng, progress=lesson.progress)
    _, stats = evaluate(cvae, (x_test, onehot(y_test)),
                        rng=np.random.default_rng([lesson.seed, 8]))
    lesson.report(f"test: rate {stats['kl']:.2f}, distortion {stats['recon']:.2f} nats; "
                  f"{time.perf_counter() - start:.1f} s")
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
    shown = samples.reshape(10, N_PER_LABEL, 784)[:, :N_SHOWN].reshape(-1, 784)
    lesson.save(rows_by_label(shown, 10, title="CVAE: row = requested label, column = one "
                                               "z ~ N(0, I) (one style)"), "cvae_samples")


# %%
def main():
    lesson = Lesson("07_beta_and_conditional_vae", __doc__, epochs=4, full_epochs=10,
                    extra=extra_flags)
    label_epochs = 10 if lesson.full else 4        # the classifier and the CVAE (parts 2-3)
    x_train, y_train = load_mnist("train", dtype=DTYPE)
    x_test, y_test = load_mnist("test", dtype=DTYPE)
    sweep_part(lesson, x_train, x_test)
    judge = judge_part(lesson, x_train, y_train, x_test, y_test, label_epochs)
    cvae_part(lesson, judge, x_train, y_train, x_test, y_test, label_epochs)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
