"""The diffusion models' losses with the levels t and the noise fixed (a
deterministic function of the parameters), and the two-input denoisers of
``ImageDiffusionModel`` (gradients of both inputs and of every parameter)
on awkward shapes: batch 1, width 1, odd and non-square images, 1x1."""

import numpy as np

from ..core import check_arrays, check_model
from . import away_from_zero, register


def _register():
    from ...models import DiffusionModel, ImageDiffusionModel
    from ...models.denoisers import LevelMLP, LevelUNet

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

    def generic(params, rng):
        """Redraw the weights LevelUNet starts near zero (init "small") at unit
        scale: the gradient does not depend on the init, and at 0.01 some of
        it is too small for central differences to resolve."""
        for k, p in params.items():
            if k.endswith(("global_out.W", "out.W")) and "up" not in k:
                p[...] = 0.5 * rng.standard_normal(p.shape)

    def two_input(make, x_shape, n_cond):
        """f = sum(net(x, c) * r): backward(r) must give (df/dx, df/dc) and add
        df/dparam into grads."""
        def case(rng):
            net = make(rng)
            generic(net.params, rng)
            x, c = away_from_zero(rng, x_shape), away_from_zero(rng, (x_shape[0], n_cond))
            r = rng.standard_normal(net.forward(x, c).shape)
            net.zero_grad()
            net.forward(x, c)
            dx, dc = net.backward(r)
            analytic = {"x": dx.copy(), "c": dc.copy(),
                        **{k: g.copy() for k, g in net.grads.items()}}
            return check_arrays(lambda: float(np.sum(net.forward(x, c) * r)),
                                {"x": x, "c": c, **net.params}, analytic,
                                name=type(net).__name__)
        return case
    f64 = dict(dtype=np.float64)
    register("layer LevelMLP (tanh, two hidden layers)")(two_input(
        lambda rng: LevelMLP(5, (4, 3), 5, 2, rng=rng, activation="tanh", **f64), (3, 5), 2))
    register("layer LevelMLP (batch 1, width 1, one level feature)")(two_input(
        lambda rng: LevelMLP(1, (1,), 2, 1, rng=rng, activation="softplus", **f64),
        (1, 1), 1))
    register("layer LevelUNet (odd 7x5 image, two channels, tanh)")(two_input(
        lambda rng: LevelUNet((2, 7, 5), (3, 2), 4, rng=rng, dense=5, activation="tanh",
                              **f64),
        (2, 2, 7, 5), 4))
    register("layer LevelUNet (batch 1, 6x4 image, one channel in and out)")(two_input(
        lambda rng: LevelUNet((1, 6, 4), (1, 2), 2, rng=rng, dense=3, activation="tanh",
                              **f64),
        (1, 1, 6, 4), 2))
    register("layer LevelUNet (1x1 image)")(two_input(
        lambda rng: LevelUNet((1, 1, 1), (2, 1), 1, rng=rng, dense=1, activation="tanh",
                              **f64),
        (2, 1, 1, 1), 1))

    def image_model(batch=4, n_levels=20, **kw):
        def case(rng):
            m = ImageDiffusionModel(n_levels=n_levels, embed_dim=4, rng=rng, **f64, **kw)
            generic(m.params, rng)
            x = rng.standard_normal((batch, m.n_in))
            t = rng.integers(1, n_levels + 1, size=batch)
            return check_model(m, x, t=t, noise=rng.standard_normal(x.shape))
        return case
    register("model ImageDiffusionModel (MLP, clean image, reconstruction loss)")(
        image_model(image_shape=(1, 3, 2), hidden=(5, 4), activation="tanh"))
    register("model ImageDiffusionModel (MLP, noise, Eq. 14, batch 1)")(
        image_model(batch=1, image_shape=(1, 1, 3), hidden=(2,), predict="noise",
                    weighting="noise", activation="softplus"))
    register("model ImageDiffusionModel (MLP, noise, reconstruction loss, 8 levels)")(
        image_model(n_levels=8, image_shape=(1, 2, 2), hidden=(3,), predict="noise",
                    activation="tanh"))
    register("model ImageDiffusionModel (U-Net, odd 5x3 image, clean image, Eq. 14)")(
        image_model(image_shape=(2, 5, 3), denoiser="unet", channels=(2, 3), dense=4,
                    weighting="noise", activation="tanh"))


_register()
