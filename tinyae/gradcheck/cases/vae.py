"""Variational autoencoders (plain and conditional)."""

import numpy as np

from ..core import check_arrays, check_layer, check_loss, check_model, directional_check  # noqa: F401
from . import away_from_zero, layer_case, register  # noqa: F401



def _register_vae():
    from ...models import VAE, ConditionalVAE

    # Fixed eps makes the loss a deterministic function of the parameters;
    # smooth activations (or ReLU on inputs in (0.05, 0.95)) keep off kinks.
    configs = {
        "bernoulli, tanh": dict(activation="tanh"),
        "bernoulli, relu": dict(activation="relu"),
        "bernoulli, two hidden, beta 0.3": dict(hidden=(5, 4), activation="softplus",
                                                beta=0.3),
        "gaussian, fixed variance": dict(likelihood="gaussian", activation="softplus",
                                         fixed_logvar=-1.0),
        "gaussian, learned variance": dict(likelihood="gaussian", activation="tanh",
                                           decoder_variance="learned", fixed_logvar=-0.5),
        "gaussian, learned shared variance": dict(
            likelihood="gaussian", activation="tanh", decoder_variance="learned_shared"),
        "linear-Gaussian (hidden=())": dict(hidden=(), likelihood="gaussian",
                                            decoder_variance="learned_shared"),
        "beta 4": dict(activation="tanh", beta=4.0),
    }
    for label, kw in configs.items():
        def case(rng, kw=kw):
            model = VAE(n_in=6, latent=3, rng=rng, **{"hidden": (5,), **kw})
            x = rng.uniform(0.05, 0.95, size=(4, 6))
            return check_model(model, x, eps=rng.standard_normal((4, 3)))
        register(f"model VAE ({label})")(case)

    def conditional(rng):
        model = ConditionalVAE(n_in=6, hidden=(5,), latent=3, n_cond=2,
                               activation="tanh", rng=rng)
        x = rng.uniform(0.05, 0.95, size=(4, 6))
        c = np.eye(2)[rng.integers(0, 2, size=4)]
        return check_model(model, x, c, eps=rng.standard_normal((4, 3)))
    register("model ConditionalVAE (tanh, one-hot c)")(conditional)

    def directional(rng):
        model = VAE(n_in=20, hidden=(16, 8), latent=4, activation="softplus",
                    likelihood="gaussian", decoder_variance="learned", rng=rng)
        x = rng.standard_normal((8, 20))
        return directional_check(model, x, rng=rng, n_directions=5,
                                 eps=rng.standard_normal((8, 4)))
    register("model VAE (directional)")(directional)


_register_vae()
