"""Figures for lesson 14: a measure along interpolation paths, per model."""

import numpy as np

from . import plt


def path_profiles(t, named, *, ylabel, title=None):
    """{label: values (steps,)} against the path position t in [0, 1]."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, ys in named.items():
        ax.plot(t, np.asarray(ys), marker="o", ms=3, label=label)
    ax.set_xlabel("position t on the line z(t) = (1 - t) z_a + t z_b")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
