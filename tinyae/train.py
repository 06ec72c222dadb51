"""The fitting loop: minibatches, optimiser steps, per-epoch history.

    history = fit(model, x_train, optimizer=Adam(model.params, lr=1e-3),
                  epochs=5, batch_size=128, rng=np.random.default_rng(0),
                  val=x_test)

``data`` is an array (batch, features) or a tuple of aligned arrays, e.g.
``(x, onehot_labels)`` for a conditional model; each minibatch is passed
positionally to ``model.loss_and_grad(*batch, rng=rng)``.
"""

import math
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm  # the text bar: it renders in a terminal and a notebook alike

from . import checkpoint as _checkpoints
from ._validation import check_positive_float, check_positive_int, check_rng
from .data import minibatches
from .losses import LossOverflowError
from .optim import check_holds


class DivergenceError(FloatingPointError):
    """Training diverged: the loss grew by orders of magnitude over its
    running minimum, or a parameter became NaN or infinite."""


class NonFiniteLossError(DivergenceError):
    """Training produced a NaN or infinite loss."""


#: ``fit(divergence=...)`` default: a batch loss more than this many times
#: the loss scale above the running minimum stops training.
DEFAULT_DIVERGENCE = 100.0


def _as_tuple(data, name):
    arrays = data if isinstance(data, tuple) else (data,)
    if not arrays:
        raise ValueError(f"{name} must be an array or a tuple of arrays, got ()")
    for i, a in enumerate(arrays):
        label = name if len(arrays) == 1 else f"{name}[{i}]"
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{label} must be a numpy array, got {type(a).__name__}")
        if a.ndim == 0:
            raise ValueError(f"{label} must have a first (batch) axis, got a scalar")
        if a.shape[0] == 0:
            raise ValueError(f"{label} has 0 rows (shape {a.shape}): nothing to "
                             f"train on or evaluate")
        if a.shape[0] != arrays[0].shape[0]:
            raise ValueError(
                f"{name} arrays must have the same number of rows, got "
                f"{[b.shape[0] for b in arrays]}")
    return arrays


def _check_finite_params(model, last):
    """Raise DivergenceError naming the first parameter with NaN or inf.

    ``last`` = (epoch, step, loss, lr) of the optimiser step that ran last.
    ``fit`` calls this at the end of every epoch and whenever a batch loss
    comes out non-finite, not after every step: a pass over every parameter
    cost 3-6% of an MLP step (``python -m tinyae.bench``), and a parameter
    that turns non-finite makes the next loss non-finite, which is checked
    for free, so the error still names the step that did it."""
    epoch, step, loss, lr = last
    for k, p in model.params.items():
        with np.errstate(all="ignore"):      # the sum is a cheap first test
            suspicious = not np.isfinite(p.sum())
        if suspicious and not np.isfinite(p).all():
            raise DivergenceError(
                f"parameter {k!r} became non-finite (NaN or inf) in the optimiser "
                f"step at epoch {epoch}, step {step} (batch loss before it "
                f"{loss:.4g}); likely cause: the learning rate lr={lr:g} is too "
                f"large for this model, or an exploding gradient")


class _DivergenceWatch:
    """Stops a loss that has grown ``factor`` times its scale above its
    running minimum: ``loss - min > factor * max(|min|, |first|, 1)``.

    The scale is the larger of the minimum's and the first loss's magnitude
    (and 1 nat), so a loss near zero does not make every wobble look like
    divergence, and a loss that starts large is judged by that size."""

    def __init__(self, factor):
        self.factor = factor
        self.first = self.best = None
        self.where = None

    def __call__(self, loss, epoch, step, lr):
        if self.factor is None:
            return
        if self.first is None:
            self.first = loss
        if self.best is None or loss < self.best:
            self.best, self.where = loss, (epoch, step)
            return
        scale = max(abs(self.best), abs(self.first), 1.0)
        if loss - self.best > self.factor * scale:
            raise DivergenceError(
                f"training diverged at epoch {epoch}, step {step}: batch loss "
                f"{loss:.4g} is more than {self.factor:g} x {scale:.4g} above its "
                f"running minimum {self.best:.4g} (epoch {self.where[0]}, step "
                f"{self.where[1]}); likely cause: the learning rate lr={lr:g} is "
                f"too large (try a tenth of it). Pass divergence=None to fit to "
                f"switch this check off")


class _WeightedMean:
    """Running means of the loss and of ``model.last_stats``, each batch
    weighted by its number of rows (so a short last batch counts less)."""

    def __init__(self):
        self.total, self.stats, self.n = 0.0, {}, 0

    def add(self, loss, stats, rows):
        self.total += rows * loss
        for k, v in stats.items():
            self.stats[k] = self.stats.get(k, 0.0) + rows * v
        self.n += rows

    @property
    def loss(self):
        return self.total / self.n

    def means(self):
        return {k: v / self.n for k, v in self.stats.items()}


def evaluate(model, data, *, batch_size=1000, rng=None, transform=None):
    """Mean loss over ``data`` (weighted by batch size) and mean ``last_stats``.

    Uses ``model.loss``; ``rng`` feeds stochastic models (a fixed generator
    gives a reproducible number). Returns ``(loss, stats)``. Empty data is
    an error.
    """
    arrays = _as_tuple(data, "data")
    batch_size = check_positive_int(batch_size, "batch_size")
    mean = _WeightedMean()
    for batch in minibatches(*arrays, batch_size=batch_size, shuffle=False):
        if transform is not None:
            batch = (transform(batch[0], rng),) + batch[1:]
        loss = model.loss(*batch, rng=rng)
        mean.add(loss, model.last_stats, batch[0].shape[0])
    return mean.loss, mean.means()


def fit(model, data, *, optimizer, epochs, batch_size, rng, val=None,
        progress=True, transform=None, callback=None, lr_schedule=None,
        divergence=DEFAULT_DIVERGENCE, checkpoint=None, checkpoint_every=1, resume=False):
    """Train ``model`` with ``optimizer`` and return the history.

    - data: array (n, features) or tuple of aligned arrays.
    - rng: numpy Generator for the shuffling and every random draw of the model.
    - val: optional held-out data, evaluated after each epoch with a generator
      derived from ``rng`` (so the numbers are reproducible).
    - transform: optional ``f(x_batch, rng) -> x_batch`` applied to each
      training batch (e.g. dynamic binarisation). Not applied to ``val``:
      a held-out set is transformed once, by the caller, so every epoch is
      measured on the same data.
    - callback: optional ``f(epoch, history)`` called after each epoch.
    - lr_schedule: optional ``f(epoch) -> lr`` setting ``optimizer.lr`` at the
      start of each epoch (epochs count from 1), e.g.
      ``tinyae.optim.cosine_decay(1e-3, epochs)``.
    - progress: show a tqdm progress bar (switch off for tests and CI logs).
    - divergence: stop with DivergenceError when a batch loss rises more than
      ``divergence`` times its scale above the running minimum (see
      ``_DivergenceWatch``; default 100); None switches this off.

    history: dict of per-epoch lists: ``loss``, ``val_loss`` (if ``val``),
    one list per key of ``model.last_stats`` (``recon``, ``kl``...), and
    ``seconds``. Training stops with an error naming the epoch, the step and
    the likely cause when it diverges: a NaN or infinite loss
    (NonFiniteLossError), a loss grown by orders of magnitude (see
    ``divergence``) or a parameter that became NaN or inf after a step
    (both DivergenceError). That error is the whole report: NumPy's
    overflow and invalid-value warnings are off inside a step, since any
    NaN or inf they would flag reaches the loss, now or at the next step.
    A loss the model refuses as overflowed (``losses.LossOverflowError``)
    is the data's fault at the first step, at the initial weights, and
    passes through as the model's error; after a step it is reported as a
    non-finite loss.

    ``optimizer`` must hold this model's parameters (see
    ``tinyae.optim.check_holds``): one built on another model's arrays is
    an error.

    Resuming. ``checkpoint``: a ``.npz`` path; after every
    ``checkpoint_every`` epochs (and after the last) ``fit`` writes there,
    atomically, all a run needs to go on (``tinyae.checkpoint.save_training``:
    the model, the optimiser's state, ``rng``'s state, the history). With
    ``resume=True`` and that file present, ``fit`` first loads it and trains
    the epochs still missing up to ``epochs``: two epochs, an interruption,
    then ``fit(..., epochs=4, resume=True)`` gives the parameters of four
    epochs in one go, bit for bit (``rng`` must be of the same kind). Ctrl-C
    (KeyboardInterrupt) leaves the last complete checkpoint and says where it
    is before passing the interrupt on.
    """
    arrays = _as_tuple(data, "data")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_rng(rng)
    check_holds(optimizer, model.params)
    if divergence is not None:
        divergence = check_positive_float(divergence, "divergence")
    for fn_name, fn in (("transform", transform), ("callback", callback),
                        ("lr_schedule", lr_schedule)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{fn_name} must be callable or None, got {type(fn).__name__}")
    val_arrays = _as_tuple(val, "val") if val is not None else None
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<path of the run's checkpoint>")
    watch = _DivergenceWatch(divergence)
    steps_per_epoch = math.ceil(arrays[0].shape[0] / batch_size)
    history = {"loss": [], "seconds": []}
    done = 0                     # epochs already trained (a resumed run's)
    if resume and Path(checkpoint).exists():
        history, done = _checkpoints.load_training(checkpoint, model, optimizer, rng=rng)
        if done > epochs:
            raise ValueError(f"the checkpoint {str(checkpoint)!r} is after epoch {done}, "
                             f"beyond epochs={epochs}")
    saved_epoch = done if resume else None
    last = None                  # (epoch, step, loss, lr) of the last optimiser step
    bar = tqdm(total=(epochs - done) * steps_per_epoch, disable=not progress,
               unit="step", dynamic_ncols=True, leave=False)
    epoch, step = done, 0
    try:
        for epoch in range(done + 1, epochs + 1):
            start = time.perf_counter()
            if lr_schedule is not None:
                lr = lr_schedule(epoch)
                try:
                    optimizer.lr = lr
                except ValueError:
                    raise ValueError(
                        f"lr_schedule returned {lr!r} for epoch {epoch}; a learning "
                        f"rate must be a finite number > 0") from None
            mean = _WeightedMean()
            batches = minibatches(*arrays, batch_size=batch_size, rng=rng)
            for step, batch in enumerate(batches, 1):
                if transform is not None:
                    batch = (transform(batch[0], rng),) + batch[1:]
                with np.errstate(over="ignore", invalid="ignore"):
                    try:
                        loss, grads = model.loss_and_grad(*batch, rng=rng)
                    except LossOverflowError:
                        if last is None:         # the initial weights: the data's scale
                            raise
                        loss = math.inf          # trained weights: the steps' fault
                if not math.isfinite(loss):
                    if last is not None:         # a parameter went bad first?
                        _check_finite_params(model, last)
                    raise NonFiniteLossError(
                        f"loss became {loss} at epoch {epoch}, step {step} "
                        f"(of {steps_per_epoch}); try a smaller learning rate "
                        f"or check the inputs for NaN")
                watch(loss, epoch, step, optimizer.lr)
                optimizer.step(grads)
                last = (epoch, step, loss, optimizer.lr)
                mean.add(loss, model.last_stats, batch[0].shape[0])
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(epoch=epoch, loss=f"{mean.loss:.4g}")
            _check_finite_params(model, last)
            history["loss"].append(mean.loss)
            for k, v in mean.means().items():
                history.setdefault(k, []).append(v)
            if val_arrays is not None:
                val_rng = np.random.default_rng(rng.integers(2**63))
                val_loss, _ = evaluate(model, val_arrays, rng=val_rng)
                history.setdefault("val_loss", []).append(val_loss)
            history["seconds"].append(time.perf_counter() - start)
            if checkpoint is not None and (epoch % checkpoint_every == 0 or epoch == epochs):
                _checkpoints.save_training(checkpoint, model, optimizer, rng=rng,
                                           history=history, epoch=epoch)
                saved_epoch = epoch
            if callback is not None:
                callback(epoch, history)
    except KeyboardInterrupt:
        where = (f"the last complete checkpoint is {str(checkpoint)!r} (after epoch "
                 f"{saved_epoch}); go on with fit(..., resume=True)"
                 if saved_epoch else "no checkpoint was written (pass checkpoint=PATH "
                                     "to be able to resume)")
        print(f"\ninterrupted in epoch {epoch}, step {step}: {where}", file=sys.stderr)
        raise
    finally:
        bar.close()
    return history
