"""VQ-VAE (van den Oord, Vinyals and Kavukcuoglu, 2017, "Neural discrete
representation learning"): an autoencoder whose code is a grid of discrete
symbols, each the index of a codebook vector.

    x: (N, n_in) -> encoder -> z_e: (N, P, D) -> nearest code -> z_q: (N, P, D)
                 -> decoder -> x_hat: (N, n_in)

P code positions of dimension D, K codes: an image is P symbols of log2 K
bits. Encoder and decoder here are MLPs (784 -> hidden -> P D, and back;
ReLU), with a grid of P code vectors taken from the encoder's output
(``Reshape``). The loss, per image (sums over pixels and positions, mean
over the batch; ``tinyae.functional.vq`` derives every gradient):

    L = ||x - x_hat||^2 + ||sg(z_e) - e||^2 + beta ||z_e - sg(e)||^2

(the second term only with ``codebook_update="loss"``; with ``"ema"`` the
codes follow exponential moving averages instead: ``CodebookEMA``).
The decoder's gradient reaches the encoder by the straight-through
estimator (``layers.VectorQuantizer``).
"""

import numpy as np

from .._validation import (check_array, check_choice, check_dtype, check_fraction,
                           check_nonneg_float, check_positive_float, check_positive_int,
                           check_rng)
from ..backend import ops
from ..functional.vq import perplexity
from ..losses import check_support
from ..layers import CODEBOOK_INITS, Flatten, Linear, ReLU, Reshape, Sequential, VectorQuantizer
from ..optim import OptimizerWrapper
from .base import Model, batched

CODEBOOK_UPDATES = ("loss", "ema")


class VQVAE(Model):
    """VQ-VAE with MLP encoder and decoder and a grid of ``n_positions`` codes.

    Keyword arguments: ``n_in`` (784), ``hidden`` (width of the one hidden
    layer on each side), ``n_positions`` P, ``code_dim`` D, ``n_codes`` K,
    ``beta`` (commitment weight, 0.25 as in the paper), ``codebook_update``
    ("loss" or "ema"), ``codebook_init`` (a key of
    ``layers.CODEBOOK_INITS``), ``rng``, ``dtype``.

    Parameters: ``encoder.{0,2}.{W,b}``, ``decoder.{1,3}.{W,b}`` and, with
    ``codebook_update="loss"``, ``quantizer.codebook``. ``last_stats``:
    ``recon`` (squared error per image), ``codebook``, ``commitment``,
    ``perplexity`` and ``codes_used`` of the batch's N P assignments.
    """

    def __init__(self, *, rng, n_in=784, hidden=256, n_positions=49, code_dim=16,
                 n_codes=128, beta=0.25, codebook_update="loss", codebook_init="uniform",
                 dtype=np.float32):
        super().__init__()
        check_rng(rng)
        self.n_in = check_positive_int(n_in, "n_in")
        self.hidden = check_positive_int(hidden, "hidden")
        self.n_positions = check_positive_int(n_positions, "n_positions")
        self.code_dim = check_positive_int(code_dim, "code_dim")
        self.n_codes = check_positive_int(n_codes, "n_codes")
        self.beta = check_nonneg_float(beta, "beta")
        self.codebook_update = check_choice(codebook_update, "codebook_update",
                                            CODEBOOK_UPDATES)
        check_choice(codebook_init, "codebook_init", CODEBOOK_INITS)
        self.dtype = check_dtype(dtype)
        P, D, dt = self.n_positions, self.code_dim, self.dtype
        self.encoder = Sequential(Linear(n_in, hidden, rng=rng, dtype=dt), ReLU(),
                                  Linear(hidden, P * D, rng=rng, dtype=dt), Reshape(P, D))
        self.quantizer = VectorQuantizer(n_codes, D, rng=rng, init=codebook_init,
                                         learned=codebook_update == "loss", dtype=dt)
        self.decoder = Sequential(Flatten(), Linear(P * D, hidden, rng=rng, dtype=dt), ReLU(),
                                  Linear(hidden, n_in, rng=rng, dtype=dt))
        self.modules = {"encoder": self.encoder, "quantizer": self.quantizer,
                        "decoder": self.decoder}

    @property
    def bits_per_image(self):
        """The code's length: P log2 K bits (P symbols, each one of K)."""
        return self.n_positions * float(np.log2(self.n_codes))

    # -- inference -----------------------------------------------------------
    def encode_continuous(self, x):
        """z_e: (N, P, D) for x: (N, n_in)."""
        self._check_x(x, self.n_in)
        return batched(self.encoder.forward, x)

    def encode(self, x):
        """The discrete code: (N, P) ints in [0, K)."""
        z = self.encode_continuous(x)
        idx, _ = ops.vq_nearest(z.reshape(-1, self.code_dim), self.quantizer.codebook)
        return idx.reshape(z.shape[:2])

    def decode(self, codes):
        """codes: (N, P) ints -> x_hat: (N, n_in)."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.n_positions \
                or not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(f"codes must be an integer array (N, {self.n_positions}), "
                             f"got {codes.dtype} {codes.shape}")
        if codes.size and (codes.min() < 0 or codes.max() >= self.n_codes):
            raise ValueError(f"codes must lie in [0, {self.n_codes}), got values from "
                             f"{codes.min()} to {codes.max()}")
        return batched(self.decoder.forward, self.quantizer.codebook[codes])

    def reconstruct(self, x):
        """x_hat: (N, n_in) through the quantised code."""
        return self.decode(self.encode(x))

    def code_usage(self, x):
        """How often each code is chosen over all positions of x: (K,) counts."""
        return np.bincount(self.encode(x).ravel(), minlength=self.n_codes)

    # -- training --------------------------------------------------------------
    def stop_gradient_values(self, x):
        """The constants of the straight-through surrogate at the current
        parameters: ``(idx, z_e, z_q)`` flat ((N P,), (N P, D), (N P, D)).
        Pass them as ``loss_and_grad(x, frozen=...)``: the loss is then a
        smooth function of every parameter whose gradient is exactly what
        ``loss_and_grad`` returns (what ``tinyae.gradcheck`` checks)."""
        z = self.encode_continuous(x).reshape(-1, self.code_dim)
        idx, _ = ops.vq_nearest(z, self.quantizer.codebook)
        return idx, z.copy(), self.quantizer.codebook[idx].copy()

    def _forward(self, x, frozen):
        """Encoder, quantiser, decoder and squared error: (recon, dout)."""
        check_support(self._check_x(x, self.n_in), "gaussian")   # as every Gaussian model
        z_e = self.encoder.forward(x)                            # (N, P, D)
        z_q = self.quantizer.forward(z_e, frozen)                # (N, P, D), value e_k
        return ops.mse_loss(self.decoder.forward(z_q), x)        # out: (N, n_in)

    def _total(self, recon, C, B):
        counts = np.bincount(self.quantizer.indices.ravel(), minlength=self.n_codes)
        self.last_stats = {"recon": recon, "codebook": C, "commitment": B,
                           "perplexity": perplexity(counts),
                           "codes_used": float(np.count_nonzero(counts))}
        return recon + B + (C if self.codebook_update == "loss" else 0.0)

    def loss_and_grad(self, x, *, rng=None, frozen=None):
        """Loss per image (mean over the batch) and its gradients.

        x: (N, n_in). ``frozen``: see ``stop_gradient_values`` (default: the
        quantisation of this forward pass). ``rng`` is unused.
        """
        self.zero_grad()
        recon, dout = self._forward(x, frozen)
        dz_q = self.decoder.backward(dout)                       # (N, P, D)
        dz_e = self.quantizer.backward(dz_q)                     # straight through
        C, B, dz_commit = self.quantizer.losses(self.beta, x.shape[0])
        self.encoder.backward(dz_e + dz_commit, need_dx=False)
        return self._total(recon, C, B), self.grads

    def loss(self, x, *, rng=None, frozen=None):
        """The loss of ``loss_and_grad`` by a forward pass only."""
        recon, _ = self._forward(x, frozen)
        C, B, _ = self.quantizer.losses(self.beta, x.shape[0], grad=False)
        return self._total(recon, C, B)

    def restart_dead_codes(self, x, rng, *, min_count=1):
        """Give every code chosen fewer than ``min_count`` times over x's
        positions a new place: a random encoder output of x (without
        replacement). Returns the number of codes restarted."""
        check_rng(rng)
        z = self.encode_continuous(x).reshape(-1, self.code_dim)
        idx, _ = ops.vq_nearest(z, self.quantizer.codebook)
        counts = np.bincount(idx, minlength=self.n_codes)
        dead = np.flatnonzero(counts < min_count)
        if dead.size:
            pick = rng.choice(z.shape[0], size=dead.size, replace=dead.size > z.shape[0])
            self.quantizer.restart(dead, z[pick])
        return int(dead.size)


class CodebookEMA(OptimizerWrapper):
    """An optimiser for a VQ-VAE with ``codebook_update="ema"``: ``optimizer``
    steps the encoder and decoder, then the codes move to the exponential
    moving averages of the vectors assigned to them in the batch just seen
    (``VectorQuantizer.ema_update``; decay 0.99 as in the paper).

    Drop-in for ``tinyae.train.fit`` (``tinyae.optim.OptimizerWrapper``).
    """

    def __init__(self, model, optimizer, *, decay=0.99, eps=1e-5):
        if not isinstance(model, VQVAE) or model.codebook_update != "ema":
            raise ValueError("CodebookEMA needs a VQVAE(codebook_update='ema'), got "
                             f"{type(model).__name__}"
                             + (f" with codebook_update={model.codebook_update!r}"
                                if isinstance(model, VQVAE) else ""))
        super().__init__(optimizer)
        self.model = model
        self.decay = check_fraction(decay, "decay")
        self.eps = check_positive_float(eps, "eps")     # 0 would divide 0 by 0

    def after_step(self):
        self.model.quantizer.ema_update(self.decay, self.eps)


def normalized_mse(model, x, *, variance=None):
    """Mean squared error per pixel of ``model.reconstruct(x)`` divided by
    ``variance`` (default: x's pixel variance), the figure Keras' VQ-VAE
    example reports. x: (N, n_in)."""
    x = check_array(x, "x")
    var = float(np.var(x)) if variance is None else float(variance)
    return float(np.mean((model.reconstruct(x) - x) ** 2)) / var
