"""Lesson 11: convolutional autoencoders -- CNN against MLP, and the checkerboard
of transposed convolutions.

A dense layer treats the 784 pixels of a digit as an unordered list: moving
a stroke one pixel to the right gives it a completely different input. A
convolution slides one small kernel over the image, so it is built to find
the same local pattern (an edge, a stroke end) anywhere, with a handful of
weights. A convolutional autoencoder stacks such layers in the encoder,
shrinking the image by pooling or strided convolution, and mirrors them in
the decoder, which must *enlarge* feature maps again: by a transposed
convolution (the adjoint of a strided convolution: every input pixel stamps
the kernel onto the output) or by resizing (nearest-neighbour upsampling)
followed by an ordinary convolution.

Part 1: CNN versus MLP. The PML book (Murphy, *Probabilistic Machine
Learning: An Introduction*, 2022, section 20.3.1) trains an MLP
autoencoder with a 30-unit bottleneck and a CNN autoencoder -- three 3x3
convolutions (16, 32, 64 channels), each followed by 2x2 max pooling, down
to a (64, 3, 3) code, then three stride-2 transposed convolutions back up,
Bernoulli likelihood -- and finds the CNN's reconstructions sharper. Its
code holds 576 numbers, though, against the MLP's 30. So we also ask the
question the book leaves open: with the code squeezed to 30 numbers too (a
linear layer after the convolutions), does the CNN still win, and with how
many parameters? Every model gets the same training budget (the same
images, epochs, batch size and Adam step); we report parameters, code size,
test cross-entropy per image (nats, summed over the 784 pixels) and the
time per epoch.

Part 2: checkerboards (Odena, Dumoulin and Olah, "Deconvolution and
checkerboard artifacts", Distill, 2016). A stride-2 transposed convolution
with a 3x3 kernel stamps overlapping 3x3 blocks every 2 pixels: an output
pixel is covered by 1, 2 or 4 stamps depending on its position (Distill's
Figure "overlap"). We count the stamps exactly (all-ones input and kernel):
1:2:4 for kernel 3 (max/min 4), 4:6:9 for kernel 5 (2.25), uniform for
kernel 4 (divisible by the stride) and for nearest upsampling followed by a
convolution. The uneven coverage leaves a period-2 pattern in what the
decoder draws. We measure it in trained decoders: the share of the
variance of the decoder's output (its logits, where the flat background
does not hide anything behind a saturated sigmoid) in the period-2 patterns
(-1)^(i+j), (-1)^i and (-1)^j, for the book's decoder (kernel 3, stride 2)
and the same model with its last two stages replaced by kernel-4 transposed
convolutions or by upsample + 3x3 convolution, all trained alike.

Figures: reconstructions of test digits side by side, the overlap maps,
decoder logits of each variant, and the CNN's first-layer filters.

Defaults (seed 0, one thread): 2,000 training images, 3 epochs, batch 128,
Adam 2e-3, 500 test images, 23-28 s of CPU; ``--full`` trains on all
60,000 images for 5 epochs (the book's budget) and tests on 10,000.

Measured (default run, seed 0; per epoch on 2,000 images, under load):

=========================  ========  =====  ==============  ===========
model                      params    code   test BCE/image  s/epoch
=========================  ========  =====  ==============  ===========
MLP 784-100-30             163,814     30       183.6          0.2
book CNN (64, 3, 3) code    46,529    576       166.5          4.7
CNN, 30-number code         81,695     30       202.0          5.5
=========================  ========  =====  ==============  ===========

So the book's CNN wins (ratio 0.91, claimed below 0.95; seed 1: 0.91) with
a quarter of the MLP's parameters -- but with a code 19 times larger. At
30 numbers the CNN loses at this budget (1.10 of the MLP's BCE; reported,
not claimed: whether the book's 5 epochs on 60,000 images change the order
is what ``--full`` measures, and they do, below), while using half the
MLP's parameters. Overlap counts:
exactly {1, 2, 4} for kernel 3 (max/min 4), {4, 6, 9} for kernel 5
(2.25), 4 everywhere for kernel 4 and 9 everywhere for upsample + 3x3 conv.
Period-2 share of the decoder logits' variance: 0.0123 (convT k3),
0.0032 (convT k4), 0.0006 (upsample + conv), against 0.0002 in the digits
themselves: both transposed-convolution decoders leave a checkerboard the
resize-convolution decoder does not (ratios 21 and 5.5, claimed above 3
and 2). Which transposed convolution leaves more depends on the run (seed
1: k4 above k3): an even overlap removes the checkerboard built into the
stamping, not the one learned kernels can still put there, as Odena et
al. observe.

Measured with ``--full`` (60,000 training images, 5 epochs, 10,000 test
images, one thread, about 610 s; seed 0, seed 1 in brackets):

=========================  ========  =====  ===============  ===========
model                      params    code   test BCE/image   s/epoch
=========================  ========  =====  ===============  ===========
MLP 784-100-30             163,814     30    69.5 (69.6)        1.2
book CNN (64, 3, 3) code    46,529    576    60.4 (60.3)       23.4
CNN, 30-number code         81,695     30    65.1 (64.7)       24.5
=========================  ========  =====  ===============  ===========

With the book's budget the fair question gets the other answer: the
CNN-30 beats the MLP-30 (0.94 (0.93) of its BCE; claimed below 0.97 in
``--full`` only) with half its parameters, and the book's CNN keeps only
part of its lead over the CNN-30 (1.08 (1.07); claimed above 1.03 there,
above 1.1 by default). The checkerboards vary from seed to seed: period-2
shares 0.00043 (0.00271) for convT k3, 0.00100 (0.00177) for convT k4,
0.00024 (0.00012) for upsample + conv, ratios 1.8 (22.6) and 4.2 (14.8);
``--full`` claims above 1.3 and 2.

The gradients of every layer used here are derived in
``tinyae/functional/conv.py`` and checked by ``python -m tinyae.gradcheck``.

Run: ``python lessons/11_conv_autoencoders.py`` (``--epochs``, ``--full``).
"""

# %%
import numpy as np

from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import ConvAutoencoder, MLPAutoencoder
from tinyae.models.conv import PML_BOOK_CNN, checkerboard_power, overlap_map
from tinyae.optim import Adam
from tinyae.course.plotting import conv as conv_plots
from tinyae.course.plotting import grids
from tinyae.train import evaluate, fit

BATCH, LR = 128, 2e-3

#: The book's CNN with a 30-number code: a linear layer after its encoder,
#: one back to (64, 3, 3) before its decoder.
CNN_30 = {"encoder": PML_BOOK_CNN["encoder"] + ["flatten", ("linear", 30)],
          "decoder": [("linear", 64 * 3 * 3), "relu", ("reshape", 64, 3, 3)]
          + PML_BOOK_CNN["decoder"]}

#: The book's decoder with its last two stages (7 -> 14 -> 28) swapped.
_FIRST_STAGE = PML_BOOK_CNN["decoder"][:2]               # convT k3 s2: 3 -> 7
DECODERS = {
    "convT k3 s2 (book)": PML_BOOK_CNN["decoder"],
    "convT k4 s2": _FIRST_STAGE + [
        ("convT", 16, 4, {"stride": 2, "padding": 1}), "relu",
        ("convT", 1, 4, {"stride": 2, "padding": 1})],
    # 8 channels before the last resize: its 3x3 convolution runs at 28 x 28,
    # where 16 channels cost 4x the book's decoder (an im2col matrix of
    # 58 MB per batch of 128)
    "upsample + conv k3": _FIRST_STAGE + [
        ("upsample", 2), ("conv", 8, 3, {"padding": 1}), "relu",
        ("upsample", 2), ("conv", 1, 3, {"padding": 1})],
}


# %%
def train(model, x_train, x_test, lesson):
    """Fit with the shared budget; returns (test BCE per image, seconds per epoch)."""
    history = fit(model, x_train, optimizer=Adam(model.params, lr=LR), epochs=lesson.epochs,
                  batch_size=BATCH, rng=lesson.rng, progress=lesson.progress)
    # batches of 250: an im2col matrix of 1,000 images would take ~100 MB
    return evaluate(model, x_test, batch_size=250)[0], float(np.mean(history["seconds"]))


# %%
def main():
    lesson = Lesson("11_conv_autoencoders", __doc__, epochs=3, full_epochs=5)
    n_train, n_test = (60000, 10000) if lesson.full else (2000, 500)
    x_train = load_mnist("train", dtype=np.float32)[0][:n_train]
    x_test = load_mnist("test", dtype=np.float32)[0][:n_test]
    kw = dict(rng=lesson.rng, dtype=np.float32)

    # -- part 1: MLP-30, the book's CNN (576-number code), CNN-30 ------------
    models = {"MLP 784-100-30": MLPAutoencoder(sizes=(784, 100, 30), **kw),
              "book CNN (64x3x3 code)": ConvAutoencoder(**PML_BOOK_CNN, **kw),
              "CNN, 30-number code": ConvAutoencoder(**CNN_30, **kw)}
    results = {}
    for name, model in models.items():
        bce, sec = train(model, x_train, x_test, lesson)
        code = model.n_code
        results[name] = bce
        lesson.report(f"{name:<24s} params {model.n_params:>7,d}  code {code:>4d}  "
                      f"test BCE/image {bce:7.2f}  {sec:5.2f} s/epoch")
    mlp, book, cnn30 = results.values()
    lesson.claim("book CNN test BCE per image below the MLP-30's (ratio CNN / MLP)",
                 book / mlp, lt=0.95)
    # the bounds of --full (the book's budget) are its own: there the
    # CNN-30 closes much of the gap (1.08 and 1.07, seeds 0 and 1, against
    # 1.21 by default; see the docstring)
    lesson.claim("CNN-30 test BCE per image over the book CNN's (the 576-number code "
                 "carries part of its lead)", cnn30 / book, gt=1.03 if lesson.full else 1.1)
    lesson.report(f"the fair question: CNN-30 / MLP-30 test BCE = {cnn30 / mlp:.3f} "
                  f"({'the CNN still wins' if cnn30 < mlp else 'the MLP wins'} at this budget)")
    if lesson.full:
        lesson.claim("CNN-30 test BCE per image below the MLP-30's at the book's budget "
                     "(ratio CNN-30 / MLP-30)", cnn30 / mlp, lt=0.97)
    lesson.claim("CNN-30 parameters relative to the MLP-30's",
                 models["CNN, 30-number code"].n_params / models["MLP 784-100-30"].n_params,
                 lt=1.0)
    lesson.claim("book CNN parameters (by hand: 46,529)",
                 models["book CNN (64x3x3 code)"].n_params, within=(46529, 0))

    shown = x_test[:8]
    fig = grids({"test digits": shown, **{name: m.reconstruct(shown)
                                          for name, m in models.items()}}, rows=2)
    lesson.save(fig, "reconstructions")
    lesson.save(conv_plots.filters(models["book CNN (64x3x3 code)"].params["encoder.0.W"],
                                   title="book CNN: first-layer 3x3 filters"), "filters")

    # -- part 2: overlap counts, exactly -------------------------------------
    maps = {f"convT k{k} s2": overlap_map(k, 2) for k in (3, 4, 5)}
    maps["upsample x2 + conv k3"] = overlap_map(3, 2, mode="upsample")
    for label, m in maps.items():
        lesson.report(f"{label:<22s} counts {sorted(set(m.ravel().tolist()))}")
    ratio = {label: m.max() / m.min() for label, m in maps.items()}
    k3 = sorted(set(maps["convT k3 s2"].ravel().tolist()))
    lesson.claim("convT k3 s2 overlap counts are exactly 1:2:4 (max/min)",
                 ratio["convT k3 s2"], within=(4.0, 0.0))
    lesson.claim("convT k3 s2 overlap counts are {1, 2, 4} (their sum)", sum(k3),
                 within=(7.0, 0.0))
    lesson.claim("convT k5 s2 overlap max/min (4:6:9)", ratio["convT k5 s2"],
                 within=(2.25, 0.0))
    lesson.claim("convT k4 s2 overlap max/min (uniform)", ratio["convT k4 s2"],
                 within=(1.0, 0.0))
    lesson.claim("upsample + conv k3 overlap max/min (uniform)",
                 ratio["upsample x2 + conv k3"], within=(1.0, 0.0))
    lesson.save(conv_plots.overlap_maps(maps, title="kernel taps per output pixel"),
                "overlap_maps")

    # -- part 2: checkerboard energy of trained decoders ----------------------
    power, logits = {}, {}
    data_power = checkerboard_power(x_test.reshape(-1, 28, 28))
    for label, decoder in DECODERS.items():
        if label.endswith("(book)"):
            model = models["book CNN (64x3x3 code)"]
        else:
            model = ConvAutoencoder(encoder=PML_BOOK_CNN["encoder"], decoder=decoder, **kw)
            bce, _ = train(model, x_train, x_test, lesson)
            lesson.report(f"{label:<24s} test BCE/image {bce:7.2f}")
        out = model.decoder.forward(model.encode(x_test[:200]))      # logits (200, 1, 28, 28)
        logits[label] = out[:, 0]
        power[label] = checkerboard_power(out)
        lesson.report(f"{label:<24s} period-2 share of the logits' variance "
                      f"{power[label]:.5f}")
    lesson.report(f"(test digits themselves: {data_power:.5f}; white noise: {3 / 784:.5f})")
    book_p, k4_p, up_p = power.values()
    # longer training can shrink the k3 decoder's checkerboard (--full:
    # 1.8 with seed 0, 22.6 with seed 1, against 21 by default)
    lesson.claim("period-2 power of the convT k3 s2 decoder over upsample + conv's",
                 book_p / up_p, gt=1.3 if lesson.full else 3.0)
    lesson.claim("period-2 power of the convT k4 s2 decoder over upsample + conv's",
                 k4_p / up_p, gt=2.0)
    lesson.report(f"convT k3 / convT k4 period-2 power: {book_p / k4_p:.3g} (an even overlap "
                  f"removes the built-in cause, not learned uneven kernels: either can lead)")
    lesson.save(conv_plots.decoder_outputs(logits, title="decoder logits (each image "
                                           "scaled to its range)"), "decoder_logits")
    lesson.finish()


# %%
if __name__ == "__main__":
    main()
