"""The fitting loop: minibatches, optimiser steps, per-epoch history.

    history = fit(model, x_train, optimizer=Adam(model.params, lr=1e-3),
                  epochs=5, batch_size=128, rng=np.random.default_rng(0),
                  val=x_test)

``data`` is an array (batch, features) or a tuple of aligned arrays, e.g.
``(x, onehot_labels)`` for a conditional model; each minibatch is passed
positionally to ``model.loss_and_grad(*batch, rng=rng)``.
"""

import math
import time

import numpy as np
from tqdm.auto import tqdm

from ._validation import check_positive_int, check_rng
from .data import minibatches


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


def _as_tuple(data, name):
    arrays = data if isinstance(data, tuple) else (data,)
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name}[{i}] must be a numpy array, got {type(a).__name__}")
        if a.shape[0] != arrays[0].shape[0]:
            raise ValueError(
                f"{name} arrays must have the same number of rows, got "
                f"{[b.shape[0] for b in arrays]}")
    return arrays


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
    gives a reproducible number). Returns ``(loss, stats)``.
    """
    arrays = _as_tuple(data, "data")
    mean = _WeightedMean()
    for batch in minibatches(*arrays, batch_size=batch_size, shuffle=False):
        if transform is not None:
            batch = (transform(batch[0], rng),) + batch[1:]
        loss = model.loss(*batch, rng=rng)
        mean.add(loss, model.last_stats, batch[0].shape[0])
    return mean.loss, mean.means()


def fit(model, data, *, optimizer, epochs, batch_size, rng, val=None,
        progress=True, transform=None, callback=None, lr_schedule=None):
    """Train ``model`` with ``optimizer`` and return the history.

    data: array (n, features) or tuple of aligned arrays.
    rng: numpy Generator for the shuffling and every random draw of the model.
    val: optional held-out data, evaluated after each epoch with a generator
        derived from ``rng`` (so the numbers are reproducible).
    transform: optional ``f(x_batch, rng) -> x_batch`` applied to each
        training batch (e.g. dynamic binarisation). Not applied to ``val``:
        a held-out set is transformed once, by the caller, so every epoch is
        measured on the same data.
    callback: optional ``f(epoch, history)`` called after each epoch.
    lr_schedule: optional ``f(epoch) -> lr`` setting ``optimizer.lr`` at the
        start of each epoch (epochs count from 1), e.g.
        ``tinyae.optim.cosine_decay(1e-3, epochs)``.
    progress: show a tqdm progress bar (switch off for tests and CI logs).

    history: dict of per-epoch lists: ``loss``, ``val_loss`` (if ``val``),
    one list per key of ``model.last_stats`` (``recon``, ``kl``...), and
    ``seconds``. A NaN or infinite loss raises NonFiniteLossError naming the
    epoch and step.
    """
    arrays = _as_tuple(data, "data")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_rng(rng)
    val_arrays = _as_tuple(val, "val") if val is not None else None
    steps_per_epoch = math.ceil(arrays[0].shape[0] / batch_size)
    history = {"loss": [], "seconds": []}
    bar = tqdm(total=epochs * steps_per_epoch, disable=not progress,
               unit="step", dynamic_ncols=True, leave=False)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(epoch)
            mean = _WeightedMean()
            batches = minibatches(*arrays, batch_size=batch_size, rng=rng)
            for step, batch in enumerate(batches, 1):
                if transform is not None:
                    batch = (transform(batch[0], rng),) + batch[1:]
                loss, grads = model.loss_and_grad(*batch, rng=rng)
                if not math.isfinite(loss):
                    raise NonFiniteLossError(
                        f"loss became {loss} at epoch {epoch}, step {step} "
                        f"(of {steps_per_epoch}); try a smaller learning rate "
                        f"or check the inputs for NaN")
                optimizer.step(grads)
                mean.add(loss, model.last_stats, batch[0].shape[0])
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(epoch=epoch, loss=f"{mean.loss:.4g}")
            history["loss"].append(mean.loss)
            for k, v in mean.means().items():
                history.setdefault(k, []).append(v)
            if val_arrays is not None:
                val_rng = np.random.default_rng(rng.integers(2**63))
                val_loss, _ = evaluate(model, val_arrays, rng=val_rng)
                history.setdefault("val_loss", []).append(val_loss)
            history["seconds"].append(time.perf_counter() - start)
            if callback is not None:
                callback(epoch, history)
    finally:
        bar.close()
    return history
