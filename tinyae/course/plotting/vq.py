"""Figures of lesson 17: codebook usage and perplexity over epochs (the
reconstructions are an ``image_grid`` with labelled rows)."""

import numpy as np

from . import plt


def codebook_usage(usage, perplexities, *, n_codes):
    """Two panels over epochs (epoch 1 first): codes used, and perplexity,
    one line per run ({label: values})."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for label in usage:
        e = np.arange(1, len(usage[label]) + 1)
        axes[0].plot(e, usage[label], marker="o", ms=3, label=label)
        axes[1].plot(e, perplexities[label], marker="o", ms=3, label=label)
    for ax, title, ylabel in zip(axes, ("codes used (test set, after each epoch)",
                                        "perplexity of code usage (test set)"),
                                 ("codes chosen at least once", "perplexity exp(H)")):
        ax.axhline(n_codes, color="gray", ls="--", lw=1)
        ax.annotate(f"K = {n_codes}", (1, n_codes), fontsize=8, color="gray", va="bottom")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, n_codes * 1.12)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return fig

