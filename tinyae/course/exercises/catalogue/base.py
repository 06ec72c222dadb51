"""What the exercise modules share: the integration run, in which the
student's functions replace the library's ops in a small training run
(``train``), or drive a run of the exercise's own (``compare_runs``)."""

import numpy as np

from ....layers import init_weight
from .. import harness


def train(funcs, names, what, *, kind="autoencoder", **settings):
    """Train a ``kind`` model ("autoencoder", "conv" or "vae") with the
    student's functions ``names`` (taken from ``funcs``) and compare with the
    reference run (``harness.compare_training``); ``settings`` choose the
    activation, penalty or corruption."""
    ops = {n: funcs[n] for n in names}
    return harness.compare_training(kind, ops, what=what, **settings)


def tail(losses):
    """The mean loss of the last ``harness.TAIL`` steps of a run (NaN if any
    step's loss is not finite)."""
    return float(np.mean(losses[-harness.TAIL:])) if np.all(np.isfinite(losses)) \
        else float("nan")


def judge(losses, reference, describe):
    """An exercise's own run (``losses``, every step's) against the
    reference run's tail: passed when its tail lies within ``harness.TOL``
    of ``reference``. ``describe(mine, ref, steps)`` words the two numbers.
    Returns the dict an ``integration`` run reports."""
    mine = tail(losses)
    passed = bool(np.isfinite(mine) and abs(mine - reference) <= harness.TOL * abs(reference))
    return {"passed": passed, "student": mine, "reference": reference, "tol": harness.TOL,
            "text": f"{describe(mine, reference, len(losses))} (mean loss of the last "
                    f"{harness.TAIL} steps): {'pass' if passed else 'FAIL'} (tolerance "
                    f"{100 * harness.TOL:g}%)"}


def compare_runs(train, funcs, reference, describe):
    """A training run of an exercise's own: ``train(funcs)`` and
    ``train(reference)`` (same seed; each returns the loss of every step),
    judged by ``judge``. Returns the one-run list an ``integration`` returns."""
    with np.errstate(all="ignore"):
        ref = tail(train(reference))
        run = train(funcs)
    return [judge(run, ref, describe)]


def dense_params(rng, shapes):
    """Parameters of an exercise's own run: for each ``key: (a, b)`` of
    ``shapes``, in order, Glorot weights ``W<key>`` (a, b) from ``rng`` and
    zero biases ``b<key>`` (b,), float64."""
    params = {}
    for key, (a, b) in shapes.items():
        params["W" + key] = init_weight("glorot", (a, b), a, b, rng, np.float64)
        params["b" + key] = np.zeros(b)
    return params
