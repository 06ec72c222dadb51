"""Tests for tinyae.models.linear: PCA, principal angles, the linear autoencoder."""

import numpy as np
import pytest

from tinyae import gradcheck
from tinyae.gradcheck import check_model
from tinyae.models import PCA, LinearAutoencoder, principal_angle_cosines
from tinyae.optim import Adam

VARIANCES = np.array([9.0, 5.0, 3.0, 1.0, 0.5, 0.2, 0.1, 0.05])


def random_rotation(d, rng):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))                     # Haar-distributed, det +-1


def gaussian_data(n, rng, *, variances=VARIANCES, mean_shift=3.0):
    """x = mu + e diag(sqrt(var)) R^T: covariance R diag(var) R^T. Returns x, R."""
    d = len(variances)
    rot = random_rotation(d, rng)
    mu = mean_shift * rng.standard_normal(d)
    x = mu + (rng.standard_normal((n, d)) * np.sqrt(variances)) @ rot.T
    return x, rot


# --------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------

def test_pca_matches_the_sample_covariance_eigendecomposition():
    rng = np.random.default_rng(0)
    x, _ = gaussian_data(400, rng)
    pca = PCA(3).fit(x)
    xc = x - x.mean(axis=0)
    evals, evecs = np.linalg.eigh(xc.T @ xc / len(x))        # 1/n convention
    evals, evecs = evals[::-1], evecs[:, ::-1]
    np.testing.assert_allclose(pca.mean_, x.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(pca.explained_variance_, evals[:3], rtol=1e-10)
    np.testing.assert_allclose(pca.singular_values_, np.sqrt(evals[:3] * len(x)),
                               rtol=1e-10)
    # each component is the eigenvector up to sign
    dots = np.abs(np.sum(pca.components_ * evecs[:, :3].T, axis=1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-9)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(pca.explained_variance_ratio_, evals[:3] / evals.sum(),
                               rtol=1e-10)
    assert pca.components_.shape == (3, 8) and pca.explained_variance_.shape == (3,)


def test_pca_recovers_the_population_eigenvalues_and_subspace():
    rng = np.random.default_rng(1)
    x, rot = gaussian_data(20000, rng)
    pca = PCA(3).fit(x)
    np.testing.assert_allclose(pca.explained_variance_, VARIANCES[:3], rtol=0.05)
    cosines = principal_angle_cosines(pca.components_.T, rot[:, :3])
    assert cosines.shape == (3,)
    assert cosines.min() > 0.999


@pytest.mark.parametrize("n, k", [(400, 3), (400, 1), (400, 8), (5, 2)])
def test_pca_training_error_is_the_sum_of_discarded_eigenvalues(n, k):
    rng = np.random.default_rng(2)
    x, _ = gaussian_data(n, rng)                 # n = 5 < d = 8: the wide path
    pca = PCA(k).fit(x)
    xc = x - x.mean(axis=0)
    evals = np.sort(np.linalg.eigvalsh(xc.T @ xc / n))[::-1]
    err = pca.reconstruction_error(x)
    np.testing.assert_allclose(pca.discarded_variance_, evals[k:].sum(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(err, pca.discarded_variance_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pca.total_variance_, np.trace(xc.T @ xc) / n, rtol=1e-12)
    if k < min(n - 1, 8):
        assert err > 1e-3                        # not trivially zero


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pca_roundtrip_is_the_orthogonal_projection(dtype):
    rng = np.random.default_rng(3)
    x, _ = gaussian_data(300, rng)
    pca = PCA(2).fit(x.astype(dtype))
    assert pca.components_.dtype == np.float64 and pca.mean_.dtype == np.float64
    x_new = gaussian_data(50, np.random.default_rng(4))[0].astype(dtype)
    z = pca.transform(x_new)
    back = pca.inverse_transform(z)
    assert z.dtype == dtype and back.dtype == dtype and z.shape == (50, 2)
    mu = pca.mean_
    expected = mu + (x_new.astype(np.float64) - mu) @ pca.projector()
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(back, expected, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(pca.reconstruct(x_new), back, rtol=0, atol=0)
    # the projector is idempotent and symmetric, of rank k
    P = pca.projector()
    np.testing.assert_allclose(P @ P, P, atol=1e-12)
    assert np.trace(P) == pytest.approx(2.0, abs=1e-12)
    # the error from the roundtrip matches reconstruction_error
    resid = back.astype(np.float64) - x_new.astype(np.float64)
    assert pca.reconstruction_error(x_new) == pytest.approx(
        np.mean(np.sum(resid ** 2, axis=1)), rel=10 * tol)


def test_pca_float32_and_float64_fits_agree():
    rng = np.random.default_rng(5)
    x, _ = gaussian_data(500, rng)
    x32 = x.astype(np.float32)
    a = PCA(3).fit(x32)
    b = PCA(3).fit(x32.astype(np.float64))       # same numbers, float64 storage
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-12)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-12)


def test_pca_signs_are_deterministic():
    rng = np.random.default_rng(6)
    x, _ = gaussian_data(200, rng)
    comps = PCA(4).fit(x).components_
    biggest = comps[np.arange(4), np.argmax(np.abs(comps), axis=1)]
    assert (biggest > 0).all()
    np.testing.assert_array_equal(PCA(4).fit(x).components_, comps)


def test_pca_bad_inputs():
    x = np.random.default_rng(0).standard_normal((10, 4))
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="n_components"):
            PCA(bad)
    with pytest.raises(ValueError, match=r"n_components.*min\(10, 4\) = 4, got 5"):
        PCA(5).fit(x)
    with pytest.raises(RuntimeError, match="not fitted"):
        PCA(2).transform(x)
    pca = PCA(2).fit(x)
    with pytest.raises(ValueError, match=r"x must have shape \('?\*'?, 4\)"):
        pca.transform(x[:, :3])
    with pytest.raises(ValueError, match=r"z must have shape \('?\*'?, 2\)"):
        pca.inverse_transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="x must be 2-D"):
        PCA(1).fit(x[0])
    with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
        PCA(1).fit(x.astype(np.int64))
    x_nan = x.copy()
    x_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="x contains 1 non-finite"):
        PCA(1).fit(x_nan)


# --------------------------------------------------------------------------
# Principal angles
# --------------------------------------------------------------------------

def test_principal_angle_cosines_known_angles():
    t1, t2 = 0.3, 1.1
    e = np.eye(4)
    A = e[:, :2]
    B = np.stack([np.cos(t1) * e[0] + np.sin(t1) * e[2],
                  np.cos(t2) * e[1] + np.sin(t2) * e[3]], axis=1)
    np.testing.assert_allclose(principal_angle_cosines(A, B),
                               [np.cos(t1), np.cos(t2)], atol=1e-14)
    # the result depends on the spans only, not on the bases
    M = np.array([[2.0, 1.0], [-0.5, 3.0]])
    np.testing.assert_allclose(principal_angle_cosines(A @ M, B @ M.T),
                               [np.cos(t1), np.cos(t2)], atol=1e-13)
    # orthogonal subspaces; a subspace of a larger one; different sizes
    np.testing.assert_allclose(principal_angle_cosines(A, e[:, 2:]), [0, 0], atol=1e-15)
    np.testing.assert_allclose(principal_angle_cosines(e[:, :1] + e[:, 1:2], A), [1.0],
                               atol=1e-15)


def test_principal_angle_cosines_bad_inputs():
    A = np.eye(4)[:, :2]
    with pytest.raises(ValueError, match="same number of rows"):
        principal_angle_cosines(A, np.eye(3)[:, :2])
    with pytest.raises(ValueError, match="B must have linearly independent columns"):
        principal_angle_cosines(A, np.ones((4, 2)))
    with pytest.raises(ValueError, match="A must have at least as many rows"):
        principal_angle_cosines(np.ones((2, 3)), A)
    with pytest.raises(TypeError, match="B must be a numpy array"):
        principal_angle_cosines(A, [[1.0], [0.0], [0.0], [0.0]])


# --------------------------------------------------------------------------
# Linear autoencoder
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"tied": True}, {"bias": False},
                                {"tied": True, "bias": False}],
                         ids=["untied", "tied", "no-bias", "tied-no-bias"])
def test_linear_ae_gradients(kw):
    rng = np.random.default_rng(7)
    model = LinearAutoencoder(sizes=(7, 3), rng=rng, **kw)
    report = check_model(model, rng.standard_normal((6, 7)))
    assert report.worst < 1e-7, str(report)
    expected = {"encoder.W"} | ({"decoder.W"} if not kw.get("tied") else set())
    if kw.get("bias", True):
        expected |= {"encoder.b", "decoder.b"}
    assert set(report.errors) == expected


def test_linear_ae_gradchecks_are_registered():
    names = [n for n in gradcheck.CASES if n.startswith("model LinearAutoencoder")]
    assert {"model LinearAutoencoder (untied)", "model LinearAutoencoder (tied)",
            "model LinearAutoencoder (no bias)"} <= set(names)
    ok, reports = gradcheck.run("LinearAutoencoder", stream=open("/dev/null", "w"))
    assert ok and len(reports) == len(names)


def test_linear_ae_forward_is_the_formula():
    rng = np.random.default_rng(8)
    model = LinearAutoencoder(sizes=(5, 2), rng=rng)
    for p in model.params.values():
        p[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((4, 5))
    P = model.params
    x_hat = (x @ P["encoder.W"] + P["encoder.b"]) @ P["decoder.W"] + P["decoder.b"]
    np.testing.assert_allclose(model.reconstruct(x), x_hat, rtol=1e-12, atol=1e-12)
    loss, _ = model.loss_and_grad(x)
    assert loss == pytest.approx(np.mean(np.sum((x_hat - x) ** 2, axis=1)), rel=1e-12)
    assert model.subspace().shape == (5, 2)
    np.testing.assert_array_equal(model.decoder_weights(), P["decoder.W"])

    tied = LinearAutoencoder(sizes=(5, 2), rng=rng, tied=True, bias=False)
    assert set(tied.params) == {"encoder.W"}
    W = tied.params["encoder.W"]
    np.testing.assert_allclose(tied.reconstruct(x), x @ W @ W.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(tied.subspace(), W)


def test_linear_ae_rotation_ambiguity():
    """(W_e A, A^{-1} W_d) reconstructs exactly as (W_e, W_d) does."""
    rng = np.random.default_rng(9)
    model = LinearAutoencoder(sizes=(6, 3), rng=rng, bias=False)
    x = rng.standard_normal((10, 6))
    before = model.reconstruct(x)
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    model.params["encoder.W"][...] = model.params["encoder.W"] @ A
    model.params["decoder.W"][...] = np.linalg.solve(A, model.params["decoder.W"])
    np.testing.assert_allclose(model.reconstruct(x), before, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tied", [False, True])
def test_linear_ae_converges_to_the_pca_subspace(tied):
    rng = np.random.default_rng(10)
    x, _ = gaussian_data(512, rng, mean_shift=0.0)
    x = x - x.mean(axis=0)                                 # centred: no biases needed
    pca = PCA(3).fit(x)
    model = LinearAutoencoder(sizes=(8, 3), rng=rng, tied=tied, bias=False)
    opt = Adam(model.params, lr=0.02)
    for step in range(1500):                               # full-batch Adam
        if step == 1000:
            opt.lr = 0.002
        _, grads = model.loss_and_grad(x)
        opt.step(grads)
    cosines = principal_angle_cosines(model.subspace(), pca.components_.T)
    assert cosines.min() > 0.99, cosines
    assert model.loss(x) == pytest.approx(pca.discarded_variance_, rel=1e-3)
    W = model.subspace()
    if tied:       # the tied optimum: orthonormal columns, W W^T = the projector
        np.testing.assert_allclose(W.T @ W, np.eye(3), atol=1e-2)
        np.testing.assert_allclose(W @ W.T, pca.projector(), atol=1e-2)


def test_linear_ae_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer, got 0"):
        LinearAutoencoder(sizes=(4, 0), rng=rng)
    with pytest.raises(ValueError, match=r"sizes\[0\] must be a positive integer"):
        LinearAutoencoder(sizes=(-4, 2), rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        LinearAutoencoder(sizes=(4, 2), rng=0)
    with pytest.raises(ValueError, match="init must be one of"):
        LinearAutoencoder(sizes=(4, 2), rng=rng, init="zeros")
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        LinearAutoencoder(sizes=(4, 2), rng=rng, dtype=np.int32)
    with pytest.raises(TypeError):
        LinearAutoencoder(4, 2, rng=rng)                   # keyword-only
    model = LinearAutoencoder(sizes=(4, 2), rng=rng, dtype=np.float32)
    with pytest.raises(TypeError, match="model's dtype"):
        model.loss_and_grad(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"x must have shape \('?\*'?, 4\)"):
        model.encode(np.zeros((3, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"z must have shape \('?\*'?, 2\)"):
        model.decode(np.zeros((3, 4), dtype=np.float32))
