"""Lesson 13: what codes are for -- image search, semantic hashing, compression.

The idea
--------
An autoencoder's code is a short description of its input. Three uses of a
short description are measured here on MNIST.

**Search.** To find images like a query, rank a database by distance to it.
In pixel space that is 784 multiplications per comparison; on 30-number
codes it is 30. We score rankings by the labels (an item is relevant when
it shows the query's digit): precision@100 (share of same-digit items among
the first 100) and mean average precision (mAP: the precision at the rank
of each relevant item, averaged over those items and over the queries; 1
when all relevant items come first). Raw pixels, PCA-30 codes and the codes
of a 784-256-30 autoencoder are compared (survey; lecture deck).

**Semantic hashing** (Salakhutdinov & Hinton, 2009). Make the code binary
and the distance becomes a Hamming distance: XOR of two 64-bit words and a
popcount, a few machine instructions for 32 bits, and a ranking needs no
comparison sort (distances are integers 0..32: a counting sort;
``tinyae.functional.hashing`` and its Numba twin). To make a sigmoid code
binary, noise is added *before* the sigmoid during training (std 4 here,
their variance 16): a unit near 1/2 would hand the decoder noise, so the
units learn to saturate (``tinyae.models.SemanticHashingAutoencoder``). The
32-bit autoencoder hash is compared with two 32-bit baselines that involve
no learning of a code: the sign of the first 32 principal coordinates
(PCA-sign) and random hyperplanes through the mean (LSH, Charikar 2002).

**Compression.** An autoencoder is a lossy, data-specific compressor:
quantise the code (round to multiples of a step), Huffman-code the
integers (an actual coder: ``tinyae.analysis.compression`` builds a canonical code
from the counts, writes the bit string, and decodes it back; the tables and
headers are counted), decode the integers and run the decoder. Sweeping the
step draws a rate (bits per image) -- distortion (squared error per image)
curve, compared with quantised PCA codes at equal rate (PCA-k for several k,
taking the best k at each rate). The same model on images unlike its
training data (inverted digits) shows what "data-specific" means.

**Deep compression** (Han, Mao & Dally, ICLR 2016) compresses the network
itself: prune the smallest weights and retrain the rest, share the
survivors' values by k-means (each weight keeps a 5-bit cluster index),
fine-tune the shared values (the gradient of a shared value is the sum of
its members' gradients), and Huffman-code the cluster indices and the gaps
between kept positions. Han et al. compressed LeNet-300-100 40x, from
1070 KB to 27 KB, with the error going from 1.64% to 1.58%. We report the
exact compressed size of the autoencoder (indices, tables, codebooks and
biases included) and the change of its test reconstruction loss.

What is measured (default run: a 10,000-image training subset as the
database and for training, 1,000 test queries, 8 epochs; ``--full``:
60,000 / 2,000 and more epochs)
------------------------------------------------------------------------
* precision@100 and mAP of raw pixels, PCA-30 and AE-30 codes (Euclidean),
  and of 32-bit AE hashes, PCA-sign and LSH (Hamming);
* the CPU time of ranking all queries by Euclidean distance on raw pixels
  and by Hamming distance on 32-bit codes, and their ratio;
* rate-distortion curves of the AE and of PCA-k, and the AE's distortion
  on inverted digits;
* deep compression: size before and after, ratio, and test loss change.

Measured (seed 0, one thread, ~22 s CPU)
----------------------------------------
* search, precision@100 / mAP: raw pixels 0.72 / 0.40, PCA-30 0.76 /
  0.41, AE-30 0.77 / 0.42 (30 numbers do as well as 784); 32-bit hashes:
  AE 0.65 / 0.43, PCA-sign 0.55 / 0.24, LSH 0.44 / 0.24. The AE hash's mAP
  even matches the float codes', at 32 bits instead of 30 floats;
* ranking 1,000 queries: ~0.6 ms CPU per query by Euclidean distance on
  raw pixels (BLAS product + sort), ~0.05 ms by Hamming distance on 32 bits
  (popcount + counting sort): 12-25x depending on the load;
* at 80 bits per image the AE's distortion is 9.2 against 14.2 for the best
  quantised PCA-k (k = 50); PCA only wins above ~140 bits, where the AE's
  reconstruction error floor (6.6) is reached. Inverted digits cost as many
  bits but come back with an error of 554 (78x);
* deep compression: 1633 KB of float32 parameters -> 67.8 KB (24x), 16% of
  the weights kept, 8.2 bits per kept weight all included; test BCE 67.3 ->
  75.9 (+13%): pruning alone gives 167.8, retraining brings it to 75.0. Han
  et al.'s classifier lost nothing; an autoencoder's reconstruction (784
  outputs to get right, after only 8 epochs here) is less forgiving.

``--full`` (30 epochs, all 60,000 training digits as database, 2,000
queries; about 7 min CPU): precision@100 / mAP raw 0.85 / 0.39, PCA-30
0.87 / 0.41, AE-30 0.89 / 0.43; 32-bit AE hash 0.79 / 0.39, PCA-sign 0.69 /
0.24, LSH 0.54 / 0.24; at 80 bits per image the AE (test error 3.6) reaches
6.7 against 13.7 for the best PCA-k.

Run: ``python lessons/13_search_hashing_compression.py`` (``--full``).
"""

# %%
import time

import numpy as np

from tinyae.analysis import compression as C
from tinyae.analysis import retrieval as R
from tinyae.data import load_mnist
from tinyae.course.lesson import Lesson
from tinyae.models import PCA, MLPAutoencoder, SemanticHashingAutoencoder
from tinyae.optim import Adam, cosine_decay
from tinyae.course.plotting import grids
from tinyae.course.plotting.search import (precision_at_k_curves, precision_recall_curves,
                                    rate_distortion_curves)
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


# %%
def squared_error(x_hat, x):
    """Squared error per image, (N, 784) pairs -> float (float64 sums)."""
    d = x_hat.astype(np.float64) - x
    return float(np.mean(np.sum(d * d, axis=1)))


# %%
def train(model, x, *, epochs, lr, batch_size, rng, callback=None):
    """Adam with a cosine-decayed learning rate (``tinyae.train.fit``)."""
    return fit(model, x, optimizer=Adam(model.params, lr=lr), epochs=epochs,
               batch_size=batch_size, rng=rng, progress=lesson.progress,
               lr_schedule=cosine_decay(lr, epochs), callback=callback)


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


# %%
def distortion_at(rate, curves):
    """Lowest distortion any of ``curves`` [(rates, dists)] reaches at ``rate``
    (linear interpolation; a curve counts only inside its range of rates)."""
    best = np.inf
    for rates, dists in curves:
        if rates[0] <= rate <= rates[-1]:
            best = min(best, float(np.interp(rate, rates, dists)))
    return best


# %%
def main():
    full = lesson.full
    rng = lesson.rng
    x_train, y_train = load_mnist("train", dtype=np.float32)
    x_test, y_test = load_mnist("test", dtype=np.float32)
    n_db, n_q = (60000, 2000) if full else (10000, 1000)
    db = rng.permutation(len(x_train))[:n_db]
    x_db, y_db = x_train[db], y_train[db]                 # database and training set
    x_q, y_q = x_test[:n_q], y_test[:n_q]                 # queries
    lesson.report(f"database: {n_db} training digits (also the training set); "
                  f"queries: the first {n_q} test digits")

    # ----------------------------------------------- models ----------------
    start = time.process_time()
    ae = MLPAutoencoder(sizes=(784, 256, N_CODE), rng=rng, dtype=np.float32)
    train(ae, x_db, epochs=lesson.epochs, lr=5e-3, batch_size=64, rng=rng)
    loss_ae = evaluate(ae, x_q)[0]
    lesson.report(f"AE 784-256-{N_CODE} (ReLU, Bernoulli), {lesson.epochs} epochs: "
                  f"{time.process_time() - start:.1f} s CPU, test squared error "
                  f"{squared_error(ae.reconstruct(x_q), x_q):.2f}")
    start = time.process_time()
    hasher = SemanticHashingAutoencoder(sizes=(784, 256, N_BITS), activation="tanh",
                                        code_noise=HASH_NOISE, rng=rng, dtype=np.float32)
    hist = train(hasher, x_db, epochs=lesson.epochs, lr=5e-3, batch_size=128, rng=rng)
    bits_db = hasher.hash(x_db)
    lesson.report(f"hashing AE 784-256(tanh)-{N_BITS} (noise std {HASH_NOISE:g} before "
                  f"the sigmoid): {time.process_time() - start:.1f} s CPU; share of "
                  f"saturated code units (|z - 1/2| > 0.45) in the last epoch "
                  f"{hist['saturated'][-1]:.2f}; bits constant over the database "
                  f"{int(np.sum(bits_db.all(0) | ~bits_db.any(0)))} of {N_BITS}")
    # one PCA serves all: PCA-k is the first k coordinates of PCA-80 (nested)
    pca = PCA(max(PCA_WIDTHS)).fit(x_db)
    pca_sign = R.PCASignHash(N_BITS).fit(pca=pca)
    lsh = R.RandomHyperplaneLSH(N_BITS, rng=rng).fit(x_db)

    # ----------------------------------------------- search ----------------
    # The first call of a Numba kernel compiles it (on a fresh install) or
    # loads it from the cache: rank one query each way first, so the times
    # below are of the ranking alone (a fresh install measured 0.78 for the
    # speed-up claimed below with the compilation inside Hamming's time).
    R.hamming_rank(R.pack_codes(bits_db[:1]), R.pack_codes(bits_db))
    R.euclidean_rank(x_q[:1], x_db)

    def euclid(name, q, d):
        return name, R.evaluate_ranking(R.euclidean_rank, q, d, y_q, y_db, k=K)

    def hamming(name, bits_q, bits_d):
        return name, R.evaluate_ranking(R.hamming_rank, R.pack_codes(bits_q),
                                        R.pack_codes(bits_d), y_q, y_db, k=K)

    results = dict([
        euclid("raw pixels (784 floats)", x_q, x_db),
        euclid(f"PCA-{N_CODE} codes", pca.transform(x_q)[:, :N_CODE],
               pca.transform(x_db)[:, :N_CODE]),
        euclid(f"AE-{N_CODE} codes", ae.encode(x_q), ae.encode(x_db)),
        hamming(f"AE hash ({N_BITS} bits)", hasher.hash(x_q), bits_db),
        hamming(f"PCA-sign ({N_BITS} bits)", pca_sign.bits(x_q), pca_sign.bits(x_db)),
        hamming(f"LSH ({N_BITS} bits)", lsh.bits(x_q), lsh.bits(x_db)),
    ])
    for name, r in results.items():
        lesson.report(f"{name:<26s} precision@{K} {r[f'precision@{K}']:.3f}   mAP "
                      f"{r['mAP']:.3f}   ranking {1e3 * r['rank_seconds'] / n_q:.3f} "
                      f"ms CPU per query")
    raw, ae30 = results["raw pixels (784 floats)"], results[f"AE-{N_CODE} codes"]
    ae_hash = results[f"AE hash ({N_BITS} bits)"]
    best_base = {m: max(results[f"PCA-sign ({N_BITS} bits)"][m],
                        results[f"LSH ({N_BITS} bits)"][m]) for m in ("mAP", f"precision@{K}")}
    lesson.claim(f"AE-{N_CODE} codes vs raw pixels, mAP difference (26x fewer numbers, "
                 f"as good)", ae30["mAP"] - raw["mAP"], gt=-0.02)
    lesson.claim(f"{N_BITS}-bit AE hash minus the better of PCA-sign and LSH, mAP",
                 ae_hash["mAP"] - best_base["mAP"], gt=0.08)
    lesson.claim(f"{N_BITS}-bit AE hash minus the better of PCA-sign and LSH, "
                 f"precision@{K}", ae_hash[f"precision@{K}"] - best_base[f"precision@{K}"],
                 gt=0.03)
    speedup = raw["rank_seconds"] / ae_hash["rank_seconds"]
    lesson.claim("ranking time per query, Euclidean on raw pixels / Hamming on "
                 f"{N_BITS}-bit codes (shared machine: generous bound)", speedup, gt=3)

    lesson.save(precision_recall_curves({n: (r["precision"], r["recall"])
                                         for n, r in results.items()}), "precision_recall")
    lesson.save(precision_at_k_curves({n: (r["cutoffs"], r["precision"])
                                       for n, r in results.items()}), "precision_at_k")
    show = R.euclidean_rank(ae.encode(x_q[:6]), ae.encode(x_db))[:, :11]
    show_h = R.hamming_rank(R.pack_codes(hasher.hash(x_q[:6])), R.pack_codes(bits_db))[:, :11]
    lesson.save(grids({"query | 10 nearest by AE-30 code": np.concatenate(
                           [np.concatenate([x_q[i:i + 1], x_db[show[i, :10]]]) for i in range(6)]),
                       f"query | 10 nearest by {N_BITS}-bit AE hash": np.concatenate(
                           [np.concatenate([x_q[i:i + 1], x_db[show_h[i, :10]]]) for i in range(6)])},
                      rows=6), "queries")

    # ----------------------------------------------- compression -----------
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
    lesson.claim(f"distortion at {RD_RATE} bits/image, AE / best quantised PCA-k",
                 d_ae / d_pca, lt=0.8)
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
    lesson.claim("data-specific: squared error on inverted digits / on digits "
                 "(same model, same step)", inv_err / digits_err, gt=10)
    lesson.save(rate_distortion_curves({"AE-30": ae_rd, **{f"PCA-{k}": c
                                                          for k, c in pca_rd.items()}},
                                       marks=(RD_RATE,)), "rate_distortion")
    lesson.save(grids({"test digits": x_c[:12],
                       f"AE, step 1 ({digits_err:.1f})": ae.decode(C.dequantize(q[:12], step)),
                       "inverted": inv[:12],
                       f"AE on inverted ({inv_err:.0f})": ae.decode(
                           C.dequantize(q_inv[:12], step))}, rows=2), "compressed_digits")

    # ----------------------------------------------- deep compression ------
    dense_kb = C.dense_size(ae) / 8 / 1024
    masks = C.prune_masks(ae, {k: SPARSITY["big" if ae.params[k].size > 100000 else "small"]
                               for k in C.weight_names(ae)})
    masked = C.MaskedModel(ae, masks)                      # zeroes the pruned weights
    loss_pruned = evaluate(ae, x_q)[0]
    fit(masked, x_db, optimizer=Adam(masked.params, lr=1e-3), epochs=3 if not full else 10,
        batch_size=64, rng=rng, progress=lesson.progress)
    loss_retrained = evaluate(ae, x_q)[0]
    shared = C.SharedWeightModel(ae, masks, bits=SHARE_BITS)
    loss_shared = evaluate(ae, x_q)[0]
    fit(shared, x_db, optimizer=Adam(shared.params, lr=3e-4), epochs=1 if not full else 3,
        batch_size=64, rng=rng, progress=lesson.progress)
    shared.write_weights()
    loss_final = evaluate(ae, x_q)[0]
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
    lesson.claim("deep compression: decoded weights differing from the model's", mismatched,
                 lt=0.5)
    lesson.claim("deep compression ratio (float32 size / exact compressed size)",
                 C.dense_size(ae) / bits, gt=15)
    lesson.claim("deep compression: relative change of the test loss",
                 (loss_final - loss_ae) / loss_ae, lt=0.2)
    lesson.claim("retraining after pruning recovers most of the loss: "
                 "(retrained - trained) / (pruned - trained)",
                 (loss_retrained - loss_ae) / (loss_pruned - loss_ae), lt=0.3)
    lesson.finish()


# %%
if __name__ == "__main__":
    lesson = Lesson("13_search_hashing_compression", __doc__, epochs=8, full_epochs=30)
    main()
