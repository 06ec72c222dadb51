"""Optimisers over ``params``/``grads`` dicts, updating arrays in place.

State (velocities, moments) is keyed by parameter name, so an optimiser can be
inspected and a model's arrays never change identity. Weight decay is the L2
penalty ``(wd / 2) ||theta||^2`` folded into the gradient, ``g <- g + wd *
theta`` (as in PyTorch's SGD and Adam), applied to every parameter.

Which arrays an optimiser holds. It is built on a model's ``params`` dict and
keeps those very arrays; it updates nothing else. Two rules follow:

* ``step(grads)`` needs every key of ``params``, each gradient with its
  parameter's shape and dtype, and never a parameter array itself in place
  of its gradient (gradients of parameters it does not hold are ignored:
  an optimiser built on part of a model's parameters trains that part);
* ``check_holds(optimizer, model.params)`` raises unless every array the
  optimiser holds *is* (array identity) the model's parameter of the same
  name. ``tinyae.train.fit`` calls it before training, so an optimiser built
  on another model (a model re-created after its optimiser, as when one
  notebook cell is re-run) is an error instead of a run that trains
  nothing. Shapes cannot tell two such models apart; identity can.

Settings are checked when set: ``lr > 0`` and finite (also when a schedule
sets ``optimizer.lr``), ``weight_decay >= 0``, ``momentum`` and each of
Adam's ``betas`` in [0, 1) (at 1 the running average never forgets, and
Adam's bias correction divides by ``1 - 1^t = 0``), ``eps > 0``.
"""


import numpy as np

from ._validation import (check_decay, check_fraction, check_nonneg_float,
                          check_positive_float,
                          check_positive_int)
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
                f"model.params), got {type(params).__name__}"
                + (" (empty)" if isinstance(params, dict) else ""))
        for name, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(
                    f"params[{name!r}] must be a float numpy array, got "
                    f"{getattr(p, 'dtype', type(p).__name__)}")
        self.params = dict(params)
        self.lr = lr
        self.weight_decay = check_nonneg_float(weight_decay, "weight_decay")
        self.state = {name: {} for name in params}
        self.t = 0

    @property
    def lr(self):
        """The learning rate; setting it checks it is finite and > 0."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_positive_float(value, "lr")

    def step(self, grads):
        """Update every held parameter in place from ``grads``: a dict with
        (at least) the held keys, each gradient with its parameter's shape
        and dtype. Entries for parameters not held are ignored (frozen)."""
        if not isinstance(grads, dict):
            raise TypeError(f"grads must be a dict name -> array, got {type(grads).__name__}")
        missing = self.params.keys() - grads.keys()
        if missing:
            raise KeyError(f"grads has no entry for parameter(s) {sorted(missing)}")
        for name, p in self.params.items():
            g = grads[name]
            if g is p:
                raise ValueError(
                    f"grads[{name!r}] is the parameter array itself, not its "
                    f"gradient (passed model.params instead of the grads?)")
            if not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype != p.dtype:
                raise ValueError(
                    f"grads[{name!r}] must be an array of shape {p.shape} and dtype "
                    f"{p.dtype} like its parameter, got "
                    f"{getattr(g, 'shape', type(g).__name__)} "
                    f"{getattr(g, 'dtype', '')}: were the grads computed by another model?")
        self.t += 1
        for name, p in self.params.items():
            g = grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * p
            self._update(p, g, self.state[name])

    def _update(self, p, g, state):
        raise NotImplementedError

    # -- resuming (tinyae.checkpoint.save_training) ----------------------------
    def state_arrays(self):
        """Everything a resumed run needs to take the same next step: the
        step count, the learning rate and every slot (momentum, Adam's m and
        v) as ``{"t", "lr", "<param>/<slot>"}`` -> array."""
        out = {"t": np.array(self.t), "lr": np.array(self.lr)}
        for name, slots in self.state.items():
            for slot, a in slots.items():
                out[f"{name}/{slot}"] = a
        return out

    def load_state_arrays(self, arrays):
        """Take ``state_arrays()`` of a saved run (checked against the held
        parameters: names, shapes, dtypes)."""
        for key, a in arrays.items():
            if key in ("t", "lr"):
                continue
            name, _, slot = key.rpartition("/")
            p = self.params.get(name)
            if p is None or a.shape != p.shape or a.dtype != p.dtype:
                raise ValueError(
                    f"optimizer state {key!r} ({a.shape}, {a.dtype}) does not fit this "
                    f"optimizer's parameters" + (f" ({name}: {p.shape}, {p.dtype})"
                                                 if p is not None else ""))
        self.t = int(arrays["t"])
        self.lr = float(arrays["lr"])
        self.state = {name: {} for name in self.params}
        for key, a in arrays.items():
            if key not in ("t", "lr"):
                name, _, slot = key.rpartition("/")
                self.state[name][slot] = np.array(a, copy=True)


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
        self.momentum = check_decay(momentum, "momentum")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"nesterov must be True or False, got {nesterov!r}")
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
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_decay(betas[0], "betas[0]"), check_decay(betas[1], "betas[1]"))
        self.eps = check_positive_float(eps, "eps")

    def _update(self, p, g, state):
        # the formula, written out, is functional.adam_update; the kernel
        # backend makes it one pass over p, g, m and v instead of about ten
        b1, b2 = self.betas
        m, v = _slot(state, "m", p), _slot(state, "v", p)
        ops.adam_update(p, g, m, v, self.lr, b1, b2, self.eps, self.t)


def check_holds(optimizer, params, name="model.params"):
    """Raise ValueError unless each array ``optimizer.params`` holds is the
    very array ``params`` has under that name (a subset is fine: frozen
    parameters). Works with anything that has a ``params`` dict (an
    optimiser or a wrapper such as ``tinyae.analysis.scores.ParameterAverage``)."""
    held = getattr(optimizer, "params", None)
    if not isinstance(held, dict):
        raise TypeError(f"optimizer must hold a params dict (e.g. Adam(model.params)), "
                        f"got {type(optimizer).__name__}")
    unknown = sorted(held.keys() - params.keys())
    other = sorted(k for k in held.keys() & params.keys() if held[k] is not params[k])
    if not unknown and not other:
        return
    if unknown:
        why = f"it holds parameter(s) {unknown[:4]} that {name} has not"
    else:
        why = (f"{len(other)} of its arrays ({other[:3]}...) have the right names but are "
               f"not {name}'s arrays: the model was probably re-created after the "
               f"optimiser (a re-run notebook cell?)")
    raise ValueError(
        f"{type(optimizer).__name__} was built on another model's parameters ({why}); "
        f"stepping it would train nothing. Build it on this model: "
        f"{type(optimizer).__name__}(model.params, ...)")


class OptimizerWrapper:
    """Used in place of an optimiser: runs the wrapped ``optimizer``'s step,
    then ``after_step()`` (a subclass's extra work: a parameter average, a
    codebook's moving averages). ``params`` and ``lr`` are the wrapped
    optimiser's, read and set through here (so ``fit(lr_schedule=...)``
    reaches it)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.params = optimizer.params

    @property
    def lr(self):
        return self.optimizer.lr

    @lr.setter
    def lr(self, value):
        self.optimizer.lr = value

    def step(self, grads):
        self.optimizer.step(grads)
        self.after_step()

    def after_step(self):
        raise NotImplementedError

    def state_arrays(self):
        """The wrapped optimiser's state (a subclass adds its own)."""
        return self.optimizer.state_arrays()

    def load_state_arrays(self, arrays):
        self.optimizer.load_state_arrays(arrays)


def cosine_decay(lr, epochs, *, floor=1e-3):
    """Learning-rate schedule ``epoch -> lr`` for ``fit(lr_schedule=...)``.

    Half a cosine from ``lr`` at epoch 1 towards 0 after the last epoch,

        lr_e = max(lr / 2 * (1 + cos(pi (e - 1) / epochs)), floor * lr),

    so early epochs move fast and the last ones settle (Loshchilov and
    Hutter, 2017, without restarts).
    """
    lr = check_positive_float(lr, "lr")
    epochs = check_positive_int(epochs, "epochs")
    floor = check_fraction(floor, "floor")
    if floor == 0:
        raise ValueError(f"floor must be in (0, 1] (a rate of 0 trains nothing), got {floor!r}")

    def schedule(epoch):
        return max(0.5 * lr * (1 + np.cos(np.pi * (epoch - 1) / epochs)), floor * lr)
    return schedule
