"""ContractiveAutoencoder and SparseAutoencoder: whole-model gradient checks
(float64), the exact Jacobian against finite differences, and the bookkeeping
of last_stats."""

import numpy as np
import pytest

from tinyae.gradcheck import DEFAULT_TOL, check_model, rel_error
from tinyae.models import ContractiveAutoencoder, MLPAutoencoder, SparseAutoencoder

from test_penalties import fd_jacobian


def _x(rng, n=5, d=6):
    return rng.uniform(0.05, 0.95, size=(n, d))


# --------------------------------------------------------------------------
# ContractiveAutoencoder
# --------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("output", ["bernoulli", "mse"])
def test_cae_gradient_check(act, tied, output):
    rng = np.random.default_rng(10)
    model = ContractiveAutoencoder(sizes=(6, 4), lam=0.8, activation=act,
                                   tied=tied, likelihood=output, rng=rng)
    report = check_model(model, _x(rng))
    assert report.worst < DEFAULT_TOL, str(report)
    expected = {"encoder.0.W", "encoder.0.b", "decoder.0.b"} | (
        set() if tied else {"decoder.0.W"})
    assert set(report.errors) == expected


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_cae_jacobian_is_exact_and_penalty_is_its_norm(act):
    rng = np.random.default_rng(11)
    model = ContractiveAutoencoder(sizes=(6, 4), lam=0.5, activation=act, rng=rng)
    model.params["encoder.0.b"][:] = rng.standard_normal(4)
    x = _x(rng)
    J = model.jacobian(x)                                       # (5, 4, 6)
    assert J.shape == (5, 4, 6)
    assert rel_error(J, fd_jacobian(model.encode, x)) < 1e-8
    norms = model.jacobian_norm(x)
    np.testing.assert_allclose(norms, np.sqrt(np.sum(J * J, axis=(1, 2))), rtol=1e-12)
    loss, _ = model.loss_and_grad(x)
    stats = model.last_stats
    assert stats["penalty"] == pytest.approx(0.5 * np.mean(norms ** 2), rel=1e-12)
    assert loss == pytest.approx(stats["recon"] + stats["penalty"], rel=1e-12)


def test_cae_with_zero_lambda_is_the_plain_autoencoder():
    rng = np.random.default_rng(12)
    cae = ContractiveAutoencoder(sizes=(6, 4), lam=0.0, rng=np.random.default_rng(0))
    mlp = MLPAutoencoder(sizes=(6, 4), activation="sigmoid", code_activation="sigmoid",
                         rng=np.random.default_rng(0))
    x = _x(rng)
    loss_c, grads_c = cae.loss_and_grad(x)
    grads_c = {k: g.copy() for k, g in grads_c.items()}
    loss_m, grads_m = mlp.loss_and_grad(x)
    assert loss_c == pytest.approx(loss_m, rel=1e-14)
    for k in grads_m:
        np.testing.assert_allclose(grads_c[k], grads_m[k], rtol=1e-13)
    assert cae.last_stats["penalty"] == 0.0


def test_cae_target_and_float32():
    rng = np.random.default_rng(13)
    model = ContractiveAutoencoder(sizes=(6, 4), lam=0.1, rng=rng, dtype=np.float32)
    x = _x(rng).astype(np.float32)
    noisy = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
    loss, grads = model.loss_and_grad(noisy, target=x)
    assert np.isfinite(loss) and all(g.dtype == np.float32 for g in grads.values())


def test_cae_validation():
    rng = np.random.default_rng(14)
    with pytest.raises(ValueError, match="activation"):
        ContractiveAutoencoder(sizes=(6, 4), lam=0.1, activation="relu", rng=rng)
    with pytest.raises(ValueError, match="lam"):
        ContractiveAutoencoder(sizes=(6, 4), lam=-0.1, rng=rng)
    with pytest.raises(ValueError, match=r"sizes must be \(n_in, n_code\)"):
        ContractiveAutoencoder(sizes=(6, 5, 4), lam=0.1, rng=rng)
    model = ContractiveAutoencoder(sizes=(6, 4), lam=0.1, rng=rng)
    with pytest.raises(ValueError, match="x must have shape"):
        model.loss_and_grad(_x(rng, d=5))


def test_cae_penalty_shrinks_the_jacobian_in_training():
    """A few full-batch steps with a large lam cut ||J||_F against lam = 0."""
    from tinyae.optim import Adam
    rng = np.random.default_rng(15)
    x = _x(rng, n=64, d=10)
    norms = {}
    for lam in (0.0, 1.0):
        model = ContractiveAutoencoder(sizes=(10, 8), lam=lam,
                                       rng=np.random.default_rng(1))
        opt = Adam(model.params, lr=1e-2)
        for _ in range(100):
            opt.step(model.loss_and_grad(x)[1])
        norms[lam] = model.jacobian_norm(x).mean()
    assert norms[1.0] < 0.5 * norms[0.0]


# --------------------------------------------------------------------------
# SparseAutoencoder
# --------------------------------------------------------------------------

@pytest.mark.parametrize("penalty", ["l1", "kl"])
@pytest.mark.parametrize("deep", [False, True])
def test_sparse_gradient_check(penalty, deep):
    rng = np.random.default_rng(20)
    shape = dict(sizes=(6, 5, 4), activation="tanh") if deep else dict(sizes=(6, 4))
    model = SparseAutoencoder(penalty=penalty, lam=0.3, rho=0.1, beta=2.0, rng=rng,
                              likelihood="mse" if deep else "bernoulli", **shape)
    report = check_model(model, _x(rng))
    assert report.worst < DEFAULT_TOL, str(report)


def test_sparse_stats():
    rng = np.random.default_rng(21)
    model = SparseAutoencoder(sizes=(6, 4), penalty="kl", rho=0.05, beta=3.0, rng=rng)
    x = _x(rng)
    loss, _ = model.loss_and_grad(x)
    h = model.encode(x)
    s = model.last_stats
    assert s["rho_hat_mean"] == pytest.approx(h.mean(), rel=1e-12)
    r = h.mean(axis=0)
    kl = np.sum(0.05 * np.log(0.05 / r) + 0.95 * np.log(0.95 / (1 - r)))
    assert s["penalty"] == pytest.approx(3.0 * kl, rel=1e-12)
    assert loss == pytest.approx(s["recon"] + s["penalty"], rel=1e-12)
    l1_model = SparseAutoencoder(sizes=(6, 4), penalty="l1", lam=0.2,
                                 rng=np.random.default_rng(0))
    l1_model.loss_and_grad(x)
    assert l1_model.last_stats["penalty"] == pytest.approx(
        0.2 * np.abs(l1_model.encode(x)).sum() / 5, rel=1e-12)


def test_sparse_validation():
    rng = np.random.default_rng(22)
    with pytest.raises(ValueError, match="code_activation='sigmoid'"):
        SparseAutoencoder(sizes=(6, 4), penalty="kl", code_activation="relu", rng=rng)
    with pytest.raises(ValueError, match="penalty"):
        SparseAutoencoder(sizes=(6, 4), penalty="l2", rng=rng)
    with pytest.raises(ValueError, match="sizes must have at least 2"):
        SparseAutoencoder(sizes=(6,), rng=rng)
    with pytest.raises(TypeError):
        SparseAutoencoder(sizes=(6, 4), n_in=6, rng=rng)          # one way to say a width
    with pytest.raises(ValueError, match="rho"):
        SparseAutoencoder(sizes=(6, 4), rho=0.0, rng=rng)
    relu_l1 = SparseAutoencoder(sizes=(6, 4), penalty="l1", code_activation="relu", rng=rng)
    assert relu_l1.code_activation == "relu"
