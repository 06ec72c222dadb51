"""Figures for lessons 07 and 10: the beta-VAE rate-distortion curve, active
units against beta, one row of samples per label, and the importance-weighted
bound -L_k against k beside a published reference."""

import numpy as np

from . import image_grid, plt


def rate_distortion(rates, distortions, betas, *, title=None):
    """One point per beta: rate (mean KL, nats) on x, distortion (mean
    -log p(x | z), nats) on y, joined in beta order and labelled with beta.
    Dotted diagonals mark constant rate + distortion (= -ELBO at beta = 1)."""
    rates, distortions = np.asarray(rates, float), np.asarray(distortions, float)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    total = rates + distortions
    span = np.array([0.0, rates.max() * 1.1])
    for t in np.linspace(total.min(), total.max(), 3):
        ax.plot(span, t - span, ls=":", lw=0.8, color="gray")
    ax.plot(rates, distortions, marker="o", color="tab:blue")
    for r, d, b in zip(rates, distortions, betas):
        ax.annotate(f"beta={b:g}", (r, d), textcoords="offset points", xytext=(5, 4),
                    fontsize=8)
    ax.set_xlim(0, rates.max() * 1.15)
    ax.set_ylim(distortions.min() * 0.95, distortions.max() * 1.05)
    ax.set_xlabel("rate R = KL(q(z|x) || p(z))  (nats)")
    ax.set_ylabel("distortion D = -log p(x|z)  (nats)")
    ax.set_title(title or "beta-VAE: rate against distortion (dotted: R + D constant)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def active_units_vs_beta(betas, counts, *, latent, threshold=0.01, title=None):
    """Number of active latent units (Var_x E_q[z_d] > threshold) per beta,
    on a log-2 beta axis, with the latent size as the ceiling."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.plot(betas, counts, marker="o", color="tab:red")
    ax.axhline(latent, ls="--", lw=1, color="gray")
    ax.annotate(f"latent size {latent}", (betas[-1], latent), fontsize=8, color="gray",
                ha="right", va="bottom", textcoords="offset points", xytext=(0, 3))
    ax.set_xscale("log", base=2)
    ax.set_xticks(betas, [f"{b:g}" for b in betas])
    ax.set_ylim(0, latent * 1.12)
    ax.set_xlabel("beta")
    ax.set_ylabel(f"active units (A_d > {threshold:g})")
    ax.set_title(title or "active units against beta", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def rows_by_label(images, n_labels, *, title=None, shape=(28, 28), col_labels=None):
    """images: (n_labels * n, h*w) with row r holding the n samples of label r
    (label-major order) -> an n_labels x n grid with "label r" on the left of
    row r; ``col_labels``: a name per column (e.g. which z drew it)."""
    return image_grid(images, rows=n_labels, shape=shape, title=title,
                      row_labels=[f"label {r}" for r in range(n_labels)],
                      col_labels=col_labels)


def bound_vs_k(ks, neg_bounds, *, neg_elbo=None, references=None, title=None):
    """-L_k (nats) against k on a log axis, optionally the -ELBO (analytic KL)
    as a marker at k = 1 and horizontal reference lines ({label: value})."""
    fig, ax = plt.subplots(figsize=(5.8, 4.0))
    ax.plot(ks, neg_bounds, marker="o", color="tab:blue", label="-L_k (this model)")
    for k, v in zip(ks, neg_bounds):
        ax.annotate(f"{v:.2f}", (k, v), textcoords="offset points", xytext=(4, 5),
                    fontsize=8)
    if neg_elbo is not None:
        ax.plot([ks[0]], [neg_elbo], marker="x", ms=9, color="tab:orange", ls="none",
                label="-ELBO (closed-form KL)")
    for i, (label, y) in enumerate((references or {}).items()):
        ax.axhline(y, ls="--", lw=1, color=f"C{i + 2}", label=label)
    ax.set_xscale("log")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.06 * (hi - lo))          # room for the top value's label
    ax.set_xlabel("k (importance samples)")
    ax.set_ylabel("-L_k  (nats per image; L_k <= log p(x))")
    ax.set_title(title or "importance-weighted bound against k", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
