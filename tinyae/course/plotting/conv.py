"""Figures for the convolutional autoencoders: overlap maps of upsampling
stages, checkerboard close-ups of decoder outputs, and learned filters."""

import numpy as np

from . import image_grid, plt


def overlap_maps(named_maps, *, title=None):
    """One heat map per upsampling stage ({label: (h, w) counts}), each with
    its own colour scale and its counts printed in the cells."""
    k = len(named_maps)
    fig, axes = plt.subplots(1, k, figsize=(2.8 * k + 0.8, 3.2), squeeze=False)
    for ax, (label, m) in zip(axes[0], named_maps.items()):
        m = m[:6, :6]                                   # a corner shows the period
        im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1.5 * m.max())
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=7, color="k")
        ax.set_title(f"{label}\nmax/min {m.max() / m.min():.3g}", fontsize=9)
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("output column", fontsize=8)
        cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cbar.ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("output row", fontsize=8)
    axes[0, -1].images[0].colorbar.set_label("stamps covering the pixel", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def decoder_outputs(named_outputs, *, n=6, title=None):
    """Rows of decoder outputs (logits), each image scaled to its own range
    so a period-2 pattern in the background shows: {label: (N, 28, 28)}."""
    k = len(named_outputs)
    fig, axes = plt.subplots(k, 1, figsize=(n * 1.0 + 1.2, 1.25 * k), squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], named_outputs.items()):
        imgs = np.asarray(imgs).reshape(len(imgs), -1)[:n]
        image_grid(imgs, rows=1, ax=ax, title=label, vmin=None, vmax=None)
    cbar = fig.colorbar(axes[0, 0].images[0], ax=axes[:, 0].tolist(), fraction=0.03, pad=0.02)
    cbar.set_label("logit, scaled per image\n(0 = its lowest, 1 = its highest)", fontsize=8)
    cbar.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def filters(W, *, title=None):
    """First-layer convolution filters W: (C_out, 1, kh, kw), each scaled to
    its own range."""
    W = np.asarray(W)
    kh, kw = W.shape[2:]
    rows = 2
    cols = int(np.ceil(W.shape[0] / rows))
    fig = image_grid(W[:, 0].reshape(W.shape[0], -1), rows=rows, shape=(kh, kw),
                     vmin=None, vmax=None,
                     row_labels=[f"filters {r * cols + 1}-{min((r + 1) * cols, W.shape[0])}"
                                 for r in range(rows)],
                     col_labels=[str(c + 1) for c in range(cols)])
    fig.set_size_inches(0.55 * cols + 2.2, 2.0)
    ax = fig.axes[0]
    ax.set_xlabel("filter within the row", fontsize=8)
    cbar = fig.colorbar(ax.images[0], ax=ax, fraction=0.04, pad=0.03)
    cbar.set_label("weight, scaled per filter\n(0 = lowest, 1 = highest)", fontsize=7)
    cbar.ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return fig
