"""Figures of the regularised autoencoders: lesson 04 (contractive:
contraction curves, the most-contracted input direction on a swiss roll) and
lesson 05 (sparse: histograms of code activations)."""

import numpy as np

from . import plt


def contraction_curves(radii, named_ratios, *, title=None):
    """Mean ||f(x + r u) - f(x)|| / r against the radius r (log-log).

    radii: (R,); named_ratios: {label: (R,) ratios}. A flat curve is a
    locally linear encoder; a curve far below another is a more contractive
    encoder at that scale.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, ratios in named_ratios.items():
        ax.plot(radii, ratios, marker="o", ms=3, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("input-space distance r")
    ax.set_ylabel("code distance / input distance")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig


def roll_directions(points, normals, named_directions, *, colour=None, scale=0.6,
                    colour_label=None, title=None):
    """Swiss-roll cross-sections (x-z plane, where the roll curls) with one
    segment per point along each model's most-contracted input direction.

    points, normals: (n, 3) points on the roll and the unit normals there;
    named_directions: {label: (n, 3) unit vectors}; colour: (n,) values for
    the points (e.g. the roll coordinate t), shown on a colour bar named
    ``colour_label``; ``title`` goes above all panels. A model that contracts
    across the manifold draws its segments along the grey normals.
    """
    k = len(named_directions)
    width = 4.3 * k + (1.2 if colour is not None else 0.0)
    fig, axes = plt.subplots(1, k, figsize=(width, 4.4), squeeze=False)
    for ax, (label, v) in zip(axes[0], named_directions.items()):
        dots = ax.scatter(points[:, 0], points[:, 2], c=colour, s=4, cmap="viridis")
        for p, nrm, d in zip(points, normals, v):
            ax.plot([p[0] - scale * nrm[0], p[0] + scale * nrm[0]],
                    [p[2] - scale * nrm[2], p[2] + scale * nrm[2]],
                    color="0.8", lw=2.5, zorder=0)
            s = np.sign(d[0] * nrm[0] + d[2] * nrm[2]) or 1.0   # orient like the normal
            ax.plot([p[0] - s * scale * d[0], p[0] + s * scale * d[0]],
                    [p[2] - s * scale * d[2], p[2] + s * scale * d[2]],
                    color="tab:red", lw=1)
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("z")
    if colour is not None:
        fig.colorbar(dots, ax=list(axes[0]), shrink=0.8, label=colour_label or "colour")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def activation_histograms(named_codes, *, rho=None, bins=50):
    """Histograms of code activations in [0, 1], one panel per model.

    named_codes: {label: (N, n_h) activations}; ``rho`` draws the target mean
    activation of a KL-sparse code. Log counts, so the long tail of a sparse
    code (most values near 0, a few large) stays visible.
    """
    k = len(named_codes)
    fig, axes = plt.subplots(1, k, figsize=(3.6 * k, 3.2), squeeze=False, sharey=True)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for ax, (label, h) in zip(axes[0], named_codes.items()):
        ax.hist(np.ravel(h), bins=edges, color="tab:blue")
        ax.axvline(float(np.mean(h)), color="tab:red", lw=1, label=f"mean {np.mean(h):.3f}")
        if rho is not None:
            ax.axvline(rho, color="0.3", ls="--", lw=1, label=f"KL target rho {rho:g}")
        ax.set_yscale("log")
        ax.set_xlabel("activation")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("count (log)")
    return fig
