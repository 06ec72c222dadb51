"""Vector-quantisation ops of the VQ-VAE (van den Oord, Vinyals and
Kavukcuoglu, 2017; conventions in ``tinyae.functional``).

An encoder output z_e: (M, D) (M = batch x positions, D the code
dimension) is replaced by its nearest codebook row,

    k_m = argmin_k ||z_e[m] - e_k||^2,   z_q[m] = e_{k_m},   e: (K, D),

a piecewise-constant map: its true derivative is 0 almost everywhere, so
no gradient would reach the encoder. The straight-through estimator copies
the decoder's gradient across instead,

    forward  z_q = z_e + sg(e_k - z_e)          (value: e_k)
    backward dz_e = dz_q                        (sg = stop-gradient: no
                                                 gradient flows through it)

and two terms pull encoder outputs and codes towards each other:

    codebook   ||sg(z_e) - e_k||^2    moves the codes (gradient to e only);
    commitment beta ||z_e - sg(e_k)||^2  keeps z_e near its code (to z_e only).
"""

import numpy as np


def vq_nearest(z, codebook):
    """Nearest codebook row of each vector: the distance and the argmin.

    z: (M, D), codebook: (K, D) -> idx: (M,) int64, dist: (M,) the squared
    distance ``||z_m - e_{idx_m}||^2`` (in z's dtype). With the expansion

        ||z_m - e_k||^2 = ||z_m||^2 - 2 z_m . e_k + ||e_k||^2,

    the cross terms are one (M, K) matrix product; ties go to the lowest k.
    The squared norms are NumPy sums (the Numba twin takes them from here too,
    so both backends compare the same numbers and pick the same argmin).
    """
    cross = z @ codebook.T                              # (M, K)
    z2 = np.sum(z * z, axis=1)                          # (M,)
    e2 = np.sum(codebook * codebook, axis=1)            # (K,)
    d = (z2[:, None] - 2 * cross) + e2[None, :]         # (M, K)
    idx = np.argmin(d, axis=1)
    dist = d[np.arange(z.shape[0]), idx]
    return idx.astype(np.int64), np.maximum(dist, 0)    # rounding can dip below 0


def vq_code_stats(z, idx, n_codes):
    """Per code: how many vectors chose it and their sum.

    z: (M, D), idx: (M,) ints in [0, n_codes) -> counts: (K,) float (z's
    dtype), sums: (K, D) with ``sums[k] = sum_{m: idx_m = k} z_m``. Used by the
    codebook loss's gradient and by the EMA update.
    """
    counts = np.bincount(idx, minlength=n_codes).astype(z.dtype)
    sums = np.zeros((n_codes, z.shape[1]), z.dtype)
    np.add.at(sums, idx, z)
    return counts, sums


def vq_straight_through_forward(z_e, z_e_sg, z_q_sg):
    """``out = z_e + (z_q_sg - z_e_sg)``: value z_q, derivative 1 in z_e.

    z_e: (M, D) the encoder output (differentiated); z_e_sg, z_q_sg: (M, D)
    the same encoder output and its code as constants (the stop-gradient
    values: in training both are the current forward's arrays; a gradient
    check passes frozen copies so finite differences see the same surrogate
    function the backward differentiates). cache = None.
    """
    return z_e + (z_q_sg - z_e_sg), None


def vq_straight_through_backward(dout, cache):
    """``dz_e = dout``: the decoder's gradient at z_q copied to z_e unchanged."""
    return dout


def vq_losses(z_e, z_q_sg, z_e_sg, codebook, idx, beta, n):
    """Codebook and commitment losses, summed over vectors, divided by n.

    Each loss has one differentiated side and one stop-gradient side:
    z_e: (M, D) the encoder output and z_q_sg: (M, D) its code as a
    constant (the commitment loss); z_e_sg: (M, D) the encoder output as a
    constant and codebook: (K, D) with idx: (M,) the chosen codes, held
    fixed (the codebook loss). n: the batch size (losses are sums over an
    example's positions, means over the batch).

        codebook   C = (1/n) sum_m ||z_e_sg[m] - e_{idx_m}||^2
        commitment B = (beta/n) sum_m ||z_e[m] - z_q_sg[m]||^2

        dC/de_k    = (2/n) sum_{m: idx_m = k} (e_k - z_e_sg[m])
                   = (2/n) (counts_k e_k - sums_k)      (vq_code_stats)
        dB/dz_e[m] = (2 beta/n) (z_e[m] - z_q_sg[m])

    A code that no vector chose gets no gradient at all: unless something
    moves it (a restart), it stays dead. Returns (C, B, dz_e, dcodebook).
    """
    diff_c = (z_e_sg - codebook[idx]).astype(np.float64)     # (M, D)
    diff_b = z_e - z_q_sg
    C = float(np.sum(diff_c * diff_c)) / n
    B = beta * float(np.sum(diff_b.astype(np.float64) ** 2)) / n
    counts, sums = vq_code_stats(z_e_sg, idx, codebook.shape[0])
    dcodebook = (2.0 / n) * (counts[:, None] * codebook - sums)
    dz_e = (2.0 * beta / n) * diff_b
    return C, B, dz_e.astype(z_e.dtype, copy=False), dcodebook.astype(codebook.dtype,
                                                                      copy=False)


def vq_ema_update(codebook, cluster_size, cluster_sum, counts, sums, decay, eps):
    """EMA codebook update (van den Oord et al. 2017, appendix), in place.

    cluster_size: (K,) N_k, cluster_sum: (K, D) m_k, counts/sums this
    batch's ``vq_code_stats``:

        N_k <- decay N_k + (1 - decay) counts_k
        m_k <- decay m_k + (1 - decay) sums_k
        e_k <- m_k / N~_k,  N~_k = (N_k + eps) / (n + K eps) n,  n = sum_k N_k

    (N~ is Laplace smoothing: a code with N_k -> 0 is not divided by 0).
    Each code becomes the running mean of the vectors assigned to it: the
    k-means step, smoothed over batches. No gradient, no learning rate.
    """
    cluster_size *= decay
    cluster_size += (1 - decay) * counts
    cluster_sum *= decay
    cluster_sum += (1 - decay) * sums
    n = cluster_size.sum()
    smoothed = (cluster_size + eps) / (n + codebook.shape[0] * eps) * n
    codebook[...] = cluster_sum / smoothed[:, None]
    return codebook


def perplexity(counts):
    """exp(entropy) of the code-usage distribution p_k = counts_k / sum counts:
    K if all K codes are used equally, 1 if one code takes everything."""
    p = np.asarray(counts, dtype=np.float64)
    p = p / p.sum()
    nz = p[p > 0]
    return float(np.exp(-np.sum(nz * np.log(nz))))
