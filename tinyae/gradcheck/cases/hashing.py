"""Semantic hashing autoencoder (noise before a sigmoid code) and the
shared-weight gradient of deep compression."""

from ..core import check_model
from . import register


def _register_semantic_hashing():
    from ...models import SemanticHashingAutoencoder

    for label, sizes, batch, kw in (
            ("tanh", (6, 5, 3), 4, {"activation": "tanh"}),
            ("sigmoid hidden, tied", (7, 4, 3), 3, {"activation": "sigmoid", "tied": True}),
            ("batch 1, 1 bit", (5, 4, 1), 1, {"activation": "tanh"}),
            ("no hidden layer, mse", (6, 2), 2, {"likelihood": "mse"})):
        def case(rng, sizes=sizes, batch=batch, kw=kw):
            model = SemanticHashingAutoencoder(sizes=sizes, code_noise=2.0, rng=rng, **kw)
            x = rng.uniform(0.05, 0.95, size=(batch, sizes[0]))
            # fixed noise (f is deterministic), moderate: a saturated sigmoid
            # (|a + noise| >> 1) leaves gradients at the finite-difference floor
            noise = 0.5 * rng.standard_normal((batch, sizes[-1]))
            return check_model(model, x, noise=noise)
        register(f"model SemanticHashingAutoencoder ({label})")(case)


_register_semantic_hashing()


def _register_weight_sharing():
    from ...analysis.compression import SharedWeightModel, prune_masks
    from ...models import MLPAutoencoder

    for label, sizes, batch, sparsity, bits in (
            ("2 bits, 30% pruned", (7, 5, 3), 4, 0.3, 2),
            ("1 bit, 50% pruned, batch 1", (6, 4, 1), 1, 0.5, 1),
            ("3 bits, nothing pruned", (5, 3), 3, 0.0, 3)):
        def case(rng, sizes=sizes, batch=batch, sparsity=sparsity, bits=bits):
            model = MLPAutoencoder(sizes=sizes, activation="tanh", rng=rng)
            shared = SharedWeightModel(model, prune_masks(model, sparsity), bits=bits)
            return check_model(shared, rng.uniform(0.05, 0.95, size=(batch, sizes[0])))
        register(f"model SharedWeightModel ({label})")(case)


_register_weight_sharing()
