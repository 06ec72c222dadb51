"""Variational autoencoders (plain and conditional)."""

import numpy as np

from ... import functional as F
from ..core import check_loss, check_model, directional_check
from . import register



def _register_vae():
    from ...models import VAE, ConditionalVAE

    # Fixed eps makes the loss a deterministic function of the parameters;
    # smooth activations (or ReLU on inputs in (0.05, 0.95)) keep off kinks.
    configs = {
        "bernoulli, tanh": dict(activation="tanh"),
        "bernoulli, relu": dict(activation="relu"),
        "bernoulli, two hidden, beta 0.3": dict(sizes=(6, 5, 4, 3), activation="softplus",
                                                beta=0.3),
        "gaussian, fixed variance": dict(likelihood="gaussian", activation="softplus",
                                         fixed_logvar=-1.0),
        "gaussian, learned variance": dict(likelihood="gaussian", activation="tanh",
                                           decoder_variance="learned", fixed_logvar=-0.5),
        "gaussian, learned shared variance": dict(
            likelihood="gaussian", activation="tanh", decoder_variance="learned_shared"),
        "linear-Gaussian (no hidden layer)": dict(sizes=(6, 3), likelihood="gaussian",
                                                  decoder_variance="learned_shared"),
        "beta 4": dict(activation="tanh", beta=4.0),
    }
    for label, kw in configs.items():
        def case(rng, kw=kw):
            model = VAE(rng=rng, **{"sizes": (6, 5, 3), **kw})
            x = rng.uniform(0.05, 0.95, size=(4, 6))
            return check_model(model, x, eps=rng.standard_normal((4, 3)))
        register(f"model VAE ({label})")(case)

    def conditional(rng):
        model = ConditionalVAE(sizes=(6, 5, 3), n_cond=2,
                               activation="tanh", rng=rng)
        x = rng.uniform(0.05, 0.95, size=(4, 6))
        c = np.eye(2)[rng.integers(0, 2, size=4)]
        return check_model(model, x, c, eps=rng.standard_normal((4, 3)))
    register("model ConditionalVAE (tanh, one-hot c)")(conditional)

    def beta_vae_loss(n, d_x, d, beta):
        def case(rng):
            x = rng.uniform(0.05, 0.95, size=(n, d_x))
            logits, mu = 3 * rng.standard_normal((n, d_x)), rng.standard_normal((n, d))
            logvar = rng.uniform(-2, 1.5, size=(n, d))
            return check_loss(lambda lg, m, lv, x: F.beta_vae_loss(x, lg, m, lv, beta),
                              logits, mu, logvar, x, name="beta_vae_loss")
        return case
    register("loss beta_vae_loss (beta 2.5)")(beta_vae_loss(4, 6, 3, 2.5))
    register("loss beta_vae_loss (batch 1, latent 1, beta 0.5)")(beta_vae_loss(1, 5, 1, 0.5))

    def directional(rng):
        model = VAE(sizes=(20, 16, 8, 4), activation="softplus",
                    likelihood="gaussian", decoder_variance="learned", rng=rng)
        x = rng.standard_normal((8, 20))
        return directional_check(model, x, rng=rng, n_directions=5,
                                 eps=rng.standard_normal((8, 4)))
    register("model VAE (directional)")(directional)


_register_vae()
