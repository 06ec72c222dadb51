"""Contractive autoencoder (Rifai et al., 2011): reconstruction plus the
squared Frobenius norm of the encoder's Jacobian.

    L(x) = recon(x, g(f(x))) + lam * ||J_f(x)||_F^2,    J_f(x) = dh/dx: (n_h, n_in)

A small ||J_f|| means the code barely moves when x moves: the encoder is
made insensitive to every input direction, and the reconstruction term
fights back only along the directions the data actually vary in (the
tangent space of the data manifold). The encoder is one layer,
h = act(x W + b), so the penalty is exact and costs about one matmul
(see ``tinyae.penalties.contractive_from_code``).
"""

import numpy as np

from ..penalties import SLOPES, _contractive_from_code
from .._validation import check_choice, check_nonneg_float, check_sizes
from .mlp import MLPAutoencoder


class ContractiveAutoencoder(MLPAutoencoder):
    """One-layer contractive autoencoder.

    sizes = (n_in, n_code): x (N, n_in) -> h = act(x W + b): (N, n_code) ->
    decoder Linear (or the tied W^T) -> logits (``likelihood="bernoulli"``)
    or values (``"mse"``). Other keywords as ``MLPAutoencoder`` (with a
    ``corruption`` it is a contractive denoising autoencoder).

    activation: "sigmoid" or "tanh" (their slopes are functions of h, which
    the penalty needs). lam >= 0 weighs the penalty; lam = 0 is a plain
    one-layer autoencoder with the same parameters. Parameter names as in
    ``MLPAutoencoder``: ``encoder.0.W`` (n_in, n_code), ``encoder.0.b``,
    ``decoder.0.W``/``decoder.0.b`` (or only ``decoder.0.b`` when tied).

    ``last_stats`` after ``loss_and_grad``: ``recon`` (the reconstruction
    loss) and ``penalty`` (lam * mean ||J||_F^2, the weighted term), which
    add up to the loss.
    """

    def __init__(self, *, sizes, lam, rng, activation="sigmoid", likelihood="bernoulli",
                 corruption=None, tied=False, init="glorot", dtype=np.float64):
        if len(check_sizes(sizes)) != 2:
            raise ValueError(f"sizes must be (n_in, n_code) for the one-layer contractive "
                             f"autoencoder, got {tuple(sizes)!r}")
        check_choice(activation, "activation", SLOPES)
        self.lam = check_nonneg_float(lam, "lam")
        super().__init__(sizes=sizes, rng=rng, activation=activation,
                         code_activation=activation, likelihood=likelihood,
                         corruption=corruption, tied=tied, init=init, dtype=dtype)

    @property
    def _linear(self):
        return self.encoder[0]                       # the encoder's Linear layer

    def _code_penalty(self, h, grad):
        """``lam * mean_n ||J_f(x_n)||_F^2`` for the code h: (N, n_code).

        The penalty's gradient reaches W by two paths: its partial ``dW``
        (added straight into the Linear's grads here) and its ``dh``
        (returned, so the encoder's backward carries it through act and
        x W + b into dW and db).
        """
        penalty, dh_pen, dW_pen = _contractive_from_code(
            h, self._linear.params["W"], self.activation, self.lam)
        if grad:
            self._linear.grads["W"] += dW_pen
        return penalty, dh_pen, {"penalty": penalty}
