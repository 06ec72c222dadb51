"""Figures of lesson 20: the top-activating inputs of a few features, one
labelled row per feature, several panels side by side."""

from . import image_grid, plt


def top_activating(panels, *, shape=(28, 28)):
    """{title: (images (rows * cols, h * w), row_labels)}: one image grid per
    panel, row r holding the cols top-activating inputs of one feature (most
    activating first) and labelled row_labels[r]."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    for ax, (title, (images, row_labels)) in zip(axes[0], panels.items()):
        rows = len(row_labels)
        cols = len(images) // rows
        image_grid(images, rows=rows, shape=shape, ax=ax, title=title, row_labels=row_labels,
                   col_labels=[f"{i + 1}" for i in range(cols)])
        ax.set_xlabel("rank among the test digits (1 = most activating)", fontsize=8)
    fig.tight_layout()
    return fig
