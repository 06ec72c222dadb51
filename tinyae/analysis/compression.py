"""Lossy compression with codes, and "deep compression" of a network, with an
entropy coder that counts real bits.

Huffman coding
--------------
Given the counts c_s of symbols s = 0..k-1, Huffman's algorithm (1952)
repeatedly merges the two least frequent subtrees; a symbol's code length
is its depth in the final tree. No prefix code has a shorter total length
sum_s c_s l_s, and with p_s = c_s / n the mean length lies in
[H, H + 1) bits, H = -sum_s p_s log2 p_s; it equals H exactly when every
p_s is a power of 1/2 (then l_s = -log2 p_s).

The code is stored *canonically*: only the lengths are kept; codes are
assigned in order of (length, symbol), each the previous code plus one,
shifted left when the length grows. So a decoder needs just the k lengths
(``LENGTH_BITS`` bits each, counted in ``table_bits``) to rebuild the code.

``encode_stream(values)`` codes a 1-D integer array (any range) with a code
fitted to its own counts and returns a ``CodedStream`` whose ``bits`` is
everything a decoder needs: a fixed header (count, smallest value, alphabet
size), the table of lengths and the payload. ``decode_stream`` inverts it
exactly. Nothing is estimated: the payload is the packed bit string itself.

Quantising codes
----------------
``quantize(z, step)`` rounds each code value to a multiple of ``step``
(uniform scalar quantisation), ``q = round(z / step)``; the integers q are
then Huffman-coded column by column (``encode_columns``), and
``dequantize(q, step) = q step`` is what the decoder of the autoencoder
sees. Smaller steps: more bits, less distortion -- the rate-distortion curve.

Deep compression (Han, Mao & Dally, ICLR 2016)
----------------------------------------------
A trained network's weight matrices are (1) pruned: the smallest
magnitudes set to zero and kept there while the rest is retrained
(``prune_masks``, ``MaskedModel``); (2) quantised by weight sharing: the
surviving weights of a matrix are clustered by 1-D k-means (``kmeans_1d``,
linearly initialised, as the paper found best) into 2^b centroids, and each
weight stores only its b-bit cluster index; (3) the centroids are
fine-tuned (``SharedWeightModel``): with W_ij = c_{a_ij} for every kept
(i, j),

    dL/dc_k = sum_{(i, j): a_ij = k} dL/dW_ij,

the sum of the gradients of the cluster's members (the chain rule through
the gather W = c[a]); (4) the positions of the kept weights (as gaps
between consecutive flat indices, ``GAP_BITS``-bit symbols with a "skip"
symbol for longer gaps, as the paper's relative indices with filler zeros)
and the cluster indices are Huffman-coded (``compressed_size``). Biases are
kept as 32-bit floats.
"""

import heapq
from dataclasses import dataclass

import numpy as np

from .._validation import check_fraction, check_positive_float, check_positive_int
from ..models.base import Model

#: Bits used to store one code length in a canonical Huffman table.
LENGTH_BITS = 6
#: Bits of each fixed header field of a stream (count, smallest value, alphabet size).
HEADER_FIELD_BITS = 32
#: Largest alphabet (max - min + 1 of a stream's values) ``encode_stream``
#: builds a table for: its counts take 8 bytes a symbol while being built.
MAX_ALPHABET = 2 ** 24
#: Bits per float stored as is (centroids, biases): float32.
FLOAT_BITS = 32
#: Gap symbols of the sparse index stream: 2^GAP_BITS values, the last one
#: meaning "skip this many positions, no weight here".
GAP_BITS = 8


# --------------------------------------------------------------------------
# Canonical Huffman code
# --------------------------------------------------------------------------

def huffman_lengths(counts):
    """Code length of each symbol of an optimal prefix code.

    counts: (k,) non-negative integers, at least one positive -> (k,) int64,
    0 for symbols that never occur. A single occurring symbol gets length 1.
    Ties are broken by the smallest symbol in each subtree, so the result is
    deterministic.
    """
    counts = _check_counts(counts)
    lengths = np.zeros(counts.size, dtype=np.int64)
    heap = [(int(c), s, [s]) for s, c in enumerate(counts) if c > 0]
    if len(heap) == 1:
        lengths[heap[0][1]] = 1
        return lengths
    heapq.heapify(heap)
    while len(heap) > 1:
        c1, t1, s1 = heapq.heappop(heap)
        c2, t2, s2 = heapq.heappop(heap)
        lengths[s1] += 1                       # every leaf below goes one level deeper
        lengths[s2] += 1
        heapq.heappush(heap, (c1 + c2, min(t1, t2), s1 + s2))
    if lengths.max() >= 2 ** LENGTH_BITS:
        raise ValueError(f"a code length reached {lengths.max()}, more than a "
                         f"{LENGTH_BITS}-bit table entry holds")
    return lengths


def canonical_codes(lengths):
    """Canonical code values for the given lengths: (k,) -> (k,) int64.

    Symbols sorted by (length, symbol) get consecutive codes, shifted left
    by one whenever the length grows; symbols of length 0 get code 0 (unused).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    codes = np.zeros(lengths.size, dtype=np.int64)
    code, prev = 0, 0
    for s in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[s]) - prev
        codes[s], prev = code, int(lengths[s])
        code += 1
    return codes


def _check_counts(counts):
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size == 0 or not np.issubdtype(counts.dtype, np.integer) \
            or counts.min() < 0 or counts.max() == 0:
        raise ValueError(f"counts must be a non-empty 1-D array of integers >= 0 with "
                         f"at least one positive, got {counts!r}")
    return counts


class HuffmanCode:
    """A canonical Huffman code for symbols 0..k-1 built from their counts.

    ``lengths_`` and ``codes_`` (k,) define it; ``table_bits`` is what the
    table costs to transmit (k lengths of LENGTH_BITS bits each).
    """

    def __init__(self, counts):
        self.lengths_ = huffman_lengths(counts)
        self.codes_ = canonical_codes(self.lengths_)

    @classmethod
    def from_lengths(cls, lengths):
        """The canonical code with the given lengths, as a decoder rebuilds it
        from the table: (k,) integers >= 0, at least one positive, below
        2^LENGTH_BITS, and within Kraft's inequality sum_{l_s > 0} 2^-l_s <= 1
        (no prefix code has lengths beyond it). A symbol of length 0 has no
        codeword. Any optimal lengths (ties broken otherwise than
        ``huffman_lengths`` does) give a code of the same total length."""
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or lengths.size == 0 \
                or not np.issubdtype(lengths.dtype, np.integer) or lengths.min() < 0 \
                or lengths.max() == 0 or lengths.max() >= 2 ** LENGTH_BITS:
            raise ValueError(f"lengths must be a non-empty 1-D array of integers in "
                             f"[0, 2^{LENGTH_BITS}) with at least one positive, got "
                             f"{lengths!r}")
        top = int(lengths.max())
        kraft = sum(1 << (top - int(n)) for n in lengths if n > 0)   # exact, in 2^-top
        if kraft > 1 << top:
            raise ValueError(f"lengths break Kraft's inequality: the sum of 2^-l over "
                             f"the codewords is {kraft / 2 ** top:g} > 1, so no prefix "
                             f"code has them")
        code = cls.__new__(cls)
        code.lengths_ = lengths.astype(np.int64)
        code.codes_ = canonical_codes(code.lengths_)
        return code

    @property
    def n_symbols(self):
        return self.lengths_.size

    @property
    def table_bits(self):
        return self.n_symbols * LENGTH_BITS

    def encode(self, symbols):
        """symbols: (n,) ints in [0, k) with non-zero length -> (packed bits
        (ceil(n_bits / 8),) uint8, n_bits), codes written most significant bit first."""
        symbols = np.asarray(symbols)
        if symbols.ndim != 1 or not np.issubdtype(symbols.dtype, np.integer):
            raise ValueError(f"symbols must be a 1-D integer array, got {symbols!r}")
        if symbols.size and (symbols.min() < 0 or symbols.max() >= self.n_symbols
                             or (self.lengths_[symbols] == 0).any()):
            raise ValueError("symbols must lie in [0, n_symbols) and occur in the "
                             "counts the code was built from")
        lengths = self.lengths_[symbols]                         # (n,)
        n_bits = int(lengths.sum())
        owner = np.repeat(np.arange(symbols.size), lengths)      # (n_bits,) symbol of each bit
        start = np.cumsum(lengths) - lengths                     # (n,) first bit of each code
        j = np.arange(n_bits) - start[owner]                     # position inside the code
        bits = (self.codes_[symbols][owner] >> (lengths[owner] - 1 - j)) & 1
        return np.packbits(bits.astype(np.uint8)), n_bits

    def decode(self, data, n, n_bits):
        """Read ``n`` symbols from packed bits ``data`` -> (n,) int64.

        ``n_bits``: how many bits of ``data`` are payload (``encode``'s
        second result). It is required: the last byte is padded with zeros,
        which a code may read as symbols (the shortest code is all zeros), so
        without it asking for more symbols than were encoded returned padding
        as symbols. Asking for more symbols than ``n_bits`` hold is an error,
        as is data shorter than ``n_bits`` (truncated).

        Canonical decoding: accumulate bits into ``code``; at length L the
        codes of that length are the ``count[L]`` consecutive values from
        ``first[L]``, so the symbol is found by one subtraction.
        """
        data = np.asarray(data)
        if data.ndim != 1 or data.dtype != np.uint8:
            raise ValueError(f"data must be a 1-D uint8 array of packed bits (encode's "
                             f"first result), got {data.dtype} array of shape {data.shape}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be an integer >= 0 (the number of symbols to read), "
                             f"got {n!r}")
        if isinstance(n_bits, bool) or not isinstance(n_bits, (int, np.integer)) \
                or not 0 <= n_bits <= 8 * data.size:
            raise ValueError(f"n_bits must be an integer in [0, 8 len(data)] = "
                             f"[0, {8 * data.size}], got {n_bits!r} (the payload bits, "
                             f"encode's second result; more than data holds: truncated data?)")
        limit = int(n_bits)
        order = sorted(np.flatnonzero(self.lengths_), key=lambda s: (self.lengths_[s], s))
        max_len = int(self.lengths_.max())
        count = np.bincount(self.lengths_[order], minlength=max_len + 1)
        first, index = [0] * (max_len + 1), [0] * (max_len + 1)
        for L in range(2, max_len + 1):          # first[1] = index[1] = 0
            first[L] = (first[L - 1] + int(count[L - 1])) << 1
            index[L] = index[L - 1] + int(count[L - 1])
        count = count.tolist()
        bits = np.unpackbits(data).tolist()
        out = np.empty(n, dtype=np.int64)
        b = 0
        for i in range(n):
            code, L = 0, 0
            while True:
                if b == limit:
                    raise ValueError(
                        f"data ends after {i} of the n={n} symbols asked for ({limit} "
                        f"payload bits): truncated data, or n larger than the number "
                        f"of symbols encoded")
                code = (code << 1) | bits[b]
                b += 1
                L += 1
                if code - first[L] < count[L]:
                    out[i] = order[index[L] + code - first[L]]
                    break
                if L == max_len:
                    raise ValueError("data is not a valid stream of this code")
        return out


# --------------------------------------------------------------------------
# Streams: a 1-D integer array, coded with its own table
# --------------------------------------------------------------------------

@dataclass
class CodedStream:
    """A Huffman-coded integer array: everything a decoder needs."""
    n: int                 # number of values
    low: int               # smallest value (symbol s stands for low + s)
    code: HuffmanCode      # its table: code.n_symbols lengths
    data: np.ndarray       # packed payload, uint8
    n_bits: int            # payload bits (data may end with up to 7 padding bits)

    @property
    def bits(self):
        """Exact size: 3 header fields (n, low, k) + table + payload bits."""
        return 3 * HEADER_FIELD_BITS + self.code.table_bits + self.n_bits


def encode_stream(values):
    """Huffman-code a 1-D integer array with a code fitted to its counts."""
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"values must be a non-empty 1-D integer array, got "
                         f"{getattr(values, 'shape', values)!r}")
    low, high = int(values.min()), int(values.max())
    if high - low + 1 > MAX_ALPHABET:
        raise ValueError(
            f"values span {high - low + 1} symbols (from {low} to {high}), more than "
            f"MAX_ALPHABET = 2^{MAX_ALPHABET.bit_length() - 1} a table is built for; "
            f"quantise with a larger step")
    symbols = values.astype(np.int64) - low
    code = HuffmanCode(np.bincount(symbols))
    data, n_bits = code.encode(symbols)
    return CodedStream(values.size, low, code, data, n_bits)


def decode_stream(stream):
    """The integer array a ``CodedStream`` holds: (n,) int64."""
    return stream.code.decode(stream.data, stream.n, stream.n_bits) + stream.low


def encode_columns(symbols):
    """Code each column of an (n, d) integer array as its own stream.

    Returns the list of d streams; their total size is
    ``sum(s.bits for s in streams)`` (plus the shape, 2 header fields).
    """
    symbols = np.asarray(symbols)
    if symbols.ndim != 2:
        raise ValueError(f"symbols must be 2-D (n, d), got shape {symbols.shape}")
    return [encode_stream(symbols[:, j]) for j in range(symbols.shape[1])]


def decode_columns(streams):
    """Inverse of ``encode_columns``: (n, d) int64."""
    return np.stack([decode_stream(s) for s in streams], axis=1)


def columns_bits(streams):
    """Exact size in bits of ``encode_columns``' output, shape header included."""
    return 2 * HEADER_FIELD_BITS + sum(s.bits for s in streams)


def quantize(z, step):
    """Uniform scalar quantisation: z (any shape, float) -> round(z / step), int64.

    z must be finite and z / step must fit in int64 (|z / step| < 2^63):
    anything else has no integer to round to (NumPy would give -2^63)."""
    step = check_positive_float(step, "step")
    z = np.asarray(z, dtype=np.float64)
    _check_finite(z, "z")
    q = np.rint(z / step)
    if q.size and np.abs(q).max() >= 2.0 ** 63:
        raise ValueError(
            f"z / step must fit in int64 (|z / step| < 2^63 ~ 9.2e+18), got values up "
            f"to {np.abs(z).max():.3g} in magnitude with step={step!r}; use a larger "
            f"step or rescale z")
    return q.astype(np.int64)


def _check_finite(a, name):
    if not np.isfinite(a).all():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")


def dequantize(q, step, dtype=np.float32):
    """The reconstruction points q * step, in ``dtype``."""
    step = check_positive_float(step, "step")
    return (np.asarray(q) * step).astype(dtype)


# --------------------------------------------------------------------------
# Deep compression: pruning, weight sharing, sparse coding of the indices
# --------------------------------------------------------------------------

def weight_names(model):
    """Names of a model's weight matrices (2-D params ending in ``.W``)."""
    return [k for k, v in model.params.items() if k.endswith(".W") and v.ndim == 2]


def prune_masks(model, sparsity):
    """Keep-masks that zero the smallest-magnitude weights of each matrix.

    sparsity: a fraction in [0, 1) for every weight matrix, or a dict name ->
    fraction (names from ``weight_names``). Returns name -> bool mask with
    ``round((1 - s) size)`` True entries at the largest |W| (at least one).
    """
    names = weight_names(model)
    if not isinstance(sparsity, dict):
        sparsity = {k: sparsity for k in names}
    unknown = set(sparsity) - set(names)
    if unknown or set(sparsity) != set(names):
        raise ValueError(f"sparsity must give a fraction for each weight matrix "
                         f"{names}, got keys {sorted(sparsity)}")
    masks = {}
    for name in names:
        s = check_fraction(sparsity[name], f"sparsity[{name!r}]")
        W = model.params[name]
        keep = max(1, int(round((1 - s) * W.size)))
        flat = np.zeros(W.size, dtype=bool)
        flat[np.argsort(-np.abs(W), axis=None, kind="stable")[:keep]] = True
        masks[name] = flat.reshape(W.shape)
    return masks


class MaskedModel(Model):
    """A model whose pruned weights stay zero: gradients are masked.

    Wraps ``model`` (sharing its arrays) and ``masks`` (name -> bool, from
    ``prune_masks``); the pruned weights are zeroed at construction. With a
    fresh Adam or SGD optimiser the masked entries never move (their
    gradient, hence every moment, stays 0).
    """

    def __init__(self, model, masks):
        super().__init__()
        self.model = model
        self.masks = masks
        self.dtype = getattr(model, "dtype", None)
        for name, m in masks.items():
            if name not in model.params or model.params[name].shape != m.shape:
                raise ValueError(f"mask {name!r} must match a parameter's shape")
            model.params[name][~m] = 0

    @property
    def params(self):
        return self.model.params

    @property
    def grads(self):
        return self.model.grads

    def loss_and_grad(self, *args, **kwargs):
        loss, grads = self.model.loss_and_grad(*args, **kwargs)
        for name, m in self.masks.items():
            grads[name][~m] = 0
        self.last_stats = self.model.last_stats
        return loss, grads

    def loss(self, *args, **kwargs):
        loss = self.model.loss(*args, **kwargs)
        self.last_stats = self.model.last_stats
        return loss


def kmeans_1d(values, k, *, iters=30):
    """Lloyd's k-means on a 1-D array, centroids initialised linearly
    between min and max (Han et al.'s choice: large weights keep centroids).

    values: (n,) -> (centroids (k,) float64 increasing, assign (n,) int64).
    An empty cluster keeps its previous centroid.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    k = check_positive_int(k, "k")
    if values.size == 0:
        raise ValueError("values must not be empty")
    _check_finite(values, "values")
    centroids = np.linspace(values.min(), values.max(), k)
    for _ in range(iters):
        assign = _nearest(values, centroids)
        sums = np.bincount(assign, weights=values, minlength=k)
        counts = np.bincount(assign, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        new.sort()
        if np.array_equal(new, centroids):
            break
        centroids = new
    return centroids, _nearest(values, centroids)


def _nearest(values, centroids):
    """Index of the nearest of the sorted ``centroids`` for each value."""
    mid = 0.5 * (centroids[1:] + centroids[:-1])        # (k - 1,) decision boundaries
    return np.searchsorted(mid, values)


def shared_weight_grad(dW, mask, assign, k):
    """dL/dc_k = sum of dL/dW_ij over the kept weights with a_ij = k.

    dW, mask: same shape; assign: (n_kept,) cluster of each kept weight in
    the row-major order of ``W[mask]``. Returns (k,) float64.
    """
    return np.bincount(assign, weights=np.asarray(dW, dtype=np.float64)[mask], minlength=k)


class SharedWeightModel(Model):
    """A pruned model whose kept weights share 2^bits values per matrix.

    Built from a model and its masks: for each weight matrix the kept
    weights are clustered (``kmeans_1d``, 2^bits centroids). Parameters are
    ``<name>.centroids`` (k,) for each weight matrix and the model's other
    arrays (biases) unchanged; ``loss_and_grad`` writes W = c[a] (zero off
    the mask) into the model, runs its loss, and returns the centroid
    gradients (``shared_weight_grad``) and the other gradients as they are.
    """

    def __init__(self, model, masks, *, bits):
        super().__init__()
        self.bits = check_positive_int(bits, "bits")
        self.model = model
        self.masks = masks
        self.dtype = getattr(model, "dtype", None)
        self.assign, self.centroids, self._cgrads = {}, {}, {}
        for name, m in masks.items():
            c, a = kmeans_1d(model.params[name][m], 2 ** self.bits)
            self.centroids[name] = c.astype(model.params[name].dtype)
            self.assign[name] = a
            self._cgrads[name] = np.zeros_like(self.centroids[name])
        self.write_weights()

    @property
    def params(self):
        out = {f"{n}.centroids": c for n, c in self.centroids.items()}
        out.update({k: v for k, v in self.model.params.items() if k not in self.masks})
        return out

    @property
    def grads(self):
        out = {f"{n}.centroids": g for n, g in self._cgrads.items()}
        out.update({k: v for k, v in self.model.grads.items() if k not in self.masks})
        return out

    def write_weights(self):
        """W = c[a] on the mask, 0 elsewhere, in the model's own arrays."""
        for name, m in self.masks.items():
            W = self.model.params[name]
            W[...] = 0
            W[m] = self.centroids[name][self.assign[name]]

    def loss_and_grad(self, *args, **kwargs):
        self.write_weights()
        loss, grads = self.model.loss_and_grad(*args, **kwargs)
        for name, m in self.masks.items():
            self._cgrads[name][...] = shared_weight_grad(grads[name], m, self.assign[name],
                                                         2 ** self.bits)
        self.last_stats = self.model.last_stats
        return loss, self.grads

    def loss(self, *args, **kwargs):
        self.write_weights()
        loss = self.model.loss(*args, **kwargs)
        self.last_stats = self.model.last_stats
        return loss


def encode_sparse(mask, assign):
    """Code the positions and cluster indices of one pruned, shared matrix.

    Positions: row-major flat indices of the kept weights as gaps to the
    previous one (the first from -1). A gap g in [1, M] (M = 2^GAP_BITS - 1)
    is the symbol g - 1; longer gaps first emit the skip symbol M (advance M
    positions, no weight) until the rest fits. Returns (gap stream, cluster
    stream), both ``CodedStream``.
    """
    flat = np.flatnonzero(mask)
    gaps = np.diff(flat, prepend=-1)                         # (n_kept,) >= 1
    M = 2 ** GAP_BITS - 1
    skips = (gaps - 1) // M                                  # skip symbols before each weight
    out = np.full(int(skips.sum()) + flat.size, M, dtype=np.int64)
    where = np.cumsum(skips + 1) - 1                         # slot of each weight's gap symbol
    out[where] = gaps - skips * M - 1                        # in [0, M - 1]
    return encode_stream(out), encode_stream(np.asarray(assign, dtype=np.int64))


def decode_sparse(gap_stream, cluster_stream, shape):
    """Inverse of ``encode_sparse``: (mask (shape) bool, assign (n_kept,) int64)."""
    M = 2 ** GAP_BITS - 1
    symbols = decode_stream(gap_stream)
    steps = np.where(symbols == M, M, symbols + 1)
    positions = np.cumsum(steps) - 1                         # flat position after each symbol
    mask = np.zeros(int(np.prod(shape)), dtype=bool)
    mask[positions[symbols != M]] = True
    return mask.reshape(shape), decode_stream(cluster_stream)


def compressed_size(shared):
    """Exact size in bits of a ``SharedWeightModel``, and its breakdown.

    Per weight matrix: 2 shape fields, the Huffman-coded gap and cluster
    streams (tables and headers included) and 2^bits float32 centroids;
    every other parameter (biases) as float32. Returns (bits, dict of parts
    in bits: ``indices``, ``clusters``, ``codebooks``, ``other``).
    """
    parts = {"indices": 0, "clusters": 0, "codebooks": 0, "other": 0}
    for name, m in shared.masks.items():
        gaps, clusters = encode_sparse(m, shared.assign[name])
        parts["indices"] += gaps.bits + 2 * HEADER_FIELD_BITS
        parts["clusters"] += clusters.bits
        parts["codebooks"] += shared.centroids[name].size * FLOAT_BITS
    parts["other"] = sum(v.size * FLOAT_BITS for k, v in shared.model.params.items()
                         if k not in shared.masks)
    return sum(parts.values()), parts


def dense_size(model):
    """Size in bits of all of a model's parameters as float32."""
    return sum(v.size for v in model.params.values()) * FLOAT_BITS
