r"""Vector-quantisation ops of the VQ-VAE (van den Oord, Vinyals and
Kavukcuoglu, 2017; conventions in ``tinyae.functional``).

An encoder output ``z_e: (M, D)`` ($M$ = batch x positions, $D$ the code
dimension) is replaced by its nearest row of the codebook ``e: (K, D)``,

$$
k_m = \operatorname*{argmin}_k \|z_e[m] - e_k\|^2, \qquad z_q[m] = e_{k_m},
$$

a piecewise-constant map: its true derivative is 0 almost everywhere, so
no gradient would reach the encoder. The straight-through estimator copies
the decoder's gradient across instead. With $\operatorname{sg}$ the
stop-gradient (the identity in the forward pass, no gradient flows through
it), the forward pass computes

$$
z_q = z_e + \operatorname{sg}(e_k - z_e),
$$

whose value is $e_k$ and whose derivative in $z_e$ is the identity, so the
backward pass is $\partial L / \partial z_e = \partial L / \partial z_q$.
Two terms pull encoder outputs and codes towards each other:

* the codebook loss $\|\operatorname{sg}(z_e) - e_k\|^2$ moves the codes
  (gradient to $e$ only);
* the commitment loss $\beta \, \|z_e - \operatorname{sg}(e_k)\|^2$ keeps
  $z_e$ near its code (gradient to $z_e$ only).
"""

import numpy as np


def vq_nearest(z, codebook):
    r"""Nearest codebook row of each vector: the distance and the argmin.

    ``z: (M, D)``, ``codebook: (K, D)`` -> ``idx: (M,)`` int64, ``dist: (M,)``
    the squared distance $\|z_m - e_{\mathrm{idx}_m}\|^2$ (in ``z``'s dtype).
    With the expansion

    $$
    \|z_m - e_k\|^2 = \|z_m\|^2 - 2 \, z_m \cdot e_k + \|e_k\|^2,
    $$

    the cross terms are one ``(M, K)`` matrix product; ties go to the lowest
    $k$. The squared norms are NumPy sums (the Numba twin takes them from here
    too, so both backends compare the same numbers and pick the same argmin).
    """
    cross = z @ codebook.T                              # (M, K)
    z2 = np.sum(z * z, axis=1)                          # (M,)
    e2 = np.sum(codebook * codebook, axis=1)            # (K,)
    d = (z2[:, None] - 2 * cross) + e2[None, :]         # (M, K)
    idx = np.argmin(d, axis=1)
    dist = d[np.arange(z.shape[0]), idx]
    return idx.astype(np.int64), np.maximum(dist, 0)    # rounding can dip below 0


def vq_code_stats(z, idx, n_codes):
    r"""Per code: how many vectors chose it and their sum.

    ``z: (M, D)``, ``idx: (M,)`` ints in ``[0, n_codes)`` -> ``counts: (K,)``
    float (``z``'s dtype), ``sums: (K, D)`` with
    $\mathrm{sums}_k = \sum_{m : \mathrm{idx}_m = k} z_m$. Used by the
    codebook loss's gradient and by the EMA update.
    """
    counts = np.bincount(idx, minlength=n_codes).astype(z.dtype)
    sums = np.zeros((n_codes, z.shape[1]), z.dtype)
    np.add.at(sums, idx, z)
    return counts, sums


def vq_straight_through_forward(z_e, z_e_sg, z_q_sg):
    r"""$\mathrm{out} = z_e + (z_{q,\mathrm{sg}} - z_{e,\mathrm{sg}})$: value $z_q$, derivative 1 in $z_e$.

    ``z_e: (M, D)`` the encoder output (differentiated); ``z_e_sg, z_q_sg:
    (M, D)`` the same encoder output and its code as constants (the
    stop-gradient values: in training both are the current forward's arrays; a
    gradient check passes frozen copies so finite differences see the same
    surrogate function the backward differentiates). ``cache = None``.
    """
    return z_e + (z_q_sg - z_e_sg), None


def vq_straight_through_backward(dout, cache):
    r"""$\partial L / \partial z_e = \partial L / \partial\,\mathrm{out}$: the
    decoder's gradient at $z_q$ copied to $z_e$ unchanged.
    """
    return dout


def vq_losses(z_e, z_q_sg, z_e_sg, codebook, idx, beta, n):
    r"""Codebook and commitment losses, summed over vectors, divided by ``n``.

    Each loss has one differentiated side and one stop-gradient side:
    ``z_e: (M, D)`` the encoder output and ``z_q_sg: (M, D)`` its code as a
    constant (the commitment loss); ``z_e_sg: (M, D)`` the encoder output as a
    constant and ``codebook: (K, D)`` with ``idx: (M,)`` the chosen codes, held
    fixed (the codebook loss). ``n``: the batch size (losses are sums over an
    example's positions, means over the batch). Writing $k_m$ for
    $\mathrm{idx}_m$:

    $$
    C = \frac{1}{n} \sum_m \|z_{e,\mathrm{sg}}[m] - e_{k_m}\|^2 \quad \text{(codebook)},
    $$

    $$
    B = \frac{\beta}{n} \sum_m \|z_e[m] - z_{q,\mathrm{sg}}[m]\|^2 \quad \text{(commitment)}.
    $$

    Code $e_k$ appears in the terms of the vectors that chose it, each term
    contributing $2 (e_k - z_{e,\mathrm{sg}}[m])$; with ``counts`` and ``sums``
    of ``vq_code_stats``,

    $$
    \frac{\partial C}{\partial e_k} = \frac{2}{n} \sum_{m : k_m = k} (e_k - z_{e,\mathrm{sg}}[m])
    = \frac{2}{n} (\mathrm{counts}_k \, e_k - \mathrm{sums}_k),
    $$

    and $B$ is a sum of squares in $z_e$ alone,

    $$
    \frac{\partial B}{\partial z_e[m]} = \frac{2\beta}{n} (z_e[m] - z_{q,\mathrm{sg}}[m]).
    $$

    A code that no vector chose gets no gradient at all: unless something
    moves it (a restart), it stays dead. Returns ``(C, B, dz_e, dcodebook)``.
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
    r"""EMA codebook update (van den Oord et al. 2017, appendix), in place.

    ``cluster_size: (K,)`` holds $N_k$, ``cluster_sum: (K, D)`` holds $m_k$;
    ``counts``, ``sums``: this batch's ``vq_code_stats``; $\gamma$ = ``decay``,
    $\epsilon$ = ``eps``:

    $$
    N_k &\leftarrow \gamma N_k + (1 - \gamma) \, \mathrm{counts}_k, \\
    m_k &\leftarrow \gamma m_k + (1 - \gamma) \, \mathrm{sums}_k,
    $$

    $$
    e_k \leftarrow \frac{m_k}{\tilde N_k}, \qquad
    \tilde N_k = \frac{N_k + \epsilon}{n + K \epsilon} \, n, \qquad n = \sum_k N_k .
    $$

    ($\tilde N$ is Laplace smoothing: a code with $N_k \to 0$ is not divided
    by 0.) Each code becomes the running mean of the vectors assigned to it:
    the k-means step, smoothed over batches. No gradient, no learning rate.
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
    r"""$\exp(\text{entropy})$ of the code-usage distribution
    $p_k = \mathrm{counts}_k / \sum_j \mathrm{counts}_j$, i.e.
    $\exp(-\sum_k p_k \log p_k)$: $K$ if all $K$ codes are used equally, 1 if
    one code takes everything.
    """
    p = np.asarray(counts, dtype=np.float64)
    p = p / p.sum()
    nz = p[p > 0]
    return float(np.exp(-np.sum(nz * np.log(nz))))
