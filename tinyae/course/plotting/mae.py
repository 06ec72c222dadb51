"""Figures of the masked autoencoder lesson: masked inputs and
reconstructions, attention maps of one head, and the mask-ratio sweep."""

import numpy as np

from . import plt, xy_curves


def masked_reconstructions(rows, *, shape=(28, 28), title=None, col_labels=None):
    """One row of images per entry of ``rows`` ({label: (n, H*W) images});
    NaN pixels (the hidden patches of a masked input) are drawn in a
    neutral colour. ``col_labels``: optional text under each column.
    Returns the figure."""
    n_rows = len(rows)
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(n_rows, n, figsize=(1.1 * n + 1.6, 1.15 * n_rows), squeeze=False)
    cmap = plt.get_cmap("gray").copy()
    cmap.set_bad("tab:blue")
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.set_axis_off()
            if c < len(images):
                ax.imshow(np.ma.masked_invalid(images[c].reshape(shape)), cmap=cmap,
                          vmin=0, vmax=1)
        axes[r, 0].text(-4, shape[0] / 2, label, ha="right", va="center", fontsize=8)
    for c, label in enumerate(col_labels or ()):
        axes[-1, c].text(shape[1] / 2, shape[0] + 3, label, ha="center", va="top", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def attention_maps(images, attention, *, grid, query, head=0, title=None):
    """For each image: the image, the head's full attention matrix (T x T,
    row = query token, column = key token, each row sums to 1) and the
    weights of one ``query`` token over the patch grid, drawn over the image.
    Each row of panels shares one colour scale, shown by its colour bar.

    images: (n, H*W); attention: (n, heads, T, T); grid: (rows, cols) of
    patches; query: a token index."""
    n = len(images)
    side = int(np.sqrt(images.shape[1]))
    a_all = np.asarray(attention)[:, head]                       # (n, T, T)
    t = a_all.shape[-1]
    top = float(a_all.max())
    q_top = float(a_all[:, query].max())
    fig, axes = plt.subplots(3, n, figsize=(1.75 * n + 1.4, 5.9), squeeze=False)
    ph, pw = side / grid[0], side / grid[1]
    ticks = np.arange(0, t, max(1, t // 4))
    for i in range(n):
        a = a_all[i]
        axes[0, i].imshow(images[i].reshape(side, side), cmap="gray", vmin=0, vmax=1)
        matrix = axes[1, i].imshow(a, cmap="viridis", vmin=0, vmax=top)
        axes[2, i].imshow(images[i].reshape(side, side), cmap="gray", vmin=0, vmax=1)
        over = axes[2, i].imshow(a[query].reshape(grid), cmap="magma", alpha=0.6,
                                 vmin=0, vmax=q_top,
                                 extent=(-0.5, side - 0.5, side - 0.5, -0.5))
        r, c = divmod(query, grid[1])
        axes[2, i].add_patch(plt.Rectangle((c * pw - 0.5, r * ph - 0.5), pw, ph, fill=False,
                                           ec="cyan", lw=1.5))
        for ax in (axes[0, i], axes[2, i]):
            ax.set_xticks([])
            ax.set_yticks([])
        axes[1, i].set_xticks(ticks)
        axes[1, i].set_yticks(ticks if i == 0 else [])
        axes[1, i].tick_params(labelsize=7, length=2)
        axes[1, i].set_xlabel("key token", fontsize=7, labelpad=1)
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel(f"head {head}\nquery token", fontsize=8)
    axes[2, 0].set_ylabel(f"weights of query\ntoken {query} (cyan)", fontsize=8)
    for row, im, label in ((1, matrix, "attention weight"),
                           (2, over, f"weight from token {query}")):
        cbar = fig.colorbar(im, ax=axes[row].tolist(), fraction=0.025, pad=0.015)
        cbar.set_label(label, fontsize=7)
        cbar.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def ratio_sweep(ratios, named_errors, *, ylabel, title=None):
    """Error against mask ratio, one line per method ({label: errors})."""
    pct = 100 * np.asarray(ratios)
    return xy_curves({label: (pct, errs) for label, errs in named_errors.items()},
                     xlabel="patches hidden (%)", ylabel=ylabel, title=title)
