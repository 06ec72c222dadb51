"""Lesson 08: stacked denoising autoencoders, what their codes are worth, and
outlier detection by reconstruction error.

1. Greedy layer-wise pretraining (Bengio et al., 2007; Vincent et al., 2010).
   A deep sigmoid autoencoder trained from a random start learns slowly: the
   gradient reaching the first layers shrinks by the sigmoid's slope (at most
   1/4) at every level. Greedy pretraining sidesteps this. Train a one-layer
   denoising autoencoder 784 -> 256 -> 784 on the pixels; keep its encoder;
   train a second one 256 -> 64 -> 256 on the *clean* 256-unit codes of the
   first; stack the encoders (784 -> 256 -> 64) and unroll them with the two
   decoders (64 -> 256 -> 784). Each small problem is shallow and easy, and
   the deep network starts where they left it. Fine-tuning then trains the
   unrolled network end to end on the (denoising) reconstruction loss.

2. What the codes are worth. A representation is useful when a simple
   classifier can read the labels from it. We train the same softmax
   classifier (multinomial logistic regression, same budget) on three inputs
   of the test digits: the 64 learned codes, the 784 raw pixels, and 64
   random projections (a Gaussian random matrix: the same width as the codes
   but learned from nothing). Every feature set is standardised the same way.
   Random projections keep distances roughly (Johnson-Lindenstrauss) but not
   the directions along which the classes separate; the codes were learned to
   explain the digits, and a linear read-out of 64 of them comes close to a
   linear read-out of all 784 pixels.

3. Outlier detection. An autoencoder reconstructs well only what resembles
   its training data, so the squared reconstruction error
   ``score(x) = sum_d (x_hat_d - x_d)^2`` is an outlier score: no labels, no
   density. We score held-out clean digits (negatives) and three kinds of
   inputs the model never saw (positives): uniform noise images, inverted
   digits ``1 - x``, and digits with 5% salt-and-pepper noise (about 20
   stray white pixels on the background; the hardest of the three). The ROC curve
   plots the fraction of outliers caught against the fraction of clean digits
   falsely flagged as the threshold moves; its area (AUC) is the probability
   that a random outlier scores above a random clean digit, computed from
   ranks (Mann-Whitney; ``tinyae.analysis.metrics.roc_auc``).

Run: python lessons/08_stacked_and_outliers.py   [--full: all 60000 digits,
more epochs]
"""

# %%
import numpy as np

from tinyae.corruption import MaskingNoise, SaltAndPepper
from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.analysis.metrics import roc_auc, roc_curve
from tinyae.models import SoftmaxClassifier, StackedAutoencoder
from tinyae.optim import Adam
from tinyae.course.plotting import bars, curves, grids, image_grid
from tinyae.course.plotting.outliers import roc_curves, score_histograms
from tinyae.train import fit

DTYPE = np.float32
SIZES = (784, 256, 64)
CLF_EPOCHS = 20
N_OUTLIER = 2000


# %%
def data_part(lesson):
    rng = lesson.rng
    n_train = 60000 if lesson.full else 20000
    x_all, y_all = load_mnist("train", dtype=DTYPE)
    idx = rng.permutation(x_all.shape[0])[:n_train]
    x_train, y_train = x_all[idx], y_all[idx]                   # (n_train, 784), (n_train,)
    x_test, y_test = load_mnist("test", dtype=DTYPE)            # (10000, 784), (10000,)
    lesson.report(f"{n_train} training digits, {x_test.shape[0]} test digits, float32")
    return x_train, y_train, x_test, y_test


# %%
# -- 1. Greedy layer-wise pretraining, then fine-tuning ----------------------
def stacked_part(lesson, x_train, x_test):
    rng = lesson.rng
    print(f"\n1. Stacked denoising autoencoder {SIZES}, sigmoid units, masking noise 25%")
    sae = StackedAutoencoder(sizes=SIZES, activation="sigmoid", corruption=MaskingNoise(0.25),
                             rng=rng, dtype=DTYPE)
    report = sae.pretrain(x_train, epochs=lesson.epochs, batch_size=64, lr=3e-3, rng=rng,
                          progress=lesson.progress)
    for r in report:
        lesson.report(f"level {r['level']} {r['sizes'][0]} -> {r['sizes'][1]}: denoising loss "
                      f"{r['loss_before']:.1f} at random init -> {r['loss_after']:.1f}")
        lesson.claim(f"greedy pretraining of level {r['level']} cuts its loss to under 80% "
                     f"(after / before)", r["loss_after"] / r["loss_before"], lt=0.8)

    loss_stacked = sae.reconstruction_loss(x_test)      # plain reconstruction of clean x
    history = fit(sae, x_train, optimizer=Adam(sae.params, lr=1e-3), epochs=lesson.epochs,
                  batch_size=64, rng=rng, progress=lesson.progress)
    loss_tuned = sae.reconstruction_loss(x_test)
    lesson.report(f"test reconstruction loss (BCE per image) of the unrolled stack: "
                  f"{loss_stacked:.2f} as stacked, {loss_tuned:.2f} after fine-tuning")
    lesson.claim("fine-tuning lowers the deep autoencoder's test loss (tuned / stacked)",
                 loss_tuned / loss_stacked, lt=0.98)

    lesson.save(curves({f"level {r['level']} ({r['sizes'][0]}->{r['sizes'][1]})":
                        r["history"]["loss"] for r in report} | {"fine-tuning (whole stack)":
                                                                history["loss"]},
                       ylabel="denoising loss per example (BCE)", logy=True,
                       title="greedy pretraining, then fine-tuning"), "training")
    W0 = sae.params["encoder.0.W"]                         # (784, 256): one filter per column
    lesson.save(image_grid(W0[:, :64].T, rows=8, vmin=None, vmax=None,
                           title="first-level filters (64 of 256)"), "filters")
    lesson.save(grids({"test digits": x_test[:12],
                       "reconstructions": sae.reconstruct(x_test[:12])}, rows=2),
                "reconstructions")
    return sae


# %%
# -- 2. Codes vs raw pixels vs random projections, same classifier -----------
def codes_part(lesson, sae, x_train, y_train, x_test, y_test):
    rng = lesson.rng
    print("\n2. The same softmax classifier on three representations")
    width = SIZES[-1]
    R = rng.standard_normal((784, width)).astype(DTYPE)        # (784, 64) Gaussian projection
    features = {
        f"SdA codes ({width})": (sae.encode(x_train), sae.encode(x_test)),
        "raw pixels (784)": (x_train, x_test),
        f"random projections ({width})": (x_train @ R, x_test @ R),
    }
    accuracy = {}
    for name, (f_train, f_test) in features.items():
        mean, std = f_train.mean(axis=0), f_train.std(axis=0) + 1e-2   # train statistics only
        f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
        clf = SoftmaxClassifier(n_in=f_train.shape[1], n_classes=10, rng=rng, dtype=DTYPE)
        fit(clf, (f_train, y_train), optimizer=Adam(clf.params, lr=1e-3), epochs=CLF_EPOCHS,
            batch_size=128, rng=rng, progress=lesson.progress)
        accuracy[name] = clf.accuracy(f_test, y_test)
        lesson.report(f"{name:<26s} test accuracy {accuracy[name]:.4f}")
    acc_codes, acc_raw, acc_random = accuracy.values()
    lesson.claim(f"learned codes beat random projections of the same width ({width}) by more "
                 f"than 2 points (accuracy difference)", acc_codes - acc_random, gt=0.02)
    lesson.claim(f"{width} learned codes come within 3 points of all 784 pixels "
                 f"(raw - codes accuracy)", acc_raw - acc_codes, lt=0.03)
    lesson.save(bars(accuracy, ylabel="test accuracy (softmax classifier)",
                     title="what a linear read-out finds"), "accuracy")


# %%
# -- 3. Outlier detection by reconstruction error ----------------------------
def outliers_part(lesson, sae, x_test):
    rng = lesson.rng
    print("\n3. Outlier score = squared reconstruction error; clean vs foreign inputs")
    clean = x_test[:N_OUTLIER]                                 # negatives: held-out digits
    other = x_test[N_OUTLIER:2 * N_OUTLIER]                    # different digits for positives
    outliers = {
        "uniform noise": rng.random((N_OUTLIER, 784)).astype(DTYPE),
        "inverted digits (1 - x)": 1 - other,
        "salt-and-pepper 5%": SaltAndPepper(0.05)(other, rng),
    }
    s_clean = sae.reconstruction_error(clean)                  # (N_OUTLIER,)
    scores, rocs = {}, {}
    lesson.report(f"clean test digits: median score {np.median(s_clean):.1f}")
    for name, x_out in outliers.items():
        scores[name] = sae.reconstruction_error(x_out)
        auc = roc_auc(s_clean, scores[name])
        fpr, tpr, _ = roc_curve(s_clean, scores[name])
        rocs[name] = (fpr, tpr, auc)
        lesson.report(f"{name:<26s} median score {np.median(scores[name]):7.1f}, "
                      f"AUC {auc:.4f}")
        lesson.claim(f"reconstruction error separates {name} from clean digits: AUC", auc,
                     gt=0.95)

    lesson.save(score_histograms(s_clean, scores, title="reconstruction error of the SdA"),
                "score_histograms")
    lesson.save(roc_curves(rocs, title="outlier detection by reconstruction error"), "roc")
    pairs = {"clean digits": clean[:4]} | {name: x[:4] for name, x in outliers.items()}
    # top: input, bottom: output
    lesson.save(grids({name: np.concatenate([x, sae.reconstruct(x)])
                       for name, x in pairs.items()}, rows=2), "outliers")


# %%
def main():
    lesson = Lesson("08_stacked_and_outliers", __doc__, epochs=5, full_epochs=20)
    x_train, y_train, x_test, y_test = data_part(lesson)
    sae = stacked_part(lesson, x_train, x_test)
    codes_part(lesson, sae, x_train, y_train, x_test, y_test)
    outliers_part(lesson, sae, x_test)
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
