"""What the exercise modules share: the integration run, in which the
student's functions replace the library's ops in a small training run."""

from .. import harness


def train(funcs, names, what, *, kind="autoencoder", **settings):
    """Train a ``kind`` model ("autoencoder", "conv" or "vae") with the
    student's functions ``names`` (taken from ``funcs``) and compare with the
    reference run (``harness.compare_training``); ``settings`` choose the
    activation, penalty or corruption."""
    ops = {n: funcs[n] for n in names}
    return harness.compare_training(kind, ops, what=what, **settings)
