"""Lesson 03: a denoising autoencoder learns the score of the data.

The idea
--------
Corrupt a clean point x ~ p with Gaussian noise, y = x + sigma e, e ~ N(0, I),
and train a denoiser r(y) to give x back under the squared error. The best
possible denoiser is the posterior mean, r*(y) = E[x | y]. The noisy points
have the smoothed density p_sigma(y) = int p(x) N(y; x, sigma^2 I) dx, and
differentiating under the integral, with grad_y N(y; x, sigma^2 I) =
N(y; x, sigma^2 I) (x - y) / sigma^2,

    grad_y p_sigma(y) = int p(x) N(y; x, sigma^2 I) (x - y) / sigma^2 dx
                      = p_sigma(y) (E[x | y] - y) / sigma^2,

so (Tweedie's formula; Vincent, 2011)

    (r*(y) - y) / sigma^2 = grad_y log p_sigma(y),

the SCORE of the noise-smoothed density. A DAE never sees a density, yet its
residual divided by sigma^2 estimates a score. As sigma -> 0, p_sigma -> p
and the residual approaches sigma^2 times the clean score (Alain and Bengio,
2014). Two errors pull in opposite directions:

* bias: for finite sigma the DAE learns the score of p_sigma, not of p; the
  gap between the two grows with sigma;
* variance: the residual r(y) - y = sigma^2 s(y) is tiny for small sigma,
  while the regression target x is as noisy as sigma itself; any error in r
  is divided by sigma^2, so with a fixed budget the estimate degrades as
  sigma shrinks.

What the lesson measures
------------------------
On the 1-D and 2-D Gaussian mixtures of ``tinyae.data`` (exact densities and
scores; ``mixture.smoothed(sigma).score`` is the exact score of p_sigma) we
train denoising autoencoders (``MLPAutoencoder(corruption=GaussianNoise(sigma))``): sizes (d, 24, 24),
which the MLPAutoencoder mirrors into d-24-24-24-d with tanh units (no
bottleneck: a DAE here is just a smooth denoiser r), a linear output and the
squared error, He initialisation, Adam with the learning rate decaying from
1e-2 to 3e-4, a fresh sample of 40,000 points every epoch, and the
exponential moving average of the weights (decay 0.999) at the end: the
target is so noisy that the raw iterates jitter visibly.

The score error is the density-weighted relative error

    err(s_hat, s) = sqrt( E_{p_sigma} ||s_hat(y) - s(y)||^2 / E_{p_sigma} ||s(y)||^2 ),

estimated on 20,000 fresh samples y ~ p_sigma (the points the DAE is asked
about), with s_hat(y) = (r(y) - y) / sigma^2 and s either the exact smoothed
score (what Tweedie predicts the DAE learns) or the clean score grad log p
(what we would like to know), both at the same points. 0 is perfect; 1 is as
bad as predicting s_hat = 0. "bias alone" is err(smoothed score, clean
score): the part of the clean-score error no training can remove.

On MNIST, three DAEs (784-256-64-256-784, ReLU, Bernoulli output) undo
Gaussian noise (sigma 0.5), masking (half the pixels zeroed) and salt and
pepper (20% of the pixels set to 0 or 1), each trained for 3 epochs on
10,000 training images (Adam, lr 2e-3). The test error is the squared error
per image of the denoised output against the clean test image, on corrupted
test inputs, compared with the same error of the corrupted input itself.

Run: ``python lessons/03_denoising_scores.py`` (~10 s); ``--full`` trains
three times longer on the mixtures and on all 60,000 MNIST images.
"""

# %%
import numpy as np

from tinyae.corruption import GaussianNoise, MaskingNoise, SaltAndPepper
from tinyae.data import load_mnist, mixture_1d, mixture_2d
from tinyae.course.lesson import Lesson
from tinyae.models import MLPAutoencoder
from tinyae.optim import Adam
from tinyae.course.plotting import grids
from tinyae.course.plotting.scores import error_vs_sigma, score_curves_1d, score_fields_2d
from tinyae.analysis.scores import ParameterAverage, dae_score, fit_fresh, relative_score_error
from tinyae.train import fit

SIGMAS = (0.1, 0.25, 0.5, 1.0)      # the 1-D sweep
MAIN_SIGMA = 0.5                    # the 1-D claim and the 2-D comparison
HIDDEN = 24
N_PER_EPOCH, BATCH, N_EVAL = 40_000, 256, 20_000
LR, LR_END, AVERAGE_DECAY = 1e-2, 3e-4, 0.999

MNIST_CORRUPTIONS = {"gaussian": GaussianNoise(0.5), "masking": MaskingNoise(0.5),
                     "salt_and_pepper": SaltAndPepper(0.2)}


# %%
def train_score_dae(mixture, sigma, *, epochs, rng):
    """A Gaussian-noise DAE on fresh samples of ``mixture``; returns the model
    holding the averaged weights."""
    model = MLPAutoencoder(
        corruption=GaussianNoise(sigma), sizes=(mixture.dim, HIDDEN, HIDDEN), rng=rng,
        activation="tanh", code_activation="tanh", init="he", likelihood="mse",
        dtype=np.float32)
    optimizer = ParameterAverage(Adam(model.params, lr=LR), decay=AVERAGE_DECAY)
    fit_fresh(model, lambda n, r: mixture.sample(n, rng=r, dtype=np.float32),
              optimizer=optimizer, epochs=epochs, n_per_epoch=N_PER_EPOCH,
              batch_size=BATCH, rng=rng, lr_end=LR_END)
    optimizer.copy_to_params()
    return model


# %%
def score_errors(model, mixture, sigma, rng):
    """err against the smoothed and the clean score on y ~ p_sigma, and the
    bias alone (exact smoothed vs clean)."""
    smoothed = mixture.smoothed(sigma)
    y32 = smoothed.sample(N_EVAL, rng=rng, dtype=np.float32)       # (N_EVAL, d)
    y = y32.astype(np.float64)          # the references at exactly the same points
    s_hat = dae_score(model, y32, sigma)
    s_smooth, s_clean = smoothed.score(y), mixture.score(y)
    return {"smoothed": relative_score_error(s_hat, s_smooth),
            "clean": relative_score_error(s_hat, s_clean),
            "bias": relative_score_error(s_smooth, s_clean)}


# %%
def one_d(lesson):
    mixture = mixture_1d()
    errors, models = {}, {}
    for sigma in SIGMAS:
        models[sigma] = train_score_dae(mixture, sigma, epochs=lesson.epochs, rng=lesson.rng)
        errors[sigma] = score_errors(models[sigma], mixture, sigma, lesson.rng)
        e = errors[sigma]
        lesson.report(f"1-D sigma={sigma:<5g} err vs smoothed score {e['smoothed']:.4f}   "
                      f"vs clean score {e['clean']:.4f}   (bias alone {e['bias']:.4f})")

    lesson.claim(f"1-D, sigma={MAIN_SIGMA}: density-weighted relative error of "
                 f"(r(x)-x)/sigma^2 against the exact smoothed score",
                 errors[MAIN_SIGMA]["smoothed"], lt=0.10)
    rising = [s for s in SIGMAS if s >= 0.25]
    steps = [errors[b]["clean"] - errors[a]["clean"] for a, b in zip(rising, rising[1:])]
    lesson.claim(f"1-D: error against the CLEAN score rises with sigma over "
                 f"{rising} (smallest rise)", min(steps), gt=0.0)
    lesson.claim(f"1-D: error against the SMOOTHED score stays small for sigma in "
                 f"{rising} (largest)", max(errors[s]["smoothed"] for s in rising), lt=0.2)
    lesson.claim(f"1-D: the price of a small sigma: smoothed-score error at sigma="
                 f"{SIGMAS[0]} over that at sigma={MAIN_SIGMA}",
                 errors[SIGMAS[0]]["smoothed"] / errors[MAIN_SIGMA]["smoothed"], gt=2.0)

    lesson.save(error_vs_sigma(SIGMAS, {
        "DAE vs smoothed score": [errors[s]["smoothed"] for s in SIGMAS],
        "DAE vs clean score": [errors[s]["clean"] for s in SIGMAS],
        "bias alone: smoothed vs clean": [errors[s]["bias"] for s in SIGMAS]},
        title="1-D mixture: what the DAE residual estimates"), "errors_vs_sigma_1d")

    grid = np.linspace(-4.5, 4.5, 361)[:, None]                      # (361, 1)
    smoothed = mixture.smoothed(MAIN_SIGMA)
    lesson.save(score_curves_1d(grid, {
        "DAE: (r(x) - x) / sigma^2": dae_score(models[MAIN_SIGMA], grid.astype(np.float32),
                                               MAIN_SIGMA),
        "exact smoothed score": smoothed.score(grid),
        "clean score": mixture.score(grid)},
        densities={"p": mixture.density(grid), f"p_sigma, sigma={MAIN_SIGMA}":
                   smoothed.density(grid)},
        title=f"1-D mixture, sigma = {MAIN_SIGMA}"), "score_1d")


# %%
def two_d(lesson):
    mixture, sigma = mixture_2d(), MAIN_SIGMA
    model = train_score_dae(mixture, sigma, epochs=lesson.epochs, rng=lesson.rng)
    e = score_errors(model, mixture, sigma, lesson.rng)
    lesson.report(f"2-D sigma={sigma:<5g} err vs smoothed score {e['smoothed']:.4f}   "
                  f"vs clean score {e['clean']:.4f}   (bias alone {e['bias']:.4f})")
    lesson.claim(f"2-D, sigma={sigma}: density-weighted relative error against the "
                 f"exact smoothed score", e["smoothed"], lt=0.15)

    xx, yy = np.meshgrid(np.linspace(-3.5, 3.5, 22), np.linspace(-3.2, 2.4, 18))
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)                  # (h*w, 2)
    smoothed = mixture.smoothed(sigma)
    learned = dae_score(model, pts.astype(np.float32), sigma).reshape(*xx.shape, 2)
    exact = smoothed.score(pts).reshape(*xx.shape, 2)
    lesson.save(score_fields_2d(xx, yy, smoothed.density(pts).reshape(xx.shape), {
        "DAE: (r(x) - x) / sigma^2": learned, "exact score of p_sigma": exact},
        title=f"2-D mixture, sigma = {sigma}: contours of p_sigma"), "score_field_2d")


# %%
def mnist(lesson):
    rng = lesson.rng
    x_train, _ = load_mnist("train", dtype=np.float32)
    x_test, _ = load_mnist("test", dtype=np.float32)
    n_train, epochs = (60_000, 10) if lesson.full else (10_000, 3)
    x_train = x_train[rng.permutation(x_train.shape[0])[:n_train]]   # (n_train, 784)
    for name, corruption in MNIST_CORRUPTIONS.items():
        model = MLPAutoencoder(corruption=corruption, sizes=(784, 256, 64), rng=rng,
                                     activation="relu", likelihood="bernoulli",
                                     dtype=np.float32)
        fit(model, x_train, optimizer=Adam(model.params, lr=2e-3), epochs=epochs,
            batch_size=128, rng=rng, progress=lesson.progress)
        noisy = corruption(x_test, rng)                                # (10000, 784)
        denoised = model.reconstruct(noisy)
        err_noisy = float(np.mean(np.sum((noisy - x_test) ** 2, axis=1)))
        err_denoised = float(np.mean(np.sum((denoised - x_test) ** 2, axis=1)))
        lesson.report(f"MNIST {corruption!r}: squared error per test image: corrupted "
                      f"input {err_noisy:.2f}, denoised {err_denoised:.2f}")
        lesson.claim(f"MNIST {name}: denoised error / corrupted-input error",
                     err_denoised / err_noisy, lt=0.5)
        lesson.save(grids({"clean": x_test[:20], f"corrupted: {corruption!r}": noisy[:20],
                           "denoised": denoised[:20]}, rows=2), f"mnist_{name}")


# %%
def main():
    lesson = Lesson("03_denoising_scores", __doc__, epochs=20, full_epochs=60)
    one_d(lesson)
    two_d(lesson)
    mnist(lesson)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
