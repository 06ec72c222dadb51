"""Data parallelism over threads: one training step's batch split across
workers, each running the whole forward and backward pass on its share.

    model = ConvAutoencoder(**PML_BOOK_CNN, rng=rng, dtype=np.float32)
    fit(DataParallel(model, workers=2), x, optimizer=Adam(model.params), ...)

Why. With ``tinyae.threads.set_threads(2)`` only the matrix products use
the second core: OpenBLAS splits each product over two threads, while
every pass around them (im2col, col2im, pooling, the bias and ReLU passes:
Numba loops, serial by design, ``docs/performance.md``) runs on one core
as the other spins. For the book's CNN that is about a third of a step.
``DataParallel`` instead gives each worker its own slice of the batch and
a one-thread BLAS, so both cores run everything: the same step took
0.77-0.84 of the two-thread BLAS step's time in float32 and 0.79 in
float64 (median of alternating rounds in one process; ``docs/performance.md``,
"A step's batch split over threads").

The gradient. A model's loss is the mean over the batch of per-example
terms (the convention everywhere in tinyae), so for slices of n_1 ... n_W
examples out of N,

    L = sum_w (n_w / N) L_w,     dL/dtheta = sum_w (n_w / N) dL_w/dtheta,

with L_w the mean over slice w. Worker 0 is the model itself (its
gradient arrays receive the weighted sum, so ``model.grads`` is the
batch's gradient afterwards, as after ``model.loss_and_grad``); the other
workers are replicas that share the model's parameter arrays (an
optimiser's in-place step reaches them all) and keep their own caches and
gradients. The result equals the unsplit step's up to the order of the
additions (tested against it to 1e-12 in float64, uneven slices
included). It does not hold for a loss with a term over the whole batch
(the sparse autoencoder's mean activation, batch statistics): a model says
whether its step splits (``Model._split_refusal``), and ``DataParallel``
refuses the others with the model's reason. Random inputs are drawn before
the split: a model that draws from ``rng`` (a denoising autoencoder's
noise, a VAE's eps, the MAE's mask) says what it would draw
(``Model._split_draws``; ``models.base.SplitsOverExamples`` writes both
declarations for a model with one such input), the wrapper draws it for
the whole batch, as the unsplit call would, and hands each worker its
slice. The workers get no ``rng``, so a draw no
model declared would be an error, never a silent difference.

Threads. The products of each worker run on one OpenBLAS thread (inside
``tinyae.threads.blas_threads(1)``; the count is restored after the step).
Worker 0 runs in the calling thread, the others in a pool of threads the
wrapper keeps; the Numba kernels release the GIL (``nogil``), and so does
NumPy inside its products and array loops. For a step made of large
products alone (the MLPs') two BLAS threads are faster, and for one made of
many small operations (the MAE's) the GIL serialises the workers' Python:
``python -m tinyae.bench`` reports both ways (its ``split`` column).
"""

import copy
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ._validation import check_positive_int
from .threads import blas_threads


class DataParallel:
    """``model`` with its ``loss_and_grad`` split over ``workers`` threads.

    Everything else is the model's: ``params``, ``grads``, ``state``,
    ``loss``, ``encode`` ... are read from it (``fit``, the optimisers and
    the checkpoints see the model's own arrays). ``last_stats`` (the
    wrapper's and the model's) is the batch's: each entry the
    slice-weighted mean of the workers'.
    A batch of fewer examples than workers uses as many workers as it has
    examples; an empty one is the model's own call.
    """

    def __init__(self, model, workers=2):
        self.workers = check_positive_int(workers, "workers")
        refusal = _refusal(model, None)
        if refusal is not None:
            raise ValueError(f"DataParallel cannot split {type(model).__name__}'s batch: "
                             f"{refusal}")
        self.model = model
        self.last_stats = {}
        self._replicas, self._signature = [], None
        self._pool = None
        self._lock = threading.Lock()          # one split step at a time

    def __getattr__(self, name):
        if name == "model":                    # not set yet (copying): no recursion
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self):
        return f"DataParallel({self.model!r}, workers={self.workers})"

    def loss_and_grad(self, *data, rng=None, **kwargs):
        """The model's ``loss_and_grad(*data, **kwargs)`` on the batch,
        computed on slices of it in ``workers`` threads and combined with
        the slices' weights (the module docstring). Per-example keyword
        arrays (``target=``, ``noise=``, ``eps=``, ``mask=``: first axis the
        batch) are sliced with the data. What the model would draw from
        ``rng`` (a corruption's noise, a VAE's eps, the MAE's mask:
        ``Model._split_draws``) is drawn here first, for the whole batch and
        as the model draws it, then sliced; ``rng`` itself is not passed on."""
        if not data:
            raise TypeError("loss_and_grad needs the batch: loss_and_grad(x, ...)")
        if rng is not None:                    # the whole batch's draws, then sliced
            kwargs = {**kwargs, **self.model._split_draws(data, kwargs, rng)}
        refusal = _refusal(self.model, kwargs)
        if refusal is not None:
            raise ValueError(f"DataParallel cannot split {type(self.model).__name__}'s "
                             f"batch: {refusal}")
        n = int(np.shape(data[0])[0])
        sizes = [s for s in _shares(n, self.workers) if s > 0]
        if len(sizes) <= 1:
            loss, grads = self.model.loss_and_grad(*data, **kwargs)
            self.last_stats = dict(self.model.last_stats)
            return loss, grads
        with self._lock:
            return self._split_step(data, kwargs, n, sizes)

    def _split_step(self, data, kwargs, n, sizes):
        replicas = self._synced_replicas(len(sizes) - 1)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="tinyae-dp")
        edges = np.concatenate([[0], np.cumsum(sizes)])
        pieces = [_slice(data, kwargs, n, edges[w], edges[w + 1]) for w in range(len(sizes))]
        with blas_threads(1):
            futures = [self._pool.submit(_run, rep, *pieces[w + 1])
                       for w, rep in enumerate(replicas)]
            try:
                loss, grads = _run(self.model, *pieces[0])
            finally:
                wait(futures)                   # no worker outlives the step
            results = [f.result() for f in futures]    # a worker's error is raised here
        weights = [s / n for s in sizes]
        stats = [self.model.last_stats] + [rep.last_stats for rep in replicas]
        for name, g in grads.items():
            g *= weights[0]
            for w, (_, rep_grads) in enumerate(results, 1):
                g += weights[w] * rep_grads[name]
        loss = weights[0] * loss + sum(weights[w] * r[0] for w, r in enumerate(results, 1))
        self.last_stats = {k: sum(wt * s[k] for wt, s in zip(weights, stats))
                           for k in stats[0]}
        self.model.last_stats = dict(self.last_stats)
        return loss, grads

    def _synced_replicas(self, count):
        """``count`` replicas whose parameters and buffers are the model's
        very arrays, those every layer holds at any depth: all rebuilt if
        one of them was replaced since (``layer.params["W"] = new``
        instead of an in-place update), so a replica never computes with
        weights the model no longer has."""
        arrays = _layer_arrays(self.model)
        signature = [id(a) for a in arrays]
        if signature != self._signature:
            self._replicas, self._signature = [], signature
        while len(self._replicas) < count:
            memo = {id(a): a for a in arrays}
            self._replicas.append(copy.deepcopy(self.model, memo))
        return self._replicas[:count]

    def close(self):
        """Stop the worker threads (a later step starts them again)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _refusal(model, kwargs):
    """Why ``model``'s step cannot be split for a call with ``kwargs`` (None:
    for any call), or None."""
    check = getattr(model, "_split_refusal", None)
    if check is None:
        return (f"it is not a tinyae model (no _split_refusal): "
                f"got {type(model).__name__}")
    return check(kwargs)


def _shares(n, workers):
    """Slice sizes of n examples over ``workers``: as even as can be, the
    larger first (10 over 3: 4, 3, 3)."""
    return [n // workers + (w < n % workers) for w in range(workers)]


def _slice(data, kwargs, n, lo, hi):
    """(data, kwargs) of examples lo..hi: every array whose first axis is the
    batch is sliced (a view), anything else passed as is."""
    def cut(a):
        return a[lo:hi] if isinstance(a, np.ndarray) and a.ndim and a.shape[0] == n else a
    return tuple(cut(a) for a in data), {k: cut(v) for k, v in kwargs.items()}


def _run(model, data, kwargs):
    return model.loss_and_grad(*data, **kwargs)


def _layer_arrays(model):
    """Every parameter and buffer array of every layer of ``model``, the
    containers' and their children's (``Layer._children``), in a fixed order."""
    arrays, seen = [], set()

    def walk(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        for d in (layer.params, layer.buffers):
            arrays.extend(d[k] for k in sorted(d))
        for child in layer._children:
            walk(child)
    for name in model.modules:
        walk(model.modules[name])
    return arrays
