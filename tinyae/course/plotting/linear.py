"""Figures for PCA and the linear autoencoder: a plane in 3-D,
principal-angle cosines, and 2-D codes of PCA and an autoencoder side by side."""

import numpy as np

from . import plt, scatter_by_label


def _plane_mesh(center, basis, extent, n=2):
    """Corner grid of the plane ``center + s u + t v``, basis: (3, 2) columns u, v."""
    s = np.linspace(-extent, extent, n)
    S, T = np.meshgrid(s, s)                                   # (n, n) each
    pts = center[:, None, None] + basis[:, :1, None] * S + basis[:, 1:2, None] * T
    return pts[0], pts[1], pts[2]                              # X, Y, Z: (n, n)


def planes_3d(points, *, center, pca_basis, ae_basis, ae_center=None, title=None):
    """Points in 3-D with the PCA plane and the autoencoder's plane.

    points: (n, 3). center: (3,) the data mean. pca_basis: (3, 2) orthonormal
    principal directions (columns). ae_basis: (3, 2) the decoder's vectors
    (columns, any lengths), drawn as arrows from ``ae_center`` (default
    ``center``): they span a plane without being orthonormal.
    """
    ae_center = center if ae_center is None else ae_center
    fig = plt.figure(figsize=(6.5, 5.5))
    ax = fig.add_subplot(projection="3d")
    ax.scatter(points[:, 0], points[:, 1], points[:, 2], s=4, color="gray", alpha=0.5,
               label="data")
    extent = 2.0 * float(np.sqrt(np.mean(np.sum((points - center) ** 2, axis=1))))
    ax.plot_surface(*_plane_mesh(center, pca_basis, extent), color="tab:blue",
                    alpha=0.25, label="PCA plane")
    q, _ = np.linalg.qr(ae_basis)                               # orthonormal (3, 2)
    ax.plot_wireframe(*_plane_mesh(ae_center, q, extent, n=7), color="tab:red",
                      lw=0.6, label="linear AE span")
    scale = extent / max(np.linalg.norm(ae_basis, axis=0).max(), 1e-12)
    for j in range(ae_basis.shape[1]):
        ax.quiver(*ae_center, *(scale * ae_basis[:, j]), color="tab:red", lw=2)
    for j in range(pca_basis.shape[1]):
        ax.quiver(*center, *(extent * pca_basis[:, j]), color="tab:blue", lw=2)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_zlabel("x3")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def angle_cosines(named_cosines, *, threshold=None, title=None):
    """Principal-angle cosines (descending) per model, {label: (k,) array};
    ``threshold`` draws the claimed lower bound."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, c in named_cosines.items():
        ax.plot(np.arange(1, len(c) + 1), c, marker="o", ms=3, label=label)
    if threshold is not None:
        ax.axhline(threshold, ls="--", lw=1, color="gray")
        ax.annotate(f"claim: > {threshold}", (1, threshold), fontsize=8, color="gray",
                    va="top")
    ax.set_xlabel("principal angle index")
    ax.set_ylabel("cosine")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def codes_2d(named_codes, labels, *, title=None, s=3):
    """2-D codes of the same points side by side, coloured by label.

    named_codes: {panel title: (n, 2) codes}, labels: (n,) integers (digits).
    Each panel has its own axes scale (codes of different models are not in
    comparable units).
    """
    k = len(named_codes)
    fig, axes = plt.subplots(1, k, figsize=(5.3 * k, 4.4), squeeze=False)
    fig.subplots_adjust(wspace=0.45)                # room for a colour bar's label
    for ax, (name, z) in zip(axes[0], named_codes.items()):
        scatter_by_label(np.asarray(z), labels, ax=ax, title=name, s=s)
        fig.axes[-1].set_ylabel("digit")            # the colour bar just added
        ax.set_xlabel("code unit 1")
        ax.set_ylabel("code unit 2")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
