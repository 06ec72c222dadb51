"""MNIST from the shipped IDX files (checksums, magic numbers, sizes, clear
errors), binarisation, and random image patches. Nothing downloads."""

from __future__ import annotations

import gzip
import hashlib
import numbers
import os
import zlib
from pathlib import Path

import numpy as np

from tinyae._validation import (
    FLOAT_DTYPES,
    check_decay,
    check_dtype,
    check_positive_int,
    check_rng,
)


# --------------------------------------------------------------------------
# errors (boundary checks live in tinyae._validation)
# --------------------------------------------------------------------------


class DataError(RuntimeError):
    """A data file is there but cannot be used: corrupted or truncated gzip,
    checksum mismatch, wrong IDX magic number or a size that disagrees with
    its header."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The MNIST folder, or one file in it, is missing.

    Also a ``FileNotFoundError``, so ``except FileNotFoundError`` catches it.
    """


# --------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------

#: SHA-256 of the *decompressed* IDX files (from data/mnist/README.md).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# split -> (images file stem, labels file stem); the files are "<stem>.gz".
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Decompressed sizes: header + payload (used only to word error messages).
_MNIST_EXPECTED_SIZES = {
    "train-images-idx3-ubyte": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}
_MAGIC_IMAGES = 2051  # 0x00000803: unsigned bytes, 3 dimensions (n, rows, cols)
_MAGIC_LABELS = 2049  # 0x00000801: unsigned bytes, 1 dimension (n,)

_DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "mnist"
_ENV_VAR = "TINYAE_DATA_DIR"
_RESTORE_HINT = (
    "The four MNIST files ship with the repository in data/mnist/; restore them "
    "with `git checkout -- data/mnist` from the repository root, or point the "
    f"{_ENV_VAR} environment variable or the data_dir argument at a folder "
    "holding them. Nothing is ever downloaded."
)

# resolved .gz path -> ((st_size, st_mtime_ns), read-only uint8 array).
# Re-read when the file changes on disk; the float arrays handed out are fresh.
_CACHE: dict[str, tuple[tuple[int, int], np.ndarray]] = {}


def _resolve_data_dir(data_dir):
    """Return (folder, how it was chosen): argument, then env var, then default."""
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise TypeError(f"data_dir must be a str, a path or None, got {data_dir!r}")
        return Path(data_dir).expanduser(), "the data_dir argument"
    env = os.environ.get(_ENV_VAR)
    if env:
        return Path(env).expanduser(), f"the {_ENV_VAR} environment variable"
    return _DEFAULT_DATA_DIR, "the default location inside the repository"


def _parse_idx(raw, expected_magic, name):
    """Decode the bytes of one decompressed IDX file of unsigned bytes.

    Layout: big-endian int32 magic, then one big-endian int32 per dimension
    (the low byte of the magic is the number of dimensions; 2049 -> (n,),
    2051 -> (n, rows, cols)), then prod(dims) uint8 values.

    raw: bytes of the whole file. name: used in error messages.
    Returns a read-only uint8 array of shape dims that views ``raw``.
    Raises DataError on a wrong magic number, a short header, or a payload
    whose length differs from what the header announces.
    """
    if len(raw) < 4:
        raise DataError(f"{name}: IDX file too short for its magic number: expected at least 4 bytes, got {len(raw)}")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DataError(f"{name}: wrong IDX magic number: expected {expected_magic}, got {magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: IDX header truncated: expected {header} header bytes, got {len(raw)}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    payload = int(np.prod(dims, dtype=np.int64))
    expected, got = header + payload, len(raw)
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        shape = " x ".join(map(str, dims))
        raise DataError(
            f"{name}: IDX file {what}: header announces {shape} values, so expected "
            f"{expected} bytes ({header} header + {payload} payload), got {got}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _decompressed_length(compressed):
    """How many bytes a (possibly damaged) gzip stream yields before failing."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    n = 0
    try:
        for i in range(0, len(compressed), 1 << 20):
            n += len(d.decompress(compressed[i: i + (1 << 20)]))
    except zlib.error:
        pass
    return n


def _read_idx_gz(path, stem, expected_magic):
    """Read, decompress, checksum and parse one ``<stem>.gz``; cached."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"MNIST file {path} is a directory, expected a gzip file. {_RESTORE_HINT}")
    if not path.exists():
        raise DataNotFoundError(f"MNIST file missing: {path} (folder {path.parent} exists). {_RESTORE_HINT}")
    if not path.is_file():
        raise DataError(f"MNIST file {path} is not a regular file. {_RESTORE_HINT}")
    key = str(path.resolve())
    stat = path.stat()
    signature = (stat.st_size, stat.st_mtime_ns)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == signature:
        return hit[1]

    try:
        compressed = path.read_bytes()
    except PermissionError as exc:
        raise DataError(
            f"MNIST file {path} cannot be read: permission denied (check its mode and "
            f"owner, e.g. `ls -l {path}`; `chmod a+r` makes it readable)") from exc
    except OSError as exc:
        raise DataError(f"MNIST file {path} cannot be read: {exc}") from exc
    try:
        raw = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        got = _decompressed_length(compressed)
        expected = _MNIST_EXPECTED_SIZES.get(stem)
        size = f"; it decompressed to {got} bytes before failing" + (
            f", expected {expected}" if expected is not None else ""
        )
        raise DataError(
            f"{path.name}: truncated or corrupted gzip file ({type(exc).__name__}: {exc}){size}. "
            f"Full path: {path}. {_RESTORE_HINT}"
        ) from exc

    # the magic number first: a file of the wrong kind (labels in place of
    # images, not IDX at all) is named as such, not as a checksum mismatch
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != expected_magic:
        _parse_idx(raw, expected_magic, path.name)
    expected_sum = MNIST_SHA256[stem]
    got_sum = hashlib.sha256(raw).hexdigest()
    if got_sum != expected_sum:
        raise DataError(
            f"{path.name}: checksum mismatch of the decompressed bytes: expected SHA-256 "
            f"{expected_sum}, got {got_sum} ({len(raw)} bytes). Full path: {path}. {_RESTORE_HINT}"
        )
    arr = _parse_idx(raw, expected_magic, path.name)
    _CACHE[key] = (signature, arr)
    return arr



def load_mnist(split="train", *, dtype=np.float32, data_dir=None, flatten=True):
    """Load MNIST from the shipped gzip IDX files.

    Parameters
    ----------
    - split : "train" (60,000 images) or "test" (10,000 images).
    - dtype : numpy.float32 (default) or numpy.float64, the dtype of ``images``.
    - data_dir : folder holding the four ``*-ubyte.gz`` files. Default: the
      ``TINYAE_DATA_DIR`` environment variable if set, else the repository's
      ``data/mnist`` (found relative to this package).
    - flatten : True -> images (n, 784); False -> images (n, 28, 28).

    Returns
    -------
    - images : (n, 784) or (n, 28, 28), grey levels scaled to [0, 1]: x = byte / 255.
    - labels : (n,) int64 in 0..9.

    Each file's decompressed bytes are checked against ``MNIST_SHA256``, then
    its IDX magic number and sizes. The decoded bytes are cached in memory per
    file, so a second call in the same process is cheap; every call returns
    new arrays that the caller may modify.

    Raises
    ------
    - ValueError : bad ``split`` or ``dtype``.
    - DataNotFoundError : the folder or a file is missing (also a FileNotFoundError).
    - DataError : a truncated or corrupted gzip, a checksum mismatch, a bad header.
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    dt = check_dtype(dtype)
    if not isinstance(flatten, (bool, np.bool_)):
        raise ValueError(f"flatten must be True or False, got {flatten!r}")
    folder, source = _resolve_data_dir(data_dir)
    if not folder.is_dir():
        raise DataNotFoundError(
            f"MNIST folder not found: looked in {folder} (chosen by {source}). {_RESTORE_HINT}"
        )

    images_stem, labels_stem = _MNIST_FILES[split]
    # labels first: small, so a broken folder fails fast
    labels_u8 = _read_idx_gz(folder / f"{labels_stem}.gz", labels_stem, _MAGIC_LABELS)  # (n,)
    images_u8 = _read_idx_gz(folder / f"{images_stem}.gz", images_stem, _MAGIC_IMAGES)  # (n, 28, 28)
    if images_u8.shape[0] != labels_u8.shape[0]:
        raise DataError(
            f"MNIST {split}: {images_u8.shape[0]} images but {labels_u8.shape[0]} labels in {folder}"
        )

    n = images_u8.shape[0]
    images = images_u8.reshape(n, -1) if flatten else images_u8  # (n, 784), a view
    images = images.astype(dt)  # fresh array
    images /= dt.type(255)
    return images, labels_u8.astype(np.int64)


# --------------------------------------------------------------------------
# binarisation
# --------------------------------------------------------------------------


def _as_unit_float_array(x, name="x"):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{name} must be a floating array with values in [0, 1], got dtype {x.dtype} "
            "(scale bytes first, e.g. x / 255)"
        )
    return x


def binarize_static(x, threshold=0.5):
    """Deterministic binarisation: out = 1[x > threshold].

    x : floating array of any shape, values usually in [0, 1].
    Returns an array of the same shape and dtype holding 0.0 and 1.0.
    """
    x = _as_unit_float_array(x)
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite real number, got {threshold!r}")
    return (x > threshold).astype(x.dtype)


def binarize_dynamic(x, rng):
    """Stochastic binarisation: out ~ Bernoulli(p = x), elementwise.

    Sampled as out = 1[u < x] with u ~ Uniform[0, 1) drawn from ``rng``, so
    P(out = 1) = x exactly; a fresh draw on every call (a new binary data set
    every epoch, as in the VAE literature).

    x : floating array of any shape with values in [0, 1].
    rng : numpy.random.Generator (required).
    Returns an array of the same shape and dtype holding 0.0 and 1.0.
    """
    check_rng(rng)
    x = _as_unit_float_array(x)
    if x.size:
        lo, hi = x.min(), x.max()
        if not (lo >= 0 and hi <= 1):  # also catches NaN
            raise ValueError(f"x must hold probabilities in [0, 1], got values in [{lo}, {hi}]")
    udtype = x.dtype if x.dtype in FLOAT_DTYPES else np.float64
    u = rng.random(x.shape, dtype=udtype)
    return (u < x).astype(x.dtype)


# --------------------------------------------------------------------------
# Image patches (sparse coding, lesson 16)
# --------------------------------------------------------------------------

def random_patches(images, *, size, n, rng, side=28, min_ink=0.0):
    """``n`` random ``size`` x ``size`` patches from square images.

    images: (N, side*side) flattened (e.g. MNIST rows) -> (n, size*size),
    same dtype. Each patch comes from a random image at a random position;
    with ``min_ink`` > 0 only patches whose mean pixel value is at least
    ``min_ink`` are kept (MNIST is mostly background: a blank patch teaches
    a dictionary nothing), drawing until n are found.
    """
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != side * side:
        raise ValueError(f"images must have shape (N, {side * side}), got {images.shape}")
    size = check_positive_int(size, "size")
    n = check_positive_int(n, "n")
    check_rng(rng)
    if size > side:
        raise ValueError(f"size must be at most side={side}, got {size}")
    min_ink = check_decay(min_ink, "min_ink")
    square = images.reshape(-1, side, side)                    # (N, side, side)
    out, found = np.empty((n, size * size), images.dtype), 0
    for _ in range(1000):
        if found == n:
            break
        m = 2 * (n - found)
        which = rng.integers(0, square.shape[0], m)
        r, c = rng.integers(0, side - size + 1, (2, m))
        rows = r[:, None] + np.arange(size)                     # (m, size)
        cols = c[:, None] + np.arange(size)
        patches = square[which[:, None, None], rows[:, :, None], cols[:, None, :]]
        patches = patches.reshape(m, size * size)              # (m, size*size)
        keep = patches[patches.mean(axis=1) >= min_ink][:n - found]
        out[found:found + len(keep)] = keep
        found += len(keep)
    else:
        if found < n:
            raise ValueError(f"found only {found} of n={n} patches with mean >= "
                             f"min_ink={min_ink!r} in 1000 rounds; lower min_ink")
    return out
