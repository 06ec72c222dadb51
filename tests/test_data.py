"""Tests for tinyae.data: MNIST loader (facts from data/mnist/README.md and
corruption handling), binarisation, Gaussian mixtures with exact scores,
synthetic sets and minibatches."""

import gzip
import shutil

import numpy as np
import pytest
from scipy.stats import norm

from tinyae import data as D
from tinyae.data import (
    DataError,
    DataNotFoundError,
    GaussianMixture,
    binarize_dynamic,
    binarize_static,
    load_mnist,
    minibatches,
    mixture_1d,
    mixture_2d,
    ring,
    swiss_roll_2d,
    swiss_roll_3d,
    two_moons,
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


# --------------------------------------------------------------------------
# MNIST: facts
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def train32():
    return load_mnist("train")


@pytest.fixture(scope="module")
def test32():
    return load_mnist("test")


def test_mnist_train_shapes_dtypes_and_labels(train32):
    x, y = train32
    assert x.shape == (60000, 784) and x.dtype == np.float32
    assert y.shape == (60000,) and y.dtype == np.int64
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y, minlength=10).tolist() == TRAIN_COUNTS
    assert x.min() == 0.0 and x.max() == 1.0


def test_mnist_train_pixel_moments(train32):
    x, _ = train32
    assert abs(x.mean(dtype=np.float64) - 0.13066) < 1e-4
    assert abs(x.std(dtype=np.float64) - 0.30811) < 1e-4


def test_mnist_test_split(test32):
    x, y = test32
    assert x.shape == (10000, 784) and y.shape == (10000,)
    assert np.bincount(y, minlength=10).tolist() == TEST_COUNTS
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_mnist_float64_matches_float32_and_bytes(test32):
    x32, y32 = test32
    x64, y64 = load_mnist("test", dtype=np.float64)
    assert x64.dtype == np.float64 and x64.shape == (10000, 784)
    np.testing.assert_array_equal(y64, y32)
    np.testing.assert_allclose(x64, x32, rtol=0, atol=1e-7)
    # exactly byte / 255: multiplying back gives integers 0..255
    np.testing.assert_array_equal(x64 * 255, np.round(x64 * 255))


def test_mnist_unflattened_and_fresh_arrays(test32):
    x, _ = test32
    img, lab = load_mnist("test", flatten=False)
    assert img.shape == (10000, 28, 28)
    np.testing.assert_array_equal(img.reshape(10000, 784), x)
    img[:] = 7.0  # mutating a returned array must not touch the cache
    lab[:] = -1
    x2, y2 = load_mnist("test")
    np.testing.assert_array_equal(x2, x)
    assert y2.min() == 0


@pytest.mark.parametrize("split", ["val", "TRAIN", None, 0])
def test_mnist_bad_split(split):
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test', got"):
        load_mnist(split)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.uint8, "complex128", "nonsense"])
def test_mnist_bad_dtype(dtype):
    with pytest.raises(ValueError, match=r"dtype must be .*float32.*float64.*got"):
        load_mnist("test", dtype=dtype)


def test_mnist_bad_flatten():
    with pytest.raises(ValueError, match="flatten"):
        load_mnist("test", flatten="yes")


# --------------------------------------------------------------------------
# MNIST: missing and corrupted files
# --------------------------------------------------------------------------


@pytest.fixture
def test_copy(tmp_path):
    """A folder holding copies of the two test-split files."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in TEST_FILES:
        shutil.copy(D.mnist._DEFAULT_DATA_DIR / name, folder / name)
    return folder


def test_mnist_from_copy_and_env_var(test_copy, monkeypatch, test32):
    x, y = load_mnist("test", data_dir=str(test_copy))
    np.testing.assert_array_equal(y, test32[1])
    monkeypatch.setenv("TINYAE_DATA_DIR", str(test_copy))
    x2, _ = load_mnist("test")
    np.testing.assert_array_equal(x2, x)
    # the argument wins over the environment variable
    monkeypatch.setenv("TINYAE_DATA_DIR", str(test_copy / "nowhere"))
    load_mnist("test", data_dir=test_copy)


def test_mnist_missing_folder(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(DataNotFoundError) as info:
        load_mnist("test", data_dir=missing)
    msg = str(info.value)
    assert str(missing) in msg and "TINYAE_DATA_DIR" in msg
    assert "data/mnist" in msg and "git checkout" in msg
    assert isinstance(info.value, FileNotFoundError)


def test_mnist_missing_folder_from_env(tmp_path, monkeypatch):
    missing = tmp_path / "env-folder"
    monkeypatch.setenv("TINYAE_DATA_DIR", str(missing))
    with pytest.raises(FileNotFoundError, match="TINYAE_DATA_DIR environment variable") as info:
        load_mnist("test")
    assert str(missing) in str(info.value)


def test_mnist_missing_file(test_copy):
    (test_copy / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist("test", data_dir=test_copy)


def test_mnist_truncated_gzip(test_copy):
    path = test_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:400_000])
    with pytest.raises(DataError) as info:
        load_mnist("test", data_dir=test_copy)
    msg = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "truncated or corrupted" in msg
    assert "expected 7840016" in msg  # expected vs got decompressed bytes
    assert isinstance(info.value.__cause__, (EOFError, OSError))


def test_mnist_garbage_instead_of_gzip(test_copy):
    (test_copy / "t10k-labels-idx1-ubyte.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: truncated or corrupted"):
        load_mnist("test", data_dir=test_copy)


def test_mnist_checksum_mismatch(test_copy):
    path = test_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed; still a valid gzip
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError) as info:
        load_mnist("test", data_dir=test_copy)
    msg = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and "checksum mismatch" in msg
    assert f"expected SHA-256 {D.MNIST_SHA256['t10k-labels-idx1-ubyte']}" in msg
    assert "got " in msg


def test_mnist_cache_notices_a_changed_file(test_copy):
    load_mnist("test", data_dir=test_copy)
    path = test_copy / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="t10k-labels"):
        load_mnist("test", data_dir=test_copy)


def _idx(magic, dims, payload_len=None):
    n = int(np.prod(dims)) if payload_len is None else payload_len
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    return head + bytes(range(256)) * (n // 256) + bytes(n % 256)


def test_parse_idx_valid():
    arr = D.mnist._parse_idx(_idx(2051, (3, 4, 5)), 2051, "fake")
    assert arr.shape == (3, 4, 5) and arr.dtype == np.uint8
    assert D.mnist._parse_idx(_idx(2049, (7,)), 2049, "fake").shape == (7,)


@pytest.mark.parametrize(
    "raw, expected_magic, pattern",
    [
        (_idx(2049, (10,)), 2051, r"fake: wrong IDX magic number: expected 2051, got 2049"),
        (b"\x00\x00", 2049, r"too short .* expected at least 4 bytes, got 2"),
        (_idx(2051, (3, 4, 5))[:10], 2051, r"header truncated: expected 16 header bytes, got 10"),
        (_idx(2051, (3, 4, 5), payload_len=59), 2051, r"truncated.*3 x 4 x 5.*expected 76 bytes.*got 75"),
        (_idx(2049, (10,), payload_len=12), 2049, r"trailing bytes.*expected 18 bytes.*got 20"),
    ],
)
def test_parse_idx_errors(raw, expected_magic, pattern):
    with pytest.raises(DataError, match=pattern):
        D.mnist._parse_idx(raw, expected_magic, "fake")


# --------------------------------------------------------------------------
# binarisation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binarize_static(dtype):
    x = np.array([[0.0, 0.2, 0.5, 0.50001, 1.0]], dtype=dtype)
    out = binarize_static(x)
    assert out.dtype == dtype and out.shape == x.shape
    assert out.tolist() == [[0, 0, 0, 1, 1]]
    assert binarize_static(x, threshold=0.1).tolist() == [[0, 1, 1, 1, 1]]


def test_binarize_static_rejects_bytes_and_bad_threshold():
    with pytest.raises(ValueError, match="x must be a floating array.*uint8"):
        binarize_static(np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="threshold"):
        binarize_static(np.zeros(3), threshold="half")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binarize_dynamic_reproducible_and_unbiased(dtype):
    p = np.linspace(0.0, 1.0, 11, dtype=dtype)  # (11,)
    x = np.tile(p, (20000, 1))  # (20000, 11)
    a = binarize_dynamic(x, np.random.default_rng(5))
    b = binarize_dynamic(x, np.random.default_rng(5))
    assert a.dtype == dtype and a.shape == x.shape
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a).tolist()) <= {0.0, 1.0}
    assert not np.array_equal(a, binarize_dynamic(x, np.random.default_rng(6)))
    se = np.sqrt(p * (1 - p) / x.shape[0]) + 1e-12
    assert np.all(np.abs(a.mean(axis=0) - p) <= 5 * se)
    assert a[:, 0].max() == 0 and a[:, -1].min() == 1  # p = 0 and p = 1 are exact


def test_binarize_dynamic_needs_generator_and_probabilities():
    x = np.full((2, 3), 0.5)
    with pytest.raises(TypeError):
        binarize_dynamic(x)  # rng is required
    for bad in (None, 0, np.random.RandomState(0)):
        with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
            binarize_dynamic(x, bad)
    with pytest.raises(ValueError, match=r"x must hold probabilities in \[0, 1\]"):
        binarize_dynamic(np.array([0.5, 1.5]), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"probabilities"):
        binarize_dynamic(np.array([0.5, np.nan]), np.random.default_rng(0))


# --------------------------------------------------------------------------
# Gaussian mixtures
# --------------------------------------------------------------------------


def _fd_score(gm, x, h=1e-5):
    """Central finite differences of log_density: (n, d)."""
    out = np.empty_like(x)
    for i in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[i] = h
        out[:, i] = (gm.log_density(x + e) - gm.log_density(x - e)) / (2 * h)
    return out


@pytest.mark.parametrize("make", [mixture_1d, mixture_2d])
@pytest.mark.parametrize("sigma", [None, 0.4])
def test_score_matches_finite_differences(make, sigma):
    gm = make() if sigma is None else make().smoothed(sigma)
    rng = np.random.default_rng(0)
    x = gm.sample(200, rng=rng) + 0.5 * rng.standard_normal((200, gm.dim))  # (200, d)
    s = gm.score(x)
    assert s.shape == x.shape and s.dtype == np.float64
    fd = _fd_score(gm, x)
    rel = np.abs(s - fd) / np.maximum(np.maximum(np.abs(s), np.abs(fd)), 1.0)
    assert rel.max() < 1e-6


def test_score_far_from_data_is_stable():
    gm = mixture_2d()
    x = np.array([[40.0, -30.0], [-1e3, 1e3]])
    assert np.all(np.isfinite(gm.log_density(x)))
    s = gm.score(x)
    assert np.all(np.isfinite(s))
    # far away a single component dominates, so the score is that component's
    r = gm.responsibilities(x)  # (2, k)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)
    for i, j in enumerate(r.argmax(axis=1)):
        expected = -np.linalg.solve(gm.covs[j], x[i] - gm.means[j])
        np.testing.assert_allclose(s[i], expected, rtol=1e-6)


def test_mixture_1d_density_formula_and_integral():
    gm = mixture_1d()
    grid = np.linspace(-12.0, 12.0, 24001)
    p = gm.density(grid[:, None])  # (m,)
    expected = 0.3 * norm.pdf(grid, -2, 0.5) + 0.7 * norm.pdf(grid, 1.5, 0.8)
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-300)
    assert abs(np.trapezoid(p, grid) - 1.0) < 1e-3


def test_mixture_2d_density_integrates_to_one():
    gm = mixture_2d()
    step = 0.02
    g = np.arange(-6.0, 6.0 + step / 2, step)
    xx, yy = np.meshgrid(g, g)  # (m, m)
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)  # (m*m, 2)
    assert abs(gm.density(pts).sum() * step * step - 1.0) < 1e-3


@pytest.mark.parametrize("make", [mixture_1d, mixture_2d])
def test_sample_moments(make):
    gm = make()
    n = 100_000
    x = gm.sample(n, rng=np.random.default_rng(1))  # (n, d)
    assert x.shape == (n, gm.dim) and x.dtype == np.float64
    m_hat = x.mean(axis=0)
    se_mean = x.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(m_hat - gm.mean()) < 5 * se_mean)
    z = x - m_hat  # (n, d)
    prod = z[:, :, None] * z[:, None, :]  # (n, d, d)
    se_cov = prod.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(prod.mean(axis=0) - gm.cov()) < 5 * se_cov)


def test_sample_reproducible_and_dtype():
    gm = mixture_2d()
    a = gm.sample(50, rng=np.random.default_rng(3), dtype=np.float32)
    b = gm.sample(50, rng=np.random.default_rng(3), dtype=np.float32)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sigma", [0.3, 1.0])
def test_smoothed_equals_numerical_convolution(sigma):
    gm = mixture_1d()
    grid = np.linspace(-15.0, 15.0, 15001)  # dx = 0.002
    p = gm.density(grid[:, None])  # (m,)
    y = np.linspace(-5.0, 5.0, 41)  # (q,)
    kernel = norm.pdf(y[:, None] - grid[None, :], scale=sigma)  # (q, m)
    conv = np.trapezoid(kernel * p[None, :], grid, axis=1)  # (q,)
    smoothed = gm.smoothed(sigma)
    np.testing.assert_allclose(smoothed.density(y[:, None]), conv, rtol=0, atol=1e-4)
    np.testing.assert_allclose(smoothed.covs[:, 0, 0], gm.covs[:, 0, 0] + sigma**2)
    # smoothing by zero changes nothing
    np.testing.assert_allclose(gm.smoothed(0.0).score(y[:, None]), gm.score(y[:, None]))


def test_mixture_validation():
    w, mu, S = [0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), np.eye(2)]
    GaussianMixture(w, mu, S)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        GaussianMixture([0.5, 0.6], mu, S)
    with pytest.raises(ValueError, match="weights must all be finite and > 0"):
        GaussianMixture([1.5, -0.5], mu, S)
    with pytest.raises(ValueError, match=r"means must have shape \(k, d\) = \(2, d\).*\(3, 2\)"):
        GaussianMixture(w, [[0, 0], [1, 1], [2, 2]], S)
    with pytest.raises(ValueError, match=r"covs must have shape .*\(2, 2, 2\).*\(2, 3, 3\)"):
        GaussianMixture(w, mu, [np.eye(3), np.eye(3)])
    with pytest.raises(ValueError, match=r"covs\[1\] must be positive-definite"):
        GaussianMixture(w, mu, [np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])])
    with pytest.raises(ValueError, match="symmetric"):
        GaussianMixture(w, mu, [np.eye(2), np.array([[1.0, 0.5], [0.0, 1.0]])])
    gm = GaussianMixture(w, mu, S)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got shape \(5,\)"):
        gm.score(np.zeros(5))
    with pytest.raises(ValueError, match=r"x\[:, None\]"):
        mixture_1d().log_density(np.zeros(5))
    with pytest.raises(ValueError, match="sigma"):
        gm.smoothed(-1.0)
    with pytest.raises(TypeError, match="rng"):
        gm.sample(3, rng=None)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        gm.sample(2.5, rng=np.random.default_rng(0))


# --------------------------------------------------------------------------
# synthetic point clouds
# --------------------------------------------------------------------------

SAMPLERS = {
    "ring": (lambda n, rng, **kw: ring(n, rng=rng, **kw), 2),
    "swiss_roll_2d": (lambda n, rng, **kw: swiss_roll_2d(n, rng=rng, **kw), 2),
    "swiss_roll_3d": (lambda n, rng, **kw: swiss_roll_3d(n, rng=rng, **kw), 3),
    "two_moons": (lambda n, rng, **kw: two_moons(n, rng=rng, **kw)[0], 2),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_synthetic_shapes_dtypes_reproducible(name, dtype):
    fn, d = SAMPLERS[name]
    a = fn(101, np.random.default_rng(7), dtype=dtype)
    b = fn(101, np.random.default_rng(7), dtype=dtype)
    c = fn(101, np.random.default_rng(8), dtype=dtype)
    assert a.shape == (101, d) and a.dtype == dtype
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_synthetic_validation(name):
    fn, _ = SAMPLERS[name]
    with pytest.raises(TypeError, match="rng"):
        fn(10, 0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        fn(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="noise"):
        fn(10, np.random.default_rng(0), noise=-0.1)
    with pytest.raises(ValueError, match="dtype"):
        fn(10, np.random.default_rng(0), dtype=np.int64)


def test_ring_radius():
    x = ring(20000, rng=np.random.default_rng(0), radius=2.0, noise=0.05)
    r = np.linalg.norm(x, axis=1)
    assert abs(r.mean() - 2.0) < 0.005
    assert abs(r.std() - 0.05) < 0.005
    noiseless = ring(100, rng=np.random.default_rng(0), radius=3.0, noise=0.0)
    np.testing.assert_allclose(np.linalg.norm(noiseless, axis=1), 3.0)
    with pytest.raises(ValueError, match="radius"):
        ring(10, rng=np.random.default_rng(0), radius=0.0)


def test_swiss_rolls_lie_on_their_manifolds():
    rng = np.random.default_rng(0)
    x2 = swiss_roll_2d(500, rng=rng, noise=0.0)
    r = np.linalg.norm(x2, axis=1)
    assert r.max() <= 1.0 + 1e-12 and r.min() >= 1.5 / 4.5 - 1e-12
    x3, t = swiss_roll_3d(500, rng=rng, noise=0.0, return_t=True)
    assert x3.shape == (500, 3) and t.shape == (500,)
    assert t.min() >= 1.5 * np.pi and t.max() < 4.5 * np.pi
    np.testing.assert_allclose(np.hypot(x3[:, 0], x3[:, 2]), t / (4.5 * np.pi))
    assert np.all(np.abs(x3[:, 1]) <= 1.0)


def test_two_moons_labels():
    x, y = two_moons(301, rng=np.random.default_rng(0), noise=0.0)
    assert x.shape == (301, 2) and y.shape == (301,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [151, 150]
    # noiseless: label 0 on the unit circle around (0, 0), label 1 around (1, 0.5)
    np.testing.assert_allclose(np.linalg.norm(x[y == 0], axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(x[y == 1] - [1.0, 0.5], axis=1), 1.0)
    assert np.all(x[y == 0, 1] >= 0) and np.all(x[y == 1, 1] <= 0.5)


# --------------------------------------------------------------------------
# minibatches
# --------------------------------------------------------------------------


def test_minibatches_cover_every_index_once_and_stay_aligned():
    n = 103
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)  # (n, 3): row i starts at 3i
    y = np.arange(n)  # (n,)
    batches = list(minibatches(x, y, batch_size=10, rng=np.random.default_rng(0)))
    assert len(batches) == 11
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    assert [len(b[1]) for b in batches] == [10] * 10 + [3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(n))
    assert not np.array_equal(seen, np.arange(n))  # actually shuffled
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], 3 * yb)


def test_minibatches_reproducible_and_epochs_differ():
    y = np.arange(50)
    a = [b[0].tolist() for b in minibatches(y, batch_size=8, rng=np.random.default_rng(4))]
    b = [b[0].tolist() for b in minibatches(y, batch_size=8, rng=np.random.default_rng(4))]
    assert a == b
    rng = np.random.default_rng(4)
    e1 = np.concatenate([b for (b,) in minibatches(y, batch_size=8, rng=rng)])
    e2 = np.concatenate([b for (b,) in minibatches(y, batch_size=8, rng=rng)])
    assert not np.array_equal(e1, e2)


def test_minibatches_no_shuffle_and_drop_last():
    y = np.arange(25)
    batches = list(minibatches(y, batch_size=10, shuffle=False))
    assert [b[0].tolist() for b in batches] == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    dropped = list(minibatches(y, batch_size=10, rng=np.random.default_rng(0), drop_last=True))
    assert [len(b[0]) for b in dropped] == [10, 10]
    assert list(minibatches(y, batch_size=30, shuffle=False, drop_last=True)) == []
    exact = list(minibatches(y, batch_size=5, shuffle=False, drop_last=True))
    assert len(exact) == 5


def test_minibatches_errors_raised_at_call_time():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match=r"same first dimension, got lengths \[10, 9\]"):
        minibatches(x, np.zeros(9), batch_size=2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator when shuffle=True, got None"):
        minibatches(x, batch_size=2)
    with pytest.raises(TypeError, match="rng"):
        minibatches(x, batch_size=2, rng=42)
    for bad in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            minibatches(x, batch_size=bad, shuffle=False)
    with pytest.raises(ValueError, match="at least one array"):
        minibatches(batch_size=2, shuffle=False)
    with pytest.raises(ValueError, match="at least one dimension"):
        minibatches(np.float64(1.0), batch_size=2, shuffle=False)
