"""Data for tinyae: MNIST from the shipped IDX files, synthetic sets with known
densities, binarisation and minibatches.

Nothing here downloads anything. MNIST ships with the repository in
``data/mnist/`` (four gzip-compressed IDX files, CC BY-SA 3.0, see the README
there); every file is checked against the SHA-256 of its decompressed bytes
before it is used.

Randomness only ever comes from a ``numpy.random.Generator`` passed in as
``rng``; nothing in this module touches a global seed.

Public API
----------
- ``load_mnist(split="train", *, dtype=np.float32, data_dir=None, flatten=True)``
- ``binarize_static(x, threshold=0.5)``, ``binarize_dynamic(x, rng)``
- ``GaussianMixture(weights, means, covs)`` with ``sample``, ``log_density``,
  ``density``, ``score``, ``responsibilities``, ``smoothed``, ``mean``, ``cov``;
  factories ``mixture_1d()`` and ``mixture_2d()``
- ``ring``, ``swiss_roll_2d``, ``swiss_roll_3d``, ``two_moons``
- ``rectangle_outlines`` (non-digit 28 x 28 images, for outlier tests)
- ``minibatches(*arrays, batch_size, rng=None, shuffle=True, drop_last=False)``
- ``DataError`` (corrupted data) and ``DataNotFoundError`` (missing data)
"""

from __future__ import annotations

import gzip
import hashlib
import numbers
import os
import zlib
from pathlib import Path

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.special import logsumexp

from tinyae._validation import (
    FLOAT_DTYPES,
    check_dtype,
    check_nonneg_float,
    check_positive_float,
    check_positive_int,
    check_rng,
)

__all__ = [
    "DataError",
    "DataNotFoundError",
    "MNIST_SHA256",
    "load_mnist",
    "binarize_static",
    "binarize_dynamic",
    "GaussianMixture",
    "mixture_1d",
    "mixture_2d",
    "ring",
    "swiss_roll_2d",
    "swiss_roll_3d",
    "two_moons",
    "rectangle_outlines",
    "minibatches",
]


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

_DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
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
    split : "train" (60,000 images) or "test" (10,000 images).
    dtype : numpy.float32 (default) or numpy.float64, the dtype of ``images``.
    data_dir : folder holding the four ``*-ubyte.gz`` files. Default: the
        ``TINYAE_DATA_DIR`` environment variable if set, else the repository's
        ``data/mnist`` (found relative to this package).
    flatten : True -> images (n, 784); False -> images (n, 28, 28).

    Returns
    -------
    images : (n, 784) or (n, 28, 28), grey levels scaled to [0, 1]: x = byte / 255.
    labels : (n,) int64 in 0..9.

    Each file's decompressed bytes are checked against ``MNIST_SHA256``, then
    its IDX magic number and sizes. The decoded bytes are cached in memory per
    file, so a second call in the same process is cheap; every call returns
    new arrays that the caller may modify.

    Raises
    ------
    ValueError : bad ``split`` or ``dtype``.
    DataNotFoundError : the folder or a file is missing (also a FileNotFoundError).
    DataError : a truncated or corrupted gzip, a checksum mismatch, a bad header.
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
# Gaussian mixtures: exact densities and scores
# --------------------------------------------------------------------------


class GaussianMixture:
    r"""A mixture of k Gaussians in d dimensions with exact density and score.

    Density:
        p(x) = sum_k w_k N(x; mu_k, Sigma_k),
        N(x; mu, Sigma) = (2 pi)^{-d/2} |Sigma|^{-1/2} exp(-1/2 (x - mu)^T Sigma^{-1} (x - mu)).

    Log-density, computed stably with logsumexp over components:
        log p(x) = logsumexp_k [ log w_k + log N(x; mu_k, Sigma_k) ].

    Responsibilities (posterior of the component given x):
        r_k(x) = w_k N(x; mu_k, Sigma_k) / p(x),   sum_k r_k(x) = 1.

    Score (gradient of the log-density in x):
        score(x) = grad_x log p(x) = sum_k r_k(x) * ( -Sigma_k^{-1} (x - mu_k) ).

    Gaussian smoothing: if x ~ p and y = x + sigma * eps, eps ~ N(0, I), then y
    is again a mixture with the same weights and means and covariances
    Sigma_k + sigma^2 I; ``smoothed(sigma)`` returns it, so
    ``smoothed(sigma).score(y)`` is the exact score of the noise-smoothed
    density (the target of denoising score matching).

    Moments: mean m = sum_k w_k mu_k; cov = sum_k w_k (Sigma_k + mu_k mu_k^T) - m m^T.

    Parameters
    ----------
    weights : (k,) positive, summing to 1 (to 1e-6; renormalised exactly).
    means : (k, d).
    covs : (k, d, d) symmetric positive-definite.

    For 1-D mixtures use d = 1: means (k, 1), covs (k, 1, 1), points x (n, 1).
    Attributes ``weights``, ``means``, ``covs`` are read-only float64 copies.
    """

    def __init__(self, weights, means, covs):
        w = np.array(weights, dtype=np.float64)
        mu = np.array(means, dtype=np.float64)
        S = np.array(covs, dtype=np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"weights must have shape (k,) with k >= 1, got shape {w.shape}")
        k = w.size
        if not (np.all(np.isfinite(w)) and np.all(w > 0)):
            raise ValueError(f"weights must all be finite and > 0, got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {w.tolist()} (sum {w.sum()!r})")
        if mu.ndim != 2 or mu.shape[0] != k or mu.shape[1] == 0:
            raise ValueError(
                f"means must have shape (k, d) = ({k}, d) to match weights, got shape {mu.shape}"
            )
        d = mu.shape[1]
        if S.shape != (k, d, d):
            raise ValueError(f"covs must have shape (k, d, d) = ({k}, {d}, {d}), got shape {S.shape}")
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(S))):
            raise ValueError("means and covs must be finite")
        if not np.allclose(S, np.swapaxes(S, 1, 2), rtol=1e-10, atol=1e-12):
            raise ValueError("covs must be symmetric: covs[k] == covs[k].T for every component")
        chol = np.empty_like(S)  # (k, d, d), lower triangular: Sigma_k = L_k L_k^T
        for j in range(k):
            try:
                chol[j] = np.linalg.cholesky(S[j])
            except np.linalg.LinAlgError:
                eig = np.linalg.eigvalsh(S[j])
                raise ValueError(
                    f"covs[{j}] must be positive-definite, got eigenvalues {eig.tolist()}"
                ) from None

        self.weights = w / w.sum()
        self.means = mu
        self.covs = S
        self._chol = chol
        # log|Sigma_k| = 2 sum_i log L_k[i, i]
        self._logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)  # (k,)
        eye = np.eye(d)
        self._prec = np.stack([cho_solve((chol[j], True), eye) for j in range(k)])  # (k, d, d)
        for a in (self.weights, self.means, self.covs, self._chol, self._logdet, self._prec):
            a.flags.writeable = False

    @property
    def n_components(self):
        return self.weights.shape[0]

    @property
    def dim(self):
        return self.means.shape[1]

    def __repr__(self):
        return f"GaussianMixture(n_components={self.n_components}, dim={self.dim})"

    # -- helpers ---------------------------------------------------------
    def _check_x(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            hint = " (for a 1-D mixture pass x[:, None])" if self.dim == 1 else ""
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {x.shape}{hint}")
        return x

    def _log_joint(self, x):
        """log w_k + log N(x; mu_k, Sigma_k) for every point and component: (n, k)."""
        n, d = x.shape
        out = np.empty((n, self.n_components))
        for j in range(self.n_components):
            diff = x - self.means[j]  # (n, d)
            z = solve_triangular(self._chol[j], diff.T, lower=True)  # (d, n): L^{-1}(x - mu)
            maha = np.einsum("dn,dn->n", z, z)  # (n,): (x-mu)^T Sigma^{-1} (x-mu)
            out[:, j] = np.log(self.weights[j]) - 0.5 * (d * np.log(2 * np.pi) + self._logdet[j] + maha)
        return out

    # -- densities -------------------------------------------------------
    def log_density(self, x):
        """log p(x). x: (n, d) -> (n,) float64."""
        return logsumexp(self._log_joint(self._check_x(x)), axis=1)

    def density(self, x):
        """p(x). x: (n, d) -> (n,) float64."""
        return np.exp(self.log_density(x))

    def responsibilities(self, x):
        """r_k(x) = w_k N(x; mu_k, Sigma_k) / p(x). x: (n, d) -> (n, k), rows sum to 1."""
        lj = self._log_joint(self._check_x(x))  # (n, k)
        return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))

    def score(self, x):
        """grad_x log p(x) = sum_k r_k(x) (-Sigma_k^{-1} (x - mu_k)). x: (n, d) -> (n, d) float64."""
        x = self._check_x(x)
        lj = self._log_joint(x)  # (n, k)
        r = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))  # (n, k)
        out = np.zeros_like(x)  # (n, d)
        for j in range(self.n_components):
            # -(x - mu_j) Sigma_j^{-1}, row by row (Sigma_j^{-1} is symmetric)
            out += r[:, j:j + 1] * (-(x - self.means[j]) @ self._prec[j])
        return out

    def smoothed(self, sigma):
        """The mixture of x + sigma * eps, eps ~ N(0, I): covs -> covs + sigma^2 I."""
        s = check_nonneg_float(sigma, "sigma")
        return GaussianMixture(self.weights, self.means, self.covs + s * s * np.eye(self.dim))

    def mean(self):
        """m = sum_k w_k mu_k: (d,)."""
        return self.weights @ self.means

    def cov(self):
        """sum_k w_k (Sigma_k + mu_k mu_k^T) - m m^T: (d, d)."""
        m = self.mean()
        second = np.einsum("k,kij->ij", self.weights, self.covs) + np.einsum(
            "k,ki,kj->ij", self.weights, self.means, self.means
        )
        return second - np.outer(m, m)

    # -- sampling --------------------------------------------------------
    def sample(self, n, *, rng, dtype=np.float64):
        """Draw n points: component c ~ Categorical(w), then x = mu_c + L_c eps, eps ~ N(0, I).

        rng: numpy.random.Generator (required). Returns (n, d) in ``dtype``.
        """
        n = check_positive_int(n, "n")
        check_rng(rng)
        dt = check_dtype(dtype)
        comp = rng.choice(self.n_components, size=n, p=self.weights)  # (n,)
        eps = rng.standard_normal((n, self.dim))  # (n, d)
        x = self.means[comp] + np.einsum("nij,nj->ni", self._chol[comp], eps)  # (n, d)
        return x.astype(dt, copy=False)


def mixture_1d():
    """A two-component 1-D mixture, deliberately asymmetric and bimodal.

    p(x) = 0.3 N(x; -2, 0.5^2) + 0.7 N(x; 1.5, 0.8^2).
    Mean 0.45, variance 3.0955. Points are (n, 1).
    """
    return GaussianMixture(
        weights=[0.3, 0.7],
        means=[[-2.0], [1.5]],
        covs=[[[0.5**2]], [[0.8**2]]],
    )


def mixture_2d():
    """A three-component 2-D mixture with differently shaped covariances.

    weights 0.4, 0.35, 0.25;
    means (-1.5, 0), (1.5, 0.5), (0, -1.5);
    covs [[0.30, 0.15], [0.15, 0.20]] (tilted up), [[0.20, -0.10], [-0.10, 0.40]]
    (tilted down), [[0.50, 0], [0, 0.05]] (flat and wide).
    """
    return GaussianMixture(
        weights=[0.4, 0.35, 0.25],
        means=[[-1.5, 0.0], [1.5, 0.5], [0.0, -1.5]],
        covs=[
            [[0.30, 0.15], [0.15, 0.20]],
            [[0.20, -0.10], [-0.10, 0.40]],
            [[0.50, 0.00], [0.00, 0.05]],
        ],
    )


# --------------------------------------------------------------------------
# synthetic point clouds
# --------------------------------------------------------------------------


def _check_sampler_args(n, rng, dtype, noise):
    n = check_positive_int(n, "n")
    check_rng(rng)
    dt = check_dtype(dtype)
    noise = check_nonneg_float(noise, "noise")
    return n, dt, noise


def ring(n, *, rng, radius=1.0, noise=0.05, dtype=np.float64):
    """Points near a circle: x = radius (cos theta, sin theta) + noise * eps,
    theta ~ Uniform[0, 2 pi), eps ~ N(0, I_2). Returns (n, 2).

    The mean distance to the origin is about radius + noise^2 / (2 radius).
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    radius = check_positive_float(radius, "radius")
    theta = rng.uniform(0.0, 2 * np.pi, size=n)  # (n,)
    x = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (n, 2)
    x += noise * rng.standard_normal((n, 2))
    return x.astype(dt, copy=False)


_ROLL_T0, _ROLL_T1 = 1.5 * np.pi, 4.5 * np.pi  # the angle t runs over 1.5 turns


def swiss_roll_2d(n, *, rng, noise=0.05, dtype=np.float64):
    """A 2-D spiral: t ~ Uniform[1.5 pi, 4.5 pi),
    x = (t cos t, t sin t) / (4.5 pi) + noise * eps, eps ~ N(0, I_2).

    Scaled so the outer end lies on the unit circle; successive arms are
    2 pi / (4.5 pi) ~ 0.44 apart. Returns (n, 2).
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    t = rng.uniform(_ROLL_T0, _ROLL_T1, size=n)  # (n,)
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / _ROLL_T1  # (n, 2)
    x += noise * rng.standard_normal((n, 2))
    return x.astype(dt, copy=False)


def swiss_roll_3d(n, *, rng, noise=0.05, return_t=False, dtype=np.float64):
    """The swiss roll: a curved 2-D sheet in 3-D, with manifold coordinates (t, h).

    t ~ Uniform[1.5 pi, 4.5 pi), h ~ Uniform[-1, 1),
    x = (t cos t / (4.5 pi), h, t sin t / (4.5 pi)) + noise * eps, eps ~ N(0, I_3).

    (The layout of scikit-learn's make_swiss_roll, scaled so the roll fits in
    the unit cylinder.) Returns x (n, 3), or (x, t) with t (n,) float64 if
    ``return_t`` -- the coordinate along the roll, e.g. to colour a plot.
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    t = rng.uniform(_ROLL_T0, _ROLL_T1, size=n)  # (n,)
    h = rng.uniform(-1.0, 1.0, size=n)  # (n,)
    x = np.stack([t * np.cos(t) / _ROLL_T1, h, t * np.sin(t) / _ROLL_T1], axis=1)  # (n, 3)
    x += noise * rng.standard_normal((n, 3))
    x = x.astype(dt, copy=False)
    return (x, t) if return_t else x


def two_moons(n, *, rng, noise=0.1, dtype=np.float64):
    """Two interleaved half circles.

    Label 0 (ceil(n/2) points):  (cos theta, sin theta),
    label 1 (floor(n/2) points): (1 - cos theta, 0.5 - sin theta),
    theta ~ Uniform[0, pi), plus noise * eps, eps ~ N(0, I_2); the order of
    points is shuffled. Returns x (n, 2) and labels (n,) int64.
    """
    n, dt, noise = _check_sampler_args(n, rng, dtype, noise)
    labels = np.zeros(n, dtype=np.int64)
    labels[(n + 1) // 2:] = 1
    labels = rng.permutation(labels)  # (n,)
    theta = rng.uniform(0.0, np.pi, size=n)  # (n,)
    c, s = np.cos(theta), np.sin(theta)
    x = np.where(labels[:, None] == 0, np.stack([c, s], 1), np.stack([1.0 - c, 0.5 - s], 1))  # (n, 2)
    x += noise * rng.standard_normal((n, 2))
    return x.astype(dt, copy=False), labels


def rectangle_outlines(n, *, rng, count=2, stroke=2, dtype=np.float32):
    """Images of a kind MNIST never shows: ``count`` rectangle outlines each.

    Each 28 x 28 image (flattened to 784, like ``load_mnist``) holds
    ``count`` axis-aligned rectangles drawn as white outlines ``stroke``
    pixels wide (pixels 1.0 on 0.0), overlapping freely. A rectangle's top
    left corner is uniform on rows and columns 4..13 and its height and width
    uniform on 6..11, so every outline lies inside the central 20 x 20 box
    where MNIST's digits live (MNIST centres each digit's mass in that box).
    Returns (n, 784) with values in {0, 1}.
    """
    n = check_positive_int(n, "n")
    check_rng(rng)
    count = check_positive_int(count, "count")
    stroke = check_positive_int(stroke, "stroke")
    if stroke > 2:
        raise ValueError(f"stroke must be 1 or 2 (the smallest rectangle is 6 pixels "
                         f"wide), got {stroke}")
    dt = check_dtype(dtype)
    images = np.zeros((n, 28, 28), dtype=dt)
    corner = rng.integers(4, 14, size=(n, count, 2))            # (n, count, [row, col])
    extent = rng.integers(6, 12, size=(n, count, 2))            # (n, count, [height, width])
    for i in range(n):
        for (r, c), (h, w) in zip(corner[i], extent[i]):   # four bands per rectangle
            images[i, r:r + stroke, c:c + w] = 1
            images[i, r + h - stroke:r + h, c:c + w] = 1
            images[i, r:r + h, c:c + stroke] = 1
            images[i, r:r + h, c + w - stroke:c + w] = 1
    return images.reshape(n, 784)


# --------------------------------------------------------------------------
# minibatches
# --------------------------------------------------------------------------


def minibatches(*arrays, batch_size, rng=None, shuffle=True, drop_last=False):
    """Yield aligned minibatches from one or more arrays with the same first dimension.

    arrays : each (n, ...); all share n.
    batch_size : int >= 1.
    rng : numpy.random.Generator, required when ``shuffle`` is True (one
        permutation of range(n) is drawn when ``minibatches`` is called).
    shuffle : visit the rows in the order of that permutation; else in order.
    drop_last : skip the final batch if it has fewer than batch_size rows.

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
    if not 0.0 <= min_ink < 1.0:
        raise ValueError(f"min_ink must be in [0, 1), got {min_ink!r}")
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
