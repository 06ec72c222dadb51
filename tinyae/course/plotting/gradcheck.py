"""Figures for gradient checking (lesson 00): the finite-difference error
against the step h, and the secant a central difference draws across a kink."""

import numpy as np

from . import plt


def error_vs_h(hs, named_errors, *, guides=True, title=None):
    """Relative error of central differences against the step, log-log.

    hs: (m,) steps. named_errors: {label: (m,) relative errors}, e.g. one
    curve per dtype. ``guides`` draws the two slopes that explain the U:
    truncation ~ h^2 and float64 rounding ~ eps / h.
    """
    hs = np.asarray(hs, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, errs in named_errors.items():
        ax.loglog(hs, np.maximum(np.asarray(errs), 1e-17), marker="o", ms=3, label=label)
    if guides:
        ax.loglog(hs, hs ** 2, ls=":", color="gray", label="~ h^2 (truncation)")
        ax.loglog(hs, 1e-16 / hs, ls="--", color="gray", label="~ eps64 / h (rounding)")
    ax.set_ylim(1e-13, 10)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error vs exact gradient")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def kink_secant(h, *, title=None):
    """relu(x) on [-1, 1] and the secant a central difference with step ``h``
    draws across the kink at 0 (slope 1/2)."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    t = np.linspace(-1, 1, 201)
    ax.plot(t, np.maximum(t, 0), label="relu(x)")
    ax.plot([-h, h], [0, h], "o--", label=f"secant over [-h, h] (h = {h:g}), slope 0.5")
    ax.set_xticks(np.linspace(-1, 1, 5))
    ax.set_xlabel("x")
    ax.set_ylabel("relu(x)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
