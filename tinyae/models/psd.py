"""Predictive sparse decomposition (Kavukcuoglu, Ranzato and LeCun, 2008):
sparse coding with a feed-forward encoder trained to predict the codes.

Sparse coding explains x: (N, d) by a sparse code z: (N, K) over a
dictionary D: (K, d) with unit-norm atoms, but each code costs an
optimisation (ISTA/FISTA, ``tinyae.inference.sparse_coding``). PSD trains, jointly
with D, an encoder that predicts the code in one pass,

    F(x) = g * tanh(x W + b)         (W: (d, K), b, g: (K,); g a per-atom gain)

by adding a prediction term to the energy of each example:

    E(x, z) = 1/2 ||x - z D||^2 + lam ||z||_1 + alpha/2 ||z - F(x)||^2.

Training alternates, per minibatch:

1. inference: z* = argmin_z E(x, z) by FISTA started at F(x) (the encoder's
   guess makes a few iterations enough; the prediction term is PSD's
   ``alpha`` in ``ops.ista_step_forward``);
2. learning: with z* fixed, one gradient step on the dictionary (through
   the reconstruction term) and the encoder (through the prediction term).

After training F(x) alone is a fast approximation of the sparse code.
"""

import numpy as np

from .._validation import (check_array, check_dtype, check_nonneg_float,
                           check_positive_float, check_positive_int, check_rng)
from ..backend import ops
from ..layers import Gain, Linear, Sequential, Tanh, UnitNormDictionary
from ..inference.sparse_coding import fista, lipschitz_constant
from ..losses import check_support
from .base import Model, batched


class PSD(Model):
    """Predictive sparse decomposition: dictionary + code-predicting encoder.

    n_in: signal size d; n_atoms: K (K > d: overcomplete); lam: the L1
    weight; alpha: the prediction term's weight; n_infer: FISTA iterations
    of the inference step in training (from the encoder's guess).

    Parameters: ``encoder.0.W``, ``encoder.0.b`` (the affine map),
    ``encoder.2.g`` (the gain), ``dictionary.V`` (the atoms before
    normalisation; ``dictionary.D`` are the atoms).
    Loss (per minibatch, mean over examples): E(x, z*) at the inferred codes.
    ``last_stats``: ``recon`` (1/2 ||x - z* D||^2), ``l1`` (lam ||z*||_1),
    ``prediction`` (alpha/2 ||z* - F(x)||^2), ``active`` (fraction of
    nonzero code entries).
    """

    def __init__(self, *, n_in, n_atoms, rng, lam=0.5, alpha=1.0, n_infer=15,
                 dtype=np.float64):
        super().__init__()
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_atoms = check_positive_int(n_atoms, "n_atoms")
        check_rng(rng)
        self.lam = check_nonneg_float(lam, "lam")
        self.alpha = check_positive_float(alpha, "alpha")
        self.n_infer = check_positive_int(n_infer, "n_infer")
        self.dtype = check_dtype(dtype)
        self.encoder = Sequential(Linear(n_in, n_atoms, rng=rng, dtype=self.dtype), Tanh(),
                                  Gain(n_atoms, dtype=self.dtype))
        self.dictionary = UnitNormDictionary(n_atoms, n_in, rng=rng, dtype=self.dtype)
        self.modules = {"encoder": self.encoder, "dictionary": self.dictionary}

    @property
    def D(self):
        """The atoms: (n_atoms, n_in), unit rows."""
        return self.dictionary.D

    def predict(self, x):
        """The encoder's codes F(x): (N, n_atoms) for x: (N, n_in)."""
        self._check_x(x, self.n_in)
        return batched(self.encoder.forward, x)

    def infer(self, x, *, n_iter=None, z0=None):
        """Codes by FISTA on E(x, .), from ``z0`` (default the encoder's
        prediction) for ``n_iter`` (default ``n_infer``) iterations."""
        self._check_x(x, self.n_in)
        p = self.encoder.forward(x)
        z, _ = fista(x, self.D, self.lam, n_iter=n_iter or self.n_infer,
                     z0=p if z0 is None else z0, alpha=self.alpha, p=p,
                     L=lipschitz_constant(self.D, self.alpha))
        return z

    def _codes(self, x, codes):
        check_support(self._check_x(x, self.n_in), "gaussian")   # squared error of x
        if codes is None:
            return self.infer(x)
        return check_array(codes, "codes", shape=(x.shape[0], self.n_atoms), dtype=self.dtype)

    def _energy(self, x, z, grad):
        """E(x, z) averaged over the batch; with ``grad`` its parameter
        gradients at fixed z are added into ``grads`` (cleared first)."""
        n = x.shape[0]
        if grad:
            self.zero_grad()
        rec, drec = ops.mse_loss(self.dictionary.forward(z), x)  # sum_d (.)^2, mean over N
        pred, dp = ops.mse_loss(self.encoder.forward(x), z)
        if grad:
            self.dictionary.backward(0.5 * drec, need_dx=False)
            self.encoder.backward((0.5 * self.alpha) * dp, need_dx=False)
        l1 = self.lam * float(np.sum(np.abs(z))) / n
        self.last_stats = {"recon": 0.5 * rec, "l1": l1, "prediction": 0.5 * self.alpha * pred,
                           "active": float(np.mean(z != 0))}
        return 0.5 * rec + l1 + 0.5 * self.alpha * pred

    def loss_and_grad(self, x, *, codes=None, rng=None):
        """E(x, z*) averaged over the batch and its gradient at fixed z*.

        x: (N, n_in). ``codes``: (N, n_atoms) the z* to use (default: inferred
        by ``infer``; pass them for a deterministic gradient check). ``rng``
        is unused. dictionary.V gets the reconstruction term's gradient
        (through ``UnitNormDictionary``), the encoder the prediction term's.
        """
        z = self._codes(x, codes)
        return self._energy(x, z, grad=True), self.grads

    def loss(self, x, *, codes=None, rng=None):
        """The loss of ``loss_and_grad`` without a backward pass."""
        return self._energy(x, self._codes(x, codes), grad=False)
