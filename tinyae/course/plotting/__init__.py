"""Figures. The only part of tinyae that imports matplotlib (with the
non-interactive Agg backend, so lessons run on machines with no screen).

Common helpers live here; each model family adds its own module beside this
one (``tinyae.course.plotting.<family>``).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path, *, dpi=110):
    """Save ``fig`` as PNG at ``path`` (folders created), close it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def image_grid(images, *, rows=None, shape=(28, 28), ax=None, title=None,
               cmap="gray", vmin=0.0, vmax=1.0, pad=1, row_labels=None, col_labels=None):
    """Tile images (n, h*w) into one picture on ``ax`` (new figure if None).

    images: (n, h*w) flattened (for example MNIST rows); ``rows`` defaults to
    a near-square layout. ``vmin``/``vmax`` None scales each image to its own
    range (useful for filters and tangent vectors, which have any sign).
    ``row_labels`` / ``col_labels``: a label per row / column, written beside
    the grid (what each row or column of images is). Returns the figure.
    """
    images = np.asarray(images, dtype=np.float64)
    n = images.shape[0]
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    h, w = shape
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), np.nan)
    for i in range(n):
        img = images[i].reshape(h, w)                  # one row back to (h, w)
        if vmin is None or vmax is None:
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h,
               pad + c * (w + pad): pad + c * (w + pad) + w] = img
    if ax is None:
        fig, ax = plt.subplots(figsize=(cols * 0.6 + 0.5, rows * 0.6 + 0.5))
    else:
        fig = ax.figure
    scale = (0.0, 1.0) if vmin is None or vmax is None else (vmin, vmax)
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=scale[0], vmax=scale[1])
    _label_cells(ax, rows, cols, h, w, pad, row_labels, col_labels)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def _label_cells(ax, rows, cols, h, w, pad, row_labels, col_labels):
    """Name the rows and columns of an image grid on its axes (no frame)."""
    if row_labels is None and col_labels is None:
        ax.set_axis_off()
        return
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0, labelsize=8)
    centre = lambda i, size: pad + i * (size + pad) + (size - 1) / 2  # noqa: E731
    if row_labels is not None:
        if len(row_labels) != rows:
            raise ValueError(f"row_labels: {len(row_labels)} labels for {rows} rows")
        ax.set_yticks([centre(i, h) for i in range(rows)], list(row_labels))
    else:
        ax.set_yticks([])
    if col_labels is not None:
        if len(col_labels) != cols:
            raise ValueError(f"col_labels: {len(col_labels)} labels for {cols} columns")
        ax.set_xticks([centre(i, w) for i in range(cols)], list(col_labels))
    else:
        ax.set_xticks([])


def grids(named_images, *, rows=1, shape=(28, 28), **kwargs):
    """Several image grids side by side, e.g. {"input": x, "output": r}."""
    k = len(named_images)
    fig, axes = plt.subplots(1, k, figsize=(4 * k, 4 * rows / 2 + 0.6), squeeze=False)
    for ax, (title, imgs) in zip(axes[0], named_images.items()):
        image_grid(imgs, rows=rows, shape=shape, ax=ax, title=title, **kwargs)
    return fig


def curves(named_series, *, xlabel="epoch", ylabel="loss", title=None, logy=False,
           references=None):
    """Line plot of several series ({label: values}); ``references`` adds
    dashed horizontal lines ({label: value}) such as a published figure."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, ys in named_series.items():
        ax.plot(np.arange(1, len(ys) + 1), ys, marker="o", ms=3, label=label)
    for label, y in (references or {}).items():
        ax.axhline(y, ls="--", lw=1, color="gray")
        ax.annotate(label, (1, y), fontsize=8, color="gray", va="bottom")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def xy_curves(named, *, xlabel, ylabel, title=None, logx=False, logy=False,
              ylim=None, vlines=()):
    """{label: (x, y)} as one line each; ``vlines``: dotted vertical marks."""
    fig, ax = plt.subplots(figsize=(5.6, 4.1))
    for label, (x, y) in named.items():
        ax.plot(np.asarray(x), np.asarray(y), marker="o", ms=3, label=label)
    for v in vlines:
        ax.axvline(v, ls=":", lw=1, color="gray")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig


def scatter_by_label(points, labels, *, ax=None, title=None, s=3):
    """2-D points coloured by integer label (e.g. a 2-unit code by digit)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.5))
    else:
        fig = ax.figure
    sc = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=s,
                    vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax, ticks=range(10))
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def bars(named_values, *, ylabel, title=None, logy=False):
    """A bar chart of {label: value}."""
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(named_values)), 3.6))
    ax.bar(list(named_values), list(named_values.values()), color="tab:blue")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    return fig
