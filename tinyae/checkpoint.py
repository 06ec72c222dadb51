"""Save and load a model's parameters as ``.npz`` — no pickle anywhere.

Saving writes a temporary file beside the target and renames it over the
target (``os.replace`` is atomic on POSIX and Windows), so a crash mid-write
never leaves a half-written checkpoint. Loading opens the archive with
``allow_pickle=False``, checks that names, shapes and dtypes match the model
and copies the values into the model's arrays in place.
"""

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np


class CheckpointError(ValueError):
    """A checkpoint that does not match the model, or is not readable."""


def save(model, path):
    """Write ``model.params`` to ``path`` (``.npz``) atomically. Returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **model.params)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(model, path):
    """Copy the arrays saved at ``path`` into ``model.params`` (in place).

    Raises CheckpointError saying what differs: missing or unexpected names,
    a shape or a dtype that does not match, or a file that is not a readable
    ``.npz`` archive.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    params = model.params
    try:
        with np.load(path, allow_pickle=False) as archive:
            saved = {k: archive[k] for k in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not a readable .npz archive "
            f"(truncated or corrupted?): {err}") from err
    problems = []
    missing = sorted(params.keys() - saved.keys())
    extra = sorted(saved.keys() - params.keys())
    if missing:
        problems.append(f"missing parameters {missing}")
    if extra:
        problems.append(f"unexpected parameters {extra}")
    for k in sorted(params.keys() & saved.keys()):
        if saved[k].shape != params[k].shape:
            problems.append(f"{k}: shape {saved[k].shape} in file, "
                            f"{params[k].shape} in model")
        elif saved[k].dtype != params[k].dtype:
            problems.append(f"{k}: dtype {saved[k].dtype} in file, "
                            f"{params[k].dtype} in model")
    if problems:
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not match {type(model).__name__}: "
            + "; ".join(problems))
    for k, p in params.items():
        p[...] = saved[k]
    return model
