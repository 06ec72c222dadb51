"""Lesson 01: a linear autoencoder learns the PCA subspace.

Squeeze each 784-pixel MNIST digit through a 30-unit code with two matrices,

    z = x W_e          (30 numbers)          x_hat = z W_d       (784 pixels),

and train W_e, W_d by gradient descent on the squared error. Nothing in the
training knows about eigenvectors, yet Baldi and Hornik (1989) showed that
the error surface of this network has no bad local minima: at every minimum
the reconstruction x_hat is the orthogonal projection of x onto the span of
the top-30 principal components. PCA computes that same projection in closed
form from one singular value decomposition of the centred data,
X_c = U S V^T (rows of V^T = principal directions, S_j^2 / n = variances).

What the autoencoder does *not* recover is the individual components. For
any invertible 30 x 30 matrix A, the pair (W_e A, A^{-1} W_d) reconstructs
every image identically, so the 30 decoder rows are some skewed basis of the
principal subspace: neither orthonormal nor ordered by variance. We compare
subspaces, not vectors, with the principal angles between them (cosine 1 =
same direction). Tying the decoder to the encoder (W_d = W_e^T) removes most
of the freedom: at the optimum W_e = V_30^T R for some 30 x 30 rotation R,
so W_e has orthonormal columns and W_e W_e^T is exactly the projector
P = V_30^T V_30; only the rotation R is left free.

The lesson measures:

* PCA-30's squared error per test image, against 13.87 (Hinton and
  Salakhutdinov, 2006), and its training error against the sum of the
  discarded eigenvalues (equal by the Eckart-Young theorem);
* the principal angles between the autoencoder's decoder span and PCA's;
* the autoencoder's test error against PCA's;
* the rotation ambiguity, untied versus tied;
* and, to see it, a toy: points near a tilted plane in 3-D, a 2-unit linear
  autoencoder and PCA's plane in one picture.

Run: ``python lessons/01_linear_ae_vs_pca.py`` (``--epochs``, ``--full``).
"""

# %%
import time

import numpy as np

from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import PCA, LinearAutoencoder, principal_angle_cosines
from tinyae.optim import Adam, cosine_decay
from tinyae.course.plotting import curves, grids
from tinyae.course.plotting.linear import angle_cosines, planes_3d
from tinyae.train import fit

N_CODE = 30
PCA30_HINTON = 13.87           # Hinton & Salakhutdinov (2006), PCA-30, MNIST test


# %%
def train_linear_ae(model, x, *, epochs, lr, batch_size, rng, progress, on_epoch=None):
    """Adam with a cosine learning-rate decay from ``lr`` to 0 over ``epochs``."""
    return fit(model, x, optimizer=Adam(model.params, lr=lr), epochs=epochs,
               batch_size=batch_size, rng=rng, progress=progress,
               lr_schedule=cosine_decay(lr, epochs), callback=on_epoch)


# %%
# ---------------------------------------------------------------- PCA ------

def pca_part(lesson):
    """Returns the training and test images, the fitted PCA and its test error."""
    x_train, _ = load_mnist("train", dtype=np.float32)          # (60000, 784) in [0, 1]
    x_test, _ = load_mnist("test", dtype=np.float32)            # (10000, 784)
    start = time.perf_counter()
    pca = PCA(N_CODE).fit(x_train)
    lesson.report(f"PCA-{N_CODE} by SVD of the centred 60000 x 784 training set: "
                  f"{time.perf_counter() - start:.1f} s; the top {N_CODE} components "
                  f"explain {100 * pca.explained_variance_ratio_.sum():.1f}% of the variance")
    pca_test = pca.reconstruction_error(x_test)
    pca_train = pca.reconstruction_error(x_train)
    lesson.claim(f"PCA-{N_CODE} squared error per test image (Hinton & Salakhutdinov 2006)",
                 pca_test, within=(PCA30_HINTON, 0.02))
    lesson.claim("PCA training error / sum of the discarded eigenvalues",
                 pca_train / pca.discarded_variance_, within=(1.0, 1e-6))
    lesson.report(f"PCA-{N_CODE} training error {pca_train:.6f}, sum of the "
                  f"{784 - N_CODE} discarded eigenvalues {pca.discarded_variance_:.6f}")
    return x_train, x_test, pca, pca_test


# %%
# ------------------------------------------- linear AE on centred MNIST ----

def fit_ae(lesson, xc_train, xc_test, pca_basis, *, tied, rng):
    model = LinearAutoencoder(sizes=(784, N_CODE), tied=tied, bias=False, rng=rng,
                              dtype=np.float32)
    track = {"test error": [], "min cosine": []}

    def on_epoch(epoch, history):
        track["test error"].append(model.loss(xc_test))
        track["min cosine"].append(
            principal_angle_cosines(model.subspace(), pca_basis).min())

    start = time.perf_counter()
    history = train_linear_ae(model, xc_train, epochs=lesson.epochs, lr=5e-3,
                              batch_size=256, rng=rng, progress=lesson.progress,
                              on_epoch=on_epoch)
    seconds = time.perf_counter() - start
    lesson.report(f"{'tied' if tied else 'untied'} linear AE 784-{N_CODE}-784, Adam, "
                  f"{lesson.epochs} epochs: {seconds:.1f} s; test error by epoch "
                  + " ".join(f"{e:.3f}" for e in track["test error"]))
    return model, history, track


# %%
def linear_ae_part(lesson, x_train, x_test, pca, pca_test):
    """Trains the untied and the tied linear AE; returns what the figures need."""
    mean = pca.mean_.astype(np.float32)
    xc_train, xc_test = x_train - mean, x_test - mean           # centred: no biases needed
    pca_basis = pca.components_.T                               # (784, 30) orthonormal
    P = pca.projector()                                         # (784, 784)

    ae, ae_history, ae_track = fit_ae(lesson, xc_train, xc_test, pca_basis, tied=False,
                                      rng=lesson.rng)
    cos_untied = principal_angle_cosines(ae.subspace(), pca_basis)      # (30,)
    ae_test = ae.loss(xc_test)
    lesson.claim(f"untied linear AE vs PCA-{N_CODE}: smallest of the {N_CODE} "
                 "principal-angle cosines", cos_untied.min(), gt=0.99)
    lesson.claim("linear AE squared error per test image, relative to PCA's",
                 ae_test / pca_test, rel_within=(1.0, 0.01))
    lesson.report(f"linear AE test error {ae_test:.4f} vs PCA {pca_test:.4f}")

    # the rotation ambiguity: the span is fixed, the basis is not
    S = ae.subspace().astype(np.float64)                        # W_d^T: (784, 30)
    gram_dev = np.linalg.norm(S.T @ S - np.eye(N_CODE))
    lesson.claim("untied decoder basis is not orthonormal: ||W_d W_d^T - I||_F",
                 gram_dev, gt=0.5)
    # ...yet the reconstructions are PCA's: x W_e W_d = x P on the data (not as
    # matrices: along pixels that never vary, such as the border, W_e gets no
    # gradient and keeps its random initial values)
    diff = ae.reconstruct(xc_test).astype(np.float64) - (xc_test.astype(np.float64) @ P)
    lesson.report(f"...yet the reconstructions agree with PCA's: squared difference "
                  f"{np.mean(np.sum(diff ** 2, axis=1)):.4f} per test image "
                  f"(vs an error of {pca_test:.2f})")

    tied, tied_history, tied_track = fit_ae(lesson, xc_train, xc_test, pca_basis, tied=True,
                                            rng=lesson.rng)
    W = tied.subspace().astype(np.float64)                      # W_e: (784, 30)
    cos_tied = principal_angle_cosines(W, pca_basis)
    lesson.claim("tied linear AE: ||W W^T - P||_F (P = PCA projector, ||P||_F = 5.48)",
                 np.linalg.norm(W @ W.T - P), lt=0.25)
    lesson.report(f"tied: ||W^T W - I||_F = {np.linalg.norm(W.T @ W - np.eye(N_CODE)):.3f}, "
                  f"smallest cosine {cos_tied.min():.4f}, test error "
                  f"{tied.loss(xc_test):.4f}")

    # PCA inside the learned span recovers the ordered components themselves
    Q, _ = np.linalg.qr(S)                                      # (784, 30) orthonormal
    Y = xc_train.astype(np.float64) @ Q                         # (60000, 30) coordinates
    evals, evecs = np.linalg.eigh(Y.T @ Y / len(Y))
    recovered = (Q @ evecs[:, ::-1]).T                          # (30, 784), by variance
    match = np.abs(np.sum(recovered * pca.components_, axis=1))
    lesson.report("PCA within the AE's span recovers the components: |cos| with "
                  "components 1-5: " + " ".join(f"{m:.4f}" for m in match[:5])
                  + "; 26-30: " + " ".join(f"{m:.3f}" for m in match[-5:]))
    return dict(S=S, recovered=recovered, cos_untied=cos_untied, cos_tied=cos_tied,
                ae_track=ae_track, tied_track=tied_track)


# %%
# ------------------------------------------------------------ figures ------

def figures_part(lesson, pca, pca_test, S, recovered, cos_untied, cos_tied, ae_track,
                 tied_track):
    lesson.save(grids({"PCA components (orthonormal, by variance)": pca.components_,
                       "untied AE decoder rows W_d (a skewed basis)": S.T,
                       "PCA inside the AE span": recovered * np.sign(
                           np.sum(recovered * pca.components_, axis=1))[:, None]},
                      rows=5, vmin=None, vmax=None), "filters")
    lesson.save(angle_cosines({"untied AE": cos_untied, "tied AE": cos_tied},
                              threshold=0.99,
                              title=f"principal angles: AE span vs PCA-{N_CODE}"),
                "angle_cosines")
    lesson.save(curves({"untied AE (test)": ae_track["test error"],
                        "tied AE (test)": tied_track["test error"]},
                       ylabel="squared error per test image", references={
                           f"PCA-{N_CODE} {pca_test:.2f}": pca_test},
                       title="linear AE training"), "learning_curves")


# %%
# --------------------------------------------------------- 3-D toy ---------

def toy_part(lesson):
    toy_rng = np.random.default_rng(lesson.seed + 1)
    normal = np.array([1.0, -2.0, 2.0]) / 3.0                   # the plane's normal
    u = np.cross(normal, [0.0, 0.0, 1.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    coef = toy_rng.normal(size=(400, 2)) * [2.0, 0.8]           # spread in the plane
    toy = (np.array([1.0, 2.0, -1.0]) + coef[:, :1] * u + coef[:, 1:] * v
           + 0.15 * toy_rng.normal(size=(400, 1)) * normal)     # (400, 3)
    toy_pca = PCA(2).fit(toy)
    toy_ae = LinearAutoencoder(sizes=(3, 2), rng=toy_rng)   # with biases: raw data
    opt = Adam(toy_ae.params, lr=0.02)
    for _ in range(1500):                                       # full batch
        opt.step(toy_ae.loss_and_grad(toy)[1])
    toy_cos = principal_angle_cosines(toy_ae.subspace(), toy_pca.components_.T)
    lesson.claim("3-D toy: smallest principal-angle cosine, 2-unit linear AE vs PCA plane",
                 toy_cos.min(), gt=0.999)
    lengths = np.linalg.norm(toy_ae.subspace(), axis=0)
    cosine = abs(np.dot(*toy_ae.subspace().T)) / np.prod(lengths)
    lesson.report(f"3-D toy: AE error {toy_ae.loss(toy):.5f}, PCA error "
                  f"{toy_pca.reconstruction_error(toy):.5f}; decoder vectors have lengths "
                  + ", ".join(f"{n:.2f}" for n in lengths)
                  + f" and cosine {cosine:.2f}")
    # the AE's plane passes through b_d + span(W_d); draw it through the point of
    # that plane nearest to the data mean
    b_d = toy_ae.params["decoder.b"]
    Qt, _ = np.linalg.qr(toy_ae.subspace())
    ae_center = b_d + Qt @ (Qt.T @ (toy_pca.mean_ - b_d))
    lesson.save(planes_3d(toy, center=toy_pca.mean_, pca_basis=toy_pca.components_.T,
                          ae_basis=toy_ae.subspace(), ae_center=ae_center,
                          title="PCA plane (blue) and 2-unit linear AE span (red)"),
                "toy_3d")


# %%
def main():
    lesson = Lesson("01_linear_ae_vs_pca", __doc__, epochs=6, full_epochs=20)
    x_train, x_test, pca, pca_test = pca_part(lesson)
    results = linear_ae_part(lesson, x_train, x_test, pca, pca_test)
    figures_part(lesson, pca, pca_test, **results)
    toy_part(lesson)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
