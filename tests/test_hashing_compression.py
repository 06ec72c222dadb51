"""Hashing kernels (against their NumPy twins and brute force), retrieval
scores on hand-computed toys, the Huffman coder (round trip, optimality),
sparse index coding, pruning and the weight-sharing gradient."""

import numpy as np
import pytest

from tinyae import backend, functional, kernels
from tinyae.analysis import compression as C, retrieval as R
from tinyae.gradcheck.core import check_model, numerical_gradient, rel_error
from tinyae.models import PCA, MLPAutoencoder, SemanticHashingAutoencoder


# --------------------------------------------------------------------------
# Hashing ops: Numba twins equal the reference exactly
# --------------------------------------------------------------------------

N_BITS = [1, 7, 31, 32, 63, 64, 65, 128, 130]


def _brute_distance(bits_q, bits_d):
    """Hamming distances by counting unequal bits: (m, b), (n, b) -> (m, n)."""
    return (bits_q[:, None, :] != bits_d[None, :, :]).sum(axis=2)


@pytest.mark.parametrize("b", N_BITS)
@pytest.mark.parametrize("kind", ["random", "zeros", "ones", "batch1"])
def test_hashing_twins_agree_exactly(b, kind):
    rng = np.random.default_rng(b)
    m, n = (1, 1) if kind == "batch1" else (5, 40)
    bits_q, bits_d = rng.random((m, b)) < 0.5, rng.random((n, b)) < 0.5
    if kind in ("zeros", "ones"):
        bits_q[:] = kind == "ones"
        bits_d[:] = kind == "zeros"                    # all bits differ
    words_q, words_d = functional.pack_bits(bits_q), functional.pack_bits(bits_d)
    assert words_q.dtype == np.uint64 and words_q.shape == (m, -(-b // 64))
    np.testing.assert_array_equal(kernels.pack_bits(bits_q), words_q)
    np.testing.assert_array_equal(kernels.pack_bits(bits_q.astype(np.int64)), words_q)
    d = functional.hamming_distance(words_q, words_d)
    assert d.dtype == np.int32
    np.testing.assert_array_equal(d, _brute_distance(bits_q, bits_d))
    np.testing.assert_array_equal(kernels.hamming_distance(words_q, words_d), d)
    order = functional.hamming_rank(words_q, words_d)
    np.testing.assert_array_equal(kernels.hamming_rank(words_q, words_d), order)
    if kind in ("zeros", "ones"):
        assert (d == b).all()


def test_pack_bits_layout_and_high_bit():
    """Bit j goes to bit j % 64 of word j // 64; bit 63 (the sign bit of an
    int64) and the zero padding survive."""
    bits = np.zeros((1, 70), dtype=bool)
    bits[0, [0, 63, 64, 69]] = True
    expected = np.array([[1 | (1 << 63), 1 | (1 << 5)]], dtype=np.uint64)
    for module in (functional, kernels):
        np.testing.assert_array_equal(module.pack_bits(bits), expected)


def test_hamming_rank_is_stable_counting_sort():
    """Ties keep database order; the result sorts the distances."""
    rng = np.random.default_rng(3)
    words_d = functional.pack_bits(rng.random((300, 4)) < 0.5)   # 16 codes, many ties
    words_q = functional.pack_bits(rng.random((6, 4)) < 0.5)
    d = functional.hamming_distance(words_q, words_d)
    for module in (functional, kernels):
        order = module.hamming_rank(words_q, words_d)
        assert order.dtype == np.int32
        ranked = np.take_along_axis(d, order.astype(np.int64), axis=1)
        assert (np.diff(ranked, axis=1) >= 0).all()
        same = np.diff(ranked, axis=1) == 0
        assert (np.diff(order, axis=1)[same] > 0).all()        # ties by index
    same_codes = np.zeros((5, 1), dtype=np.uint64)
    np.testing.assert_array_equal(kernels.hamming_rank(same_codes[:1], same_codes),
                                  [[0, 1, 2, 3, 4]])


def test_hashing_ops_are_routed_by_the_backend():
    for op in backend.OP_FAMILIES["hashing"]:
        assert op in backend.OP_NAMES
    bits = np.eye(3, 66, dtype=bool)
    with backend.use("numpy"):
        a = R.hamming_rank(R.pack_codes(bits), R.pack_codes(bits))
    with backend.use("numba"):
        b = R.hamming_rank(R.pack_codes(bits), R.pack_codes(bits))
    np.testing.assert_array_equal(a, b)


def test_hashing_validation_names_the_parameter():
    with pytest.raises(ValueError, match="bits"):
        R.pack_codes(np.array([[0, 2]]))
    with pytest.raises(TypeError, match="queries"):
        R.hamming_rank(np.zeros((2, 1), np.int64), np.zeros((2, 1), np.uint64))
    with pytest.raises(ValueError, match="database"):
        R.hamming_rank(np.zeros((2, 1), np.uint64), np.zeros((2, 2), np.uint64))


# --------------------------------------------------------------------------
# Retrieval scores on a hand-computed toy
# --------------------------------------------------------------------------

def test_precision_and_average_precision_by_hand():
    # query 0 ranks labels [a, b, a, b, b] -> relevant at ranks 1 and 3
    # query 1 ranks labels [b, a, a, b, a] (query label a) -> ranks 2, 3, 5
    db_labels = np.array([0, 1, 0, 1, 1])
    order = np.array([[0, 1, 2, 3, 4], [1, 0, 2, 3, 4]])
    db_labels2 = np.array([0, 1, 1, 1, 1])
    rel = R.relevance(order, np.array([0, 1]), db_labels)
    np.testing.assert_array_equal(rel, [[1, 0, 1, 0, 0], [1, 0, 0, 1, 1]])
    rel = np.array([[1, 0, 1, 0, 0], [0, 1, 1, 0, 1]], dtype=bool)
    np.testing.assert_allclose(R.precision_at_k(rel, 2), [0.5, 0.5])
    np.testing.assert_allclose(R.precision_at_k(rel, 3), [2 / 3, 2 / 3])
    np.testing.assert_allclose(R.average_precision(rel),
                               [(1 + 2 / 3) / 2, (1 / 2 + 2 / 3 + 3 / 5) / 3])
    p, r = R.precision_recall(rel, np.array([1, 5]))
    np.testing.assert_allclose(p, [0.5, 0.5])
    np.testing.assert_allclose(r, [0.5 * (1 / 2 + 0), 1.0])
    assert R.relevance(order, np.array([0, 1]), db_labels2).shape == (2, 5)
    with pytest.raises(ValueError, match="no relevant"):
        R.average_precision(np.zeros((1, 3), dtype=bool))
    with pytest.raises(ValueError, match="k must be"):
        R.precision_at_k(rel, 6)


def test_evaluate_ranking_matches_direct_scores_in_chunks():
    rng = np.random.default_rng(4)
    q, d = rng.standard_normal((7, 3)), rng.standard_normal((20, 3))
    yq, yd = rng.integers(0, 3, 7), rng.integers(0, 3, 20)
    yq[:] = yd[0]                                  # every query has a relevant item
    res = R.evaluate_ranking(R.euclidean_rank, q, d, yq, yd, k=5, chunk=3)
    rel = R.relevance(R.euclidean_rank(q, d), yq, yd)
    assert res["precision@5"] == pytest.approx(R.precision_at_k(rel, 5).mean())
    assert res["mAP"] == pytest.approx(R.average_precision(rel).mean())


def test_euclidean_rank_against_brute_force():
    rng = np.random.default_rng(5)
    q, d = rng.standard_normal((4, 6)), rng.standard_normal((30, 6))
    brute = np.argsort(((q[:, None] - d[None]) ** 2).sum(-1), axis=1)     # no ties here
    np.testing.assert_array_equal(R.euclidean_rank(q, d), brute)


def test_baseline_hashes():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((50, 8))
    lsh = R.RandomHyperplaneLSH(5, rng=rng).fit(x)
    assert lsh.bits(x).shape == (50, 5) and lsh.bits(x).dtype == bool
    pca = R.PCASignHash(3).fit(x)
    np.testing.assert_array_equal(pca.bits(x), pca.pca_.transform(x) > 0)
    reused = R.PCASignHash(3).fit(pca=PCA(5).fit(x))              # nested components
    np.testing.assert_array_equal(reused.bits(x), pca.bits(x))
    with pytest.raises(ValueError, match="pca"):
        R.PCASignHash(6).fit(pca=PCA(5).fit(x))
    with pytest.raises(ValueError, match="exactly one"):
        R.PCASignHash(3).fit()
    with pytest.raises(RuntimeError, match="fit"):
        R.PCASignHash(3).bits(x)


# --------------------------------------------------------------------------
# Huffman coding
# --------------------------------------------------------------------------

def test_huffman_dyadic_probabilities_reach_the_entropy_exactly():
    counts = np.array([32, 16, 8, 4, 2, 1, 1])            # p = 1/2, 1/4, ..., 1/64, 1/64
    code = C.HuffmanCode(counts)
    np.testing.assert_array_equal(code.lengths_, [1, 2, 3, 4, 5, 6, 6])
    symbols = np.repeat(np.arange(7), counts)
    data, n_bits = code.encode(symbols)
    p = counts / counts.sum()
    assert n_bits == pytest.approx(counts.sum() * -(p * np.log2(p)).sum(), abs=1e-9)
    np.testing.assert_array_equal(code.decode(data, symbols.size, n_bits), symbols)


def test_huffman_is_optimal_on_a_textbook_example():
    # CLRS 16.3: frequencies 45, 13, 12, 16, 9, 5 cost 224 bits in all
    counts = np.array([45, 13, 12, 16, 9, 5])
    code = C.HuffmanCode(counts)
    assert int((code.lengths_ * counts).sum()) == 224
    assert sum(2.0 ** -code.lengths_) == 1.0                # Kraft equality: a full tree
    words = [format(c, f"0{length}b") for c, length in zip(code.codes_, code.lengths_)]
    for i, a in enumerate(words):                            # prefix-free
        for j, b in enumerate(words):
            assert i == j or not b.startswith(a)


def test_a_code_rebuilt_from_its_lengths_is_the_same_code():
    counts = np.array([45, 13, 12, 16, 0, 9, 5])
    code = C.HuffmanCode(counts)
    rebuilt = C.HuffmanCode.from_lengths(code.lengths_.astype(np.int32))
    np.testing.assert_array_equal(rebuilt.lengths_, code.lengths_)
    np.testing.assert_array_equal(rebuilt.codes_, code.codes_)
    assert rebuilt.lengths_.dtype == np.int64
    # other optimal lengths for (1, 1, 2, 2): all 2 instead of (3, 3, 2, 1)
    symbols = np.repeat(np.arange(4), [1, 1, 2, 2])
    np.testing.assert_array_equal(C.HuffmanCode([1, 1, 2, 2]).lengths_, [3, 3, 2, 1])
    flat = C.HuffmanCode.from_lengths([2, 2, 2, 2])
    data, n_bits = flat.encode(symbols)
    assert n_bits == 12 == C.HuffmanCode([1, 1, 2, 2]).encode(symbols)[1]
    np.testing.assert_array_equal(flat.decode(data, symbols.size, n_bits), symbols)
    one = C.HuffmanCode.from_lengths([0, 1, 0])                  # a lone symbol: 1 bit
    data, n_bits = one.encode(np.array([1, 1, 1]))
    assert n_bits == 3
    np.testing.assert_array_equal(one.decode(data, 3, n_bits), [1, 1, 1])


@pytest.mark.parametrize("lengths, named", [
    ([1, 1, 2], r"Kraft's inequality: the sum of 2\^-l over the codewords is 1.25 > 1"),
    ([1, 2, 3, 3, 3], r"is 1.125 > 1"),
    ([0, 0], "at least one positive"), ([2.0, 2.0], "integers"), ([[1, 1]], "1-D"),
    ([1, -1], "integers in"), ([64, 1], r"\[0, 2\^6\)")])
def test_from_lengths_refuses_what_no_prefix_code_has(lengths, named):
    with pytest.raises(ValueError, match=named):
        C.HuffmanCode.from_lengths(np.array(lengths))
    if lengths == [1, 2, 3, 3, 3]:                             # the near miss: 1 is fine
        C.HuffmanCode.from_lengths(np.array([1, 2, 3, 3]))


@pytest.mark.parametrize("case", ["one symbol", "two symbols", "skewed", "wide"])
def test_stream_round_trip(case):
    rng = np.random.default_rng(7)
    values = {"one symbol": np.full(9, -4),
              "two symbols": rng.integers(5, 7, 100),
              "skewed": rng.geometric(0.05, 2000) - 30,
              "wide": rng.integers(-1000, 1000, 3000)}[case]
    stream = C.encode_stream(values)
    np.testing.assert_array_equal(C.decode_stream(stream), values)
    assert stream.bits == (3 * C.HEADER_FIELD_BITS + stream.code.table_bits
                           + stream.n_bits)
    assert len(stream.data) == -(-stream.n_bits // 8)
    counts = np.bincount(values - values.min())
    assert stream.n_bits == int((stream.code.lengths_ * counts).sum())


def test_columns_round_trip_and_quantizer():
    rng = np.random.default_rng(8)
    z = rng.standard_normal((40, 3)) * [1, 5, 0.1]
    q = C.quantize(z, 0.5)
    assert np.abs(C.dequantize(q, 0.5, np.float64) - z).max() <= 0.25 + 1e-12
    streams = C.encode_columns(q)
    np.testing.assert_array_equal(C.decode_columns(streams), q)
    assert C.columns_bits(streams) == 2 * C.HEADER_FIELD_BITS + sum(s.bits for s in streams)
    with pytest.raises(ValueError, match="step"):
        C.quantize(z, 0)


def test_huffman_validation():
    with pytest.raises(ValueError, match="counts"):
        C.HuffmanCode([0, 0])
    with pytest.raises(ValueError, match="symbols"):
        C.HuffmanCode([3, 0, 1]).encode(np.array([1]))   # a symbol with no code


# --------------------------------------------------------------------------
# Deep compression
# --------------------------------------------------------------------------

@pytest.mark.parametrize("positions", [[0], [254, 255, 511], [3, 2000], [255, 256 + 255 * 3]])
def test_sparse_indices_round_trip_with_long_gaps(positions):
    mask = np.zeros((4, 700), dtype=bool)
    mask.flat[positions] = True
    assign = np.arange(len(positions)) % 3
    m2, a2 = C.decode_sparse(*C.encode_sparse(mask, assign), mask.shape)
    np.testing.assert_array_equal(m2, mask)
    np.testing.assert_array_equal(a2, assign)


def _small_ae(rng, dtype=np.float64):
    return MLPAutoencoder(sizes=(7, 5, 3), activation="tanh", rng=rng, dtype=dtype)


def test_prune_masks_and_masked_training_keep_zeros():
    from tinyae.optim import Adam
    rng = np.random.default_rng(9)
    model = _small_ae(rng)
    masks = C.prune_masks(model, 0.6)
    for name, m in masks.items():
        W = model.params[name]
        assert m.sum() == round(0.4 * W.size)
        assert np.abs(W[m]).min() >= np.abs(W[~m]).max()
    masked = C.MaskedModel(model, masks)
    opt = Adam(masked.params, lr=1e-2)
    x = rng.uniform(0.05, 0.95, (6, 7))
    for _ in range(3):
        opt.step(masked.loss_and_grad(x)[1])
    for name, m in masks.items():
        assert (model.params[name][~m] == 0).all() and (model.params[name][m] != 0).all()


def test_kmeans_1d_finds_separated_clusters():
    values = np.concatenate([np.full(5, -1.0), np.full(3, 0.2), np.full(4, 2.0)])
    c, a = C.kmeans_1d(values, 3)
    np.testing.assert_allclose(c, [-1.0, 0.2, 2.0])
    np.testing.assert_allclose(c[a], values, rtol=1e-15)


def _shared_model(rng):
    model = _small_ae(rng)
    masks = C.prune_masks(model, 0.3)
    return C.SharedWeightModel(model, masks, bits=2), rng.uniform(0.05, 0.95, (4, 7))


def test_shared_weight_gradient_is_the_sum_over_members():
    rng = np.random.default_rng(10)
    shared, x = _shared_model(rng)
    report = check_model(shared, x)
    assert report.worst < 1e-7, str(report)
    # a near miss fails: one member's gradient counted twice in one centroid
    name = next(iter(shared.masks))
    _, grads = shared.loss_and_grad(x)
    right = grads[f"{name}.centroids"].copy()     # the next calls overwrite grads
    wrong = right.copy()
    wrong[shared.assign[name][0]] += shared.model.grads[name][shared.masks[name]][0]
    numeric = numerical_gradient(lambda: shared.loss_and_grad(x)[0], shared.centroids[name])
    assert rel_error(right, numeric) < 1e-7
    assert rel_error(wrong, numeric) > 1e-4


def test_wrapped_models_loss_matches_loss_and_grad():
    rng = np.random.default_rng(13)
    shared, x = _shared_model(rng)
    assert shared.loss(x) == pytest.approx(shared.loss_and_grad(x)[0])
    masked = C.MaskedModel(_small_ae(rng), C.prune_masks(_small_ae(rng), 0.5))
    assert masked.loss(x) == pytest.approx(masked.loss_and_grad(x)[0])


def test_compressed_size_counts_every_part():
    rng = np.random.default_rng(11)
    shared, _ = _shared_model(rng)
    bits, parts = C.compressed_size(shared)
    assert bits == sum(parts.values())
    assert parts["codebooks"] == sum(4 * C.FLOAT_BITS for _ in shared.masks)
    assert parts["other"] == sum(v.size for k, v in shared.model.params.items()
                                 if not k.endswith(".W")) * C.FLOAT_BITS
    assert C.dense_size(shared.model) == shared.model.n_params * 32


# --------------------------------------------------------------------------
# Semantic hashing autoencoder
# --------------------------------------------------------------------------

def test_semantic_hashing_model():
    rng = np.random.default_rng(12)
    model = SemanticHashingAutoencoder(sizes=(6, 5, 3), activation="tanh", rng=rng)
    x = rng.uniform(0.05, 0.95, (4, 6))
    np.testing.assert_array_equal(model.hash(x), model.encode(x) > 0.5)
    noise = 2.0 * rng.standard_normal((4, 3))
    assert check_model(model, x, noise=noise).worst < 1e-7
    # a zero noise gives the sigmoid-code autoencoder's loss
    loss0 = model.loss(x, noise=np.zeros((4, 3)))
    recon = model.decoder.forward(model.encode(x))
    assert loss0 == pytest.approx(functional.bce_with_logits_loss(recon, x)[0])
    with pytest.raises(ValueError, match="rng"):
        model.loss_and_grad(x)
    with pytest.raises(ValueError, match="noise"):
        model.loss_and_grad(x, noise=np.zeros((4, 2)))
    assert model.loss(x, noise=noise) == pytest.approx(model.loss_and_grad(x, noise=noise)[0])
    assert model.reconstruction_loss(x) == pytest.approx(loss0)
    with pytest.raises(TypeError, match="code_activation"):
        SemanticHashingAutoencoder(sizes=(6, 3), rng=rng, code_activation="sigmoid")
    with pytest.raises(TypeError, match="corruption"):
        SemanticHashingAutoencoder(sizes=(6, 3), rng=rng, corruption=None)
