"""An energy-based latent-variable autoencoder trained by target propagation
(NYU Deep Learning, week 8: "amortised inference").

The energy of an observation y and a latent z, with a decoder network Dec
and an encoder network Enc that proposes z_tilde = Enc(y):

    E(y, z) = ||y - Dec(z)||^2 + lam_d ||z - z_tilde||^2,

C(y, y_tilde) = ||y - y_tilde||^2 the reconstruction cost and
D(z, z_tilde) = ||z - z_tilde||^2 the distance to the proposal. Inference
starts at the encoder's guess and descends the energy,

    z_check = argmin_z E(y, z)    (``infer``: gradient steps from z_tilde),

dE/dz = Dec'(z)^T 2 (Dec(z) - y) + 2 lam_d (z - z_tilde), the first term
being the decoder's ordinary backward pass run with dout = 2 (Dec(z) - y).
Training then treats z_check as a fixed target (target propagation: no
gradient flows through the inference):

    decoder: minimise C(y, Dec(z_check)),
    encoder: minimise D(z_check, Enc(y)),

so ``loss_and_grad`` returns the gradient of
``(1/N) sum_n [C(y_n, Dec(z_check_n)) + D(z_check_n, Enc(y_n))]`` with z_check
held constant (pass ``z_check`` for a deterministic gradient check). A good
encoder makes inference cheap: its guess already sits near the minimum, and
``infer(..., tol=...)`` reports how many steps each example needed.

For comparison, ``training="backprop"`` trains the very same networks as a
plain autoencoder: the gradient of C(y, Dec(Enc(y))) end to end, no
inference (the decoder's backward pass then continues into the encoder).

Networks: encoder n_0 -> ... -> n_k (hidden layers ``activation``, a linear
code), decoder mirrored back to n_0 with a linear output. With
``circular=True`` the decoder first maps the code to [cos z, sin z]
(``layers.AngleEmbedding``), so each latent is an angle, as in the course's
ellipse decoder. Parameter names ``encoder.<i>.W``, ``decoder.<i>.b``...
"""

import numpy as np

from .._validation import (check_array, check_choice, check_dtype, check_nonneg_float,
                           check_positive_float, check_positive_int, check_rng, check_sizes)
from ..backend import ops
from ..inference.energy import descend
from ..layers import ACTIVATIONS, INITS, AngleEmbedding, Sequential, dense_stack
from ..losses import check_support
from .base import Model, batched

#: training rule -> what ``loss_and_grad`` differentiates.
TRAINING = ("target_prop", "backprop")


class LatentEnergyAutoencoder(Model):
    """Decoder + amortising encoder, trained by target propagation.

    Hyperparameters (keyword-only): sizes = (n_0, ..., n_k) the encoder's
    widths (the decoder mirrors them); rng; activation (a key of
    ``layers.ACTIVATIONS``); circular: latents are angles; training:
    "target_prop" or "backprop"; lam_d >= 0: weight of D(z, z_tilde) in the
    energy; infer_lr > 0 and infer_steps >= 1: the gradient descent on z used
    in training; init, dtype. Loss: C + D, in ``last_stats`` as ``recon`` and
    ``code`` (``code`` is 0 under backprop).
    """

    def __init__(self, *, sizes, rng, activation="tanh", circular=False,
                 training="target_prop", lam_d=0.1, infer_lr=0.1, infer_steps=20,
                 init="glorot", dtype=np.float64):
        super().__init__()
        self.sizes = check_sizes(sizes)
        check_rng(rng)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.circular = bool(circular)
        self.training = check_choice(training, "training", TRAINING)
        self.lam_d = check_nonneg_float(lam_d, "lam_d")
        self.infer_lr = check_positive_float(infer_lr, "infer_lr")
        self.infer_steps = check_positive_int(infer_steps, "infer_steps")
        self.init = check_choice(init, "init", INITS)
        self.dtype = check_dtype(dtype)
        kw = dict(rng=rng, init=init, dtype=self.dtype, final_activation=False)
        self.encoder = dense_stack(self.sizes, activation, **kw)
        back = tuple(reversed(self.sizes))
        if self.circular:                      # code k -> [cos, sin] 2k -> ... -> n_0
            self.decoder = Sequential(AngleEmbedding(),
                                      *dense_stack((2 * back[0],) + back[1:], activation, **kw).layers)
        else:
            self.decoder = dense_stack(back, activation, **kw)
        self.modules = {"encoder": self.encoder, "decoder": self.decoder}

    # -- the energy and inference --------------------------------------------
    def _energy_and_grad(self, y, z, z_tilde):
        """Per-example E (n,) and dE/dz (n, k); decoder grads cleared after."""
        r = self.decoder.forward(z) - y                       # (n, n_0)
        E = np.sum(r * r, axis=1)
        dz = self.decoder.backward(2.0 * r)                    # (n, k)
        self.decoder.zero_grad()
        if z_tilde is not None and self.lam_d > 0:
            d = z - z_tilde
            E = E + self.lam_d * np.sum(d * d, axis=1)
            dz = dz + 2.0 * self.lam_d * d
        return E, dz

    def energy(self, y, z, z_tilde=None):
        """E(y, z) per example and its gradient in z: y (n, n_0), z (n, k) ->
        (E (n,), dE/dz (n, k)). Without ``z_tilde`` the D term is left out."""
        self._check_x(y, self.sizes[0], "y")
        self._check_x(z, self.sizes[-1], "z")
        if z_tilde is not None:
            check_array(z_tilde, "z_tilde", shape=z.shape, dtype=self.dtype)
        return self._energy_and_grad(y, z, z_tilde)

    def encode(self, y):
        """The encoder's proposal z_tilde = Enc(y): (n, n_0) -> (n, k)."""
        self._check_x(y, self.sizes[0], "y")
        return batched(self.encoder.forward, y)

    def decode(self, z):
        """Dec(z): (n, k) -> (n, n_0)."""
        self._check_x(z, self.sizes[-1], "z")
        return batched(self.decoder.forward, z)

    def infer(self, y, z0=None, *, z_tilde=None, steps=None, lr=None, tol=0.0, target=None):
        """z_check by gradient descent on E(y, z) from ``z0`` (default: the
        encoder's guess). ``z_tilde`` adds the D term (training uses z_tilde =
        z0 = Enc(y)); steps, lr default to infer_steps, infer_lr; an example
        stops once ||dE/dz|| <= tol or its energy <= target[n] (``descend``).
        Returns (z_check, steps taken (n,), E (n,))."""
        self._check_x(y, self.sizes[0], "y")
        z0 = self.encode(y) if z0 is None else self._check_x(z0, self.sizes[-1], "z0")
        if z_tilde is not None:
            check_array(z_tilde, "z_tilde", shape=z0.shape, dtype=self.dtype)
        return descend(lambda z: self._energy_and_grad(y, z, z_tilde), z0,
                       lr=self.infer_lr if lr is None else lr,
                       max_steps=self.infer_steps if steps is None else steps, tol=tol,
                       target=target)

    # -- training: target propagation ------------------------------------------
    def _targets(self, y, z_check):
        """z_tilde = Enc(y) (encoder cache kept) and z_check (given, checked,
        or inferred from z_tilde with ``infer_steps`` steps)."""
        z_tilde = self.encoder.forward(y)                      # (n, k)
        if z_check is None:
            z_check = descend(lambda z: self._energy_and_grad(y, z, z_tilde), z_tilde,
                              lr=self.infer_lr, max_steps=self.infer_steps)[0]
        else:
            check_array(z_check, "z_check", shape=z_tilde.shape, dtype=self.dtype)
        return z_tilde, z_check

    def loss_and_grad(self, y, *, z_check=None, rng=None):
        """Gradients of C(y, Dec(z_check)) (decoder) and D(z_check, Enc(y))
        (encoder), z_check fixed. y: (n, n_0); z_check: (n, k) or None (then
        inferred from Enc(y) with ``infer_steps`` steps). With
        ``training="backprop"``: the gradient of C(y, Dec(Enc(y))) instead
        (z_check unused). ``rng`` is unused. y so large that its squared
        error overflows is refused (``losses.check_support``)."""
        check_support(self._check_x(y, self.sizes[0], "y"), "gaussian", "y")
        if self.training == "backprop":
            self.zero_grad()
            recon, dout = ops.mse_loss(self.decoder.forward(self.encoder.forward(y)), y)
            self.encoder.backward(self.decoder.backward(dout), need_dx=False)
            self.last_stats = {"recon": recon, "code": 0.0}
            return recon, self.grads
        z_tilde, z_check = self._targets(y, z_check)
        self.zero_grad()                                       # inference touched no grads
        recon, dout = ops.mse_loss(self.decoder.forward(z_check), y)
        self.decoder.backward(dout, need_dx=False)
        code, dz_tilde = ops.mse_loss(z_tilde, z_check)        # D, mean over the batch
        self.encoder.backward(dz_tilde, need_dx=False)
        self.last_stats = {"recon": recon, "code": code}
        return recon + code, self.grads

    def loss(self, y, *, z_check=None, rng=None):
        """The loss of ``loss_and_grad`` without its parameter gradients. Under
        target propagation with ``z_check=None`` the inference still runs
        (it is gradient descent on z, through the decoder's backward pass,
        and leaves the decoder's gradients cleared)."""
        check_support(self._check_x(y, self.sizes[0], "y"), "gaussian", "y")
        if self.training == "backprop":
            recon = ops.mse_loss(self.decoder.forward(self.encoder.forward(y)), y)[0]
            self.last_stats = {"recon": recon, "code": 0.0}
            return recon
        z_tilde, z_check = self._targets(y, z_check)
        recon = ops.mse_loss(self.decoder.forward(z_check), y)[0]
        code = ops.mse_loss(z_tilde, z_check)[0]
        self.last_stats = {"recon": recon, "code": code}
        return recon + code
