"""Figures for lessons 13 and 14: curves where every series has its own x
values -- precision-recall and precision@k curves of search methods,
rate-distortion curves of compressors, and a measure along interpolation
paths (all drawn by ``plotting.xy_curves``)."""

from . import xy_curves


def precision_recall_curves(named, *, title=None):
    """{label: (precision, recall)} mean curves of search methods."""
    return xy_curves({k: (r, p) for k, (p, r) in named.items()}, ylim=(0, 1.02),
                     xlabel="recall (share of same-digit items retrieved)",
                     ylabel="precision",
                     title=title or "Search on MNIST: precision against recall")


def precision_at_k_curves(named, *, title=None):
    """{label: (cutoffs, precision)}: precision among the first k, log-k axis."""
    return xy_curves(named, xlabel="k (items retrieved)", ylabel="precision@k",
                     logx=True, ylim=(0, 1.02),
                     title=title or "Search on MNIST: precision among the first k")


def rate_distortion_curves(named, *, marks=(), title=None):
    """{label: (rates, distortions)} in bits per image and squared error per
    image; ``marks`` draws dotted vertical lines at chosen rates."""
    return xy_curves(named, xlabel="rate (Huffman-coded bits per image, tables included)",
                     ylabel="distortion (squared error per image)", logy=True,
                     vlines=marks, title=title or "Lossy compression of MNIST test digits")
