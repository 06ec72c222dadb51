"""Lesson 14: a plain autoencoder against a VAE as a generator.

The idea
--------
Murphy's *Probabilistic Machine Learning: Advanced Topics* (section
20.3.5.3) contrasts the two: a plain autoencoder "cannot generate", because
its decoder has only ever seen the codes of training images and nothing
says where in code space those lie; a VAE's KL term pulls the codes towards
the prior N(0, I), so draws from N(0, I) land where the decoder was
trained, and its latent space is smooth enough for linear interpolation.

Both models here have the same architecture, 784-400-20 with ReLU and a
Bernoulli decoder; they differ only in the loss (the VAE's encoder has a
second 20-unit head for the log-variance, and its KL term). We measure:

* **Samples.** Decode 1,000 draws from N(0, I) with each decoder, and also,
  for the autoencoder, draws from a Gaussian fitted to its training codes
  (mean and full covariance: the obvious repair). A softmax classifier
  trained on real digits (``tinyae.models.SoftmaxClassifier``, one hidden
  layer) scores each image: its largest class probability (mean over the
  samples) and the share of samples above 0.9. A real test digit scores
  about 0.9 and 0.75; an image that is no digit in particular scores low.
* **Interpolation.** Encode two test digits of different classes, walk the
  straight line between their codes in 9 steps and decode every point. How
  far do the decoded images stray from the data? Two measures per point:
  the classifier's entropy (nats; 0 for a confident digit, log 10 = 2.3 for
  a uniform guess) and the Euclidean distance to the nearest training image.
  Each model's curves start and end at its own reconstructions, so we
  compare the *excess* at the midpoint over the endpoints' mean.

What we find (seed 0, default run, ~22 s CPU): from N(0, I) the VAE's
samples score 0.66 (18% above 0.9) where the autoencoder's score 0.54 (8%):
the AE's codes have norm ~23, far from the ~4.5 of N(0, I) draws. A
Gaussian fitted to the AE's codes repairs that (0.69, 24%), so much of
"cannot generate" is "nobody told us where the codes are". Along
interpolation lines both models' midpoints are 2.4-2.7 times less certain
(classifier entropy) than the endpoints, and the VAE's midpoints stray only
~20% less than the AE's in pixel distance (0.63 against 0.82 above the
endpoints; 0.77-0.90 as a ratio over seeds 0-2), and not less at all by
entropy: on MNIST with a 20-unit code, the plain AE's code space between two
digits is not much worse than the VAE's. Real test digits score 0.89 (69%
above 0.9) with this judge.

Run: ``python lessons/14_ae_vs_vae_generators.py`` (``--full``: all 60,000
training digits, 20 epochs).
"""

# %%
import time

import numpy as np

from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import VAE, MLPAutoencoder, SoftmaxClassifier
from tinyae.optim import Adam, cosine_decay
from tinyae.course.plotting import grids
from tinyae.course.plotting.search import xy_curves
from tinyae.train import fit

HIDDEN, LATENT = 400, 20
N_SAMPLES, N_PAIRS, STEPS = 1000, 200, 9
CONFIDENT = 0.9
N_REFERENCE = 10000            # training images searched for the nearest one


# %%
def train(model, data, *, epochs, lr, rng):
    """Adam, batch 64, cosine-decayed learning rate (``tinyae.train.fit``)."""
    return fit(model, data, optimizer=Adam(model.params, lr=lr), epochs=epochs,
               batch_size=64, rng=rng, progress=lesson.progress,
               lr_schedule=cosine_decay(lr, epochs))


# %%
def confidence(clf, x):
    """Largest class probability per image: (N, 784) -> (N,)."""
    return clf.predict_proba(x).max(axis=1)


# %%
def entropy(clf, x):
    """Entropy (nats) of the classifier's distribution per image: (N,)."""
    p = clf.predict_proba(x).astype(np.float64)
    return -np.sum(p * np.log(np.maximum(p, 1e-300)), axis=1)


# %%
def nearest_distance(x, reference, chunk=500):
    """Euclidean distance from each row of x (N, 784) to its nearest row of
    ``reference`` (n, 784), in float64: (N,)."""
    ref = reference.astype(np.float64)
    ref2 = np.sum(ref * ref, axis=1)                              # (n,)
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        q = x[s:s + chunk].astype(np.float64)                     # (b, 784)
        d2 = np.sum(q * q, axis=1)[:, None] - 2 * q @ ref.T + ref2  # (b, n)
        out[s:s + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0))
    return out


# %%
def decode_lines(encode, decode, x_a, x_b, steps):
    """Decode ``steps`` points on each line between the codes of x_a and x_b.

    x_a, x_b: (m, 784) -> (m, steps, 784); t = linspace(0, 1, steps).
    """
    a, b = encode(x_a), encode(x_b)                               # (m, latent)
    t = np.linspace(0, 1, steps)[None, :, None]                   # (1, steps, 1)
    z = (1 - t) * a[:, None, :] + t * b[:, None, :]               # (m, steps, latent)
    out = decode(np.ascontiguousarray(z.reshape(-1, a.shape[1]), dtype=a.dtype))
    return out.reshape(len(x_a), steps, -1)                       # rows back per line


# %%
def main():
    rng = lesson.rng
    x_train, y_train = load_mnist("train", dtype=np.float32)
    x_test, y_test = load_mnist("test", dtype=np.float32)
    n_train = 60000 if lesson.full else 10000
    sub = rng.permutation(len(x_train))[:n_train]
    x, y = x_train[sub], y_train[sub]
    lesson.report(f"training set: {n_train} digits, {lesson.epochs} epochs per model")

    start = time.process_time()
    clf = SoftmaxClassifier(n_in=784, n_classes=10, hidden=(200,), rng=rng,
                            dtype=np.float32)
    train(clf, (x, y), epochs=3, lr=1e-3, rng=rng)
    real = confidence(clf, x_test[:N_SAMPLES])
    lesson.report(f"judge: softmax classifier 784-200-10, test accuracy "
                  f"{clf.accuracy(x_test, y_test):.3f}; real test digits score "
                  f"{real.mean():.3f} ({np.mean(real > CONFIDENT):.2f} above {CONFIDENT}) "
                  f"[{time.process_time() - start:.1f} s CPU]")

    start = time.process_time()
    ae = MLPAutoencoder(sizes=(784, HIDDEN, LATENT), rng=rng, dtype=np.float32)
    train(ae, x, epochs=lesson.epochs, lr=2e-3, rng=rng)
    vae = VAE(sizes=(784, HIDDEN, LATENT), rng=rng, dtype=np.float32)
    train(vae, x, epochs=lesson.epochs, lr=2e-3, rng=rng)
    lesson.report(f"AE and VAE 784-{HIDDEN}-{LATENT} trained "
                  f"[{time.process_time() - start:.1f} s CPU]")

    # ----------------------------------------------- samples ----------------
    eps = rng.standard_normal((N_SAMPLES, LATENT)).astype(np.float32)
    codes = ae.encode(x).astype(np.float64)                       # (n, latent)
    mean, cov = codes.mean(axis=0), np.cov(codes, rowvar=False)
    fitted = (mean + eps @ np.linalg.cholesky(cov).T).astype(np.float32)
    samples = {"AE, z ~ N(0, I)": ae.decode(eps),
               "AE, z ~ Gaussian fitted to its codes": ae.decode(fitted),
               "VAE, z ~ N(0, I)": vae.decode(eps)}
    scores = {name: confidence(clf, s) for name, s in samples.items()}
    lesson.report(f"AE code norm: mean {np.linalg.norm(codes, axis=1).mean():.1f} "
                  f"(a N(0, I) draw in {LATENT} dims: ~{np.sqrt(LATENT):.1f})")
    for name, s in scores.items():
        lesson.report(f"{name:<38s} mean max probability {s.mean():.3f}, share above "
                      f"{CONFIDENT} {np.mean(s > CONFIDENT):.3f}")
    ae_p, fit_p, vae_p = (scores[k] for k in samples)
    lesson.claim("prior samples: VAE minus AE mean max probability",
                 vae_p.mean() - ae_p.mean(), gt=0.07)
    lesson.claim(f"prior samples: VAE minus AE share above {CONFIDENT}",
                 np.mean(vae_p > CONFIDENT) - np.mean(ae_p > CONFIDENT), gt=0.05)
    lesson.claim("AE with a Gaussian fitted to its codes minus VAE, mean max probability "
                  "(the repair closes the gap)", fit_p.mean() - vae_p.mean(), gt=-0.05)
    lesson.save(grids({k: v[:40] for k, v in samples.items()}, rows=5), "samples")

    # ----------------------------------------------- interpolation ----------
    pick = np.random.default_rng(lesson.seed + 1)
    ia, ib = pick.choice(len(x_test), N_PAIRS), pick.choice(len(x_test), N_PAIRS)
    keep = y_test[ia] != y_test[ib]                               # different digits
    xa, xb = x_test[ia[keep]], x_test[ib[keep]]
    reference = x[:N_REFERENCE]
    lines = {"AE": decode_lines(ae.encode, ae.decode, xa, xb, STEPS),
             "VAE": decode_lines(lambda v: vae.encode(v)[0], vae.decode, xa, xb, STEPS)}
    ent, dist, excess = {}, {}, {}
    for name, imgs in lines.items():
        flat = imgs.reshape(-1, 784)
        ent[name] = entropy(clf, flat).reshape(-1, STEPS).mean(axis=0)          # (steps,)
        dist[name] = nearest_distance(flat, reference).reshape(-1, STEPS).mean(axis=0)
        mid = STEPS // 2
        excess[name] = dist[name][mid] - 0.5 * (dist[name][0] + dist[name][-1])
        lesson.report(f"{name}: {keep.sum()} lines; entropy along t "
                      + " ".join(f"{v:.2f}" for v in ent[name])
                      + "; distance to nearest training image "
                      + " ".join(f"{v:.2f}" for v in dist[name]))
        lesson.claim(f"{name}: midpoint entropy / endpoints' mean entropy (lines "
                     f"leave the data)", ent[name][mid] / (0.5 * (ent[name][0] + ent[name][-1])),
                     gt=1.5)
    lesson.report(f"excess distance at the midpoint: AE {excess['AE']:.2f}, VAE "
                  f"{excess['VAE']:.2f}")
    lesson.claim("midpoint excess distance to the data, VAE / AE (near 1: the VAE "
                 "strays only 10-25% less)", excess["VAE"] / excess["AE"],
                 within=(0.85, 0.25))
    t = np.linspace(0, 1, STEPS)
    where = "position t on the line z(t) = (1 - t) z_a + t z_b"
    lesson.save(xy_curves({k: (t, v) for k, v in ent.items()}, xlabel=where,
                          ylabel="classifier entropy (nats)",
                          title="How digit-like are points on a line between codes?"),
                "interpolation_entropy")
    lesson.save(xy_curves({k: (t, v) for k, v in dist.items()}, xlabel=where,
                          ylabel="distance to nearest training image",
                          title="How far do points on a line stray from the data?"),
                "interpolation_distance")
    lesson.save(grids({f"{name} interpolation": imgs[:6].reshape(-1, 784)
                       for name, imgs in lines.items()}, rows=6), "interpolations")
    lesson.finish()


# %%
if __name__ == "__main__":
    lesson = Lesson("14_ae_vs_vae_generators", __doc__, epochs=8, full_epochs=20)
    main()
