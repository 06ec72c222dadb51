"""Chooses, for every op, the NumPy reference or its Numba twin.

This is the only module that knows both exist. Layers, losses and models call
``ops.<name>(...)``; which implementation answers is decided here:

* ``set_backend("numpy")`` or ``set_backend("numba")`` at run time, or
* the environment variable ``TINYAE_BACKEND`` (read once, at the first op
  or ``get_backend()`` call).

The default is ``"numba"``: the fast twin. ``"numpy"`` runs the readable
reference in ``tinyae.functional``. Both give the same numbers (to 1e-12
relative in float64; the test suite checks every op).

    >>> from tinyae import backend
    >>> with backend.use("numpy"):
    ...     out, cache = backend.ops.sigmoid_forward(x)
"""

import contextlib
import ctypes
import glob
import importlib
import os

#: Every op a backend must provide (same name, signature and cache in both).
OP_NAMES = (
    "linear_forward", "linear_backward",
    "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward",
    "relu_forward", "relu_backward",
    "softplus_forward", "softplus_backward",
    "identity_forward", "identity_backward",
    "mse_loss", "bce_with_logits_loss", "gaussian_nll_loss",
    # fused ops of the training step (see the end of tinyae.functional)
    "linear_act_forward", "linear_act_backward", "adam_update",
    "contractive_penalty", "kl_sparsity",
    "reparameterize_kl", "reparameterize_kl_backward",
    "gaussian_corrupt", "masking_corrupt",
)

#: Backend name -> module that implements OP_NAMES.
BACKENDS = {"numpy": "tinyae.functional", "numba": "tinyae.kernels"}

ENV_VAR = "TINYAE_BACKEND"
_DEFAULT = "numba"
_current = None
_current_module = None


def _resolve(name):
    if name not in BACKENDS:
        raise ValueError(
            f"backend must be one of {sorted(BACKENDS)}, got {name!r}")
    return name


def set_backend(name):
    """Route every op through backend ``name`` ("numpy" or "numba")."""
    global _current, _current_module
    _current_module = importlib.import_module(BACKENDS[_resolve(name)])
    _current = name


def get_backend():
    """Name of the backend in use."""
    if _current is None:
        env = os.environ.get(ENV_VAR, _DEFAULT)
        try:
            set_backend(env)
        except ValueError:
            raise ValueError(
                f"environment variable {ENV_VAR} must be one of "
                f"{sorted(BACKENDS)}, got {env!r}") from None
    return _current


def module(name=None):
    """The module implementing backend ``name`` (default: the current one)."""
    return importlib.import_module(BACKENDS[_resolve(name or get_backend())])


@contextlib.contextmanager
def use(name):
    """Context manager: run a block with backend ``name``, then restore."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


class _Ops:
    """``ops.linear_forward`` is the current backend's ``linear_forward``."""

    def __getattr__(self, op):
        if _current_module is None:
            get_backend()
        return getattr(_current_module, op)

    def __dir__(self):
        return list(OP_NAMES)


ops = _Ops()


# --------------------------------------------------------------------------
# Threads: the one place that sets how many threads OpenBLAS and Numba use.
# --------------------------------------------------------------------------

#: Environment variable read by ``tinyae.lesson`` for its default thread count.
THREADS_ENV = "TINYAE_THREADS"

_SET_THREADS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                "openblas_set_num_threads64_", "openblas_set_num_threads")


def _numpy_openblas():
    """ctypes handle of the OpenBLAS NumPy is linked with, or None."""
    import numpy as np
    root = os.path.dirname(os.path.dirname(np.__file__))
    for path in sorted(glob.glob(os.path.join(root, "numpy.libs", "*openblas*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def set_threads(n):
    """Use ``n`` threads for NumPy's OpenBLAS (every matrix product in tinyae
    goes through it) and for Numba's parallel pool.

    On a machine whose cores are busy with other work, more BLAS threads
    than free cores make each product wait for a descheduled thread: one
    thread can then be many times faster (see lesson 09 and
    ``python -m tinyae.bench --threads``). Returns a dict saying which pools
    were set (a pool that cannot be found is reported, not guessed).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer number of threads, got {n!r}")
    done = {"openblas": False, "numba": False}
    lib = _numpy_openblas()
    for sym in _SET_THREADS if lib is not None else ():
        fn = getattr(lib, sym, None)
        if fn is not None:
            fn(ctypes.c_int(n))
            done["openblas"] = True
            break
    import numba
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    done["numba"] = True
    return done
