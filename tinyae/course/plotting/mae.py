"""Figures of the masked autoencoder lesson: masked inputs and
reconstructions, attention maps of one head, and the mask-ratio sweep."""

import numpy as np

from . import plt, xy_curves


def masked_reconstructions(rows, *, shape=(28, 28), title=None, col_labels=None,
                           per_block=None, size=1.1):
    """One row of images per entry of ``rows`` ({label: (n, H*W) images});
    NaN pixels (the hidden patches of a masked input) are drawn in a
    neutral colour. ``col_labels``: optional text under each column.
    ``per_block``: at most this many columns side by side; longer rows wrap
    into blocks stacked one under the other, each block repeating the row
    labels. ``size``: inches per image. Returns the figure."""
    n = max(len(v) for v in rows.values())
    per_block = n if per_block is None else per_block
    if isinstance(per_block, bool) or not isinstance(per_block, (int, np.integer)) \
            or per_block < 1:
        raise ValueError(f"per_block: expected an integer >= 1, got {per_block!r}")
    n_blocks = -(-n // per_block)
    cols = min(n, per_block)
    k = len(rows)
    gap = 0.4 if col_labels else 0.15                # a thin spacer row between blocks
    heights = ([1.0] * k + [gap]) * (n_blocks - 1) + [1.0] * k
    fig, axes = plt.subplots(len(heights), cols, squeeze=False,
                             figsize=(size * cols + 1.6, 1.05 * size * sum(heights)),
                             gridspec_kw={"height_ratios": heights})
    cmap = plt.get_cmap("gray").with_extremes(bad="tab:blue")
    for ax in axes.flat:
        ax.set_axis_off()
    for b in range(n_blocks):
        for r, (label, images) in enumerate(rows.items()):
            row = b * (k + 1) + r
            for c in range(cols):
                i = b * per_block + c
                if i < len(images):
                    axes[row, c].imshow(np.ma.masked_invalid(images[i].reshape(shape)),
                                        cmap=cmap, vmin=0, vmax=1)
            axes[row, 0].text(-4, shape[0] / 2, label, ha="right", va="center", fontsize=8)
        for c, text in enumerate((col_labels or ())[b * per_block:(b + 1) * per_block]):
            axes[b * (k + 1) + k - 1, c].text(shape[1] / 2, shape[0] + 3, text,
                                              ha="center", va="top", fontsize=8)
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
