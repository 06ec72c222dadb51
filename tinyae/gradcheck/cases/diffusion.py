"""The diffusion model's noise-prediction loss (Ho et al.'s Eq. 14) with the
levels t and the noise fixed: a deterministic function of the parameters."""

import numpy as np

from ..core import check_model
from . import register


def _register():
    from ...models import DiffusionModel

    def model(sizes=(2, 6, 5), n_levels=10, embed_dim=4, batch=5, activation="tanh"):
        def case(rng):
            m = DiffusionModel(sizes=sizes, n_levels=n_levels, embed_dim=embed_dim,
                               activation=activation, rng=rng, dtype=np.float64)
            x = rng.standard_normal((batch, sizes[0]))
            t = rng.integers(1, n_levels + 1, size=batch)
            noise = rng.standard_normal(x.shape)
            return check_model(m, x, t=t, noise=noise)
        return case
    register("model DiffusionModel (tanh, two hidden layers)")(model())
    register("model DiffusionModel (softplus, 3-D, 1000 levels)")(model(
        sizes=(3, 7), n_levels=1000, embed_dim=8, activation="softplus"))
    register("model DiffusionModel (batch 1, 1 level)")(model(
        sizes=(1, 3), n_levels=1, batch=1))


_register()
