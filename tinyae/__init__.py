"""tinyae: autoencoders from scratch, with hand-written, gradient-checked
backward passes.

Modules (one idea each):

* ``functional`` — the NumPy reference ops (the maths a student reads);
* ``kernels`` — their Numba twins; ``backend`` picks one or the other;
* ``layers``, ``losses``, ``models``, ``optim`` — the building blocks;
* ``gradcheck`` — finite-difference checking (``python -m tinyae.gradcheck``);
* ``data``, ``train``, ``checkpoint`` — MNIST and synthetic sets, the
  fitting loop, saving and loading without pickle;
* ``imputation`` — exact baselines for hidden pixels (the mean, the
  conditional-Gaussian fill in closed form);
* ``retrieval``, ``compression`` — what codes are for: search (rankings,
  precision@k, mAP, hash baselines) and a Huffman coder with quantisation
  and deep compression (pruning, weight sharing);
* ``plotting`` — figures (the only module that imports matplotlib).
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
