"""Figures of lesson 19 (diffusion): points over density contours level by
level, the learned noise field beside the exact one, and sample quality
against the number of levels.

Every function takes plain arrays and functions (no models)."""

import numpy as np

from . import plt


def _contours(ax, density, extent, n=100):
    """Grey contours of ``density`` (f(points (k, 2)) -> (k,)) over the square."""
    g = np.linspace(extent[0], extent[1], n)
    gx, gy = np.meshgrid(g, g)
    dens = density(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    ax.contour(gx, gy, dens, levels=8, cmap="Greys", linewidths=0.7)


def points_over_densities(rows, densities, *, extent=(-4.0, 4.0), titles=None):
    """A grid of scatter plots: one row per entry of ``rows`` ({row label:
    [points (n, 2) per column]}), each over the contours of the column's
    density (``densities``: one f(points) -> values per column). ``titles``:
    one per column. Returns the figure."""
    n_rows, n_cols = len(rows), len(densities)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.7 * n_cols, 2.8 * n_rows),
                             squeeze=False)
    for i, (label, columns) in enumerate(rows.items()):
        for j, (x, density) in enumerate(zip(columns, densities)):
            ax = axes[i, j]
            _contours(ax, density, extent)
            ax.plot(x[:, 0], x[:, 1], ".", ms=1.2, alpha=0.4, color="tab:blue")
            ax.set_xlim(*extent)
            ax.set_ylim(*extent)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=7)
            if i == 0 and titles:
                ax.set_title(titles[j], fontsize=9)
            if i == n_rows - 1:
                ax.set_xlabel("x1", fontsize=8)
        axes[i, 0].set_ylabel(f"{label}\nx2", fontsize=9)
    fig.tight_layout()
    return fig


def noise_fields(xx, yy, rows):
    """Vector fields over density contours, one row per level.

    xx, yy: (h, w) mesh; rows: {row label: (density (h, w), {panel title:
    field (h, w, 2)})}. Arrows share one scale within a row, so lengths
    compare across its panels. Returns the figure."""
    n_rows = len(rows)
    k = max(len(fields) for _, fields in rows.values())
    fig, axes = plt.subplots(n_rows, k, figsize=(4.2 * k, 4.0 * n_rows), squeeze=False)
    step = xx[0, 1] - xx[0, 0]
    for i, (label, (density, fields)) in enumerate(rows.items()):
        longest = max(float(np.max(np.hypot(f[..., 0], f[..., 1]))) for f in fields.values())
        for j, (name, f) in enumerate(fields.items()):
            ax = axes[i, j]
            ax.contourf(xx, yy, density, levels=12, cmap="Blues")
            ax.quiver(xx, yy, f[..., 0], f[..., 1], angles="xy", scale_units="xy",
                      scale=longest / (0.9 * step), width=0.004, color="tab:red")
            ax.set_title(f"{label}: {name}", fontsize=9)
            ax.set_aspect("equal")
            ax.set_xlabel("x1")
        axes[i, 0].set_ylabel("x2")
    fig.tight_layout()
    return fig


def mmd_vs_levels(levels, named_mmds, *, floor_band, bandwidth, references=None, clip=1e-5):
    """MMD^2 to the data against the number of levels on log-log axes.

    levels: (m,) ladder lengths; named_mmds: {label: (m,) MMD^2}; floor_band:
    the value below which two samples of the data itself fall (shaded);
    bandwidth: the kernel's, for the axis label;
    references: {label: MMD^2} drawn as dashed horizontal lines. Values below
    ``clip`` (the unbiased estimate can be negative) are drawn at ``clip``.
    Returns the figure."""
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for label, v in named_mmds.items():
        ax.plot(levels, np.maximum(np.asarray(v, dtype=np.float64), clip), marker="o",
                ms=4, label=label)
    for label, v in (references or {}).items():
        ax.axhline(max(v, clip), ls="--", lw=1.2, color="tab:red", label=label)
    ax.axhspan(clip, floor_band, color="gray", alpha=0.25,
               label="two samples of the mixture (within 2 std)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(levels))
    ax.set_xticklabels([str(k) for k in levels])
    ax.minorticks_off()
    ax.set_xlabel("levels on the sampling ladder (network evaluations)")
    ax.set_ylabel(f"MMD^2 to the mixture (bandwidth {bandwidth:g})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig
