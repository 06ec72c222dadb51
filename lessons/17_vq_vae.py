"""Lesson 17: VQ-VAE -- a discrete code, the straight-through estimator,
and codebook collapse.

The idea
--------
A VQ-VAE (van den Oord, Vinyals and Kavukcuoglu, 2017, "Neural discrete
representation learning", NeurIPS) encodes an image into a grid of P
vectors z_e of dimension D and replaces each by the nearest of K codebook
vectors e_k: the code is P symbols of log2 K bits. Three pieces make it
trainable (``tinyae.functional.vq`` derives each gradient):

* **straight-through**: quantisation is piecewise constant, so its true
  derivative is 0; the decoder's gradient at z_q is copied to z_e instead
  (value z_e + sg(z_q - z_e), derivative 1);
* **codebook loss** ||sg(z_e) - e||^2: moves each chosen code towards the
  encoder outputs assigned to it; **commitment loss** beta ||z_e - sg(e)||^2
  (beta = 0.25, the paper's value) keeps the encoder near its codes;
* or, instead of the codebook loss, an **EMA update**: each code becomes a
  running mean of its assigned vectors (the paper's appendix; decay 0.99).

A code that no vector chooses gets no gradient: it is dead for good. If the
codebook starts far from the encoder's outputs (here N(0, 1) codes against
small initial outputs), a handful of codes win every assignment, training
pulls only those, and the rest never come back: **codebook collapse**. A
**dead-code restart** (after each epoch, every code unused on 2,000
training images is moved onto a random encoder output) revives them.

Convolutional layers are not in tinyae yet, so the encoder and decoder are
MLPs: 784 -> 256 -> 49 x 16 (ReLU) and back, the 49 code vectors read from
the encoder's output as a 7 x 7 grid has 49 positions. The rate is the same
as Keras' convolutional VQ-VAE example on MNIST (7x7x16 latent, K = 128,
beta = 0.25; keras.io/examples/generative/vq_vae, Sayak Paul, 2021):
exactly 49 x log2 128 = 49 x 7 = 343 bits per image. Issue 14 quotes that
example at a reconstruction MSE / data variance of 0.088 after 5 epochs on
the 60,000 training images (a training-set figure; not re-run here). It is
a calibration point for this MLP, not a claim: the default run (12,000
images, 4 epochs) lands about twice as high (0.17, EMA codebook), --full
(60,000 images, 5 epochs) at 0.095 on the test set.

What the lesson measures
------------------------
Three runs on 12,000 training images (4 epochs, Adam lr 1e-3, batches of
128; --full: 60,000 images, 5 epochs), loss = squared error per image +
codebook + commitment terms:

* careless: codebook loss, N(0, 1) initial codes, no restart;
* restart: the same plus dead-code restarts after epochs 1..E-1;
* EMA: EMA codebook, U(-1/K, 1/K) initial codes, no restart.

After every epoch, on 2,000 test images (98,000 code positions): the
number of codes used and the perplexity exp(H) of their usage frequencies
(*test-set* perplexity, at most K = 128; the per-batch perplexity of
training, over 128 x 49 = 6,272 assignments, is printed beside it and is
lower for the same model, since a batch sees fewer codes). At the end, on
all 10,000 test images: MSE / variance. And, on a float64 model, the
straight-through identity: the encoder-side gradient equals dL/dz_q
exactly, while the true derivative of the loss in z_e (central
differences) is exactly 0.

Run: ``python lessons/17_vq_vae.py`` (about 25 s of CPU); ``--full``
trains on all of MNIST.
"""

# %%
import numpy as np

from tinyae.backend import ops
from tinyae.data import load_mnist
from tinyae.functional.vq import perplexity
from tinyae.gradcheck import numerical_gradient, rel_error
from tinyae.course.lesson import Lesson
from tinyae.models.vq import VQVAE, CodebookEMA, normalized_mse
from tinyae.optim import Adam
from tinyae.course.plotting.vq import codebook_usage, reconstructions
from tinyae.train import fit

N_CODES, N_POSITIONS, CODE_DIM, HIDDEN, BETA = 128, 49, 16, 256, 0.25
KERAS_NMSE = 0.088
RUNS = {
    "careless (codebook loss, N(0,1) codes)": dict(codebook_update="loss",
                                                   codebook_init="normal", restart=False),
    "careless + dead-code restart": dict(codebook_update="loss", codebook_init="normal",
                                         restart=True),
    "EMA codebook": dict(codebook_update="ema", codebook_init="uniform", restart=False),
}


# %%
def straight_through_identity(lesson, x):
    """The ST gradient against the true derivative, on a float64 model."""
    rng = np.random.default_rng(lesson.seed)
    model = VQVAE(rng=rng, hidden=32, n_positions=N_POSITIONS, code_dim=CODE_DIM,
                  n_codes=N_CODES, beta=0.0, dtype=np.float64)
    x = x.astype(np.float64)
    z_e = model.encoder.forward(x)                               # (N, P, D)

    def loss_of(z, quantize=True):
        out = model.decoder.forward(model.quantizer.forward(z) if quantize else z)
        return ops.mse_loss(out, x)
    z_q = model.quantizer.forward(z_e)
    _, dout = ops.mse_loss(model.decoder.forward(z_q), x)
    dz_q = model.decoder.backward(dout)                          # dL/dz_q
    dz_e = model.quantizer.backward(dz_q)                        # straight through
    lesson.claim("straight-through: max |dL/dz_e (ST) - dL/dz_q|", np.max(np.abs(dz_e - dz_q)),
                 within=(0.0, 0.0))
    z_fixed = z_q.copy()             # perturbed in place by the finite differences
    # the decoder is piecewise linear, the loss piecewise quadratic: central
    # differences are exact up to rounding, so a larger step only lowers it
    fd_q = numerical_gradient(lambda: loss_of(z_fixed, quantize=False)[0], z_fixed, h=1e-4)
    lesson.claim("dL/dz_q by hand vs central differences (relative error)",
                 rel_error(dz_q, fd_q), lt=1e-7)
    z_probe = z_e.copy()
    fd_e = numerical_gradient(lambda: loss_of(z_probe)[0], z_probe, h=1e-6)
    lesson.claim("true derivative of the loss in z_e (central differences): max |.|",
                 np.max(np.abs(fd_e)), within=(0.0, 0.0))


# %%
def train_runs(lesson, x_train, x_test):
    rng = lesson.rng
    probe = x_test[:2000]
    seed = int(rng.integers(2**31))
    variance = float(np.var(x_test))
    results = {}
    for label, cfg in RUNS.items():
        model = VQVAE(rng=np.random.default_rng(seed), hidden=HIDDEN,
                      n_positions=N_POSITIONS, code_dim=CODE_DIM, n_codes=N_CODES, beta=BETA,
                      codebook_update=cfg["codebook_update"],
                      codebook_init=cfg["codebook_init"], dtype=np.float32)
        opt = Adam(model.params, lr=1e-3)
        if cfg["codebook_update"] == "ema":
            opt = CodebookEMA(model, opt, decay=0.99)
        used, perp, restarted = [], [], []

        def after_epoch(epoch, hist, model=model, cfg=cfg, used=used, perp=perp,
                        restarted=restarted):
            counts = model.code_usage(probe)
            used.append(int(np.count_nonzero(counts)))
            perp.append(perplexity(counts))
            if cfg["restart"] and epoch < lesson.epochs:
                sample = x_train[rng.choice(len(x_train), 2000, replace=False)]
                restarted.append(model.restart_dead_codes(sample, rng))
        hist = fit(model, x_train, optimizer=opt, epochs=lesson.epochs, batch_size=128,
                   rng=rng, progress=lesson.progress, callback=after_epoch)
        nmse = normalized_mse(model, x_test, variance=variance)
        results[label] = dict(model=model, used=used, perplexity=perp, nmse=nmse)
        lesson.report(f"{label}: codes used per epoch {used}, test perplexity "
                      + " ".join(f"{p:.1f}" for p in perp) + ", mean batch perplexity "
                      + " ".join(f"{p:.1f}" for p in hist["perplexity"])
                      + (f", codes restarted {restarted}" if cfg["restart"] else "")
                      + f"; test MSE / variance {nmse:.4f}")
    return results


# %%
def main():
    lesson = Lesson("17_vq_vae", __doc__, epochs=4, full_epochs=5)
    x_all, _ = load_mnist("train", dtype=np.float32)
    x_test, _ = load_mnist("test", dtype=np.float32)
    n_train = len(x_all) if lesson.full else 12_000
    x_train = x_all[lesson.rng.permutation(len(x_all))[:n_train]]

    straight_through_identity(lesson, x_test[:2])
    results = train_runs(lesson, x_train, x_test)
    careless, restart, ema = (results[k] for k in RUNS)

    lesson.claim("careless: codes used on the test set after the last epoch (collapse)",
                 careless["used"][-1], lt=40)
    lesson.claim("careless: test perplexity after the last epoch", careless["perplexity"][-1],
                 lt=30)
    lesson.claim("with dead-code restarts: codes used after the last epoch",
                 restart["used"][-1], gt=100)
    lesson.claim("with dead-code restarts: test perplexity / careless perplexity",
                 restart["perplexity"][-1] / careless["perplexity"][-1], gt=4)
    lesson.claim("test MSE / variance: careless / with restarts",
                 careless["nmse"] / restart["nmse"], gt=1.1)
    lesson.claim("EMA codebook: codes used after the last epoch", ema["used"][-1], gt=100)
    best = min(r["nmse"] for r in results.values())
    lesson.claim(f"best test MSE / variance (Keras' conv VQ-VAE: {KERAS_NMSE} after 5 epochs "
                 "on 60,000 images)", best, lt=0.3 if not lesson.full else 0.12)
    model = ema["model"]
    lesson.claim("rate: positions x log2(codes), bits per image", model.bits_per_image,
                 within=(343.0, 0.0))
    counts = model.code_usage(x_test)
    lesson.report(f"EMA model: empirical code entropy {np.log2(perplexity(counts)):.2f} bits "
                  f"per position, so {N_POSITIONS * np.log2(perplexity(counts)):.0f} bits per "
                  f"image under a per-position entropy code (<= {model.bits_per_image:.0f})")

    lesson.save(codebook_usage({k: r["used"] for k, r in results.items()},
                               {k: r["perplexity"] for k, r in results.items()},
                               n_codes=N_CODES), "codebook_usage")
    lesson.save(reconstructions(x_test, {f"{k} (MSE/var {r['nmse']:.3f})":
                                         r["model"].reconstruct(x_test[:10])
                                         for k, r in results.items()}), "reconstructions")
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
