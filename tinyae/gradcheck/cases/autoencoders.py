"""Denoising, softmax, stacked, linear, contractive and sparse models, and the penalties."""

from ..core import check_arrays, check_loss, check_model, directional_check
from . import away_from_zero, register




def _register_denoising():
    from ...corruption import CORRUPTIONS
    from ...models import MLPAutoencoder

    for cname, level in (("gaussian", 0.5), ("masking", 0.3), ("salt_and_pepper", 0.3)):
        def case(rng, cname=cname, level=level):
            model = MLPAutoencoder(corruption=CORRUPTIONS[cname](level),
                                         sizes=(6, 5, 3), activation="tanh", rng=rng)
            x = rng.uniform(0.05, 0.95, size=(4, 6))
            noise = model.corruption.sample(x, rng)       # fixed: f is deterministic
            return check_model(model, x, noise=noise)
        register(f"model MLPAutoencoder (denoising, {cname})")(case)

    def split(rng):      # 5 rows over 3 workers (2, 2, 1), the noise sliced with them
        from ...parallel import DataParallel
        model = MLPAutoencoder(corruption=CORRUPTIONS["gaussian"](0.5), sizes=(6, 5, 3),
                               activation="tanh", rng=rng)
        x = rng.uniform(0.05, 0.95, size=(5, 6))
        return check_model(DataParallel(model, workers=3), x,
                           noise=model.corruption.sample(x, rng),
                           name="DataParallel(MLPAutoencoder)")
    register("model DataParallel(MLPAutoencoder) (denoising, 3 workers, slices 2, 2, 1)")(split)


_register_denoising()


def _register_softmax_stacked():
    from ...models import SoftmaxClassifier
    from ...models.softmax import softmax_cross_entropy

    def xent(rng):
        labels = rng.integers(0, 4, size=5)
        return check_loss(lambda a: softmax_cross_entropy(a, labels),
                          2 * rng.standard_normal((5, 4)), name="softmax_cross_entropy")
    register("loss softmax_cross_entropy")(xent)

    for label, kw in (("linear", {}), ("linear, weight decay", {"weight_decay": 0.3}),
                      ("hidden tanh", {"hidden": (6,), "activation": "tanh"})):
        def case(rng, kw=kw):
            model = SoftmaxClassifier(n_in=7, n_classes=4, rng=rng, **kw)
            return check_model(model, rng.standard_normal((6, 7)),
                               rng.integers(0, 4, size=6))
        register(f"model SoftmaxClassifier ({label})")(case)

    from ...corruption import MaskingNoise
    from ...models import StackedAutoencoder

    # Stacks have small first-layer gradients (1e-3 to 1e-5: saturating
    # units), near the h = 1e-6 rounding floor (~5e-10): step h = 1e-5 (tanh,
    # softplus) or 1e-4 (sigmoid), truncation still ~1e-9; three sigmoid
    # levels get the directional check.
    def stacked(sizes, h, **kw):
        def case(rng):
            model = StackedAutoencoder(sizes=sizes, rng=rng, **kw)
            x = rng.uniform(0.05, 0.95, size=(5, sizes[0]))
            noise = model.corruption.sample(x, rng) if model.corruption else None
            return check_model(model, x, noise=noise, h=h)
        return case
    register("model StackedAutoencoder (sigmoid)")(stacked((7, 5, 3), 1e-4))
    register("model StackedAutoencoder (tanh, masking, 3 levels)")(stacked(
        (7, 5, 4, 3), 1e-5, activation="tanh", corruption=MaskingNoise(0.3)))
    register("model StackedAutoencoder (softplus, tied, masking)")(stacked(
        (7, 5, 3), 1e-5, activation="softplus", tied=True, corruption=MaskingNoise(0.3)))

    def stacked_directional(rng):
        model = StackedAutoencoder(sizes=(7, 5, 4, 3), rng=rng, corruption=MaskingNoise(0.3))
        x = rng.uniform(0.05, 0.95, size=(5, 7))
        return directional_check(model, x, rng=rng, n_directions=5,
                                 noise=model.corruption.sample(x, rng))
    register("model StackedAutoencoder (sigmoid, 3 levels, directional)")(stacked_directional)


_register_softmax_stacked()


def _register_linear():
    from ...models import LinearAutoencoder

    for label, kw in (("untied", {}), ("tied", {"tied": True}),
                      ("no bias", {"bias": False}),
                      ("tied, no bias", {"tied": True, "bias": False})):
        def case(rng, kw=kw):
            model = LinearAutoencoder(sizes=(6, 3), rng=rng, **kw)
            return check_model(model, rng.standard_normal((5, 6)))
        register(f"model LinearAutoencoder ({label})")(case)


_register_linear()


def _register_penalties():
    from ... import penalties
    from ...models import ContractiveAutoencoder, SparseAutoencoder

    for act in ("sigmoid", "tanh"):
        def contractive(rng, act=act):
            x, W = rng.uniform(-1, 1, size=(5, 7)), rng.standard_normal((7, 4))
            b = 0.5 * rng.standard_normal(4)
            _, dW, db = penalties.contractive(x, W, b, activation=act, lam=0.7)
            return check_arrays(
                lambda: penalties.contractive(x, W, b, activation=act, lam=0.7)[0],
                {"W": W, "b": b}, {"W": dW, "b": db})
        register(f"penalty contractive ({act})")(contractive)
    register("penalty l1")(lambda rng: check_loss(
        lambda h: penalties.l1(h, lam=0.3), away_from_zero(rng, (5, 4)), name="l1"))
    register("penalty kl")(lambda rng: check_loss(
        lambda h: penalties.kl(h, rho=0.1, beta=3.0), rng.uniform(0.02, 0.9, size=(5, 4)),
        name="kl"))

    for act, tied in (("sigmoid", False), ("sigmoid", True), ("tanh", False), ("tanh", True)):
        def cae(rng, act=act, tied=tied):
            model = ContractiveAutoencoder(sizes=(6, 4), lam=0.8, activation=act,
                                           tied=tied, rng=rng)
            return check_model(model, rng.uniform(0.05, 0.95, size=(5, 6)))
        register(f"model ContractiveAutoencoder ({act}{', tied' if tied else ''})")(cae)
    for pen in ("l1", "kl"):
        def sparse(rng, pen=pen):
            model = SparseAutoencoder(sizes=(6, 5, 4), penalty=pen, lam=0.3, rho=0.1,
                                      beta=2.0, activation="tanh", rng=rng)
            return check_model(model, rng.uniform(0.05, 0.95, size=(5, 6)))
        register(f"model SparseAutoencoder ({pen})")(sparse)


_register_penalties()
