"""tinyae: autoencoders from scratch, with hand-written, gradient-checked
backward passes.

The layout shows the design:

* the core — ``functional`` (the NumPy reference ops, each gradient derived
  in its docstring), ``kernels`` (their Numba twins; ``backend`` picks one,
  ``threads`` sets BLAS and Numba threads), ``layers`` (one module per op
  family), ``losses``, ``penalties``, ``distributions``, ``bounds``,
  ``corruption``, ``models`` (one file per family), ``optim``, ``train``,
  ``parallel`` (a step's batch split over threads), ``checkpoint``, ``data``,
  and ``gradcheck`` (``python -m tinyae.gradcheck``);
* ``analysis`` — what codes are for, the tools of the later lessons
  (t-SNE, search and hashing, compression, ROC, scores, MMD, imputation);
* ``inference`` — codes found by optimisation (ISTA/FISTA, energy descent);
* ``course`` — the course tooling: lessons, notebooks, exercises, the
  course book, figures (the only place matplotlib is imported), the
  ``tinyae`` command; ``bench`` — the benchmark.
"""

from . import backend, checkpoint, data, layers, losses, models, optim, train
from .backend import get_backend, set_backend
from .models import MLPAutoencoder
from .optim import SGD, Adam, Momentum
from .train import NonFiniteLossError, fit

__version__ = "0.1.0"

__all__ = ["backend", "checkpoint", "data", "layers", "losses", "models", "optim",
           "train", "get_backend", "set_backend", "MLPAutoencoder", "SGD", "Adam",
           "Momentum", "NonFiniteLossError", "fit"]
