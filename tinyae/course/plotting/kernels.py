"""Figures of lesson 09 (kernels): where a training step's time goes, what
fusing memory-bound operations saves, and the GEMM ladder."""

import numpy as np

from . import plt


def step_breakdown(parts, *, title=None):
    """Stacked bars of a training step's time by part, one bar per backend.

    parts: {backend label: {part label: seconds}} (the same part labels for
    every backend, stacked in their order). Shown in milliseconds.
    """
    fig, ax = plt.subplots(figsize=(6, 3.8))
    labels = list(parts)
    bottom = np.zeros(len(labels))
    for part in next(iter(parts.values())):
        vals = np.array([1e3 * parts[b][part] for b in labels])
        ax.bar(labels, vals, bottom=bottom, label=part)
        bottom += vals
    ax.set_ylabel("ms per step (best of 6 rounds)")
    ax.set_xlabel("backend of the non-matrix-product operations")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def fusion(passes, act_times):
    """Two panels: Adam's time in units of one array copy ({label: ratio}),
    and a bias + activation's time beyond its matrix product ({label:
    seconds}, shown in microseconds)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].bar(list(passes), list(passes.values()), color=["gray", "tab:red", "tab:green"])
    axes[0].set_ylabel("time / time of one array copy")
    axes[0].set_title("Adam on 784 x 512 float32", fontsize=10)
    axes[1].bar(list(act_times), [1e6 * t for t in act_times.values()],
                color=["tab:red", "tab:green"])
    axes[1].set_ylabel("microseconds beyond the matrix product")
    axes[1].set_title("bias + sigmoid on 128 x 512", fontsize=10)
    for ax in axes:
        ax.set_xlabel("implementation")
    fig.tight_layout(w_pad=3)
    return fig


def gemm_ladder(rates, *, blas_rate, title=None):
    """Horizontal bars of GFLOP/s per rung ({label: rate}, first rung on
    top, log scale) with a dashed line at the BLAS reference."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    labels = list(rates)[::-1]
    ax.barh(labels, [rates[k] for k in labels], color="tab:blue")
    ax.axvline(blas_rate, ls="--", color="gray",
               label=f"OpenBLAS, 1 thread: {blas_rate:.0f} GFLOP/s")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_xscale("log")
    ax.set_xlim(right=2 * blas_rate)
    ax.set_xlabel("GFLOP/s (best of interleaved rounds, log scale)")
    ax.set_ylabel("rung")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="x", which="both")
    return fig
