"""The Gaussian fitted to codes and its Cholesky sampler (lesson 14's repair,
``tinyae.analysis.generative``)."""

import numpy as np
import pytest

from tinyae.analysis.generative import fit_gaussian, sample_gaussian

MIX = np.array([[2.0, 0.0, 0.0], [1.5, 1.0, 0.0], [-1.0, 2.0, 0.5]])


@pytest.fixture
def codes():
    rng = np.random.default_rng(0)
    return 5.0 + rng.standard_normal((400, 3)) @ MIX.T


def test_fit_is_the_mean_and_the_unbiased_covariance(codes):
    mean, cov = fit_gaussian(codes)
    np.testing.assert_allclose(mean, codes.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(cov, np.cov(codes, rowvar=False), rtol=1e-12)
    # the biased estimate (a near miss: n / (n - 1) = 1.0025) is not what it returns
    biased = np.cov(codes, rowvar=False, bias=True)
    assert not np.allclose(cov, biased, rtol=1e-3, atol=0)


def test_fit_keeps_one_dimension_square_and_float32_in_float32(codes):
    mean, cov = fit_gaussian(codes[:, :1])
    assert mean.shape == (1,) and cov.shape == (1, 1)          # np.cov would give ()
    np.testing.assert_allclose(cov[0, 0], codes[:, 0].var(ddof=1), rtol=1e-12)
    mean32, cov32 = fit_gaussian(codes.astype(np.float32))
    assert mean32.dtype == cov32.dtype == np.float32
    np.testing.assert_allclose(cov32, np.cov(codes, rowvar=False), rtol=1e-5)


def test_sample_is_mean_plus_the_cholesky_factor_times_eps(codes):
    mean, cov = fit_gaussian(codes)
    lower = np.linalg.cholesky(cov)
    z = sample_gaussian(mean, cov, np.eye(3))                  # eps = e_j: column j of L
    np.testing.assert_allclose(z - mean, lower.T, rtol=1e-12, atol=1e-12)
    eps = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_allclose(sample_gaussian(mean, cov, eps), mean + eps @ lower.T,
                               rtol=1e-12)
    z32 = sample_gaussian(mean, cov, eps.astype(np.float32))
    assert z32.dtype == np.float32 and z32.shape == (5, 3)


def test_draws_have_the_fitted_moments_and_the_transposed_factor_does_not(codes):
    mean, cov = fit_gaussian(codes)
    eps = np.random.default_rng(2).standard_normal((100_000, 3))
    z = sample_gaussian(mean, cov, eps)
    scale = np.abs(cov).max()
    assert np.abs(np.cov(z, rowvar=False) - cov).max() / scale < 0.02
    assert np.abs(z.mean(axis=0) - mean).max() < 0.05
    wrong = mean + eps @ np.linalg.cholesky(cov)               # eps @ L: covariance L^T L
    assert np.abs(np.cov(wrong, rowvar=False) - cov).max() / scale > 0.2


@pytest.mark.parametrize("args, error, named", [
    (lambda c: (c[:1],), ValueError, r"codes needs at least 2 rows .* got shape \(1, 3\)"),
    (lambda c: (c.astype(np.int64),), TypeError, "codes must have dtype float32 or float64"),
    (lambda c: (c[:, 0],), ValueError, "codes must be 2-D"),
])
def test_fit_refuses_bad_codes(codes, args, error, named):
    with pytest.raises(error, match=named):
        fit_gaussian(*args(codes))


def test_sample_refuses_what_has_no_cholesky_factor(codes):
    mean, cov = fit_gaussian(codes)
    eps = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"cov \(3 x 3\) is not positive definite"):
        sample_gaussian(mean, np.diag([1.0, 0.0, -1.0]), eps)
    lopsided = cov.copy()
    lopsided[0, 1] += 1.0
    with pytest.raises(ValueError, match="cov must be symmetric"):
        sample_gaussian(mean, lopsided, eps)
    with pytest.raises(ValueError, match=r"mean must have shape \(3\)"):
        sample_gaussian(mean[:2], cov, eps)
    with pytest.raises(ValueError, match=r"cov must have shape \(3, 3\)"):
        sample_gaussian(mean, cov[:2], eps)
    sample_gaussian(mean, cov + 1e-9 * np.triu(np.ones((3, 3)), 1), eps)   # rounding: fine
