"""Figures of lesson 12: reconstruction-error histograms (the identity trap),
the swiss roll and its 2-D codes, 2-D embeddings coloured by class, and
Barnes-Hut t-SNE's error and time against theta and n."""

import matplotlib.pyplot as plt
import numpy as np

from . import scatter_by_label


def _finish(fig, title):
    """Shared last steps: an optional overall title, then a tight layout."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def error_histograms(errors, *, reference="test digits", title=None, bins=40):
    """One panel per model: histograms of log10 reconstruction error.

    errors: {model name: {input set: (n,) errors}}; the set named
    ``reference`` is drawn filled, the others as outlines, on a shared
    logarithmic axis per panel.
    """
    k = len(errors)
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 3.4), squeeze=False)
    for ax, (model, sets) in zip(axes[0], errors.items()):
        logs = {name: np.log10(np.maximum(e, 1e-12)) for name, e in sets.items()}
        lo = min(v.min() for v in logs.values())
        hi = max(v.max() for v in logs.values())
        edges = np.linspace(lo, hi, bins + 1)
        for name, v in logs.items():
            if name == reference:
                ax.hist(v, bins=edges, alpha=0.5, color="gray", label=name)
            else:
                ax.hist(v, bins=edges, histtype="step", lw=1.5, label=name)
        ax.set_xlabel("log10 squared reconstruction error")
        ax.set_title(model, fontsize=10)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("images")
    return _finish(fig, title)


def swiss_roll_codes(x, t, codes, *, scores=None, title=None):
    """The 3-D roll coloured by its intrinsic coordinate t, then each 2-D code.

    x: (n, 3); t: (n,); codes: {name: (n, 2)}; scores: optional {name: text}
    appended to each panel's title (e.g. the measured Spearman and T).
    One colour bar (t) serves every panel.
    """
    k = len(codes)
    fig = plt.figure(figsize=(4 * (k + 1) + 0.8, 3.9))
    ax = fig.add_subplot(1, k + 1, 1, projection="3d")
    sc = ax.scatter(x[:, 0], x[:, 1], x[:, 2], c=t, cmap="viridis", s=2)
    ax.set_title("swiss roll (colour: t)", fontsize=10)
    ax.set_xlabel("x1", fontsize=8, labelpad=-6)
    ax.set_ylabel("x2", fontsize=8, labelpad=-6)
    ax.set_zlabel("x3", fontsize=8, labelpad=-6)
    ax.tick_params(labelsize=6, pad=-2)
    ax.view_init(elev=10, azim=-80)
    axes = [ax]
    for i, (name, z) in enumerate(codes.items(), start=2):
        ax = fig.add_subplot(1, k + 1, i)
        ax.scatter(z[:, 0], z[:, 1], c=t, cmap="viridis", s=2)
        extra = f"\n{scores[name]}" if scores and name in scores else ""
        ax.set_title(f"{name}{extra}", fontsize=9)
        ax.set(xticks=[], yticks=[])
        ax.set_xlabel("code dimension 1", fontsize=8)
        ax.set_ylabel("code dimension 2", fontsize=8)
        axes.append(ax)
    fig = _finish(fig, title)
    cbar = fig.colorbar(sc, ax=axes, fraction=0.015, pad=0.01)
    cbar.set_label("t (position along the roll)", fontsize=8)
    return fig


def embeddings_by_class(embeddings, labels, *, title=None):
    """Side-by-side 2-D embeddings ({name: (n, 2)}) coloured by class label
    (the colour bar names the digit)."""
    k = len(embeddings)
    fig, axes = plt.subplots(1, k, figsize=(5.2 * k, 4.5), squeeze=False)
    for ax, (name, y) in zip(axes[0], embeddings.items()):
        scatter_by_label(y, labels, ax=ax, title=name, s=2)
        ax.set(xticks=[], yticks=[])
        ax.set_xlabel("embedding dimension 1", fontsize=8)
        ax.set_ylabel("embedding dimension 2", fontsize=8)
        ax.collections[0].colorbar.set_label("digit", fontsize=8)
    return _finish(fig, title)


def approximation_error_and_time(errors, times, *, title=None):
    """Two panels: the approximation's error against theta, one line per n
    (errors: {label: (thetas, errors)}, log scale), and seconds per gradient
    against n, one line per method (times: {label: (ns, seconds)}, log-log)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4.0))
    for label, (thetas, err) in errors.items():
        left.plot(thetas, err, marker="o", ms=3, label=label)
    left.set_yscale("log")
    left.set_xlabel("theta")
    left.set_ylabel("relative error of the repulsion")
    for label, (ns, seconds) in times.items():
        right.plot(ns, seconds, marker="o", ms=3, label=label)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("points n")
    right.set_ylabel("seconds per gradient")
    for ax in (left, right):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    return _finish(fig, title)
