"""Figures for score estimation (lesson 03): score curves in 1-D, vector
fields over density contours in 2-D, and errors against the noise level.

Every function takes plain arrays (no models), so it can draw any score.
"""

import numpy as np
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from . import plt, xy_curves


def score_curves_1d(grid, scores, *, densities=None, title=None):
    """Score curves over a 1-D grid, with the densities in a panel below.

    grid: (n,) points. scores: {label: (n,) values}, drawn in order (the first
    solid and thick, the rest thinner and dashed). densities: optional
    {label: (n,) values} for the lower panel. Returns the figure.
    """
    grid = np.asarray(grid, dtype=np.float64).ravel()
    rows = 2 if densities else 1
    fig, axes = plt.subplots(rows, 1, figsize=(6.4, 3.4 * rows), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": [2, 1][:rows]})
    ax = axes[0, 0]
    for i, (label, s) in enumerate(scores.items()):
        style = dict(lw=2.4) if i == 0 else dict(lw=1.3, ls=("--", ":", "-.")[(i - 1) % 3])
        ax.plot(grid, np.asarray(s).ravel(), label=label, **style)
    ax.axhline(0.0, color="gray", lw=0.6)
    ax.set_ylabel("score  d/dx log p(x)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    if densities:
        ax = axes[1, 0]
        for label, p in densities.items():
            ax.fill_between(grid, np.asarray(p).ravel(), alpha=0.3, label=label)
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("x")
    return fig


def score_fields_2d(xx, yy, density, fields, *, title=None):
    """Vector fields side by side, each over the contours of ``density``.

    xx, yy: (h, w) mesh (from ``np.meshgrid``); density: (h, w) values drawn
    as filled contours; fields: {title: (h, w, 2) vectors}, one panel each,
    drawn with a common arrow scale so lengths compare across panels.
    Returns the figure.
    """
    k = len(fields)
    fig, axes = plt.subplots(1, k, figsize=(4.6 * k, 4.4), squeeze=False)
    longest = max(float(np.max(np.hypot(f[..., 0], f[..., 1]))) for f in fields.values())
    scale = longest / (0.9 * (xx[0, 1] - xx[0, 0]))  # longest arrow ~ one grid step
    for ax, (name, f) in zip(axes[0], fields.items()):
        filled = ax.contourf(xx, yy, density, levels=12, cmap="Blues")
        ax.quiver(xx, yy, f[..., 0], f[..., 1], angles="xy", scale_units="xy",
                  scale=scale, width=0.004, color="tab:red")
        ax.set_title(name, fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlabel("x1")
    axes[0, 0].set_ylabel("x2")
    fig.colorbar(filled, ax=list(axes[0]), shrink=0.8, label="density")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def error_vs_sigma(sigmas, errors, *, ylabel="relative score error", title=None):
    """Errors against the noise level on log-log axes (``xy_curves``), with
    a tick at each sigma in plain numbers.

    sigmas: (m,) noise levels. errors: {label: (m,) values}. Returns the figure.
    """
    fig = xy_curves({label: (sigmas, e) for label, e in errors.items()},
                    xlabel="training noise sigma", ylabel=ylabel, title=title,
                    logx=True, logy=True)
    ax = fig.axes[0]
    ax.set_xticks(list(sigmas))
    ax.set_xticklabels([f"{s:g}" for s in sigmas])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    return fig
