"""Penalties: values against direct formulas and brute-force Jacobians,
gradients against finite differences (float64), and a deliberately wrong
gradient that the check must reject."""

import numpy as np
import pytest

from tinyae import penalties as P
from tinyae.functional import sigmoid
from tinyae.gradcheck import DEFAULT_TOL, check_arrays, rel_error

ACTS = {"sigmoid": sigmoid, "tanh": np.tanh}


def _setup(rng, n=5, n_in=7, n_h=4):
    x = rng.uniform(-1, 1, size=(n, n_in))
    W = rng.standard_normal((n_in, n_h))
    b = 0.5 * rng.standard_normal(n_h)
    return x, W, b


def fd_jacobian(f, x, h=1e-5):
    """Brute-force per-example Jacobian of a row-wise map f: (N, n_in) -> (N, m).

    Perturbs input column i of every row at once (rows are independent):
    J[n, :, i] = (f(x + h e_i) - f(x - h e_i))[n] / (2 h). Returns (N, m, n_in).
    """
    cols = []
    for i in range(x.shape[1]):
        xp, xm = x.copy(), x.copy()
        xp[:, i] += h
        xm[:, i] -= h
        cols.append((f(xp) - f(xm)) / (2 * h))     # (N, m)
    return np.stack(cols, axis=2)


# --------------------------------------------------------------------------
# contractive: value, Jacobian, gradient, and the factor-of-two slip
# --------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_contractive_value_is_frobenius_norm_of_brute_force_jacobian(act):
    rng = np.random.default_rng(1)
    x, W, b = _setup(rng)
    J = fd_jacobian(lambda v: ACTS[act](v @ W + b), x)          # (N, n_h, n_in)
    expected = 0.3 * np.mean(np.sum(J * J, axis=(1, 2)))
    value, _, _ = P.contractive(x, W, b, activation=act, lam=0.3)
    assert value == pytest.approx(expected, rel=1e-8)
    # and the analytic Jacobian itself, entry by entry
    h = ACTS[act](x @ W + b)
    J_exact = P.encoder_jacobian(h, W, activation=act)
    assert J_exact.shape == (5, 4, 7)
    assert rel_error(J_exact, J) < 1e-8


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_contractive_gradient_passes_finite_differences(act):
    rng = np.random.default_rng(2)
    x, W, b = _setup(rng)
    _, dW, db = P.contractive(x, W, b, activation=act, lam=0.7)
    report = check_arrays(lambda: P.contractive(x, W, b, activation=act, lam=0.7)[0],
                          {"W": W, "b": b}, {"W": dW, "b": db})
    assert report.worst < DEFAULT_TOL, str(report)


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_contractive_from_code_partials(act):
    """dh and dW are partial derivatives with h and W as independent inputs."""
    rng = np.random.default_rng(3)
    _, W, _ = _setup(rng)
    lo, hi = (0.05, 0.95) if act == "sigmoid" else (-0.9, 0.9)
    h = rng.uniform(lo, hi, size=(5, 4))
    value, dh, dW = P.contractive_from_code(h, W, activation=act, lam=0.4)
    d = h * (1 - h) if act == "sigmoid" else 1 - h * h
    assert value == pytest.approx(0.4 * np.mean((d * d) @ np.sum(W * W, axis=0)), rel=1e-12)
    report = check_arrays(lambda: P.contractive_from_code(h, W, activation=act, lam=0.4)[0],
                          {"h": h, "W": W}, {"h": dh, "W": dW})
    assert report.worst < DEFAULT_TOL, str(report)


def test_factor_of_two_slip_in_contractive_gradient_fails_the_check():
    """The STYLE pitfall: d/dW_ij of (d_j^2 sum_i W_ij^2) is 2 d_j^2 W_ij;
    writing d_j^2 W_ij leaves a gradient that trains, yet is wrong. The
    finite-difference check of the penalty alone must catch it."""
    rng = np.random.default_rng(4)
    x, W, b = _setup(rng)
    lam, n = 0.7, x.shape[0]
    _, dW, db = P.contractive(x, W, b, activation="sigmoid", lam=lam)
    h = sigmoid(x @ W + b)
    d2_sum = np.sum((h * (1 - h)) ** 2, axis=0)                   # (n_h,)
    direct = (2 * lam / n) * W * d2_sum                           # the correct direct term
    dW_wrong = dW - direct / 2                                    # slip: W_ij, not 2 W_ij

    def f():
        return P.contractive(x, W, b, activation="sigmoid", lam=lam)[0]
    good = check_arrays(f, {"W": W}, {"W": dW})
    bad = check_arrays(f, {"W": W}, {"W": dW_wrong})
    assert good.worst < DEFAULT_TOL
    assert bad.worst > 1e-2, str(bad)


def test_contractive_zero_weight_and_output_dtype():
    rng = np.random.default_rng(5)
    x, W, b = _setup(rng)
    value, dW, db = P.contractive(x, W, b, activation="tanh", lam=0.0)
    assert value == 0.0 and not dW.any() and not db.any()
    h32 = rng.uniform(0.1, 0.9, size=(3, 4)).astype(np.float32)
    _, dh, dW32 = P.contractive_from_code(h32, W.astype(np.float32), activation="sigmoid",
                                          lam=1.0)
    assert dh.dtype == np.float32 and dW32.dtype == np.float32


def test_contractive_validation_names_the_parameter():
    rng = np.random.default_rng(6)
    x, W, b = _setup(rng)
    with pytest.raises(ValueError, match="activation"):
        P.contractive(x, W, b, activation="relu", lam=1.0)
    with pytest.raises(ValueError, match="lam"):
        P.contractive(x, W, b, activation="tanh", lam=-1.0)
    with pytest.raises(ValueError, match="W"):
        P.contractive(x, W[:3], b, activation="tanh", lam=1.0)
    with pytest.raises(ValueError, match="b"):
        P.contractive(x, W, b[:2], activation="tanh", lam=1.0)


# --------------------------------------------------------------------------
# L1 activity
# --------------------------------------------------------------------------

def test_l1_value_and_gradient_away_from_kink():
    rng = np.random.default_rng(7)
    h = rng.uniform(0.1, 2.0, size=(6, 5)) * rng.choice([-1.0, 1.0], size=(6, 5))
    value, dh = P.l1(h, lam=0.25)
    assert value == pytest.approx(0.25 * np.abs(h).sum() / 6, rel=1e-12)
    report = check_arrays(lambda: P.l1(h, lam=0.25)[0], {"h": h}, {"h": dh})
    assert report.worst < DEFAULT_TOL, str(report)


def test_l1_subgradient_at_kink_is_zero():
    h = np.array([[0.0, 0.5, -0.5]])
    _, dh = P.l1(h, lam=1.0)
    np.testing.assert_array_equal(dh, [[0.0, 1.0, -1.0]])


# --------------------------------------------------------------------------
# KL sparsity
# --------------------------------------------------------------------------

def test_kl_value_matches_direct_formula():
    rng = np.random.default_rng(8)
    h = rng.uniform(0.01, 0.6, size=(10, 4))
    rho, beta = 0.05, 3.0
    expected = 0.0
    for j in range(4):                             # written out unit by unit
        r = sum(h[n, j] for n in range(10)) / 10
        expected += rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))
    value, _ = P.kl(h, rho=rho, beta=beta)
    assert value == pytest.approx(beta * expected, rel=1e-12)


def test_kl_gradient_through_rho_hat():
    rng = np.random.default_rng(9)
    h = rng.uniform(0.02, 0.9, size=(7, 5))
    value, dh = P.kl(h, rho=0.1, beta=2.0)
    report = check_arrays(lambda: P.kl(h, rho=0.1, beta=2.0)[0], {"h": h}, {"h": dh})
    assert report.worst < DEFAULT_TOL, str(report)
    # the gradient only sees rho_hat: every example of a unit gets the same value
    np.testing.assert_allclose(dh, np.broadcast_to(dh[0], dh.shape), rtol=0, atol=0)
    r = h.mean(axis=0)
    np.testing.assert_allclose(dh[0], 2.0 * (-0.1 / r + 0.9 / (1 - r)) / 7, rtol=1e-12)


def test_kl_is_zero_with_zero_gradient_at_target():
    h = np.full((4, 3), 0.05)
    value, dh = P.kl(h, rho=0.05, beta=3.0)
    assert value == pytest.approx(0.0, abs=1e-15)
    assert np.abs(dh).max() < 1e-12


def test_kl_is_a_batch_penalty_not_a_per_example_mean():
    """Splitting the batch in two and averaging does NOT give the whole-batch
    value (rho_hat differs per half); a per-example penalty would agree."""
    h = np.array([[0.01, 0.3], [0.01, 0.3], [0.5, 0.02], [0.5, 0.02]])
    whole, _ = P.kl(h, rho=0.05, beta=1.0)
    halves = 0.5 * (P.kl(h[:2], rho=0.05, beta=1.0)[0] + P.kl(h[2:], rho=0.05, beta=1.0)[0])
    assert abs(whole - halves) > 0.1
    l1_whole = P.l1(h, lam=1.0)[0]
    l1_halves = 0.5 * (P.l1(h[:2], lam=1.0)[0] + P.l1(h[2:], lam=1.0)[0])
    assert l1_whole == pytest.approx(l1_halves, rel=1e-12)


def test_kl_validation():
    with pytest.raises(ValueError, match="rho"):
        P.kl(np.full((2, 2), 0.1), rho=1.0, beta=1.0)
    with pytest.raises(ValueError, match="h must lie in"):
        P.kl(np.full((2, 2), 1.5), rho=0.1, beta=1.0)
    with pytest.raises(ValueError, match="beta"):
        P.kl(np.full((2, 2), 0.1), rho=0.1, beta=-1.0)


def test_registries():
    assert P.PENALTIES == {"contractive": P.contractive, "l1": P.l1, "kl": P.kl}
    assert set(P.CODE_PENALTIES) == {"l1", "kl"}
