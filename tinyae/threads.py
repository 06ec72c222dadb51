"""Threads: the one place that sets how many threads OpenBLAS and Numba use.

Every matrix product in tinyae goes through NumPy's OpenBLAS, and the Numba
kernels have a parallel pool of their own; on a small shared machine the two
can fight, so both are set here and nowhere else (see lesson 09).
"""

import contextlib
import ctypes
import functools
import glob
import os


#: Environment variable read by ``tinyae.course.lesson`` for its default thread count.
THREADS_ENV = "TINYAE_THREADS"

_SET_THREADS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                "openblas_set_num_threads64_", "openblas_set_num_threads")
_GET_THREADS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                "openblas_get_num_threads64_", "openblas_get_num_threads")


@functools.lru_cache(maxsize=None)
def _openblas_fn(names):
    """The first of ``names`` NumPy's OpenBLAS exports, or None."""
    lib = _numpy_openblas()
    for sym in names if lib is not None else ():
        fn = getattr(lib, sym, None)
        if fn is not None:
            return fn
    return None


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
    _check_count(n)
    done = {"openblas": _set_blas(n), "numba": False}
    import numba
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    done["numba"] = True
    return done


def _check_count(n):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer number of threads, got {n!r}")


def _set_blas(n):
    """Set OpenBLAS's thread count; False if its setter cannot be found."""
    fn = _openblas_fn(_SET_THREADS)
    if fn is not None:
        fn(ctypes.c_int(n))
    return fn is not None


def blas_thread_count():
    """How many threads NumPy's OpenBLAS uses now (None if it cannot be asked)."""
    fn = _openblas_fn(_GET_THREADS)
    return None if fn is None else int(fn())


@contextlib.contextmanager
def blas_threads(n):
    """Inside the ``with``, NumPy's OpenBLAS uses ``n`` threads; the count
    before is restored on the way out, an exception included.

    ``tinyae.parallel.DataParallel`` runs its workers' products with one
    thread each this way: a product called from two threads at once with a
    pool of two would run its four threads on two cores, or queue for the
    pool. Setting and restoring the count took 3.4 us here once the pool's
    threads exist, so a step can do it. Numba's kernels
    here are serial (``docs/performance.md``, ``parallel=False``) and need
    nothing.
    """
    _check_count(n)
    before = blas_thread_count()
    if before is None or before == n:
        yield
        return
    _set_blas(n)
    try:
        yield
    finally:
        _set_blas(before)
