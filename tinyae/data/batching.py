"""Minibatches of aligned arrays, shuffled by a Generator passed in."""

from __future__ import annotations


import numpy as np

from tinyae._validation import (
    check_positive_int,
    check_rng,
)


# --------------------------------------------------------------------------
# minibatches
# --------------------------------------------------------------------------


def minibatches(*arrays, batch_size, rng=None, shuffle=True, drop_last=False):
    """Yield aligned minibatches from one or more arrays with the same first dimension.

    - arrays : each (n, ...); all share n.
    - batch_size : int >= 1.
    - rng : numpy.random.Generator, required when ``shuffle`` is True (one
      permutation of range(n) is drawn when ``minibatches`` is called).
    - shuffle : visit the rows in the order of that permutation; else in order.
    - drop_last : skip the final batch if it has fewer than batch_size rows.

    Always yields a tuple with one array per input, e.g.
    ``for (xb,) in minibatches(x, ...)`` or ``for xb, yb in minibatches(x, y, ...)``;
    each is (b, ...) with b == batch_size except perhaps the last.
    Shuffled batches are copies; unshuffled batches are views.

    Arguments are checked at call time, before the first batch is asked for.
    """
    if not arrays:
        raise ValueError("minibatches needs at least one array, got none")
    arrays = tuple(np.asarray(a) for a in arrays)
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"arrays[{i}] must have at least one dimension, got a scalar")
    lengths = [a.shape[0] for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"all arrays must have the same first dimension, got lengths {lengths}")
    batch_size = check_positive_int(batch_size, "batch_size")
    if shuffle:
        if rng is None:
            raise TypeError(
                "rng must be a numpy.random.Generator when shuffle=True, got None "
                "(pass rng=np.random.default_rng(seed), or shuffle=False)"
            )
        check_rng(rng)
        order = rng.permutation(lengths[0])  # (n,)
    else:
        if rng is not None:
            check_rng(rng)
        order = None
    return _iter_batches(arrays, lengths[0], batch_size, order, drop_last)


def _iter_batches(arrays, n, batch_size, order, drop_last):
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            yield tuple(a[start:end] for a in arrays)
        else:
            idx = order[start:end]
            yield tuple(a[idx] for a in arrays)
