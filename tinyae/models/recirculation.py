"""Recirculation (Hinton and McClelland, 1988): an autoencoder that learns
without backpropagation, by comparing activations on the input with
activations on the reconstruction.

One sigmoid hidden layer, sigmoid visible units; x: (N, n_in) in [0, 1],
W1: (n_in, n_h), W2: (n_h, n_in) (``x W`` convention). Four passes:

    t = 0   visible  x0 = x
    t = 1   hidden   h1 = s(x0 W1 + b1)
    t = 2   visible  x2 = lam x0 + (1 - lam) s(h1 W2 + b2)    (regression lam)
    t = 3   hidden   h3 = s(x2 W1 + b1)

and each weight changes by its presynaptic activity times the change of its
postsynaptic unit between two visits (local rules, no error is sent back):

    dW2 ~ h1^T (x0 - x2),      dW1 ~ x2^T (h1 - h3)      (biases alike).

Why it approximates gradient descent. With r = s(h1 W2 + b2) the
reconstruction and L the Bernoulli negative log-likelihood (BCE),
x0 - x2 = (1 - lam)(x - r) and dL/dW2 = h1^T (r - x): the decoder's rule
is *exactly* (1 - lam) times the negative gradient. For the encoder, to
first order in (1 - lam), h3 - h1 = (1 - lam) s'(a1) * ((r - x) W1^T),
while the gradient needs s'(a1) * ((r - x) W2): the two agree when
W1 = W2^T. Hinton and McClelland observed that the rule itself drives the
weights towards that symmetry.

Here the regression acts on the visible units only, and the update is
divided by (1 - lam) so that one learning rate means the same decoder step
as backpropagation's.
"""

import numpy as np

from .._validation import check_choice, check_dtype, check_open_fraction, check_sizes
from ..backend import ops
from .mlp import MLPAutoencoder

RULES = ("recirculation", "backprop")


class RecirculationAutoencoder(MLPAutoencoder):
    """A one-hidden-layer sigmoid autoencoder trained by recirculation or
    backpropagation (``rule``), the loss being the Bernoulli NLL (BCE).

    sizes = (n_in, n_hidden): the layer sizes; ``regression``: lam in (0, 1).
    Parameter names as ``MLPAutoencoder(sizes=(n_in, n_hidden))``:
    ``encoder.0.W`` (W1), ``encoder.0.b``, ``decoder.0.W`` (W2),
    ``decoder.0.b``. ``loss_and_grad`` returns the BCE and, for
    ``rule="recirculation"``, minus the recirculation update (so any
    optimiser descends along it); ``recirculation_grads`` gives it directly.
    """

    def __init__(self, *, sizes, rng, regression=0.75, rule="recirculation",
                 init="glorot", dtype=np.float64):
        sizes = check_sizes(sizes)
        if len(sizes) != 2:
            raise ValueError(f"sizes must be (n_in, n_hidden): recirculation has one "
                             f"hidden layer, got sizes={sizes!r}")
        self.regression = check_open_fraction(regression, "regression")
        self.rule = check_choice(rule, "rule", RULES)
        super().__init__(sizes=sizes, rng=rng, activation="sigmoid",
                         code_activation="sigmoid", likelihood="bernoulli", init=init,
                         dtype=check_dtype(dtype))

    def recirculation_grads(self, x):
        """BCE of x and minus the recirculation update, divided by (1 - lam).

        x: (N, n_in). Returns ``(loss, grads)`` with the keys of ``params``;
        the four passes are in the module docstring. Means over the batch.
        """
        x, _ = self._inputs(x, None, None, None)        # shape, dtype, Bernoulli support
        lam, n = self.regression, x.shape[0]
        W1, b1 = self.encoder[0].params["W"], self.encoder[0].params["b"]
        W2, b2 = self.decoder[0].params["W"], self.decoder[0].params["b"]
        h1 = ops.linear_act_forward(x, W1, b1, "sigmoid")[0]          # (N, n_h)
        logits = ops.linear_forward(h1, W2, b2)[0]                    # (N, n_in)
        loss, _ = ops.bce_with_logits_loss(logits, x)
        r = ops.sigmoid_forward(logits)[0]
        x2 = lam * x + (1 - lam) * r                                  # t = 2
        h3 = ops.linear_act_forward(x2, W1, b1, "sigmoid")[0]         # t = 3
        scale = 1.0 / ((1 - lam) * n)
        dx_vis = (x2 - x) * scale                                     # -(x0 - x2)
        dh = (h3 - h1) * scale                                        # -(h1 - h3)
        grads = {"encoder.0.W": x2.T @ dh, "encoder.0.b": dh.sum(axis=0),
                 "decoder.0.W": h1.T @ dx_vis, "decoder.0.b": dx_vis.sum(axis=0)}
        self.last_stats = {"recon": loss}
        return loss, {k: g.astype(self.dtype, copy=False) for k, g in grads.items()}

    def loss_and_grad(self, x, *, target=None, noise=None, rng=None):
        """BCE and its gradient (``rule="backprop"``) or minus the
        recirculation update (``rule="recirculation"``). x: (N, n_in).
        ``loss`` (forward only) is ``MLPAutoencoder.loss``: the same BCE."""
        if self.rule == "backprop":
            return super().loss_and_grad(x, target=target, noise=noise, rng=rng)
        if target is not None or noise is not None:
            raise ValueError("recirculation reconstructs its clean input: target and "
                             "noise must be None")
        return self.recirculation_grads(x)

    def agreement(self, x):
        """Cosines between the recirculation update and the BCE gradient on x.

        Returns a dict: ``all`` (every parameter, concatenated),
        ``encoder.0.W`` and ``decoder.0.W`` (one block each), and
        ``symmetry``, the cosine between W1 and W2^T (1 when the decoder is
        the encoder's transpose up to scale: the condition under which the
        encoder's rule is the gradient). Leaves the model's gradients zeroed.
        """
        _, rec = self.recirculation_grads(x)        # fresh arrays, not self.grads
        _, true = MLPAutoencoder.loss_and_grad(self, x)
        out = {"all": _cosine(np.concatenate([rec[k].ravel() for k in true]),
                              np.concatenate([true[k].ravel() for k in true]))}
        for k in ("encoder.0.W", "decoder.0.W"):
            out[k] = _cosine(rec[k], true[k])
        out["symmetry"] = _cosine(self.params["encoder.0.W"], self.params["decoder.0.W"].T)
        self.zero_grad()
        return out


def _cosine(a, b):
    """a . b / (|a| |b|) over all elements (0 if either is 0), in float64."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0
