"""Figures for lesson 13: precision-recall curves of search methods and
rate-distortion curves of compressors."""

from . import plt


def precision_recall_curves(named, *, title=None):
    """{label: (precision, recall)} mean curves, one line each."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for label, (precision, recall) in named.items():
        ax.plot(recall, precision, marker=".", ms=3, label=label)
    ax.set_xlabel("recall (share of same-digit items retrieved)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "Search on MNIST: precision against recall", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def precision_at_k_curves(named, *, title=None):
    """{label: (cutoffs, precision)}: precision among the first k, log-k axis."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for label, (ks, precision) in named.items():
        ax.plot(ks, precision, marker=".", ms=3, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("k (items retrieved)")
    ax.set_ylabel("precision@k")
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "Search on MNIST: precision among the first k", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def rate_distortion_curves(named, *, marks=(), title=None):
    """{label: (rates, distortions)} in bits per image and squared error per
    image; ``marks`` draws dotted vertical lines at chosen rates."""
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    for label, (rates, distortions) in named.items():
        ax.plot(rates, distortions, marker="o", ms=3, label=label)
    for r in marks:
        ax.axvline(r, ls=":", lw=1, color="gray")
    ax.set_xlabel("rate (Huffman-coded bits per image, tables included)")
    ax.set_ylabel("distortion (squared error per image)")
    ax.set_yscale("log")
    ax.set_title(title or "Lossy compression of MNIST test digits", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig
