"""Figures of lesson 16: ISTA/FISTA convergence against the Beck-Teboulle
bounds, PSD's codes against FISTA's, and recirculation's agreement with the
gradient over training."""

import numpy as np

from . import plt


def convergence_with_bounds(gaps, bounds, *, target=None):
    """Log-log gap F(z_k) - F* against k, each method with its bound.

    gaps, bounds: {label: (K+1,) array with index k = iteration (gaps[0] at
    z_0; bounds[0] unused)}. ``target``: a dashed horizontal line.
    """
    fig, ax = plt.subplots(figsize=(6, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (label, g) in zip(colors, gaps.items()):
        k = np.arange(1, len(g))
        g = np.asarray(g)[1:]
        ax.loglog(k[g > 0], g[g > 0], color=color, label=f"{label}: F(z_k) - F*")
        ax.loglog(k, np.asarray(bounds[label])[1:], color=color, ls="--", lw=1,
                  label=f"{label} bound")
    if target is not None:
        ax.axhline(target, color="gray", ls=":", lw=1)
        ax.annotate("target gap", (1, target), fontsize=8, color="gray", va="bottom")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("F(z_k) - F*  (sum over the batch)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig


def code_comparison(z_ref, z_pred, *, n_examples=4, labels=("FISTA", "PSD encoder")):
    """For a few examples, the two codes atom by atom (stems), and a scatter
    of all entries. z_ref, z_pred: (N, K)."""
    fig, axes = plt.subplots(1, n_examples + 1, figsize=(3.2 * (n_examples + 1), 3))
    k = np.arange(z_ref.shape[1])
    for i, ax in enumerate(axes[:-1]):
        ax.vlines(k, 0, z_ref[i], color="tab:blue", lw=1.5, label=labels[0])
        ax.plot(k, z_pred[i], ".", color="tab:orange", ms=3, label=labels[1])
        ax.set_xlabel("atom")
        ax.set_title(f"patch {i}", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[0].set_ylabel("code value")
    ax = axes[-1]
    ax.plot(z_ref.ravel(), z_pred.ravel(), ".", ms=1, alpha=0.3)
    lim = float(max(np.abs(z_ref).max(), np.abs(z_pred).max()))
    ax.plot([-lim, lim], [-lim, lim], color="gray", lw=1)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("all code entries", fontsize=9)
    fig.tight_layout()
    return fig


def agreement_over_training(series, *, xlabel="epoch"):
    """Lines of cosines over training ({label: values from epoch 0})."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for label, ys in series.items():
        ax.plot(np.arange(len(ys)), ys, marker="o", ms=3, label=label)
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cosine")
    ax.set_ylim(-0.2, 1.05)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
