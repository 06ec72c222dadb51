"""Lesson 18: masked autoencoders -- hide most of the image, predict it back."""

# %% [markdown]
# # Lesson 18: masked autoencoders
#
# A denoising autoencoder (lesson 03) corrupts its input and learns to undo the
# damage. Masked modelling is the same game with one kind of corruption: whole
# pieces of the input are hidden. BERT hides words; the masked autoencoder (MAE)
# of He et al. hides image patches, and encodes only the patches it was shown.
#
# **You will learn**
# * how an image becomes a sequence of patch tokens, and how a random 75% of
#   them is hidden by shuffling the token indices;
# * the MAE's loss, the squared error on the hidden patches only, and where its
#   gradient goes (including the shared mask token's);
# * the best *linear* fill of hidden pixels, the Gaussian conditional mean,
#   derived in closed form, and how a small MAE compares with it;
# * what one attention head of the encoder looks at, and how well a linear
#   probe reads the digit from the MAE's features.
#
# **It assumes** lesson 03 (denoising), lesson 02 (training an autoencoder with
# Adam) and lesson 00 (gradient checking). The gradients of the transformer's
# layers (LayerNorm, GELU, softmax attention, token gathers) are derived in
# `tinyae/functional/transformer.py` and checked by
# `python -m tinyae.gradcheck -k MAE`; this lesson uses them as given.

# %%
import numpy as np

from tinyae.analysis.imputation import GaussianImputer
from tinyae.course.judge import digit_judge, recognised_share
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import bars
from tinyae.course.plotting.mae import attention_maps, masked_reconstructions, ratio_sweep
from tinyae.data import load_mnist
from tinyae.functional import unpatchify
from tinyae.models import MAE, MLPAutoencoder
from tinyae.models.softmax import linear_probe
from tinyae.optim import Adam, cosine_decay
from tinyae.train import fit

lesson = Lesson("18_masked_autoencoders", __doc__, epochs=3, full_epochs=20)

PATCH, DIM, DECODER_DIM, HEADS, MLP_RATIO, MASK_RATIO = 7, 64, 32, 4, 2, 0.75
LR, BATCH = 2e-3, 128
RIDGE = 1e-3
N_EVAL, GROUP = 2000, 20                   # test digits; digits sharing one mask pattern
RATIOS = (0.25, 0.5, 0.75, 0.9)
SWEEP_FULL_EPOCHS = 10
N_PROBE_TRAIN, N_PROBE_TEST, PROBE_EPOCHS = 10_000, 5_000, 5
DTYPE = np.float32

# %% [markdown]
# ## 1. Patches, masks and the loss
#
# Cut a $28 \times 28$ digit into $T = 16$ patches of $7 \times 7$ pixels. Each
# patch $x_t \in \mathbb{R}^{49}$ is a token: a linear map embeds it in
# $\mathbb{R}^{64}$ and a fixed sine-cosine vector says where it came from. For
# each image draw a random permutation of the 16 token indices; the first 4 are
# *visible*, the other 12 (75%) *hidden*. The encoder, a transformer block, sees
# only the 4 visible tokens. A light decoder receives their encodings back at
# their positions and one shared, learned **mask token** $m$ at every hidden
# position, and predicts all 16 patches $\hat x_t$. With $H_n$ the hidden
# positions of image $n$, the loss over a batch of $N$ images is
#
# $$
# L = \frac{1}{N} \sum_{n=1}^{N} \sum_{t \in H_n} \lVert \hat x_{n,t} - x_{n,t} \rVert^2 ,
# \qquad
# \frac{\partial L}{\partial \hat x_{n,t}} = \begin{cases} \tfrac{2}{N} (\hat x_{n,t} - x_{n,t}) & t \in H_n, \\ 0 & \text{otherwise.} \end{cases}
# $$
#
# Copying what was shown scores nothing: the visible patches get no gradient.
# The mask token enters the decoder at every hidden slot, so by the chain rule
# its gradient is the sum of the gradients $g_{n,t}$ reaching those slots,
#
# $$
# \frac{\partial L}{\partial m} = \sum_{n} \sum_{t \in H_n} g_{n,t},
# $$
#
# and gathering the visible tokens before the encoder has scattering as its
# adjoint: the encoder's input gradient goes back to the 4 positions it came
# from, zero elsewhere. Encoding only a quarter of the tokens is what made MAE
# cheap enough to pre-train large vision transformers; hiding most of the image
# is what makes the task need a model of digits rather than local interpolation.

# %%
rng = lesson.rng
x_all, y_all = load_mnist("train", dtype=DTYPE)
x_test, y_test = load_mnist("test", dtype=DTYPE)
n_train = len(x_all) if lesson.full else 30_000
order = rng.permutation(len(x_all))[:n_train]
x_train, y_train = x_all[order], y_all[order]


def images(x):
    """MNIST rows (n, 784) -> NCHW images (n, 1, 28, 28)."""
    return x.reshape(-1, 1, 28, 28)


def new_mae(mask_ratio):
    """The lesson's small MAE (~50k parameters) hiding ``mask_ratio`` of the patches."""
    return MAE(image_shape=(1, 28, 28), patch=PATCH, dim=DIM, depth=1, n_heads=HEADS,
               decoder_dim=DECODER_DIM, decoder_depth=1, decoder_heads=HEADS,
               mlp_ratio=MLP_RATIO, mask_ratio=mask_ratio, rng=rng, dtype=DTYPE)


# %% [markdown]
# The MAE here is tiny: encoder width 64 with one block of 4 heads, decoder
# width 32 with one block, MLP ratio 2. By default it trains for 3 epochs on
# 30,000 digits with a fresh mask for every image at every step (`--full`: 20
# epochs on all 60,000).

# %%
mae = new_mae(MASK_RATIO)
history = fit(mae, images(x_train), optimizer=Adam(mae.params, lr=LR),
              epochs=lesson.epochs, batch_size=BATCH, rng=rng, progress=lesson.progress,
              lr_schedule=cosine_decay(LR, lesson.epochs))
lesson.report(f"MAE: {mae.n_params} parameters, {lesson.epochs} epochs on {n_train} "
              f"digits in {sum(history['seconds']):.1f} s; training loss per epoch "
              + ", ".join(f"{v:.2f}" for v in history["loss"]))

# %% [markdown]
# ## 2. Two exact baselines
#
# How good is the MAE's fill? Two baselines are computed exactly from the
# training digits. The **mean image** $\mu$ pasted into the hidden pixels is the
# best a method that ignores the visible pixels can do under squared error.
# The **best linear fill** predicts the hidden pixels $x_h$ by an affine
# function $A x_v + c$ of the visible ones $x_v$. Write $\mu_h, \mu_v$ for the
# means and $S_{hv} = \mathbb{E}[(x_h - \mu_h)(x_v - \mu_v)^\top]$ etc. for
# the covariance blocks. The expected error
# $\mathbb{E}\lVert x_h - A x_v - c \rVert^2$ is minimised over $c$ by
# $c = \mu_h - A \mu_v$; what is left is
#
# $$
# \mathbb{E}\lVert (x_h - \mu_h) - A (x_v - \mu_v) \rVert^2
# = \operatorname{tr} S_{hh} - 2 \operatorname{tr}(A S_{vh}) + \operatorname{tr}(A S_{vv} A^\top),
# $$
#
# whose gradient in $A$, $-2 S_{hv} + 2 A S_{vv}$, vanishes at
# $A = S_{hv} S_{vv}^{-1}$. Hence
#
# $$
# \hat x_h = \mu_h + S_{hv} S_{vv}^{-1} (x_v - \mu_v),
# $$
#
# the conditional mean of a Gaussian with the data's mean and covariance. It is
# recomputed for every mask pattern (`tinyae.analysis.imputation`), with a ridge
# $S_{vv} + 10^{-3} I$ for the border pixels that never vary. It is a demanding
# baseline: no linear function of the visible pixels does better.

# %%
def hidden_pixels(mask):
    """Token mask (n, 16) bool -> pixel mask (n, 784) bool."""
    per_pixel = np.broadcast_to(mask[:, :, None], (*mask.shape, PATCH * PATCH))
    return unpatchify(per_pixel.astype(np.float32), PATCH, (1, 28, 28)).reshape(-1, 784) > 0.5


def fills(model, x, mask):
    """x (n, 784) with the hidden pixels filled by each method: {name: (n, 784)}."""
    hidden = hidden_pixels(mask)
    return {"MAE": model.reconstruct(images(x), mask).reshape(-1, 784),
            "mean image": np.where(hidden, mean_image, x),
            "Gaussian imputation": imputer.impute(x, hidden)}


def errors_on_hidden(model, x, mask, filled=None):
    """Squared error on the hidden pixels per image, of each method
    (``filled``: the ``fills`` already computed for x and mask)."""
    hidden = hidden_pixels(mask)
    filled = fills(model, x, mask) if filled is None else filled
    return {name: float(np.sum((r - x) ** 2 * hidden)) / len(x)
            for name, r in filled.items()}


# %% [markdown]
# Every method is scored on the same 2,000 test digits with the same hidden
# patches: 100 mask patterns, each shared by 20 digits, so the Gaussian fill
# needs only 100 solves.

# %%
mean_image = x_train.mean(axis=0)
imputer = GaussianImputer(ridge=RIDGE).fit(x_train)
x_eval, y_eval = x_test[:N_EVAL], y_test[:N_EVAL]
eval_rng = np.random.default_rng([lesson.seed, 18])


def eval_masks(n_mask):
    """(N_EVAL, 16): N_EVAL / GROUP patterns, each shared by GROUP digits."""
    return np.repeat(mae.draw_mask(N_EVAL // GROUP, eval_rng, n_mask=n_mask), GROUP, axis=0)


mask_75 = eval_masks(mae.n_mask)
filled = fills(mae, x_eval, mask_75)                         # {method: (N_EVAL, 784)}
err = errors_on_hidden(mae, x_eval, mask_75, filled)
lesson.report("75% hidden (12 of 16 patches), squared error per image on the hidden "
              "pixels: " + ", ".join(f"{k} {v:.2f}" for k, v in err.items()))
versus = err["MAE"] / err["Gaussian imputation"]
lesson.report(f"75% hidden: MAE error / Gaussian-imputation error = {versus:.3f} ("
              + ("the MAE is better" if versus < 1 else "the linear imputation is better")
              + ")")

# %%
lesson.claim("75% hidden: MAE error / mean-image error on the hidden pixels",
             err["MAE"] / err["mean image"], lt=0.95)

# %% [markdown]
# The MAE beats the mean image (**0.89** of its error): it uses what it sees.
# The linear fill, though, is clearly better at this budget: the MAE's error is
# **1.23** times the Gaussian's. With `--full` (20 epochs on all digits, 1.2
# million images seen) the MAE edges past it (26.1 against 26.8 per image with
# seed 0). He et al. pre-train for 800 to 1600 epochs and judge the MAE by the
# representation it learns, not by its pixels.
#
# ## 3. Can a reader name the fills?
#
# At 75% hidden a fill is a guess: when the four visible patches miss the part
# that tells a 4 from a 9, no method can recover it, and a squared-error
# predictor draws the average of the digits it cannot tell apart. The digit
# judge (a classifier trained on real digits, `tinyae.course.judge`) makes this
# measurable over all 2,000 evaluation digits: how often does it name the
# filled image's digit, and how often the visible quarter alone (black
# elsewhere)? And of the digits it can already name from the visible quarter,
# how many does each fill keep?

# %%
judge = digit_judge(0)                         # the judge recognised_share uses


def named(images, labels):
    """(n,) bool: the judge names each image (clipped to [0, 1]) as its label."""
    return judge.predict(np.clip(images, 0, 1).astype(DTYPE)) == labels


filled["visible patches only"] = np.where(hidden_pixels(mask_75), 0.0, x_eval)
filled["Gaussian imputation"] = np.clip(filled["Gaussian imputation"], 0, 1)
judged = {name: recognised_share(v, y_eval) for name, v in filled.items()}
lesson.report("75% hidden, share of the 2,000 filled digits the judge names correctly: "
              + ", ".join(f"{k} {v:.3f}" for k, v in judged.items()))
readable_75 = named(filled["visible patches only"], y_eval)
lesson.report(f"75% hidden: of the {readable_75.sum()} digits the judge names from the "
              "visible patches alone, the share it still names after the fill: " + ", ".join(
                  f"{k} {named(filled[k][readable_75], y_eval[readable_75]).mean():.3f}"
                  for k in ("MAE", "Gaussian imputation", "mean image")))

# %%
lesson.claim("75% hidden: judge's accuracy on the MAE's fills over its accuracy on the "
             "visible patches alone (2,000 digits)",
             judged["MAE"] / judged["visible patches only"], gt=1.0)

# %% [markdown]
# The MAE's fills are recognised more often than the bare visible patches, so
# the fill adds evidence the judge can use, yet only **0.48** of them are named
# correctly, against **0.62** for the Gaussian fill. Worse, of the digits the
# judge could already name from the four visible patches, only **0.53** are
# still named after the MAE has drawn in the rest: its blurred average of the
# candidates often looks more like another digit than the bare strokes did.
# A figure of 75% fills would fail the recognisability check the other lessons
# apply to their reconstructions, so none is shown.
#
# A fill should at least keep a digit that its visible patches pin down. Hide
# 25% of the patches (4 of 16) instead, using the same model trained at 75%,
# and keep the digits whose visible patches alone the judge already names. The
# figure shows the first 40 of them, each under a different mask: the input,
# what the model sees (hidden patches in blue), and the MAE's fill.

# %%
mask_25 = eval_masks(4)                       # the masks section 4's sweep uses at 25%
filled_25 = fills(mae, x_eval, mask_25)
ok_25 = {name: named(v, y_eval) for name, v in filled_25.items()}
ok_25["visible patches only"] = named(np.where(hidden_pixels(mask_25), 0.0, x_eval), y_eval)
lesson.report("25% hidden, share of the 2,000 filled digits the judge names correctly: "
              + ", ".join(f"{k} {v.mean():.3f}" for k, v in ok_25.items()))
readable = ok_25["visible patches only"]
lesson.report(f"25% hidden: of the {readable.sum()} digits the judge names from the visible "
              "patches alone, the share it still names after the fill: " + ", ".join(
                  f"{k} {ok_25[k][readable].mean():.3f}"
                  for k in ("MAE", "Gaussian imputation", "mean image")))
one_per_mask = np.arange(0, N_EVAL, GROUP)                   # each under its own mask
shown = one_per_mask[readable[one_per_mask]][:40]
x_show, y_show = x_eval[shown], y_eval[shown]
shown_fill = filled_25["MAE"][shown]
lesson.save(masked_reconstructions(
    {"input": x_show, "masked (25%)": np.where(hidden_pixels(mask_25[shown]), np.nan, x_show),
     "MAE fill": shown_fill},
    title="25% hidden: digits the judge names from their visible patches, filled in by "
          "the MAE trained at 75%",
    col_labels=[f"a {d}" for d in y_show], per_block=20, size=0.62), "reconstructions")
lesson.report(f"the 40 shown, share named as the input's digit: MAE "
              f"{recognised_share(shown_fill, y_show):.3f}, Gaussian imputation "
              f"{ok_25['Gaussian imputation'][shown].mean():.3f}")

# %%
lesson.claim("25% hidden, the 40 shown digits whose visible patches the judge names: share "
             "of their MAE fills named as the input's digit",
             recognised_share(shown_fill, y_show), gt=0.9)

# %% [markdown]
# Look at the hidden patches in the bottom row of each block: the MAE draws
# faint, blurred strokes, often only a trace where a stroke crosses into the
# patch. It was trained to see 4 patches, never 12 (section 4 measures what that
# costs in squared error). The digits stay readable because a quarter is hidden
# and the fill does not draw another digit over the rest: of the **1,500**
# digits the judge names from their visible patches, it still names **0.99**
# after the MAE's fill (**0.97** after the Gaussian's, **0.88** after pasting the
# mean image). Over all 2,000 digits the MAE is no reader's aid at this ratio:
# the judge names **0.75** from the visible patches alone, **0.81** after the
# MAE's fill, **0.83** after the mean image's and **0.93** after the Gaussian's.
#
# ## 4. The mask ratio
#
# He et al. (their Figure 5) find that hiding 75% of the patches works best for
# the representation. For the fill itself, the less is visible, the worse the
# best linear fill must be: a mask that hides more pixels conditions
# $\hat x_h = \mu_h + S_{hv} S_{vv}^{-1}(x_v - \mu_v)$ on a subset of the visible
# pixels, and conditioning on less cannot lower the expected error per hidden
# pixel. We sweep the ratio with the model trained at 75% (and, with `--full`,
# one MAE trained at each ratio, as in their sweep).

# %%
sweep = {}
for ratio in RATIOS:
    n_mask = int(round(ratio * mae.n_tokens))
    e = (errors_on_hidden(mae, x_eval, mask_25, filled_25) if ratio == 0.25  # section 3
         else errors_on_hidden(mae, x_eval, eval_masks(n_mask)))
    sweep[ratio] = {k: v / (n_mask * PATCH * PATCH) for k, v in e.items()}
    lesson.report(f"{100 * ratio:.0f}% hidden, error per hidden pixel: " + ", ".join(
        f"{k} {v:.4f}" for k, v in sweep[ratio].items()))
per_pixel = {k: [sweep[r][k] for r in RATIOS] for k in err}
best = RATIOS[int(np.argmin(np.divide(per_pixel["MAE"], per_pixel["mean image"])))]
lesson.report(f"relative to the mean image, the 75%-trained MAE does best at "
              f"{100 * best:.0f}% hidden; it is worse than the mean image at "
              + (", ".join(f"{100 * r:.0f}%" for r in RATIOS
                           if sweep[r]["MAE"] > sweep[r]["mean image"]) or "no ratio"))
curves = {f"{k} (trained at 75%)" if k == "MAE" else k: v for k, v in per_pixel.items()}

# %%
if lesson.full:                 # one MAE per ratio, trained and tested at that ratio
    trained = []
    for ratio in RATIOS:
        model = new_mae(ratio)
        fit(model, images(x_train), optimizer=Adam(model.params, lr=LR),
            epochs=SWEEP_FULL_EPOCHS, batch_size=BATCH, rng=rng, progress=lesson.progress,
            lr_schedule=cosine_decay(LR, SWEEP_FULL_EPOCHS))
        e = errors_on_hidden(model, x_eval, eval_masks(model.n_mask))
        trained.append(e["MAE"] / (model.n_mask * PATCH * PATCH))
        lesson.report(f"MAE trained and tested at {100 * ratio:.0f}%: error per hidden "
                      f"pixel {trained[-1]:.4f} (mean image "
                      f"{sweep[ratio]['mean image']:.4f}, Gaussian "
                      f"{sweep[ratio]['Gaussian imputation']:.4f})")
    curves["MAE (trained at each ratio)"] = trained

# %%
lesson.save(ratio_sweep(RATIOS, curves, ylabel="squared error per hidden pixel",
                        title="hidden-pixel error against the mask ratio"),
            "mask_ratio_sweep")

# %% [markdown]
# The Gaussian fill's error per hidden pixel climbs steadily with the ratio.
# The MAE trained at 75% is specialised to seeing 4 tokens: by default it is
# worse than the mean image at every other ratio, even at 25%, where far more is
# visible. (After `--full` it beats the mean image at every ratio; trained at
# each ratio for 10 epochs it beats the Gaussian fill at 75% only: 0.047
# against 0.048 per hidden pixel, seed 0.)

# %%
lesson.claim("Gaussian imputation: error per hidden pixel rises with the mask ratio "
             "(smallest step, 25 -> 50 -> 75 -> 90%)",
             min(np.diff(per_pixel["Gaussian imputation"])), gt=0.0)

# %% [markdown]
# ## 5. What one attention head looks at
#
# In each encoder block, a head projects every token to a query $q_t$, a key
# $k_t$ and a value $v_t$ (width $d = 64/4 = 16$) and mixes the values with the
# weights
#
# $$
# a_{ts} = \frac{\exp(q_t^\top k_s / \sqrt{d})}{\sum_{s'} \exp(q_t^\top k_{s'} / \sqrt{d})},
# \qquad \text{out}_t = \sum_s a_{ts} v_s ,
# $$
#
# so each row $a_{t\cdot}$ is a probability distribution over the tokens. Below,
# six digits with all 16 patches visible: head 0's full $16 \times 16$ matrix
# (row: query token, column: key token) and the weights of token 5 (second
# row, second column of patches) over the image.

# %%
maps = mae.attention_maps(images(x_show[:6]))[0]             # (6, heads, 16, 16)
lesson.save(attention_maps(x_show[:6], maps, grid=(4, 4), query=5, head=0,
                           title="encoder attention, head 0, all patches visible"),
            "attention")

# %% [markdown]
# Look for columns: if a few key tokens are bright in every row, the head sends
# most queries to the same patches, often those where the strokes of this digit
# are. The bottom row shows the same for one query: bright patches are the ones
# token 5 reads from.
#
# ## 6. A linear probe
#
# He et al. judge a representation by how well a classifier reads the class
# from it. A linear probe is a softmax regression (no hidden layer) on
# standardised features, trained on 10,000 digits and tested on 5,000 others.
# We compare the MAE encoder's mean token (64 numbers, nothing hidden), the raw
# pixels (784) and the codes of an MLP autoencoder of the same width
# (784-64-784, squared error, same data and epochs).

# %%
ae = MLPAutoencoder(sizes=(784, DIM), activation="relu", code_activation="identity",
                    likelihood="mse", rng=rng, dtype=DTYPE)
fit(ae, x_train, optimizer=Adam(ae.params, lr=LR), epochs=lesson.epochs,
    batch_size=BATCH, rng=rng, progress=lesson.progress)
xp, yp = x_train[:N_PROBE_TRAIN], y_train[:N_PROBE_TRAIN]
xq, yq = x_test[-N_PROBE_TEST:], y_test[-N_PROBE_TEST:]
features = {
    f"MAE mean token ({DIM})": (mae.encode(images(xp)), mae.encode(images(xq))),
    "raw pixels (784)": (xp, xq),
    f"MLP AE codes ({DIM})": (ae.encode(xp), ae.encode(xq)),
}
accuracy = {}
for name, (f_train, f_test) in features.items():
    accuracy[name] = linear_probe(f_train, yp, f_test, yq, rng=rng, epochs=PROBE_EPOCHS,
                                  progress=lesson.progress)
    lesson.report(f"linear probe on {name:<24s} test accuracy {accuracy[name]:.4f}")

# %%
lesson.save(bars(accuracy, ylabel="test accuracy (linear probe)",
                 title="what a linear read-out finds"), "probe")

# %% [markdown]
# The MAE's mean token carries the digit's identity far above chance, but it is
# not the most linearly separable representation: **0.67** against **0.93** for
# the raw pixels and **0.87** for the MLP autoencoder's codes (`--full`: 0.80,
# 0.93, 0.84). He et al. see the same gap at scale: a ViT-L pre-trained as an MAE
# reaches 73.5% top-1 on ImageNet-1k under a linear probe and 84.9% fine-tuned
# (their Table 1). MAE features are strong but not linear.

# %%
lesson.claim("linear probe on the MAE's mean token: test accuracy (chance 0.1)",
             accuracy[f"MAE mean token ({DIM})"], gt=0.5)

# %% [markdown]
# ## Check your understanding
#
# 1. The loss gives the visible patches no gradient. What would a model trained
#    with the squared error on *all* 16 patches learn to do with the visible
#    ones, and why would that make the task easier but the features weaker?
# 2. In the sweep, the 75%-trained MAE is worse than the mean image at 25%
#    hidden, where it sees three times as many patches. What is different about
#    its input there from anything it saw in training?
# 3. In the sweep, the mean image's error per hidden pixel hardly changes with
#    the ratio, while the Gaussian fill's rises. Why is the mean image's flat?
# 4. The judge names the MAE's fills correctly more often than the visible
#    patches alone, but far from always. Using the printed shares, is the
#    Gaussian fill more or less recognisable than the MAE's, and is that
#    consistent with their squared errors?
# 5. The MLP autoencoder's codes beat the MAE's mean token under the linear
#    probe. Name one thing the MAE's training objective asks of its encoder that
#    the probe does not reward.
#
# ## Exercises
#
# * Exercise 22, `ex22_layernorm.py` (`tinyae exercises start DIR`): write LayerNorm's
#   forward and backward over the last axis, with $\gamma$ and $\beta$, for the
#   $(N, T, D)$ tokens of this lesson's transformer; derive the gradient through the
#   row's mean and variance yourself.
#
# **Try it:** train a second MAE with `new_mae(0.5)` on the same data and budget,
# evaluate it with `errors_on_hidden(model, x_eval, eval_masks(model.n_mask))` at 50%
# hidden, and compare its error per hidden pixel with the 75%-trained model's at 50% in
# the sweep. Does training at the test ratio close the gap to the Gaussian fill?
#
# ## References
#
# * He, K., Chen, X., Xie, S., Li, Y., Dollár, P. and Girshick, R. (2022). Masked
#   autoencoders are scalable vision learners. *CVPR 2022*, 16000-16009
#   (arXiv:2111.06377, 2021). Section 3 (the method), Figure 5 (mask ratio),
#   Table 1 (linear probing against fine-tuning: 73.5% and 84.9%).
# * Devlin, J., Chang, M.-W., Lee, K. and Toutanova, K. (2019). BERT:
#   pre-training of deep bidirectional transformers for language understanding.
#   *NAACL-HLT 2019*, 4171-4186 (masked language modelling).
# * Dosovitskiy, A. et al. (2021). An image is worth 16x16 words: transformers
#   for image recognition at scale. *ICLR 2021* (patches as tokens, section 3.1).
# * Vaswani, A. et al. (2017). Attention is all you need. *NeurIPS 2017*
#   (scaled dot-product attention, section 3.2.1).

# %%
lesson.finish()
