"""Sparse coding: the soft-threshold, one ISTA step as a function of the
code (and of x, D and PSD's prediction p), the PSD energy with its codes
fixed, the Gain and UnitNormDictionary layers, and the recirculation model's
backprop rule."""

import numpy as np

from ..core import check_arrays, check_model
from . import away_from_zero, layer_case, register


def ista_inputs(rng, n, k, d, *, lam=0.3, step=0.05, margin=0.02, with_p=False):
    """(z, x, D, p) for one ISTA step whose pre-threshold values u all lie at
    least ``margin`` away from the kinks |u| = step lam (resampled until so)."""
    for _ in range(1000):
        z, x = rng.standard_normal((n, k)), rng.standard_normal((n, d))
        D, p = rng.standard_normal((k, d)), (rng.standard_normal((n, k)) if with_p else None)
        u = z - step * ((z @ D - x) @ D.T) - (step * 0.7 * (z - p) if with_p else 0)
        if np.min(np.abs(np.abs(u) - step * lam)) > margin:
            return z, x, D, p
    raise RuntimeError("no input away from the kinks")


def check_ista_step(rng, n, k, d, with_p=False):
    """One ISTA step's dz, dx, dD (and dp) against central differences of
    sum(out * r) for a fixed random r."""
    from ...backend import ops
    lam, step, alpha = 0.3, 0.05, 0.7
    z, x, D, p = ista_inputs(rng, n, k, d, lam=lam, step=step, with_p=with_p)
    r = rng.standard_normal((n, k))
    out, cache = ops.ista_step_forward(z, x, D, lam, step, alpha, p)
    dz, dx, dD, dp = ops.ista_step_backward(r, cache)
    arrays, analytic = {"z": z, "x": x, "D": D}, {"z": dz, "x": dx, "D": dD}
    if with_p:
        arrays["p"], analytic["p"] = p, dp
    return check_arrays(
        lambda: float(np.sum(ops.ista_step_forward(z, x, D, lam, step, alpha, p)[0] * r)),
        arrays, analytic, name="ista_step")


def _register():
    from ...backend import ops
    from ...layers import Gain, UnitNormDictionary
    from ...models import PSD, RecirculationAutoencoder

    def soft(rng):
        v = away_from_zero(rng, (5, 6), low=0.5, high=2.0)        # |v| - 0.3 >= 0.2 or ...
        v[0, :3] = rng.uniform(-0.2, 0.2, 3)                      # ... inside the dead zone
        r = rng.standard_normal(v.shape)
        _, mask = ops.soft_threshold_forward(v, 0.3)
        return check_arrays(lambda: float(np.sum(ops.soft_threshold_forward(v, 0.3)[0] * r)),
                            {"v": v}, {"v": ops.soft_threshold_backward(r, mask)},
                            name="soft_threshold")
    register("op soft_threshold")(soft)
    register("op ista_step (5 x 12 codes, 7-dim signals)")(
        lambda rng: check_ista_step(rng, 5, 12, 7))
    register("op ista_step (with PSD prediction p)")(
        lambda rng: check_ista_step(rng, 4, 9, 5, with_p=True))
    register("op ista_step (batch 1, 1 atom, 1-dim signal)")(
        lambda rng: check_ista_step(rng, 1, 1, 1))
    register("op ista_step (batch 1, odd sizes, with p)")(
        lambda rng: check_ista_step(rng, 1, 7, 3, with_p=True))

    register("layer Gain")(layer_case(lambda rng: Gain(5, init_value=1.3)))
    register("layer Gain (batch 1, width 1)")(layer_case(lambda rng: Gain(1), shape=(1, 1)))
    register("layer UnitNormDictionary")(layer_case(
        lambda rng: UnitNormDictionary(5, 3, rng=rng)))
    register("layer UnitNormDictionary (1 atom, batch 1)")(layer_case(
        lambda rng: UnitNormDictionary(1, 4, rng=rng), shape=(1, 1)))

    def psd(n_in, n_atoms, batch):
        def case(rng):
            model = PSD(n_in=n_in, n_atoms=n_atoms, lam=0.4, alpha=0.8, rng=rng)
            x = rng.uniform(0, 1, (batch, n_in))
            codes = model.infer(x)          # the codes are held fixed: E is smooth in
            return check_model(model, x, codes=codes)  # the parameters
        return case
    register("model PSD (codes fixed)")(psd(6, 9, 4))
    register("model PSD (codes fixed, batch 1, 1 atom)")(psd(3, 1, 1))

    def recirc_backprop(rng):
        model = RecirculationAutoencoder(sizes=(6, 3), rule="backprop", rng=rng)
        return check_model(model, rng.uniform(0.05, 0.95, (5, 6)))
    register("model RecirculationAutoencoder (backprop rule)")(recirc_backprop)


_register()
