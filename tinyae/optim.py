"""Optimisers over ``params``/``grads`` dicts, updating arrays in place.

State (velocities, moments) is keyed by parameter name, so an optimiser can be
inspected and a model's arrays never change identity. Weight decay is the L2
penalty ``(wd / 2) ||theta||^2`` folded into the gradient, ``g <- g + wd *
theta`` (as in PyTorch's SGD and Adam), applied to every parameter.
"""

import numpy as np

from ._validation import check_fraction, check_nonneg_float, check_positive_float
from .backend import ops


def _slot(state, key, p):
    """state[key], created as zeros like p on first use (not on every call,
    as ``setdefault(key, np.zeros_like(p))`` would: that allocates each step)."""
    a = state.get(key)
    if a is None:
        a = state[key] = np.zeros_like(p)
    return a


class Optimizer:
    """Base class. ``step(grads)`` updates every array of ``params`` in place."""

    def __init__(self, params, *, lr, weight_decay=0.0):
        if not isinstance(params, dict) or not params:
            raise ValueError(
                f"params must be a non-empty dict name -> array (e.g. "
                f"model.params), got {type(params).__name__}")
        self.params = params
        self.lr = check_positive_float(lr, "lr")
        self.weight_decay = check_nonneg_float(weight_decay, "weight_decay")
        self.state = {name: {} for name in params}
        self.t = 0

    def step(self, grads):
        missing = self.params.keys() - grads.keys()
        if missing:
            raise KeyError(f"grads has no entry for parameter(s) {sorted(missing)}")
        self.t += 1
        for name, p in self.params.items():
            g = grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * p
            self._update(p, g, self.state[name])

    def _update(self, p, g, state):
        raise NotImplementedError


class SGD(Optimizer):
    """``theta <- theta - lr * g``."""

    def _update(self, p, g, state):
        p -= self.lr * g


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v <- mu v + g``, ``theta <- theta - lr v``.

    With ``nesterov=True`` the step uses the look-ahead ``g + mu v``.
    """

    def __init__(self, params, *, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.momentum = check_fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)

    def _update(self, p, g, state):
        v = _slot(state, "v", p)
        v *= self.momentum
        v += g
        p -= self.lr * (g + self.momentum * v if self.nesterov else v)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction.

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps),
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
    """

    def __init__(self, params, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0):
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        b1, b2 = betas
        self.betas = (check_fraction(b1, "betas[0]"), check_fraction(b2, "betas[1]"))
        self.eps = check_positive_float(eps, "eps")

    def _update(self, p, g, state):
        # the formula, written out, is functional.adam_update; the kernel
        # backend makes it one pass over p, g, m and v instead of about ten
        b1, b2 = self.betas
        m, v = _slot(state, "m", p), _slot(state, "v", p)
        ops.adam_update(p, g, m, v, self.lr, b1, b2, self.eps, self.t)


def cosine_decay(lr, epochs, *, floor=1e-3):
    """Learning-rate schedule ``epoch -> lr`` for ``fit(lr_schedule=...)``.

    Half a cosine from ``lr`` at epoch 1 towards 0 after the last epoch,

        lr_e = max(lr / 2 * (1 + cos(pi (e - 1) / epochs)), floor * lr),

    so early epochs move fast and the last ones settle (Loshchilov and
    Hutter, 2017, without restarts).
    """
    lr = check_positive_float(lr, "lr")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")

    def schedule(epoch):
        return max(0.5 * lr * (1 + np.cos(np.pi * (epoch - 1) / epochs)), floor * lr)
    return schedule
