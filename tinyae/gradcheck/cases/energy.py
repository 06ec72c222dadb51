"""Energy-based latent models and stochastic decoders (lesson 15): the
ellipse energy and its curvature, the angle embedding, the target-propagation
autoencoder, the variance floor, the variance-network VAE and the Gaussian
denoiser."""

import numpy as np

from ..core import GradReport, check_arrays, check_model, rel_error
from . import layer_case, register


def _ellipse_energy(rng):
    """f = sum(E(y, z, w) * r) over a (3, 5) grid of latents, lam = 0.3."""
    from ...inference.energy import ellipse_energy_backward, ellipse_energy_forward

    y = rng.standard_normal((3, 2)) * 1.5
    z = rng.uniform(-np.pi, np.pi, size=(3, 5))
    w = rng.uniform(0.5, 2.0, size=2)
    r = rng.standard_normal((3, 5))

    def f():
        return float(np.sum(ellipse_energy_forward(y, z, w, 0.3)[0] * r))

    _, cache = ellipse_energy_forward(y, z, w, 0.3)
    dy, dz, dw = ellipse_energy_backward(r, cache)
    return check_arrays(f, {"y": y, "z": z, "w": w}, {"y": dy, "z": dz, "w": dw},
                        name="ellipse energy")


register("energy ellipse E(y, z) (y, z, w)")(_ellipse_energy)


def _ellipse_one_latent(rng):
    """One latent per observation (z: (n,)), batch of 1, lam = 0."""
    from ...inference.energy import ellipse_energy_backward, ellipse_energy_forward

    y, z, w = rng.standard_normal((1, 2)), rng.uniform(-3, 3, size=1), np.array([1.0, 2.0])

    def f():
        return float(ellipse_energy_forward(y, z, w)[0].sum())

    dy, dz, dw = ellipse_energy_backward(np.ones(1), ellipse_energy_forward(y, z, w)[1])
    return check_arrays(f, {"y": y, "z": z, "w": w}, {"y": dy, "z": dz, "w": dw},
                        name="ellipse energy (batch 1)")


register("energy ellipse E(y, z) (batch 1, one latent)")(_ellipse_one_latent)


def _ellipse_curvature(rng):
    """d2E/dz2 against central differences of the hand-written dE/dz."""
    from ...inference.energy import ellipse_energy, ellipse_energy_curvature

    y = rng.standard_normal((4, 2))
    z = rng.uniform(-np.pi, np.pi, size=4)
    w = rng.uniform(0.5, 2.0, size=2)
    h = 1e-6
    numerical = (ellipse_energy(y, z + h, w, 0.2)[1] - ellipse_energy(y, z - h, w, 0.2)[1]) / (2 * h)
    report = GradReport("ellipse curvature")
    report.errors["z"] = rel_error(ellipse_energy_curvature(y, z, w, 0.2), numerical)
    return report


register("energy ellipse curvature d2E/dz2")(_ellipse_curvature)


def _angle_embedding(rng):
    from ...layers import AngleEmbedding
    return AngleEmbedding()


register("layer AngleEmbedding")(layer_case(_angle_embedding, shape=(4, 3)))
register("layer AngleEmbedding (batch 1, width 1)")(layer_case(_angle_embedding, shape=(1, 1)))


def _register_latent_energy():
    from ...models import LatentEnergyAutoencoder

    def target_prop(rng, circular=False, batch=4):
        model = LatentEnergyAutoencoder(sizes=(3, 5, 2), circular=circular, rng=rng)
        y = rng.standard_normal((batch, 3))
        z_check = rng.standard_normal((batch, 2))           # fixed target: f deterministic
        return check_model(model, y, z_check=z_check)

    register("model LatentEnergyAutoencoder (target prop, z_check fixed)")(target_prop)
    register("model LatentEnergyAutoencoder (target prop, circular, batch 1)")(
        lambda rng: target_prop(rng, circular=True, batch=1))

    def backprop(rng):
        model = LatentEnergyAutoencoder(sizes=(2, 4, 1), circular=True, training="backprop",
                                        rng=rng)
        return check_model(model, rng.standard_normal((5, 2)))
    register("model LatentEnergyAutoencoder (backprop, circular)")(backprop)

    def energy_in_z(rng):
        """dE/dz of E = ||y - Dec(z)||^2 + lam_d ||z - z_tilde||^2, per example."""
        model = LatentEnergyAutoencoder(sizes=(3, 6, 2), circular=True, lam_d=0.7, rng=rng)
        y, z, zt = (rng.standard_normal((4, k)) for k in (3, 2, 2))

        def f():
            return float(model.energy(y, z, zt)[0].sum())
        return check_arrays(f, {"z": z}, {"z": model.energy(y, z, zt)[1].copy()},
                            name="dE/dz")
    register("energy LatentEnergyAutoencoder dE/dz (circular, lam_d 0.7)")(energy_in_z)


_register_latent_energy()


def _register_stochastic():
    from ...models import GaussianDenoiser, VarianceNetworkVAE

    configs = {
        "no floor": dict(),
        "floor 0.5": dict(var_floor=0.5),
        "two hidden, beta 0.4": dict(sizes=(6, 5, 4, 3), beta=0.4, var_floor=0.1),
    }
    for label, kw in configs.items():
        def case(rng, kw=kw):
            model = VarianceNetworkVAE(activation="tanh", rng=rng,
                                       **{"sizes": (6, 5, 3), **kw})
            x = rng.standard_normal((4, 6))
            return check_model(model, x, eps=rng.standard_normal((4, 3)))
        register(f"model VarianceNetworkVAE ({label})")(case)

    def awkward(rng):
        model = VarianceNetworkVAE(sizes=(1, 1, 1), activation="softplus",
                                   var_floor=0.3, rng=rng)
        return check_model(model, rng.standard_normal((1, 1)),
                           eps=rng.standard_normal((1, 1)))
    register("model VarianceNetworkVAE (batch 1, widths 1, floor)")(awkward)

    def floor(shape):
        def case(rng):
            from ...functional import logvar_floor_backward, logvar_floor_forward
            raw, r = rng.uniform(-8.0, 2.0, shape), rng.standard_normal(shape)
            _, cache = logvar_floor_forward(raw, 0.05)       # log 0.05 = -3.0: both sides
            return check_arrays(
                lambda: float(np.sum(logvar_floor_forward(raw, 0.05)[0] * r)),
                {"raw": raw}, {"raw": logvar_floor_backward(r, cache)}, name="logvar_floor")
        return case
    register("op logvar_floor (4 x 3)")(floor((4, 3)))
    register("op logvar_floor (batch 1, width 1)")(floor((1, 1)))

    def denoiser(rng):
        model = GaussianDenoiser(sizes=(2, 5, 3), sigma=0.4, var_floor=0.05, rng=rng)
        x = rng.standard_normal((5, 2))
        return check_model(model, x, noise=rng.standard_normal((5, 2)))
    register("model GaussianDenoiser (floor 0.05)")(denoiser)


_register_stochastic()
