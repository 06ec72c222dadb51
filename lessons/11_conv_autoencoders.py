"""Lesson 11: convolutional autoencoders -- CNN against MLP, and the checkerboard of transposed convolutions."""

# %% [markdown]
# # Lesson 11: convolutional autoencoders
#
# A dense layer treats the 784 pixels of a digit as an unordered list: move a
# stroke one pixel to the right and the input is a different vector. A
# convolution slides one small kernel over the image, so it finds the same local
# pattern (an edge, a stroke end) anywhere, with a handful of weights. A
# convolutional autoencoder stacks such layers in its encoder, shrinking the
# image by pooling, and mirrors them in its decoder, which must *enlarge*
# feature maps again.
#
# **You will learn**
# * how a convolution, a max pool and a transposed convolution compute, and why
#   the transposed convolution is exactly the backward pass of a convolution;
# * to count the parameters of a convolutional autoencoder by hand;
# * whether the CNN of Murphy's book beats an MLP because it is convolutional or
#   because its code is 19 times larger;
# * why a stride-2 transposed convolution with a 3x3 kernel paints a
#   checkerboard, and how resize-then-convolve avoids it.
#
# **It assumes** lesson 02 (an undercomplete autoencoder, the Bernoulli
# cross-entropy on logits, Adam) and lesson 00 (gradient checking). Exercises 11
# (conv2d backward) and 12 (max-pool backward) write the two backward passes this
# lesson relies on.

# %%
import numpy as np

from tinyae.course.judge import recognised_share
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import conv as conv_plots
from tinyae.course.plotting import image_grid
from tinyae.data import load_mnist
from tinyae.models import ConvAutoencoder, MLPAutoencoder
from tinyae.models.conv import PML_BOOK_CNN, checkerboard_power, overlap_map
from tinyae.optim import Adam
from tinyae.train import evaluate, fit

lesson = Lesson("11_conv_autoencoders", __doc__, epochs=3, full_epochs=5)

# %% [markdown]
# ## 1. Convolution, pooling and the transposed convolution
#
# A convolution layer with $F$ kernels $W: (F, C, k, k)$, stride $s$ and bias $b$
# reads one $k \times k$ window of the zero-padded input $x_\text{pad}$ per
# output pixel:
#
# $$
# \text{out}[n, f, i, j] = b_f + \sum_{c, p, q} W[f, c, p, q]\; x_\text{pad}[n, c, i s + p, j s + q].
# $$
#
# It is linear in $W$ and in $x$, so each gradient is the sum, over every place
# where the variable was used, of the upstream gradient times the other factor:
#
# $$
# \frac{\partial L}{\partial W[f, c, p, q]} = \sum_{n, i, j} \text{dout}[n, f, i, j]\; x_\text{pad}[n, c, i s + p, j s + q],
# \qquad
# \frac{\partial L}{\partial b_f} = \sum_{n, i, j} \text{dout}[n, f, i, j],
# $$
#
# $$
# \frac{\partial L}{\partial x_\text{pad}[n, c, u, v]} = \sum_{f} \sum_{\substack{i, p:\ i s + p = u \\ j, q:\ j s + q = v}} \text{dout}[n, f, i, j]\; W[f, c, p, q].
# $$
#
# Read the last line as a stamping: every upstream pixel $\text{dout}[n, f, i, j]$
# stamps the kernel $W[f]$, scaled by its value, onto the window it came from,
# and overlapping stamps add. That operation, used as a layer of its own, is the
# **transposed convolution**: the adjoint of a strided convolution. It turns a
# small map into a large one, $n_\text{out} = (n - 1)s - 2p + k$ (plus an
# optional output padding), which is what a decoder needs. Its forward pass is a
# convolution's input gradient and its backward pass is a convolution.
#
# A $2 \times 2$ max pool keeps the largest entry of each window; only that entry
# moved the output, with slope 1, so its backward pass routes $\text{dout}$ to
# the arg-max and gives the others zero. Every one of these gradients is written
# out in `tinyae/functional/conv.py` and checked by `python -m tinyae.gradcheck`.

# %% [markdown]
# ## 2. Three autoencoders, one budget
#
# Murphy's book (section 20.3.1) trains an MLP autoencoder with a 30-unit
# bottleneck and a CNN autoencoder: three $3 \times 3$ convolutions with 16, 32
# and 64 channels, each followed by ReLU and a $2 \times 2$ max pool
# ($28 \to 14 \to 7 \to 3$), then three stride-2 transposed convolutions back up
# ($3 \to 7 \to 14 \to 28$), Bernoulli likelihood. It finds the CNN's
# reconstructions sharper. The parameter count follows from the shapes: a
# $C_\text{in} \to C_\text{out}$ layer with a $3 \times 3$ kernel has
# $9\, C_\text{in} C_\text{out} + C_\text{out}$ numbers, so
#
# $$
# \underbrace{160 + 4640 + 18496}_{\text{encoder}} + \underbrace{18464 + 4624 + 145}_{\text{decoder}} = 46529,
# $$
#
# a quarter of the MLP 784-100-30-100-784's 163,814. But the book's code is the
# $(64, 3, 3)$ map, 576 numbers against the MLP's 30. So we also ask the
# question the book leaves open: the same CNN with a linear layer to a
# 30-number code after its encoder (and one back before its decoder). All three
# get the same images, epochs, batch size and Adam step size.

# %%
BATCH = 128 if lesson.full else 32     # the book's budget with --full; more steps by default
LR = 2e-3
n_train, n_test = (60000, 10000) if lesson.full else (4000, 500)
x_all, y_all = load_mnist("test", dtype=np.float32)
x_train = load_mnist("train", dtype=np.float32)[0][:n_train]
x_test, y_test = x_all[:n_test], y_all[:n_test]
kw = dict(rng=lesson.rng, dtype=np.float32)

#: The book's CNN with a 30-number code: a linear layer after its encoder,
#: one back to (64, 3, 3) before its decoder.
CNN_30 = {"encoder": PML_BOOK_CNN["encoder"] + ["flatten", ("linear", 30)],
          "decoder": [("linear", 64 * 3 * 3), "relu", ("reshape", 64, 3, 3)]
          + PML_BOOK_CNN["decoder"]}

models = {"MLP 784-100-30": MLPAutoencoder(sizes=(784, 100, 30), **kw),
          "book CNN (64x3x3 code)": ConvAutoencoder(**PML_BOOK_CNN, **kw),
          "CNN, 30-number code": ConvAutoencoder(**CNN_30, **kw)}


# %%
def train(model):
    """Fit with the shared budget; returns (test BCE per image, seconds per epoch)."""
    history = fit(model, x_train, optimizer=Adam(model.params, lr=LR), epochs=lesson.epochs,
                  batch_size=BATCH, rng=lesson.rng, progress=lesson.progress)
    # batches of 250: an im2col matrix of 1,000 images would take ~100 MB
    return evaluate(model, x_test, batch_size=250)[0], float(np.mean(history["seconds"]))


# %%
bce = {}
for name, model in models.items():
    bce[name], sec = train(model)
    lesson.report(f"{name:<24s} params {model.n_params:>7,d}  code {model.n_code:>4d}  "
                  f"test BCE/image {bce[name]:7.2f}  {sec:5.2f} s/epoch")
mlp, book, cnn30 = bce.values()

# %% [markdown]
# The test loss is the Bernoulli cross-entropy summed over the 784 pixels, in
# nats per image. Now look at what each model draws for the first eight test
# digits.

# %%
shown, shown_labels = x_test[:8], y_test[:8]
recons = {name: m.reconstruct(shown) for name, m in models.items()}
lesson.save(image_grid(np.concatenate([shown, *recons.values()]), rows=4,
                       row_labels=["test digit", *recons],
                       col_labels=[f"a {d}" for d in shown_labels]), "reconstructions")

# %% [markdown]
# Every row should name the digit of its column. The book's CNN draws the
# thinnest, crispest strokes; the two 30-number codes keep the digit but blur
# its shape. A digit judge (a classifier trained on real digits,
# `tinyae.course.judge`) reads the 24 reconstructions for us.

# %%
lesson.report("recognised by the judge, per model: " + ", ".join(
    f"{name} {recognised_share(r, shown_labels):.3f}" for name, r in recons.items()))
lesson.claim("share of the shown reconstructions the digit judge names as their input's digit",
             recognised_share(np.concatenate(list(recons.values())),
                              np.tile(shown_labels, len(recons))), gt=0.9)
lesson.claim("book CNN test BCE per image below the MLP-30's (ratio CNN / MLP)",
             book / mlp, lt=0.95)
# the bounds of --full (the book's budget) are its own: there the CNN-30
# closes much of the gap (1.09 and 1.08, seeds 0 and 1)
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

# %% [markdown]
# So the book's CNN wins, at **0.75** of the MLP's cross-entropy, with a quarter
# of its parameters, but much of that lead is the larger code: squeezed to 30
# numbers, the CNN's loss is **1.34** times the book CNN's, and against the MLP
# with the same 30-number code it is a tie at this budget (ratio **1.00**). With
# the book's budget (`--full`: 5 epochs on all 60,000 digits) the CNN-30 pulls
# ahead of the MLP-30 (0.95 of its loss with seed 0, 0.93 with seed 1; claimed
# below 0.97 there) with half its parameters: weight sharing pays once there is
# enough training.
#
# What did the first layer learn? Each of its 16 filters is a $3 \times 3$ patch
# of weights.

# %%
lesson.save(conv_plots.filters(models["book CNN (64x3x3 code)"].params["encoder.0.W"],
                               title="book CNN: first-layer 3x3 filters"), "filters")

# %% [markdown]
# After three short epochs many filters still look half random, but several
# already set a bright side against a dark one: edge detectors at some
# orientation, each applied at every position of the image.

# %% [markdown]
# ## 3. Checkerboards: counting the stamps
#
# Odena, Dumoulin and Olah (2016) point out that a transposed convolution does
# not cover its output evenly. In one dimension, input pixel $i$ stamps a kernel
# of size $k$ onto the outputs $o = s i + a$, $a = 0, \dots, k - 1$, so output
# $o$ is covered by every $i$ with $0 \le o - s i \le k - 1$:
#
# $$
# \#\{i\} = \#\Big\{ i \in \mathbb{Z} : \tfrac{o - k + 1}{s} \le i \le \tfrac{o}{s} \Big\}
# = \begin{cases} \lceil k / s \rceil & \text{for some residues } o \bmod s, \\ \lfloor k / s \rfloor & \text{for the others.} \end{cases}
# $$
#
# The two counts agree only when $s$ divides $k$. For $s = 2, k = 3$, even
# outputs get 2 stamps and odd ones 1; in two dimensions the counts multiply, so
# the output pixels see 1, 2 or 4 stamps in a period-2 pattern. For $k = 5$:
# 2 or 3 per axis, hence 4, 6 or 9. For $k = 4$: 2 per axis everywhere. Resizing
# instead (nearest-neighbour upsampling by 2, then an ordinary $3 \times 3$
# convolution) gives every output pixel exactly $k^2 = 9$ taps.
# `overlap_map` counts them exactly: a transposed convolution of an all-ones
# input with an all-ones kernel.

# %%
maps = {f"convT k{k} s2": overlap_map(k, 2) for k in (3, 4, 5)}
maps["upsample x2 + conv k3"] = overlap_map(3, 2, mode="upsample")
for label, m in maps.items():
    lesson.report(f"{label:<22s} counts {sorted(set(m.ravel().tolist()))}")

# %%
lesson.save(conv_plots.overlap_maps(maps, title="kernel taps per output pixel"),
            "overlap_maps")

# %% [markdown]
# The kernel-3 and kernel-5 maps repeat a 2x2 tile of unequal counts: that tile
# is the checkerboard. The kernel-4 and resize maps are flat.

# %%
ratio = {label: m.max() / m.min() for label, m in maps.items()}
lesson.claim("convT k3 s2 overlap counts are exactly 1:2:4 (max/min)",
             ratio["convT k3 s2"], within=(4.0, 0.0))
lesson.claim("convT k3 s2 overlap counts are {1, 2, 4} (their sum)",
             sum(set(maps["convT k3 s2"].ravel().tolist())), within=(7.0, 0.0))
lesson.claim("convT k5 s2 overlap max/min (4:6:9)", ratio["convT k5 s2"], within=(2.25, 0.0))
lesson.claim("convT k4 s2 overlap max/min (uniform)", ratio["convT k4 s2"], within=(1.0, 0.0))
lesson.claim("upsample + conv k3 overlap max/min (uniform)",
             ratio["upsample x2 + conv k3"], within=(1.0, 0.0))

# %% [markdown]
# ## 4. Checkerboards in trained decoders
#
# Does the uneven coverage show in what a trained decoder draws? We measure the
# share of an output's variance in the three period-2 patterns $(-1)^{i+j}$,
# $(-1)^i$ and $(-1)^j$. With $a_{ij}$ the output minus its mean on an
# $H \times W$ grid and its projections
#
# $$
# c_{\pm\pm} = \sum_{i,j} a_{ij} (-1)^{i+j}, \qquad c_{\pm 0} = \sum_{i,j} a_{ij} (-1)^{i}, \qquad c_{0 \pm} = \sum_{i,j} a_{ij} (-1)^{j},
# $$
#
# these are the discrete Fourier coefficients at the frequencies $(\pi, \pi)$,
# $(\pi, 0)$ and $(0, \pi)$, and Parseval's theorem,
# $\sum_k |Y_k|^2 = HW \sum_{ij} a_{ij}^2$, turns them into a share of the
# variance:
#
# $$
# \text{share} = \frac{c_{\pm\pm}^2 + c_{\pm 0}^2 + c_{0 \pm}^2}{H W \sum_{i,j} a_{ij}^2}.
# $$
#
# For white noise each $c^2$ has expectation $HW\sigma^2$ and the denominator
# $(HW)^2 \sigma^2$, so the share is $3 / (HW) = 3/784 \approx 0.0038$; a smooth
# digit has far less. We measure the decoder's *logits*, where the flat
# background is not hidden behind a saturated sigmoid. Three decoders: the
# book's (kernel 3, stride 2), and the same model with its last two stages
# ($7 \to 14 \to 28$) replaced by kernel-4 transposed convolutions or by
# upsample + $3 \times 3$ convolution, all trained alike.

# %%
_FIRST_STAGE = PML_BOOK_CNN["decoder"][:2]               # convT k3 s2: 3 -> 7
DECODERS = {
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
decoder_models = {"convT k3 s2 (book)": models["book CNN (64x3x3 code)"]}
for label, decoder in DECODERS.items():
    decoder_models[label] = ConvAutoencoder(encoder=PML_BOOK_CNN["encoder"],
                                            decoder=decoder, **kw)
    lesson.report(f"{label:<24s} test BCE/image {train(decoder_models[label])[0]:7.2f}")

# %%
power, logits = {}, {}
for label, model in decoder_models.items():
    out = model.decoder.forward(model.encode(x_test[:200]))      # logits (200, 1, 28, 28)
    logits[label], power[label] = out[:, 0], checkerboard_power(out)
    lesson.report(f"{label:<24s} period-2 share of the logits' variance {power[label]:.5f}")
lesson.report(f"(test digits themselves: {checkerboard_power(x_test.reshape(-1, 28, 28)):.5f};"
              f" white noise: {3 / 784:.5f})")

# %%
lesson.save(conv_plots.decoder_outputs(logits, title="decoder logits (each image "
                                       "scaled to its range)"), "decoder_logits")

# %% [markdown]
# Look at the background around each digit: the book's decoder and the kernel-4
# decoder leave a fine grid of dots and stripes with period 2, the resize
# decoder a smooth haze.

# %%
book_p, k4_p, up_p = power.values()
# longer training can shrink the k3 decoder's checkerboard (--full:
# 1.9 with seed 0, 21.0 with seed 1)
lesson.claim("period-2 power of the convT k3 s2 decoder over upsample + conv's",
             book_p / up_p, gt=1.3 if lesson.full else 3.0)
lesson.claim("period-2 power of the convT k4 s2 decoder over upsample + conv's",
             k4_p / up_p, gt=2.0)
lesson.report(f"convT k3 / convT k4 period-2 power: {book_p / k4_p:.3g} (an even overlap "
              f"removes the built-in cause, not learned uneven kernels: either can lead)")

# %% [markdown]
# Both transposed-convolution decoders leave more period-2 power than the resize
# decoder: the kernel-3 one **15** times as much, the kernel-4 one **13** times
# (the test digits themselves have about as little as the resize decoder). That
# the kernel-4 decoder does, though its stamps cover the output evenly, is
# Odena et al.'s second point: an even overlap removes the checkerboard built
# into the stamping, not the one learned kernels can still put there. Which of the two leads varies
# from seed to seed and with the budget.
#
# ## Check your understanding
#
# 1. Count the parameters of the CNN-30 by hand from its layers and check the
#    printed count. Which layer holds most of the difference from the book's CNN?
# 2. The judge recognises the reconstructions of all three models, yet the test
#    cross-entropies differ a lot. What does the cross-entropy measure that the
#    judge does not?
# 3. Set `BATCH = 128` in the data cell (the original budget: four times fewer
#    Adam steps on the same images) and re-run section 2. Which claim fails, and
#    what do the reconstructions look like?
# 4. Using the formula of section 3, predict the overlap counts of a stride-3
#    transposed convolution with kernel 5, then check with `overlap_map(5, 3)`.
# 5. The white-noise share is $3/784$. Why is the share of the test digits
#    themselves so much smaller, and why do we measure logits rather than
#    probabilities?
#
# ## Exercises
#
# * Exercise 11, `ex11_conv2d.py` (`tinyae exercises start DIR`): write
#   `conv2d_backward`, the three sums of section 1, one window at a time.
# * Exercise 12, `ex12_max_pool.py`: write `max_pool2d_backward`, with
#   overlapping windows and ties.
#
# ## References
#
# * Murphy, K. P. (2022). *Probabilistic Machine Learning: An Introduction*. MIT
#   Press. Section 20.3.1 (bottleneck autoencoders: the MLP and CNN autoencoders
#   on MNIST compared here).
# * Odena, A., Dumoulin, V. and Olah, C. (2016). Deconvolution and checkerboard
#   artifacts. *Distill*, doi:10.23915/distill.00003 (the overlap figures and
#   resize-convolution).
# * Dumoulin, V. and Visin, F. (2016). A guide to convolution arithmetic for deep
#   learning. arXiv:1603.07285. The chapter on transposed convolution
#   arithmetic (transposed convolution as the adjoint
#   of a convolution, and its output size).

# %%
lesson.finish()
