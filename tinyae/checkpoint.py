"""Save and load a model's parameters and state as ``.npz``: no pickle anywhere.

A checkpoint holds everything a model needs to give the same outputs: its
``params`` under their flat names (``encoder.0.W``) and its ``state`` (the
arrays no gradient moves: an EMA codebook and its counts, a fitted PCA's
components) under ``state:<name>``. A model declares its state in one place,
``Model.state`` (from its layers' ``buffers``); a model whose state is built
by fitting (``PCA``) offers ``load_state(arrays)`` to take it from the file.

Saving writes a temporary file beside the target and renames it over the
target (``os.replace`` is atomic on POSIX and Windows), so a crash mid-write
never leaves a half-written checkpoint. The temporary file is named
``<target>.<pid>.<random>.tmp`` after the process writing it; a save removes
the temporary files of earlier saves of the same target whose process no
longer runs (left by a killed or interrupted save), and
``clean_stale_temporaries(path)`` does it on request.

Loading never calls ``np.load`` and never unpickles. It opens the archive as
a zip file and, for every member, reads only the ``.npy`` header (format,
dtype, shape) first. Before a single byte of array data is read it refuses:
object dtypes (the only way a ``.npy`` can hold a pickle), names, shapes or
dtypes that differ from the model's, and any array larger than ``max_bytes``
or than the member really holds (a forged header claiming a huge shape).
Then it reads the data, refuses NaN or inf (unless ``allow_nonfinite=True``)
and copies the values into the model's arrays in place.
"""

import json
import os
import re
import secrets
import zipfile
from pathlib import Path

import numpy as np

from ._validation import check_positive_int

#: Largest array ``load`` accepts by default (bytes): 1 GiB.
DEFAULT_MAX_BYTES = 1 << 30


class CheckpointError(ValueError):
    """A checkpoint that does not match the model, or is not readable."""


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz, got {str(path)!r}")
    return path


def _tmp_pattern(path):
    return re.compile(re.escape(path.name) + r"\.(\d+)\.[0-9a-f]+\.tmp")


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # exists, owned by someone else
        return True
    return True


def clean_stale_temporaries(path):
    """Remove ``<path>.<pid>.<hex>.tmp`` files left beside ``path`` by saves
    whose process no longer runs. Returns the removed paths."""
    path = _check_path(path)
    if not path.parent.is_dir():
        return []
    pattern, removed = _tmp_pattern(path), []
    for entry in path.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        if match and int(match.group(1)) != os.getpid() \
                and not _process_alive(int(match.group(1))) and entry.is_file():
            try:
                entry.unlink()
            except FileNotFoundError:    # another process cleaned it first
                continue
            removed.append(entry)
    return removed


#: Prefix of the names of state arrays in a checkpoint.
STATE = "state:"


def _arrays(model):
    """name -> array of everything a checkpoint holds for ``model``."""
    if not hasattr(model, "params"):
        raise TypeError(f"model must have params (a tinyae model), got "
                        f"{type(model).__name__}")
    state = getattr(model, "state", None) or {}
    return {**model.params, **{STATE + k: v for k, v in state.items()}}


def _write_atomically(path, arrays):
    """Write ``arrays`` (name -> array) to the .npz ``path`` through a
    temporary file renamed over it: a failure (a full disk, an interrupt)
    leaves the previous file as it was and no temporary file behind."""
    for parent in [path.parent, *path.parent.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(
                    f"path {str(path)!r}: {str(parent)!r} is a file, not a folder")
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(f"path {str(path)!r} is a directory, expected a file")
    clean_stale_temporaries(path)
    tmp = path.parent / f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save(model, path):
    """Write ``model.params`` and ``model.state`` to ``path`` (``.npz``)
    atomically. Returns the path.

    Also removes the temporary files of earlier interrupted saves of ``path``
    (see ``clean_stale_temporaries``).
    """
    path = _check_path(path)
    arrays = _arrays(model)
    if not arrays:
        raise ValueError(f"{type(model).__name__} has nothing to save (no parameters "
                         f"and no state): is it fitted?")
    return _write_atomically(path, arrays)


# --------------------------------------------------------------------------
# Training checkpoints: everything a run needs to go on where it stopped
# --------------------------------------------------------------------------

#: Prefixes of a training checkpoint's other members.
OPTIMIZER, TRAINING = "optimizer:", "training:json"


def save_training(path, model, optimizer, *, rng, history, epoch):
    """Write a checkpoint from which ``fit(..., resume=True)`` goes on exactly
    where this run is: the model (``params`` and ``state``), the optimiser's
    state (step count, learning rate, moments), the generator's state (the
    next shuffle and every later draw) and the history after ``epoch``
    epochs. Atomic like ``save``; numbers only, no pickle: the generator's
    state and the history are JSON, stored as bytes."""
    path = _check_path(path)
    record = {"epoch": int(epoch), "rng": rng.bit_generator.state, "history": history}
    text = json.dumps(record, default=float)
    arrays = {**_arrays(model),
              **{OPTIMIZER + k: v for k, v in optimizer.state_arrays().items()},
              TRAINING: np.frombuffer(text.encode(), dtype=np.uint8)}
    return _write_atomically(path, arrays)


def load_training(path, model, optimizer, *, rng, allow_nonfinite=False,
                  max_bytes=DEFAULT_MAX_BYTES):
    """Load a ``save_training`` checkpoint into ``model``, ``optimizer`` and
    ``rng`` (in place) and return ``(history, epoch)``. Every check of
    ``load`` applies (the same code); nothing is changed unless all pass."""
    expected = _arrays(model)
    saved = _read_checked(path, model, expected, max_bytes, (OPTIMIZER, TRAINING),
                          allow_nonfinite)
    if TRAINING not in saved:
        raise CheckpointError(f"checkpoint {str(path)!r} holds a model but no training "
                              f"state (written by save, not save_training)")
    try:
        record = json.loads(saved[TRAINING].tobytes().decode())
        epoch, history = int(record["epoch"]), record["history"]
        state = record["rng"]
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r}: its training record is not "
                              f"readable: {err}") from err
    if state.get("bit_generator") != type(rng.bit_generator).__name__:
        raise CheckpointError(f"checkpoint {str(path)!r} saved a "
                              f"{state.get('bit_generator')} generator; rng is a "
                              f"{type(rng.bit_generator).__name__}")
    optimizer.load_state_arrays({k[len(OPTIMIZER):]: v for k, v in saved.items()
                                 if k.startswith(OPTIMIZER)})
    for k, p in expected.items():
        p[...] = saved[k]
    rng.bit_generator.state = state
    return history, epoch


def _read_header(member, path, name):
    """(shape, fortran_order, dtype) of one ``.npy`` member, data not read."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(member)
        if version in ((2, 0), (3, 0)):
            return np.lib.format.read_array_header_2_0(member)
    except ValueError as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: array {name!r} has a corrupted .npy header: "
            f"{err}") from err
    raise CheckpointError(
        f"checkpoint {str(path)!r}: array {name!r} has unsupported .npy format "
        f"version {version}")


def load(model, path, *, allow_nonfinite=False, max_bytes=DEFAULT_MAX_BYTES):
    """Copy the arrays saved at ``path`` into ``model.params`` and
    ``model.state`` (in place; a model with ``load_state`` builds its state
    from the file's ``state:`` arrays instead).

    - allow_nonfinite: accept NaN or inf in the saved arrays (default: an error
      naming each array and how many values are not finite).
    - max_bytes: refuse any array whose header announces more bytes than this.

    Raises CheckpointError saying what differs: missing or unexpected names,
    a shape or a dtype that does not match, an object array (a pickle), a
    header announcing more data than the file holds, non-finite values, or
    a file that is not a readable ``.npz`` archive. The model is changed
    only if every check passes.
    """
    builds_state = hasattr(model, "load_state")
    params = model.params if builds_state else _arrays(model)
    saved = _read_checked(path, model, params, max_bytes, (STATE,) if builds_state else (),
                          allow_nonfinite)
    if builds_state:
        model.load_state({k[len(STATE):]: v.copy() for k, v in saved.items()
                          if k.startswith(STATE)})
    for k, p in params.items():
        p[...] = saved[k]
    return model


def _read_checked(path, model, params, max_bytes, free_prefixes, allow_nonfinite):
    """The arrays of the checkpoint at ``path`` after every check of ``load``
    (path, archive, headers against ``params``, sizes, non-finite values)."""
    path = _check_path(path)
    max_bytes = check_positive_int(max_bytes, "max_bytes")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory, expected a file")
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            saved = _read_archive(archive, path, model, params, max_bytes, free_prefixes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not a readable .npz archive "
            f"(truncated or corrupted?): {err}") from err
    if not allow_nonfinite:
        bad = {k: int(a.size - np.count_nonzero(np.isfinite(a)))
               for k, a in saved.items()}
        bad = {k: n for k, n in bad.items() if n}
        if bad:
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds non-finite values (NaN or inf): "
                + ", ".join(f"{k}: {n}" for k, n in sorted(bad.items()))
                + "; it was probably saved after training diverged. Pass "
                  "allow_nonfinite=True to load it anyway")
    return saved


def _read_archive(archive, path, model, params, max_bytes, free_prefixes=()):
    """Check every member's header against ``params`` (name -> the model's
    array), then read the data. Members whose name starts with one of
    ``free_prefixes`` are read whatever their shape (their reader checks
    them: a model's ``load_state``, ``load_training``)."""
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise CheckpointError(
                f"checkpoint {str(path)!r}: member {info.filename!r} is not a .npy array")
        if info.filename[:-4] in members:
            raise CheckpointError(
                f"checkpoint {str(path)!r} holds the array {info.filename[:-4]!r} twice "
                f"(a forged or damaged archive): refusing to pick one")
        members[info.filename[:-4]] = info
    free = {k for k in members if free_prefixes and k.startswith(tuple(free_prefixes))}
    problems = []
    missing = sorted(params.keys() - members.keys())
    extra = sorted(members.keys() - params.keys() - free)
    if missing:
        problems.append(f"missing parameters {missing}")
    if extra:
        problems.append(f"unexpected parameters {extra}")
    headers = {}
    for k in sorted((params.keys() & members.keys()) | free):
        with archive.open(members[k]) as member:
            shape, fortran, dtype = _read_header(member, path, k)
            header_len = member.tell()
        if dtype.hasobject:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: array {k!r} has dtype {dtype} (Python "
                f"objects, i.e. a pickle); tinyae checkpoints hold numbers only and "
                f"never unpickle")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if nbytes > max_bytes:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: array {k!r} announces shape {shape} "
                f"({nbytes} bytes), more than max_bytes={max_bytes}")
        held = members[k].file_size - header_len
        if nbytes > held:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: array {k!r} announces shape {shape} "
                f"({nbytes} bytes) but the file holds {held} bytes of data "
                f"(forged or truncated header)")
        if k in free:
            pass
        elif shape != params[k].shape:
            problems.append(f"{k}: shape {shape} in file, {params[k].shape} in model")
        elif dtype != params[k].dtype:
            problems.append(f"{k}: dtype {dtype} in file, {params[k].dtype} in model")
        headers[k] = (shape, fortran, dtype, header_len, nbytes)
    if problems:
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not match {type(model).__name__}: " + "; ".join(problems))
    saved = {}
    for k, (shape, fortran, dtype, header_len, nbytes) in headers.items():
        with archive.open(members[k]) as member:
            member.read(header_len)
            data = member.read(nbytes)
        if len(data) != nbytes:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: array {k!r} is truncated: expected "
                f"{nbytes} bytes, got {len(data)}")
        saved[k] = np.frombuffer(data, dtype=dtype).reshape(
            shape, order="F" if fortran else "C")
    return saved
