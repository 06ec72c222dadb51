"""Figures for outlier detection by reconstruction error (lesson 08):
score histograms, ROC curves, and inputs beside their reconstructions."""

import numpy as np

from . import image_grid, plt


def score_histograms(scores_clean, named_scores, *, bins=60, title=None,
                     xlabel="reconstruction error per image (log scale)"):
    """Overlaid histograms of positive scores on a log axis.

    scores_clean: (n,) scores of normal inputs; named_scores: {label: (m,)}
    scores of each outlier set. Shared log-spaced bins, density-normalised
    so sets of different sizes compare.
    """
    everything = np.concatenate([scores_clean, *named_scores.values()])
    lo, hi = max(everything.min(), 1e-3), everything.max()
    edges = np.geomspace(lo, hi * 1.01, bins + 1)              # (bins + 1,)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.hist(scores_clean, bins=edges, density=True, alpha=0.6, label="clean test digits",
            color="black")
    for label, s in named_scores.items():
        ax.hist(s, bins=edges, density=True, alpha=0.5, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def roc_curves(named_curves, *, title=None):
    """ROC curves {label: (fpr, tpr, auc)}, with the chance diagonal."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    for label, (fpr, tpr, auc) in named_curves.items():
        ax.plot(fpr, tpr, lw=1.5, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="gray", label="chance")
    ax.set_xlabel("false positive rate (clean digits flagged)")
    ax.set_ylabel("true positive rate (outliers flagged)")
    ax.set_xlim(-0.01, 1.0)
    ax.set_ylim(0.0, 1.01)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def inputs_and_reconstructions(named_pairs, *, row_labels=("input", "reconstruction")):
    """One panel per input set, inputs on the top row and their
    reconstructions below; the rows are named once, left of the first panel.

    named_pairs: {panel title: (inputs (n, 784), reconstructions (n, 784))}.
    """
    k = len(named_pairs)
    fig, axes = plt.subplots(1, k, figsize=(3.6 * k + 1.0, 2.4), squeeze=False)
    for j, (ax, (title, (x, x_hat))) in enumerate(zip(axes[0], named_pairs.items())):
        image_grid(np.concatenate([x, x_hat]), rows=2, ax=ax, title=title,
                   row_labels=list(row_labels) if j == 0 else None)
    return fig
