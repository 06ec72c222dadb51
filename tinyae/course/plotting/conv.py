"""Figures for the convolutional autoencoders: overlap maps of upsampling
stages, checkerboard close-ups of decoder outputs, and learned filters."""

import numpy as np

from . import image_grid, plt


def overlap_maps(named_maps, *, title=None):
    """One heat map per upsampling stage ({label: (h, w) counts}), each with
    its own colour scale and its counts printed in the cells."""
    k = len(named_maps)
    fig, axes = plt.subplots(1, k, figsize=(2.8 * k, 3.0), squeeze=False)
    for ax, (label, m) in zip(axes[0], named_maps.items()):
        m = m[:6, :6]                                   # a corner shows the period
        ax.imshow(m, cmap="Blues", vmin=0, vmax=1.5 * m.max())
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=7, color="k")
        ax.set_title(f"{label}\nmax/min {m.max() / m.min():.3g}", fontsize=9)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def decoder_outputs(named_outputs, *, n=6, title=None):
    """Rows of decoder outputs (logits), each image scaled to its own range
    so a period-2 pattern in the background shows: {label: (N, 28, 28)}."""
    k = len(named_outputs)
    fig, axes = plt.subplots(k, 1, figsize=(n * 1.0 + 0.5, 1.25 * k), squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], named_outputs.items()):
        imgs = np.asarray(imgs).reshape(len(imgs), -1)[:n]
        image_grid(imgs, rows=1, ax=ax, title=label, vmin=None, vmax=None)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def filters(W, *, title=None):
    """First-layer convolution filters W: (C_out, 1, kh, kw), each scaled to
    its own range."""
    W = np.asarray(W)
    kh, kw = W.shape[2:]
    fig = image_grid(W[:, 0].reshape(W.shape[0], -1), rows=2, shape=(kh, kw),
                     vmin=None, vmax=None)
    fig.set_size_inches(0.5 * W.shape[0] / 2 + 0.5, 1.6)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
