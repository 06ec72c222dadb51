"""Figures of lesson 15: energy landscapes, free energy against beta, VAE
posterior bubbles, learned against true variance, the variance pathology
and GSN chain samples over a known density."""

import numpy as np
from matplotlib.patches import Ellipse

from . import plt


def energy_landscape(xs, ys, panels, curve, *, trajectories=None):
    """Contour maps of free energies over the plane.

    xs: (a,), ys: (b,) grid axes; panels: dict title -> (b, a) values;
    curve: (m, 2) the decoder's manifold (drawn on every panel);
    trajectories: optional list of (steps, 2) paths in the plane (first panel).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.2))
    fig.subplots_adjust(wspace=0.4)                 # room for the colour bars' labels
    axes = np.atleast_1d(axes)
    for k, (ax, (title, values)) in enumerate(zip(axes, panels.items())):
        cs = ax.contourf(xs, ys, values, levels=25, cmap="viridis")
        fig.colorbar(cs, ax=ax, shrink=0.85, label="free energy")
        ax.set_xlabel("y1")
        ax.plot(curve[:, 0], curve[:, 1], "w-", lw=1.2)
        if k == 0 and trajectories:
            for path in trajectories:
                ax.plot(path[:, 0], path[:, 1], "r.-", ms=3, lw=0.8)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("y2")
    return fig


def free_energy_vs_beta(betas, scaled_gaps, laplace):
    """beta (F_beta - F_inf) against log beta for several observations.

    betas: (k,); scaled_gaps, laplace: (k, n) measured and Laplace-predicted.
    """
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for j in range(scaled_gaps.shape[1]):
        line, = ax.plot(betas, scaled_gaps[:, j], "o", ms=4)
        ax.plot(betas, laplace[:, j], "--", color=line.get_color(), lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("beta")
    ax.set_ylabel("beta (F_beta - F_inf)")
    ax.set_title("dots: quadrature; dashed: (1/2) log(beta E'' / 2 pi)", fontsize=9)
    return fig


def step_histograms(steps, *, bins=40):
    """Histograms of inference steps: dict label -> (n,) step counts."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    top = max(int(np.percentile(s, 99)) for s in steps.values()) + 1
    for label, s in steps.items():
        ax.hist(np.minimum(s, top), bins=bins, range=(0, top), alpha=0.55, label=label)
    ax.set_xlabel("gradient steps on z to reach the target energy")
    ax.set_ylabel("test points")
    ax.legend(fontsize=8)
    return fig


def posterior_bubbles(panels, v_curve):
    """VAE posterior "bubbles": one ellipse per input, centred at the
    posterior mean with semi-axes the posterior standard deviations.

    panels: dict title -> (mu (n, 2), std (n, 2), labels (n,));
    v_curve: (v (m,), kl (m,)) the per-unit KL term v - log v - 1.
    """
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.3 * (len(panels) + 1), 4.1))
    cmap = plt.get_cmap("tab10")
    for ax, (title, (mu, std, labels)) in zip(axes, panels.items()):
        for m, s, c in zip(mu, std, labels):
            ax.add_patch(Ellipse(m, 2 * s[0], 2 * s[1], color=cmap(int(c) % 10),
                                 alpha=0.35, lw=0))
        ax.add_patch(Ellipse((0, 0), 2, 2, fill=False, ls="--", color="k", lw=1))
        lim = max(3.5, float(np.percentile(np.abs(mu) + std, 99)))
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("latent 1")
        ax.set_ylabel("latent 2")
    digits = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-0.5, 9.5))
    fig.colorbar(digits, ax=axes[len(panels) - 1], ticks=range(10), shrink=0.85,
                 label="digit")
    v, kl = v_curve
    axes[-1].plot(v, kl, "k-")
    axes[-1].axvline(1.0, color="gray", ls=":")
    axes[-1].set_xlabel("posterior variance v")
    axes[-1].set_ylabel("v - log v - 1")
    axes[-1].set_title("KL term per unit: minimum at v = 1", fontsize=9)
    fig.tight_layout()
    return fig


def variance_tracking(t, true_std, learned_std):
    """True noise standard deviation along a 1-D position t (curve) and the
    decoder's learned one at each test point (dots)."""
    order = np.argsort(t)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.plot(t, learned_std, ".", ms=2, alpha=0.5, label="learned sqrt(v(z(y)))")
    ax.plot(t[order], true_std[order], "k-", lw=1.5, label="true noise std")
    ax.set_xlabel("position t")
    ax.set_ylabel("standard deviation of y_2")
    ax.legend(fontsize=8)
    return fig


def variance_pathology(histories, log_floor, direction=None):
    """Per-epoch training NLL and mean log-variance of the always-blank
    pixels (``histories``: dict label -> dict with lists ``nll`` and
    ``blank_logvar``), and optionally the NLL change along the unbounded
    direction: ``direction = (deltas (k,), dict label -> (k,) changes)``."""
    fig, axes = plt.subplots(1, 3 if direction else 2,
                             figsize=(14 if direction else 9.5, 3.6))
    for label, h in histories.items():
        epochs = np.arange(1, len(h["nll"]) + 1)
        axes[0].plot(epochs, h["nll"], "o-", label=label)
        axes[1].plot(epochs, h["blank_logvar"], "o-", label=label)
    axes[1].axhline(log_floor, color="gray", ls=":", label="log(floor)")
    axes[0].set_ylabel("training NLL per image (nats)")
    axes[1].set_ylabel("decoder log-variance, blank pixels")
    for ax in axes[:2]:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    if direction:
        deltas, changes = direction
        for label, c in changes.items():
            axes[2].plot(deltas, c, "o-", label=label)
        axes[2].set_xlabel("delta (blank pixels: exact mean, log-variance - delta)")
        axes[2].set_ylabel("change of the NLL per image")
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


def chain_samples(samples, density, extent, mmd_by_sigma):
    """GSN chain samples over the true density, one panel per corruption
    level, and MMD^2 against sigma.

    samples: dict sigma -> (n, 2); density: f(points (k, 2)) -> (k,);
    extent: (lo, hi) of the square drawn; mmd_by_sigma: dict sigma -> MMD^2.
    """
    k = len(samples)
    fig, axes = plt.subplots(1, k + 1, figsize=(3.2 * (k + 1), 3.3))
    g = np.linspace(extent[0], extent[1], 120)
    gx, gy = np.meshgrid(g, g)
    dens = density(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    for ax, (sigma, x) in zip(axes, samples.items()):
        ax.contour(gx, gy, dens, levels=8, cmap="Greys", linewidths=0.7)
        ax.plot(x[:, 0], x[:, 1], ".", ms=1.5, alpha=0.5)
        ax.set_xlim(*extent)
        ax.set_ylim(*extent)
        ax.set_aspect("equal")
        ax.set_title(f"sigma = {sigma:g}", fontsize=9)
        ax.set_xlabel("x1")
    axes[0].set_ylabel("x2")
    s = sorted(mmd_by_sigma)
    axes[-1].plot(s, [mmd_by_sigma[v] for v in s], "o-")
    axes[-1].set_xscale("log")
    axes[-1].set_xlabel("corruption sigma")
    axes[-1].set_ylabel("MMD^2 to the data")
    fig.tight_layout()
    return fig
