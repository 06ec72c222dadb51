"""Lesson 13: what codes are for -- image search, semantic hashing, compression."""

# %% [markdown]
# # Lesson 13: what codes are for — image search, semantic hashing, compression
#
# An autoencoder's code is a short description of its input. This lesson
# measures three uses of a short description on MNIST: searching a database
# by code, searching by a binary code (semantic hashing), and compressing
# images, and then compresses the autoencoder itself (deep compression).
#
# **You will learn** how to score a ranking (precision@$K$ and mean average
# precision); why noise before a sigmoid makes a code binary, and why a
# Hamming ranking is so cheap; why random hyperplanes (LSH) preserve angles;
# how quantisation and Huffman coding turn a code into bits, and what the
# rate-distortion curve of an autoencoder looks like next to PCA's; and how
# pruning and weight sharing shrink a network, with the gradient of a shared
# weight derived.
#
# **It assumes** lesson 01 (PCA), lesson 02 (the MLP autoencoder with a
# Bernoulli likelihood, exercises 2, 3 and 5) and, for the noise idea, lesson
# 03 (denoising).
#
# The default run uses a 10,000-image training subset as both the training
# set and the search database, the first 1,000 test digits as queries and 8
# epochs; `--full` uses all 60,000 digits, 2,000 queries and 30 epochs.

# %%
import time

import numpy as np

from tinyae.analysis import compression as C
from tinyae.analysis import retrieval as R
from tinyae.course.judge import recognised_share
from tinyae.course.lesson import Lesson
from tinyae.course.plotting import grids, image_grid
from tinyae.course.plotting.search import (precision_at_k_curves, precision_recall_curves,
                                           rate_distortion_curves)
from tinyae.data import load_mnist
from tinyae.models import PCA, MLPAutoencoder, SemanticHashingAutoencoder
from tinyae.optim import Adam, cosine_decay
from tinyae.train import evaluate, fit

N_CODE, N_BITS, K = 30, 32, 100
HASH_NOISE = 4.0                          # std of the code noise (variance 16, as S&H)
HAN_RATIO, HAN_KB = 40, (1070, 27)        # LeNet-300-100 (Han et al., 2016)
HAN_ERRORS = (1.64, 1.58)                 # test error (%) before and after
RD_RATE = 80                              # bits per image where the AE and PCA are compared
PCA_WIDTHS = (10, 20, 30, 50, 80)
STEPS = (6, 4, 3, 2, 1.5, 1, 0.5, 0.25)   # quantiser steps (code units)
SPARSITY = {"big": 0.85, "small": 0.5}    # pruned share: 784x256 matrices / the others
SHARE_BITS = 5                            # 32 shared values per weight matrix
lesson = Lesson("13_search_hashing_compression", __doc__, epochs=8, full_epochs=30)


# %%
def squared_error(x_hat, x):
    """Squared error per image, (N, 784) pairs -> float (float64 sums)."""
    d = x_hat.astype(np.float64) - x
    return float(np.mean(np.sum(d * d, axis=1)))


def train(model, x, *, epochs, lr, batch_size, rng, callback=None):
    """Adam with a cosine-decayed learning rate (``tinyae.train.fit``)."""
    return fit(model, x, optimizer=Adam(model.params, lr=lr), epochs=epochs,
               batch_size=batch_size, rng=rng, progress=lesson.progress,
               lr_schedule=cosine_decay(lr, epochs), callback=callback)


# %%
x_train, y_train = load_mnist("train", dtype=np.float32)
x_test, y_test = load_mnist("test", dtype=np.float32)
n_db, n_q = (60000, 2000) if lesson.full else (10000, 1000)
db = lesson.rng.permutation(len(x_train))[:n_db]
x_db, y_db = x_train[db], y_train[db]                 # database and training set
x_q, y_q = x_test[:n_q], y_test[:n_q]                 # queries
lesson.report(f"database: {n_db} training digits (also the training set); "
              f"queries: the first {n_q} test digits")

# %% [markdown]
# ## 1. Search by code, and how to score a ranking
#
# To find images like a query, rank the database by distance to it. In
# pixel space that costs 784 multiplications per comparison; on 30-number
# codes, 30. A ranking is scored by the labels: item $r$ of the ranking is
# relevant, $\mathrm{rel}_r = 1$, when it shows the query's digit. Then
#
# $$P@K = \frac1K \sum_{r=1}^{K} \mathrm{rel}_r, \qquad
#   \mathrm{AP} = \frac{1}{|\mathcal R|} \sum_{r:\, \mathrm{rel}_r = 1} P@r ,$$
#
# where $\mathcal R$ is the set of relevant items: precision@$K$ is the share
# of same-digit items among the first $K$, and average precision averages the
# precision at the rank of each relevant item, so it is 1 only when every
# relevant item comes before every other. The mean of AP over the queries is
# the mAP. We compare raw pixels, PCA-30 codes and the codes of a
# 784-256-30 autoencoder (ReLU, Bernoulli likelihood, lesson 02).

# %%
start = time.process_time()
ae = MLPAutoencoder(sizes=(784, 256, N_CODE), rng=lesson.rng, dtype=np.float32)
train(ae, x_db, epochs=lesson.epochs, lr=5e-3, batch_size=64, rng=lesson.rng)
loss_ae = evaluate(ae, x_q)[0]
lesson.report(f"AE 784-256-{N_CODE} (ReLU, Bernoulli), {lesson.epochs} epochs: "
              f"{time.process_time() - start:.1f} s CPU, test squared error "
              f"{squared_error(ae.reconstruct(x_q), x_q):.2f}")

# %% [markdown]
# ## 2. Semantic hashing: binary codes and Hamming distance
#
# Make the code binary and the distance becomes a Hamming distance, the
# number of differing bits, $d_H(b, b') = \mathrm{popcount}(b \oplus b')$: an XOR
# and a popcount of one machine word for 32 bits. Distances are integers
# $0, \dots, 32$, so ranking $n$ items needs no comparison sort, only a
# counting sort in $O(n + 33)$ (`tinyae.functional.hashing` and its Numba twin).
#
# How do we make a sigmoid code binary (Salakhutdinov and Hinton, 2009)?
# Add noise *before* the sigmoid while training, $z = \sigma(a + \epsilon)$ with
# $\epsilon \sim \mathcal N(0, 4^2)$. A unit whose pre-activation $a$ is near 0
# hands the decoder a coin flip, since $\sigma(a + \epsilon)$ then ranges over
# almost all of $(0, 1)$; only when $|a| \gg 4$ does the noise leave
# $\sigma(a+\epsilon)$ near 0 or 1. To carry information, units must learn to
# saturate, and at test time the code is thresholded at 1/2
# (`tinyae.models.SemanticHashingAutoencoder`).

# %%
start = time.process_time()
hasher = SemanticHashingAutoencoder(sizes=(784, 256, N_BITS), activation="tanh",
                                    code_noise=HASH_NOISE, rng=lesson.rng, dtype=np.float32)
hist = train(hasher, x_db, epochs=lesson.epochs, lr=5e-3, batch_size=128, rng=lesson.rng)
bits_db = hasher.hash(x_db)                           # (n_db, 32) booleans
lesson.report(f"hashing AE 784-256(tanh)-{N_BITS} (noise std {HASH_NOISE:g} before "
              f"the sigmoid): {time.process_time() - start:.1f} s CPU; share of "
              f"saturated code units (|z - 1/2| > 0.45) in the last epoch "
              f"{hist['saturated'][-1]:.2f}; bits constant over the database "
              f"{int(np.sum(bits_db.all(0) | ~bits_db.any(0)))} of {N_BITS}")

# %% [markdown]
# **0.89** of the code units are saturated in the last epoch: the noise has
# done its job. Two 32-bit baselines learn no code. PCA-sign keeps the signs
# of the first 32 principal coordinates. Random-hyperplane LSH (Charikar,
# 2002) keeps the signs of 32 random projections $\mathrm{sign}(u_j^\top (x - \bar x))$,
# $u_j \sim \mathcal N(0, I)$. For two vectors at angle $\theta$, a random
# hyperplane separates them exactly when its normal's projection onto their
# plane falls in one of two opposite wedges of angle $\theta$, which, the
# projection's direction being uniform, has probability $2\theta / 2\pi$:
#
# $$P\big(\text{bit } j \text{ differs}\big) = \frac{\theta}{\pi}, \qquad
#   \mathbb E\, d_H = 32\, \frac{\theta}{\pi},$$
#
# so the Hamming distance estimates the angle, with no learning at all.

# %%
pca = PCA(max(PCA_WIDTHS)).fit(x_db)       # one PCA serves all: PCA-k = first k of PCA-80
pca_sign = R.PCASignHash(N_BITS).fit(pca=pca)
lsh = R.RandomHyperplaneLSH(N_BITS, rng=lesson.rng).fit(x_db)
# the first call of a Numba kernel compiles it or loads it from the cache: rank one
# query each way first, so the times below are of the ranking alone
R.hamming_rank(R.pack_codes(bits_db[:1]), R.pack_codes(bits_db))
R.euclidean_rank(x_q[:1], x_db)


def euclid(q, d):
    return R.evaluate_ranking(R.euclidean_rank, q, d, y_q, y_db, k=K)


def hamming(bits_q, bits_d):
    return R.evaluate_ranking(R.hamming_rank, R.pack_codes(bits_q), R.pack_codes(bits_d),
                              y_q, y_db, k=K)


# %%
results = {
    "raw pixels (784 floats)": euclid(x_q, x_db),
    f"PCA-{N_CODE} codes": euclid(pca.transform(x_q)[:, :N_CODE],
                                  pca.transform(x_db)[:, :N_CODE]),
    f"AE-{N_CODE} codes": euclid(ae.encode(x_q), ae.encode(x_db)),
    f"AE hash ({N_BITS} bits)": hamming(hasher.hash(x_q), bits_db),
    f"PCA-sign ({N_BITS} bits)": hamming(pca_sign.bits(x_q), pca_sign.bits(x_db)),
    f"LSH ({N_BITS} bits)": hamming(lsh.bits(x_q), lsh.bits(x_db)),
}
for name, r in results.items():
    lesson.report(f"{name:<26s} precision@{K} {r[f'precision@{K}']:.3f}   mAP "
                  f"{r['mAP']:.3f}   ranking {1e3 * r['rank_seconds'] / n_q:.3f} "
                  f"ms CPU per query")

# %%
lesson.save(precision_recall_curves({n: (r["precision"], r["recall"])
                                     for n, r in results.items()}), "precision_recall")

# %% [markdown]
# Each curve follows one method down its ranking: precision against the
# share of same-digit items found so far. The 30 AE codes (mAP **0.418**) do
# at least as well as all 784 pixels (**0.398**). The 32-bit AE hash starts
# lower, since its first neighbours are tied at small Hamming distances, but
# holds its precision longest: its mAP, **0.434**, is the best of all, far
# above PCA-sign (**0.243**) and LSH (**0.236**) at the same 32 bits.

# %%
lesson.save(precision_at_k_curves({n: (r["cutoffs"], r["precision"])
                                   for n, r in results.items()}), "precision_at_k")

# %% [markdown]
# Precision at each cutoff $K$ tells the same story per rank: at $K = 100$ the
# hash is below the float codes but well above both unlearned hashes.

# %%
raw, ae30 = results["raw pixels (784 floats)"], results[f"AE-{N_CODE} codes"]
ae_hash = results[f"AE hash ({N_BITS} bits)"]
best_base = {m: max(results[f"PCA-sign ({N_BITS} bits)"][m],
                    results[f"LSH ({N_BITS} bits)"][m]) for m in ("mAP", f"precision@{K}")}
speedup = raw["rank_seconds"] / ae_hash["rank_seconds"]
lesson.claim(f"AE-{N_CODE} codes vs raw pixels, mAP difference (26x fewer numbers, "
             f"as good)", ae30["mAP"] - raw["mAP"], gt=-0.02)
lesson.claim(f"{N_BITS}-bit AE hash minus the better of PCA-sign and LSH, mAP",
             ae_hash["mAP"] - best_base["mAP"], gt=0.08)
lesson.claim(f"{N_BITS}-bit AE hash minus the better of PCA-sign and LSH, "
             f"precision@{K}", ae_hash[f"precision@{K}"] - best_base[f"precision@{K}"],
             gt=0.03)
lesson.claim("ranking time per query, Euclidean on raw pixels / Hamming on "
             f"{N_BITS}-bit codes (shared machine: generous bound)", speedup, gt=3)

# %%
show = R.euclidean_rank(ae.encode(x_q[:6]), ae.encode(x_db))[:, :10]            # (6, 10)
show_h = R.hamming_rank(R.pack_codes(hasher.hash(x_q[:6])), R.pack_codes(bits_db))[:, :10]
lesson.save(grids({"query | 10 nearest by AE-30 code": np.concatenate(
                       [np.concatenate([x_q[i:i + 1], x_db[show[i]]]) for i in range(6)]),
                   f"query | 10 nearest by {N_BITS}-bit AE hash": np.concatenate(
                       [np.concatenate([x_q[i:i + 1], x_db[show_h[i]]]) for i in range(6)])},
                  rows=6, col_labels=["q"] + [str(r) for r in range(1, 11)]), "queries")

# %% [markdown]
# Each row is a test query (column q) and its ten nearest database digits, in
# rank order. Both searches return mostly the query's digit; the hash's
# mistakes (9s among the 4s) are digits that look alike.

# %% [markdown]
# ## 3. Compression: quantise, Huffman-code, decode
#
# An autoencoder is a lossy, data-specific compressor. Round each code number
# to a multiple of a step $\Delta$, $q = \mathrm{round}(z / \Delta)$, and send
# the integers. If $z$ has a smooth density, the rounding error is close to
# uniform on $[-\Delta/2, \Delta/2]$, with mean square
#
# $$\mathbb E\,(z - \Delta q)^2 \approx \frac1\Delta \int_{-\Delta/2}^{\Delta/2} e^2\, de = \frac{\Delta^2}{12},$$
#
# while the entropy of $q$ is about $h(z) - \log_2 \Delta$ bits: halving the
# step costs one more bit per number and quarters the code's rounding error.
# A Huffman code (Huffman, 1952) spends, on average, between $H(q)$ and
# $H(q) + 1$ bits per integer; we build a real one per code column
# (`tinyae.analysis.compression`), count its tables too, and decode every
# stream back. Sweeping $\Delta$ traces a rate (bits per image) against
# distortion (squared error per image) curve, compared with quantised PCA-$k$
# codes for several $k$.

# %%
def rate_distortion(codes, decode, x, steps, *, check=False):
    """Quantise ``codes`` (N, c) with each step, Huffman-code the columns, decode.

    Returns (rates in bits per image, distortions), sorted by rate. With
    ``check``, every coded stream is decoded back and compared with the
    quantised integers (the bits counted are the bits a decoder reads).
    """
    rates, dists = [], []
    for step in steps:
        q = C.quantize(codes, step)                       # (N, c) int64
        streams = C.encode_columns(q)
        if check and not np.array_equal(C.decode_columns(streams), q):
            raise AssertionError(f"Huffman round trip failed at step {step}")
        rates.append(C.columns_bits(streams) / len(x))
        dists.append(squared_error(np.clip(decode(C.dequantize(q, step)), 0, 1), x))
    order = np.argsort(rates)
    return np.array(rates)[order], np.array(dists)[order]


def distortion_at(rate, curves):
    """Lowest distortion any of ``curves`` [(rates, dists)] reaches at ``rate``
    (linear interpolation; a curve counts only inside its range of rates)."""
    best = np.inf
    for rates, dists in curves:
        if rates[0] <= rate <= rates[-1]:
            best = min(best, float(np.interp(rate, rates, dists)))
    return best


# %%
x_c = x_q                                              # the images compressed
ae_rd = rate_distortion(ae.encode(x_c), ae.decode, x_c, STEPS, check=True)
coords = pca.transform(x_c)                            # (N, 80)
pca_rd = {}
for k in PCA_WIDTHS:
    V = pca.components_[:k]                            # (k, 784) orthonormal rows
    pca_rd[k] = rate_distortion(coords[:, :k], lambda z: z @ V + pca.mean_, x_c, STEPS)
lesson.report("AE-30 rate (bits/image) : distortion  " + "  ".join(
    f"{r:.0f}:{d:.2f}" for r, d in zip(*ae_rd)))
for k, (rates, dists) in pca_rd.items():
    lesson.report(f"PCA-{k:<3d} rate : distortion  " + "  ".join(
        f"{r:.0f}:{d:.2f}" for r, d in zip(rates, dists)))
d_ae = distortion_at(RD_RATE, [ae_rd])
d_pca = distortion_at(RD_RATE, list(pca_rd.values()))
lesson.report(f"at {RD_RATE} bits per image: AE {d_ae:.2f}, best PCA-k {d_pca:.2f} "
              f"(every AE stream decoded back exactly)")

# %%
lesson.save(rate_distortion_curves({"AE-30": ae_rd, **{f"PCA-{k}": c
                                                      for k, c in pca_rd.items()}},
                                   marks=(RD_RATE,)), "rate_distortion")

# %% [markdown]
# Lower left is better. Each PCA-$k$ curve flattens at its own error floor
# (the variance $k$ components leave out), so the best PCA at a given rate
# changes with the rate. At the dotted 80 bits per image the autoencoder's
# distortion is **9.23** against **14.21** for the best quantised PCA-$k$;
# only at high rates, where the AE reaches its own floor, does PCA-80 pass it.

# %%
lesson.claim(f"distortion at {RD_RATE} bits/image, AE / best quantised PCA-k",
             d_ae / d_pca, lt=0.8)

# %% [markdown]
# "Data-specific" means the code only describes digits well. Compress
# inverted digits $1 - x$ with the same model and step: the bits are spent,
# but what comes back is a digit-like guess, not the input.

# %%
step = 1.0
q = C.quantize(ae.encode(x_c), step)
digits_err = squared_error(ae.decode(C.dequantize(q, step)), x_c)
inv = 1 - x_c                                          # inverted digits
q_inv = C.quantize(ae.encode(inv), step)
inv_err = squared_error(ae.decode(C.dequantize(q_inv, step)), inv)
lesson.report(f"step {step:g}: digits {C.columns_bits(C.encode_columns(q)) / len(x_c):.0f} "
              f"bits, error {digits_err:.2f}; inverted digits "
              f"{C.columns_bits(C.encode_columns(q_inv)) / len(x_c):.0f} bits, error "
              f"{inv_err:.1f}")
shown = np.array([np.flatnonzero(y_q == d)[:2] for d in range(10)]).T.ravel()  # (20,)
decoded = ae.decode(C.dequantize(q[shown], step))      # (20, 784)
decoded_inv = ae.decode(C.dequantize(q_inv[shown], step))

# %%
lesson.save(image_grid(np.concatenate([x_c[shown], decoded, inv[shown], decoded_inv]), rows=4,
                       row_labels=["test digit", f"AE, step 1 ({digits_err:.1f})",
                                   "inverted", f"AE on inverted ({inv_err:.0f})"],
                       col_labels=[str(d) for d in y_q[shown]],
                       title="decoded from the quantised, Huffman-coded code "
                             "(squared error per image)"), "compressed_digits")

# %% [markdown]
# At step 1 a test digit costs **115** bits on average and comes back with
# an error of **7.08**; the first two of each class, shown above, are
# recognisably the same digits. The inverted ones cost **93** bits each
# but all come back as the same bright scribble on black, nothing like their
# input, with an error of **553.6**, **78.2** times larger.

# %%
lesson.claim("data-specific: squared error on inverted digits / on digits "
             "(same model, same step)", inv_err / digits_err, gt=10)
lesson.claim("share of the shown decoded digits the digit judge names as their input's "
             "digit", recognised_share(np.clip(decoded, 0, 1), y_q[shown]), gt=0.9)

# %% [markdown]
# ## 4. Deep compression: shrinking the network itself
#
# Han, Mao and Dally (2016) compress the network, not its codes, in three
# stages. *Prune*: zero the smallest weights (here 85% of the two 784 x 256
# matrices and half of the others) and retrain the rest with the pruned ones
# held at 0. *Share*: cluster each matrix's surviving values by k-means into
# $2^5 = 32$ centroids $c_k$, so each weight stores a 5-bit index $a_{ij}$ and
# $W_{ij} = c_{a_{ij}}$. *Huffman-code* the indices and the gaps between kept
# positions. Fine-tuning the shared values needs their gradient; by the
# chain rule through $W_{ij} = c_{a_{ij}}$,
#
# $$\frac{\partial L}{\partial c_k} = \sum_{i,j} \frac{\partial L}{\partial W_{ij}}
#   \frac{\partial W_{ij}}{\partial c_k} = \sum_{(i,j):\, a_{ij} = k} \frac{\partial L}{\partial W_{ij}},$$
#
# the sum of its members' gradients. Han et al. compressed LeNet-300-100 40
# times, from 1070 KB to 27 KB, with its test error going from 1.64% to
# 1.58%.

# %%
dense_kb = C.dense_size(ae) / 8 / 1024
masks = C.prune_masks(ae, {k: SPARSITY["big" if ae.params[k].size > 100000 else "small"]
                           for k in C.weight_names(ae)})
masked = C.MaskedModel(ae, masks)                      # zeroes the pruned weights
loss_pruned = evaluate(ae, x_q)[0]
fit(masked, x_db, optimizer=Adam(masked.params, lr=1e-3),
    epochs=3 if not lesson.full else 10, batch_size=64, rng=lesson.rng,
    progress=lesson.progress)
loss_retrained = evaluate(ae, x_q)[0]
shared = C.SharedWeightModel(ae, masks, bits=SHARE_BITS)
loss_shared = evaluate(ae, x_q)[0]
fit(shared, x_db, optimizer=Adam(shared.params, lr=3e-4),
    epochs=1 if not lesson.full else 3, batch_size=64, rng=lesson.rng,
    progress=lesson.progress)
shared.write_weights()
loss_final = evaluate(ae, x_q)[0]

# %%
bits, parts = C.compressed_size(shared)
mismatched = 0
for name, m in masks.items():                          # decode every matrix back
    m2, a2 = C.decode_sparse(*C.encode_sparse(m, shared.assign[name]), m.shape)
    W2 = np.zeros_like(ae.params[name])
    W2[m2] = shared.centroids[name][a2]
    mismatched += int(np.sum(W2 != ae.params[name]))
kept = sum(int(m.sum()) for m in masks.values())
n_w = sum(m.size for m in masks.values())
lesson.report(f"AE 784-256-30-256-784: {ae.n_params} float32 parameters, "
              f"{dense_kb:.0f} KB; pruned to {kept} of {n_w} weights "
              f"({100 * kept / n_w:.1f}%), {2 ** SHARE_BITS} shared values per matrix")
lesson.report("compressed size (bits): " + ", ".join(f"{k} {v}" for k, v in parts.items())
              + f"; total {bits / 8 / 1024:.1f} KB, {bits / kept:.2f} bits per kept weight; "
              f"decoded weights that differ: {mismatched}")
lesson.report(f"test BCE loss per image: trained {loss_ae:.2f}, pruned {loss_pruned:.2f}, "
              f"retrained {loss_retrained:.2f}, shared {loss_shared:.2f}, fine-tuned "
              f"{loss_final:.2f}")
lesson.report(f"Han et al. (2016), LeNet-300-100: {HAN_KB[0]} KB -> {HAN_KB[1]} KB "
              f"({HAN_RATIO}x), error {HAN_ERRORS[0]}% -> {HAN_ERRORS[1]}%")

# %% [markdown]
# The autoencoder's **1633** KB of float32 parameters shrink to **67.8** KB, all
# indices, tables and codebooks included: **24** times smaller, and every
# weight decodes back exactly. Pruning alone raises the test loss from
# **67.29** to **167.83**; retraining brings it back to **75.05**, and the
# final shared, fine-tuned model ends at **75.95**. Han et al.'s classifier
# lost nothing; an autoencoder's reconstruction (784 outputs to get right,
# after only 8 epochs here) is less forgiving.

# %%
lesson.claim("deep compression: decoded weights differing from the model's", mismatched,
             lt=0.5)
lesson.claim("deep compression ratio (float32 size / exact compressed size)",
             C.dense_size(ae) / bits, gt=15)
lesson.claim("deep compression: relative change of the test loss",
             (loss_final - loss_ae) / loss_ae, lt=0.2)
lesson.claim("retraining after pruning recovers most of the loss: "
             "(retrained - trained) / (pruned - trained)",
             (loss_retrained - loss_ae) / (loss_pruned - loss_ae), lt=0.3)

# %% [markdown]
# ## Check your understanding
#
# 1. The AE hash's precision@100 is below the float AE codes', yet its mAP is
#    higher. What in the definitions of the two scores allows that, and which
#    part of the precision-recall figure shows it?
# 2. With 32 bits, how many distinct Hamming distances can a query have to
#    the database, and how many of the 10,000 database items share a
#    distance on average? What does that mean for the first ranks of a
#    Hamming ranking?
# 3. By the $\Delta^2/12$ argument, what should halving the step do to the
#    rate and to the part of the distortion due to rounding? Check it on two
#    neighbouring points of the printed AE rate-distortion line.
# 4. In section 4, set both pruned shares in `SPARSITY` to 0.5. Which
#    numbers move, and which claim gets closer to its bound?
#
# ## Exercises
#
# Exercise 17, `ex17_huffman.py` (`tinyae exercises start DIR`, then
# `tinyae exercises check 17`): write `huffman_lengths(counts)`, the code
# length of every symbol of the Huffman code of section 3, zero counts and
# a lone symbol included. Ties can be broken either way: the checker grades
# what every optimal code shares (the mean length, the Kraft sum), then codes
# and decodes a stream with your lengths.
#
# **Try it**: replace
# the Huffman coder by the entropy bound. For the AE codes at step 1
# (`q` in section 3), compute each column's empirical entropy
# $H = -\sum_v \hat p_v \log_2 \hat p_v$ from the counts (`np.unique(...,
# return_counts=True)`), sum over the 30 columns, and compare with the
# Huffman rate the lesson prints for that step. How many bits per image do
# the Huffman tables and the "at most one extra bit" of Huffman coding cost?
#
# ## References
#
# - Manning, C. D., Raghavan, P. and Schütze, H. (2008). *Introduction to
#   Information Retrieval*. Cambridge University Press. Section 8.4:
#   precision at $k$, average precision and mean average precision
#   (section 1 here).
# - Salakhutdinov, R. and Hinton, G. (2009). Semantic hashing.
#   *International Journal of Approximate Reasoning* 50(7), 969-978.
#   Binary codes learnt by adding deterministic Gaussian noise to the code
#   units' total input during fine-tuning, and search by Hamming distance
#   (their description of semantic hashing; section 2 here).
# - Charikar, M. S. (2002). Similarity estimation techniques from rounding
#   algorithms. *Proceedings of the 34th ACM Symposium on Theory of
#   Computing* (STOC), 380-388. Random hyperplanes,
#   $P(\text{bits differ}) = \theta/\pi$ (the LSH baseline).
# - Huffman, D. A. (1952). A method for the construction of
#   minimum-redundancy codes. *Proceedings of the IRE* 40(9), 1098-1101
#   (the entropy coder of sections 3 and 4).
# - Han, S., Mao, H. and Dally, W. J. (2016). Deep compression: compressing
#   deep neural networks with pruning, trained quantization and Huffman
#   coding. *ICLR*. Section 3 (weight sharing and the centroid gradient)
#   and Table 1 (LeNet-300-100: 1070 KB to 27 KB, 40x, error 1.64% to
#   1.58%).

# %%
lesson.finish()
