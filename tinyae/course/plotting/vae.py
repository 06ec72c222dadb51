"""Figures for variational autoencoders: the test-loss curve against published
points, KL per latent dimension, and the variance of two gradient estimators.
(Image grids and latent scatters come from ``tinyae.course.plotting``.)"""

import numpy as np

from . import plt


def loss_curve_vs_published(series, published, *, ylabel="test loss per image (nats)",
                            title=None):
    """Per-epoch curves ({label: values, epoch 1 first}) with published points.

    published: {epoch: value} or {epoch: (value, tolerance)}; tolerances are
    drawn as error bars.
    """
    fig, ax = plt.subplots(figsize=(5.8, 4.0))
    for label, ys in series.items():
        ax.plot(np.arange(1, len(ys) + 1), ys, marker="o", ms=3, label=label)
    for i, (epoch, v) in enumerate(sorted(published.items())):
        value, tol = v if isinstance(v, tuple) else (v, 0.0)
        ax.errorbar([epoch], [value], yerr=[tol] if tol else None, fmt="s", color="black",
                    ms=6, capsize=4, label="published" if i == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def kl_per_dimension(kl, *, active=None, title=None):
    """Bar chart of the KL (nats) of each latent dimension, sorted as given;
    ``active`` (bool per dimension) colours inactive units grey."""
    kl = np.asarray(kl, dtype=np.float64)
    colors = ["tab:blue" if a else "lightgray"
              for a in (np.ones(kl.size, bool) if active is None else active)]
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.bar(np.arange(kl.size), kl, color=colors)
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("mean KL (nats)")
    ax.set_xticks(np.arange(kl.size))
    ax.tick_params(axis="x", labelsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    return fig


def estimator_variances(named_variances, *, title=None):
    """Histograms (log-spaced) of per-coordinate variances of gradient
    estimators: {label: array of variances}."""
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    allv = np.concatenate([np.ravel(v) for v in named_variances.values()])
    allv = allv[allv > 0]
    bins = np.logspace(np.log10(allv.min()), np.log10(allv.max()), 40)
    for label, v in named_variances.items():
        ax.hist(np.ravel(v), bins=bins, alpha=0.6, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("variance of a single-sample gradient estimate (per coordinate)")
    ax.set_ylabel("coordinates")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def latent_grid(images, z, *, n, title=None):
    """A 2-latent model's decoded grid (``VAE.decode_grid``): images (n*n, 784)
    in row-major order and their codes z (n*n, 2), z_1 rising along a row and
    z_2 falling down a column; rows and columns are labelled with their z."""
    from . import image_grid

    z = np.asarray(z, dtype=np.float64).reshape(n, n, 2)
    fig = image_grid(images, rows=n, title=title,
                     row_labels=[f"{v:.1f}" for v in z[:, 0, 1]],
                     col_labels=[f"{v:.1f}" for v in z[0, :, 0]])
    ax = fig.axes[0]
    ax.tick_params(axis="x", labelsize=7, rotation=90)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    return fig


def latent_scatter(points, labels, *, title=None, s=3):
    """2-D codes coloured by digit, with named axes and a labelled colour bar."""
    from . import scatter_by_label

    fig = scatter_by_label(points, labels, title=title, s=s)
    ax, bar = fig.axes
    ax.set_xlabel("$z_1$ (posterior mean)")
    ax.set_ylabel("$z_2$ (posterior mean)")
    bar.set_ylabel("digit")
    return fig
