"""Lesson 15's library pieces: the ellipse energy and its gradient, descent on
the latent, the free energy by quadrature, the target-propagation model, the
variance-network decoder and its floor, the GSN chain and the MMD."""

import numpy as np
import pytest

from tinyae import gradcheck
from tinyae.inference.energy import (descend, ellipse_energy, ellipse_energy_backward,
                           ellipse_energy_curvature, ellipse_energy_forward,
                           ellipse_free_energy, ellipse_points, free_energy,
                           laplace_free_energy)
from tinyae.analysis.generative import gsn_chain, mmd2
from tinyae.gradcheck import check_model, numerical_gradient, rel_error
from tinyae.layers import AngleEmbedding
from tinyae.models import GaussianDenoiser, LatentEnergyAutoencoder, VarianceNetworkVAE

TOL = 1e-7


# -- the ellipse energy ----------------------------------------------------------

def _energy_setup(rng, lam=0.3):
    y = 1.5 * rng.standard_normal((3, 2))
    z = rng.uniform(-np.pi, np.pi, size=(3, 4))
    w = rng.uniform(0.5, 2.0, size=2)
    r = rng.standard_normal((3, 4))
    return y, z, w, r, lam


def test_energy_value_matches_the_decoder(rng):
    y, z, w, _, lam = _energy_setup(rng)
    E, _ = ellipse_energy_forward(y, z, w, lam)
    g = np.stack([w[0] * np.cos(z), w[1] * np.sin(z)], axis=-1)       # (3, 4, 2)
    expected = np.sum((y[:, None, :] - g) ** 2, axis=-1) + lam * z * z
    np.testing.assert_allclose(E, expected, rtol=1e-14)


def test_energy_gradients_match_central_differences(rng):
    y, z, w, r, lam = _energy_setup(rng)
    _, cache = ellipse_energy_forward(y, z, w, lam)
    dy, dz, dw = ellipse_energy_backward(r, cache)

    def f():
        return float(np.sum(ellipse_energy_forward(y, z, w, lam)[0] * r))

    for name, arr, grad in (("y", y, dy), ("z", z, dz), ("w", w, dw)):
        assert rel_error(grad, numerical_gradient(f, arr)) < TOL, name


def test_energy_gradient_near_miss_fails(rng):
    """The regulariser's 2 lam z left out of dE/dz: a 'small' slip the check catches."""
    y, z, w, r, lam = _energy_setup(rng, lam=0.05)
    _, cache = ellipse_energy_forward(y, z, w, lam)
    dz = ellipse_energy_backward(r, cache)[1] - r * 2.0 * lam * z

    def f():
        return float(np.sum(ellipse_energy_forward(y, z, w, lam)[0] * r))

    assert rel_error(dz, numerical_gradient(f, z)) > 1e-4


def test_curvature_is_the_derivative_of_the_gradient(rng):
    y, z, w, _, lam = _energy_setup(rng)
    h = 1e-5
    num = (ellipse_energy(y, z + h, w, lam)[1] - ellipse_energy(y, z - h, w, lam)[1]) / (2 * h)
    assert rel_error(ellipse_energy_curvature(y, z, w, lam), num) < 1e-8


def test_energy_validates_its_inputs():
    y = np.zeros((3, 2))
    with pytest.raises(ValueError, match="z must have shape"):
        ellipse_energy(y, np.zeros(4), (1.0, 2.0))
    with pytest.raises(ValueError, match="w must be 2 finite"):
        ellipse_energy(y, np.zeros(3), (1.0, np.nan))
    with pytest.raises(ValueError, match="lam"):
        ellipse_energy(y, np.zeros(3), (1.0, 2.0), lam=-1.0)


# -- descent and the free energy ----------------------------------------------

def test_descent_reaches_the_grid_minimum(rng):
    w = np.array([1.0, 2.0])
    y, theta = ellipse_points(6, rng=rng, w=w, noise=0.0)
    # start near the truth: on the ellipse the minimum is E = 0 at z = theta
    z, steps, e = descend(lambda z: ellipse_energy(y, z, w), theta + 0.3, lr=0.05,
                          max_steps=5000, tol=1e-10)
    np.testing.assert_allclose(z, theta, atol=1e-9)
    assert np.all(e < 1e-18) and np.all(steps > 0) and np.all(steps < 5000)


def test_descent_stops_examples_already_converged(rng):
    y = rng.standard_normal((4, 2))
    z, steps, _ = descend(lambda z: ellipse_energy(y, z, (1.0, 2.0)), np.zeros(4), lr=0.05,
                          max_steps=10, tol=1e6)
    assert np.all(steps == 0) and np.all(z == 0)
    _, steps, _ = descend(lambda z: ellipse_energy(y, z, (1.0, 2.0)), np.zeros(4), lr=0.05,
                          max_steps=10)
    assert np.all(steps == 10)


def test_descent_stops_at_a_target_energy(rng):
    w = np.array([1.0, 2.0])
    y, theta = ellipse_points(5, rng=rng, w=w, noise=0.0)
    target = np.array([np.inf, 0.5, 0.1, 1e-4, -1.0])          # -1: never reached
    _, steps, e = descend(lambda z: ellipse_energy(y, z, w), theta + 0.5, lr=0.05,
                          max_steps=300, target=target)
    assert steps[0] == 0 and steps[-1] == 300
    assert np.all(e[:4] <= target[:4]) and np.all(steps[1:4] < 300)
    with pytest.raises(ValueError, match="target must have shape"):
        descend(lambda z: ellipse_energy(y, z, w), theta, lr=0.05, max_steps=3,
                target=np.zeros(2))


def test_descent_converts_integer_starting_points_to_float64():
    """The documented conversion (issue 26): integer z0, as a list, becomes
    float64 and descends exactly as the same float start; float32 stays float32."""
    y = np.ones((3, 2))

    def energy_and_grad(z):
        return ellipse_energy(y, z, (1.0, 2.0))
    z_int, steps_int, _ = descend(energy_and_grad, np.zeros(3, int), lr=0.05, max_steps=5)
    z_float, steps_float, _ = descend(energy_and_grad, np.zeros(3), lr=0.05, max_steps=5)
    assert z_int.dtype == np.float64 and np.array_equal(z_int, z_float)
    assert np.array_equal(steps_int, steps_float) and np.all(z_int != 0)
    z32, _, _ = descend(energy_and_grad, np.zeros(3, np.float32), lr=0.05, max_steps=5)
    assert z32.dtype == np.float32


@pytest.mark.parametrize("beta", [0.3, 2.0, 50.0])
def test_free_energy_of_a_quadratic_is_gaussian(beta):
    """E = a (z - z0)^2 + c: int exp(-beta E) dz = exp(-beta c) sqrt(pi / (beta a)),
    so F_beta = c - log(pi / (beta a)) / (2 beta)."""
    a, z0, c = 1.7, 0.4, -0.25
    grid = np.linspace(-40.0, 40.0, 200_001)
    E = a * (grid - z0) ** 2 + c
    F = free_energy(E[None, :], beta, grid[1] - grid[0])[0]
    exact = c - np.log(np.pi / (beta * a)) / (2 * beta)
    assert abs(F - exact) < 1e-10 * max(1.0, abs(exact))
    # near miss: forgetting the quadrature weight dz shifts F by log(dz) / beta
    wrong = -np.log(np.sum(np.exp(-beta * E))) / beta
    assert abs(wrong - exact) > 1e-3


def test_free_energy_does_not_overflow_at_large_beta():
    E = np.array([[1000.0, 1000.5, 1001.0]])
    F = free_energy(E, 1e6, 0.1)
    assert np.isfinite(F).all() and abs(F[0] - 1000.0) < 1e-4


def test_free_energy_tends_to_the_minimum_as_laplace_says(rng):
    w = np.array([1.0, 2.0])
    y, _ = ellipse_points(3, rng=rng, w=w, noise=0.2)
    grid = np.linspace(-np.pi, np.pi, 2**16, endpoint=False)
    z_star = grid[ellipse_energy(y, np.broadcast_to(grid, (3, grid.size)), w)[0].argmin(1)]
    z, _, e_min = descend(lambda z: ellipse_energy(y, z, w), z_star, lr=0.05,
                          max_steps=5000, tol=1e-11)
    F, _ = ellipse_free_energy(y, w, 1e4, n_grid=2**16)
    lap = laplace_free_energy(e_min, ellipse_energy_curvature(y, z, w), 1e4)
    np.testing.assert_allclose(F - e_min, lap - e_min, rtol=1e-3)


def test_free_energy_validates():
    with pytest.raises(ValueError, match="beta"):
        free_energy(np.zeros((1, 3)), 0.0, 0.1)
    with pytest.raises(ValueError, match="curvature"):
        laplace_free_energy(np.zeros(2), np.array([1.0, -1.0]), 1.0)


# -- the target-propagation autoencoder ------------------------------------------

def test_inference_lowers_the_energy_and_counts_steps(rng):
    model = LatentEnergyAutoencoder(sizes=(2, 6, 1), circular=True, rng=rng)
    y = rng.standard_normal((5, 2))
    e0 = model.energy(y, model.encode(y))[0]
    _, steps, e = model.infer(y, steps=50, lr=0.05)
    assert np.all(e <= e0 + 1e-12) and np.all(steps == 50)
    model.zero_grad()
    assert all(np.all(g == 0) for g in model.grads.values())


def test_target_prop_gradient_and_a_near_miss(rng):
    model = LatentEnergyAutoencoder(sizes=(3, 4, 2), rng=rng)
    y, z_check = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    assert check_model(model, y, z_check=z_check).worst < TOL
    _, grads = model.loss_and_grad(y, z_check=z_check)
    analytic = grads["encoder.0.W"].copy()
    analytic[0, 0] *= 1.01

    def f():
        return model.loss_and_grad(y, z_check=z_check)[0]

    assert rel_error(analytic, numerical_gradient(f, model.params["encoder.0.W"])) > TOL


def test_latent_energy_validates(rng):
    with pytest.raises(ValueError, match="training"):
        LatentEnergyAutoencoder(sizes=(2, 1), training="magic", rng=rng)
    model = LatentEnergyAutoencoder(sizes=(2, 1), rng=rng)
    with pytest.raises(ValueError, match="z_check"):
        model.loss_and_grad(np.zeros((3, 2)), z_check=np.zeros((3, 2)))


def test_angle_embedding_forward():
    z = np.array([[0.0, np.pi / 2]])
    np.testing.assert_allclose(AngleEmbedding().forward(z), [[1.0, 0.0, 0.0, 1.0]],
                               atol=1e-15)


# -- the variance network ------------------------------------------------------------

@pytest.mark.parametrize("floor", [None, 0.2])
def test_variance_network_gradient_and_a_near_miss(rng, floor):
    model = VarianceNetworkVAE(sizes=(5, 4, 2), activation="tanh",
                               var_floor=floor, rng=rng)
    x, eps = rng.standard_normal((3, 5)), rng.standard_normal((3, 2))
    assert check_model(model, x, eps=eps).worst < TOL
    _, grads = model.loss_and_grad(x, eps=eps)
    analytic = grads["decoder_logvar.b"].copy()
    analytic[1] *= 1.01                                 # a 1% slip in one element

    def f():
        return model.loss_and_grad(x, eps=eps)[0]

    assert rel_error(analytic, numerical_gradient(f, model.params["decoder_logvar.b"])) > TOL


def test_variance_floor_bounds_the_log_variance(rng):
    model = VarianceNetworkVAE(sizes=(3, 4, 2), var_floor=0.01, rng=rng)
    model.params["decoder_logvar.b"][:] = [-50.0, 0.0, 10.0]
    _, s = model.decode(rng.standard_normal((6, 2)))
    assert np.all(s >= np.log(0.01))
    np.testing.assert_allclose(s[:, 0], np.log(0.01), atol=1e-6)    # pinned at the floor
    unfloored = VarianceNetworkVAE(sizes=(3, 4, 2), rng=rng)
    unfloored.params["decoder_logvar.b"][:] = -50.0
    assert np.all(unfloored.decode(rng.standard_normal((6, 2)))[1] < -40)


def test_logvar_floor_op_values_slope_and_dtype(rng):
    """s = l + softplus(raw - l): pinned at l far below, raw far above, in
    raw's dtype (a float32 model's floored log-variance stays float32); its
    backward against central differences, and a near miss (slope 1, the floor
    ignored) that the same check fails."""
    from tinyae.functional import logvar_floor_backward, logvar_floor_forward
    raw = np.array([[-60.0, np.log(0.01), 0.0, 40.0]])
    s, cache = logvar_floor_forward(raw, 0.01)
    np.testing.assert_allclose(s[0, [0, 3]], [np.log(0.01), 40.0], rtol=1e-12)
    assert s[0, 1] == pytest.approx(np.log(0.01) + np.log(2), rel=1e-14)
    assert np.all(s >= np.log(0.01))                   # = only where softplus rounds away
    for dtype in (np.float32, np.float64):
        s, cache = logvar_floor_forward(raw.astype(dtype), 0.01)
        assert s.dtype == dtype and logvar_floor_backward(s, cache).dtype == dtype
    model = VarianceNetworkVAE(sizes=(3, 4, 2), var_floor=0.01, rng=rng, dtype=np.float32)
    assert model.decode(rng.standard_normal((2, 2)).astype(np.float32))[1].dtype == np.float32
    raw, r = rng.uniform(-8, 2, (4, 3)), rng.standard_normal((4, 3))
    _, cache = logvar_floor_forward(raw, 0.05)
    good = logvar_floor_backward(r, cache)
    num = numerical_gradient(lambda: float(np.sum(logvar_floor_forward(raw, 0.05)[0] * r)), raw)
    assert rel_error(good, num) < TOL
    assert rel_error(r, num) > 0.1                      # the floor's slope let through


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), True, "0.1"])
def test_variance_floor_validation(rng, bad):
    with pytest.raises(ValueError, match="var_floor"):
        VarianceNetworkVAE(sizes=(3, 4, 1), var_floor=bad, rng=rng)


def test_variance_network_same_on_both_backends(rng):
    from tinyae import backend
    model = VarianceNetworkVAE(sizes=(6, 5, 2), var_floor=0.1, rng=rng)
    x, eps = rng.standard_normal((4, 6)), rng.standard_normal((4, 2))
    out = {}
    for name in ("numpy", "numba"):
        with backend.use(name):
            loss, grads = model.loss_and_grad(x, eps=eps)
            out[name] = (loss, {k: g.copy() for k, g in grads.items()})
    assert abs(out["numpy"][0] - out["numba"][0]) <= 1e-12 * abs(out["numpy"][0])
    for k, g in out["numpy"][1].items():
        np.testing.assert_allclose(out["numba"][1][k], g, rtol=1e-10, atol=1e-14)


def test_gaussian_denoiser_gradient(rng):
    model = GaussianDenoiser(sizes=(2, 4), sigma=0.3, rng=rng)
    x = rng.standard_normal((5, 2))
    assert check_model(model, x, noise=rng.standard_normal((5, 2))).worst < TOL


# -- the GSN chain and the MMD --------------------------------------------------------

class _ExactPosterior:
    """The exact p(x | x_tilde) for x ~ N(0, 1) and x_tilde = x + sigma e:
    N(x_tilde / (1 + sigma^2), sigma^2 / (1 + sigma^2))."""

    def __init__(self, sigma):
        self.sigma = sigma

    def reconstruction_distribution(self, x_tilde):
        s2 = self.sigma ** 2
        return x_tilde / (1 + s2), np.full_like(x_tilde, np.log(s2 / (1 + s2)))


def test_gsn_chain_with_the_exact_posterior_samples_the_data(rng):
    x, kept = gsn_chain(_ExactPosterior(1.0), np.full((20_000, 1), 5.0), steps=40,
                        rng=rng, record={0, 40})
    assert np.all(kept[0] == 5.0) and np.array_equal(kept[40], x)
    assert abs(x.mean()) < 0.05 and abs(x.var() - 1.0) < 0.05
    # near miss: a posterior variance off by a factor 2 gives a visibly wrong chain
    model = _ExactPosterior(1.0)
    wrong = lambda xt: (xt / 2, np.full_like(xt, np.log(1.0)))             # noqa: E731
    model.reconstruction_distribution = wrong
    x = gsn_chain(model, np.zeros((20_000, 1)), steps=40, rng=rng)
    assert abs(x.var() - 1.0) > 0.2


def test_mmd_of_identical_distributions_is_near_zero_and_of_shifted_ones_positive(rng):
    a, b = rng.standard_normal((600, 2)), rng.standard_normal((600, 2))
    same = mmd2(a, b, bandwidth=1.0)
    shifted = mmd2(a, b + np.array([1.0, 0.0]), bandwidth=1.0)
    assert abs(same) < 0.005
    assert shifted > 0.05 and shifted > 10 * abs(same)
    assert abs(mmd2(a, b, bandwidth=1.0) - mmd2(b, a, bandwidth=1.0)) < 1e-12


def test_mmd_validates(rng):
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2(np.zeros((3, 2)), np.zeros((3, 2)), bandwidth=0.0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        mmd2(np.zeros((1, 2)), np.zeros((3, 2)), bandwidth=1.0)
    with pytest.raises(ValueError, match="shape"):
        mmd2(np.zeros((3, 2)), np.zeros((3, 3)), bandwidth=1.0)


def test_new_cases_are_registered():
    names = set(gradcheck.cases.CASES)
    for expected in ("energy ellipse E(y, z) (y, z, w)", "layer AngleEmbedding",
                     "model VarianceNetworkVAE (floor 0.5)",
                     "model LatentEnergyAutoencoder (target prop, z_check fixed)",
                     "model GaussianDenoiser (floor 0.05)"):
        assert expected in names


def _forward_only_cases():
    r = np.random.default_rng
    yield (VarianceNetworkVAE(sizes=(6, 5, 2), var_floor=0.1, rng=r(0)),
           {"eps": r(1).standard_normal((5, 2))})
    yield GaussianDenoiser(sizes=(6, 4), sigma=0.3, rng=r(0)), \
        {"noise": r(2).standard_normal((5, 6))}
    yield LatentEnergyAutoencoder(sizes=(6, 4, 2), rng=r(0)), \
        {"z_check": r(3).standard_normal((5, 2))}
    yield LatentEnergyAutoencoder(sizes=(6, 4, 2), training="backprop", rng=r(0)), {}


@pytest.mark.parametrize("model, fixed", list(_forward_only_cases()))
def test_forward_only_loss_equals_loss_and_grad(model, fixed):
    x = np.random.default_rng(4).standard_normal((5, 6))
    expected, grads = model.loss_and_grad(x, **fixed)
    before = {k: g.copy() for k, g in grads.items()}
    assert model.loss(x, **fixed) == pytest.approx(expected, rel=1e-12)
    for k in before:
        np.testing.assert_array_equal(model.grads[k], before[k])
