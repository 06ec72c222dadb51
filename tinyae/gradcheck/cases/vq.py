"""VQ-VAE: the codebook and commitment losses with the assignment fixed, the
straight-through map, and the whole model with its quantisation frozen
(``VQVAE.stop_gradient_values``: the surrogate the backward differentiates)."""

import numpy as np

from ..core import check_arrays, check_model
from . import register


def _register():
    from ...functional import vq_losses, vq_nearest, vq_straight_through_backward, \
        vq_straight_through_forward
    from ...models import VQVAE

    def losses(m, k, d, n, beta=0.25):
        def case(rng):
            z_e = rng.standard_normal((m, d))
            codebook = rng.standard_normal((k, d))
            idx, _ = vq_nearest(z_e, codebook)
            z_sg, q_sg = z_e.copy(), codebook[idx]   # the stop-gradient copies: constants
            C, B, dz, dcb = vq_losses(z_e, q_sg, z_sg, codebook, idx, beta, n)
            return check_arrays(
                lambda: sum(vq_losses(z_e, q_sg, z_sg, codebook, idx, beta, n)[:2]),
                {"z_e": z_e, "codebook": codebook}, {"z_e": dz, "codebook": dcb},
                name="vq_losses")
        return case
    register("loss vq codebook + commitment (idx fixed)")(losses(12, 5, 3, 4))
    register("loss vq (1 vector, 1 code, 1 dim)")(losses(1, 1, 1, 1))
    register("loss vq (odd sizes, beta 1)")(losses(7, 3, 5, 7, beta=1.0))

    def straight_through(rng):
        z_e = rng.standard_normal((6, 4))
        z_sg, q_sg = z_e.copy(), rng.standard_normal((6, 4))
        r = rng.standard_normal((6, 4))
        return check_arrays(
            lambda: float(np.sum(vq_straight_through_forward(z_e, z_sg, q_sg)[0] * r)),
            {"z_e": z_e}, {"z_e": vq_straight_through_backward(r, None)},
            name="vq_straight_through")
    register("op vq straight-through (sg values fixed)")(straight_through)

    def model(update, n_in=7, hidden=5, n_positions=3, code_dim=2, n_codes=4, batch=4,
              beta=0.25):
        def case(rng):
            m = VQVAE(n_in=n_in, hidden=hidden, n_positions=n_positions, code_dim=code_dim,
                      n_codes=n_codes, beta=beta, codebook_update=update,
                      codebook_init="normal", rng=rng, dtype=np.float64)
            x = rng.uniform(0, 1, (batch, n_in))
            return check_model(m, x, frozen=m.stop_gradient_values(x))
        return case
    register("model VQVAE (codebook loss, quantisation frozen)")(model("loss"))
    register("model VQVAE (EMA codebook, quantisation frozen)")(model("ema"))
    register("model VQVAE (batch 1, 1 position, 1 code, beta 1)")(model(
        "loss", n_in=3, hidden=2, n_positions=1, code_dim=1, n_codes=1, batch=1, beta=1.0))


_register()
