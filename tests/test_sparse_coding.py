"""Sparse coding: the soft-threshold and ISTA-step twins, their gradients,
the ISTA/FISTA solvers and the Beck-Teboulle bounds, PSD, recirculation and
random patches."""

import numpy as np
import pytest

from tinyae import backend, functional, kernels
from tinyae.data import load_mnist, random_patches
from tinyae.gradcheck import check_arrays, check_layer, check_model, rel_error
from tinyae.gradcheck.cases import CASES
from tinyae.gradcheck.cases.sparse_coding import check_ista_step, ista_inputs
from tinyae.layers import Gain, UnitNormDictionary
from tinyae.models import PSD, RecirculationAutoencoder
from tinyae.models.mlp import MLPAutoencoder
from tinyae.inference.sparse_coding import (beck_teboulle_bounds, fista, ista, iterations_to_gap,
                                  lipschitz_constant, sparse_coding_energy)

REL_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
FAMILY = backend.OP_FAMILIES["sparse_coding"]


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b), initial=0.0)
                 / max(np.max(np.abs(b), initial=0.0), np.finfo(np.float64).tiny))


def _assert_twins(got, ref, dtype):
    for g, r in zip(got, ref):
        if r is None:
            assert g is None
        elif isinstance(r, (bool, np.bool_)):
            assert g == r
        elif isinstance(r, np.ndarray) and r.dtype == bool:
            np.testing.assert_array_equal(g, r)
        elif isinstance(r, np.ndarray):
            assert g.dtype == r.dtype == np.dtype(dtype) and g.shape == r.shape
            assert _rel(g, r) <= REL_TOL[np.dtype(dtype)]
        else:                                   # step, alpha: scalars of the dtype
            assert type(g) is type(r) and g == r


#: (N, K, d, kind): ordinary, batch 1, one atom and one pixel, zeros, large, views
SHAPES = [(7, 12, 5, "random"), (1, 6, 3, "random"), (4, 1, 1, "random"),
          (5, 8, 4, "zeros"), (5, 8, 4, "large"), (6, 9, 4, "transposed")]


def _problem(n, k, d, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    scale = 1e3 if kind == "large" else 1.0
    z, x = scale * rng.standard_normal((n, k)), scale * rng.standard_normal((n, d))
    D, p = rng.standard_normal((k, d)), rng.standard_normal((n, k))
    if kind == "zeros":
        z, x, p = np.zeros_like(z), np.zeros_like(x), np.zeros_like(p)
    if kind == "transposed":                      # F-ordered views
        z, D = np.asfortranarray(z), np.asfortranarray(D)
    return [a.astype(dtype) for a in (z, x, D, p)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}x{s[2]}-{s[3]}")
@pytest.mark.parametrize("with_p", [False, True])
def test_ista_step_twin(shape, dtype, with_p):
    z, x, D, p = _problem(*shape, dtype)
    p = p if with_p else None
    step = 0.5 / lipschitz_constant(D.astype(np.float64))
    ref = functional.ista_step_forward(z, x, D, 0.3, step, 0.7, p)
    got = kernels.ista_step_forward(z, x, D, 0.3, step, 0.7, p)
    _assert_twins((got[0],), (ref[0],), dtype)
    _assert_twins(got[1], ref[1], dtype)
    dout = np.random.default_rng(1).standard_normal(z.shape).astype(dtype)
    _assert_twins(kernels.ista_step_backward(dout, ref[1]),
                  functional.ista_step_backward(dout, ref[1]), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", [(7, 5), (1, 1), (3, 4, 2)])
def test_soft_threshold_twin(shape, dtype):
    v = np.random.default_rng(2).uniform(-2, 2, shape).astype(dtype)
    v.flat[0] = 0.5                               # exactly at the threshold: out 0, mask False
    for module in (functional, kernels):
        out, mask = module.soft_threshold_forward(v, 0.5)
        assert out.flat[0] == 0 and not mask.flat[0]
    ref = functional.soft_threshold_forward(v, 0.5)
    got = kernels.soft_threshold_forward(v, 0.5)
    _assert_twins(got, ref, dtype)
    dout = np.ones(shape, dtype)
    _assert_twins((kernels.soft_threshold_backward(dout, ref[1]),),
                  (functional.soft_threshold_backward(dout, ref[1]),), dtype)


def test_twin_comparison_catches_a_near_miss():
    z, x, D, _ = _problem(7, 12, 5, "random", np.float64)
    ref = functional.ista_step_forward(z, x, D, 0.3, 0.01)[0]
    near = ref * (1 + 1e-9)
    with pytest.raises(AssertionError):
        _assert_twins((near,), (ref,), np.float64)


def test_soft_threshold_is_the_prox_of_the_l1_norm():
    """out = argmin_z 1/2 (z - v)^2 + t |z|, checked on a fine grid."""
    grid = np.linspace(-4, 4, 80001)
    for v in (-2.5, -0.3, 0.0, 0.2, 1.7):
        best = grid[np.argmin(0.5 * (grid - v) ** 2 + 0.6 * np.abs(grid))]
        out = functional.soft_threshold_forward(np.array([v]), 0.6)[0][0]
        assert abs(out - best) < 1e-4


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("op ista_step")
                                  or n == "op soft_threshold"])
def test_registered_sparse_coding_gradients(name, each_backend):
    assert CASES[name](np.random.default_rng(3)).worst < 1e-7


def test_ista_step_gradcheck_catches_a_wrong_dD(rng):
    z, x, D, p = ista_inputs(rng, 5, 9, 4, with_p=True)
    r = rng.standard_normal(z.shape)
    _, cache = functional.ista_step_forward(z, x, D, 0.3, 0.05, 0.7, p)
    dz, dx, dD, dp = functional.ista_step_backward(r, cache)

    def f():
        return float(np.sum(functional.ista_step_forward(z, x, D, 0.3, 0.05, 0.7, p)[0] * r))
    assert check_arrays(f, {"D": D}, {"D": dD}).worst < 1e-7
    assert check_arrays(f, {"D": D}, {"D": 1.01 * dD}).worst > 1e-3
    # forgetting that D appears twice (only the g^T R term) is caught too
    R = z @ D - x
    g = r * cache[3]
    assert check_arrays(f, {"D": D}, {"D": -0.05 * g.T @ R}).worst > 1e-3
    assert check_ista_step(rng, 3, 4, 2).worst < 1e-7


def test_ista_descends_and_both_methods_meet_their_bounds(rng):
    D = rng.standard_normal((20, 8))
    x = rng.standard_normal((6, 8))
    L = lipschitz_constant(D)
    assert L == pytest.approx(np.max(np.linalg.eigvalsh(D @ D.T)), rel=1e-10)
    z_star, e_star = fista(x, D, 0.4, n_iter=4000, record=True)
    F_star = e_star[-1]
    _, e_ista = ista(x, D, 0.4, n_iter=300, record=True)
    _, e_fista = fista(x, D, 0.4, n_iter=300, record=True)
    assert np.all(np.diff(e_ista) <= 1e-12)                 # ISTA never goes up
    k = np.arange(1, 301)
    b_ista, b_fista = beck_teboulle_bounds(k, L, float(np.sum(z_star ** 2)))
    assert np.all(e_ista[1:] - F_star <= b_ista)
    assert np.all(e_fista[1:] - F_star <= b_fista)
    # energies recorded are the summed per-example energies
    z, _ = fista(x, D, 0.4, n_iter=5)
    np.testing.assert_allclose(fista(x, D, 0.4, n_iter=5, record=True)[1][-1],
                               sparse_coding_energy(z, x, D, 0.4).sum(), rtol=1e-12)
    # the minimiser: 0 is in the subdifferential, -grad f in lam * d|z|
    grad = (z_star @ D - x) @ D.T
    on = z_star != 0
    np.testing.assert_allclose(grad[on], -0.4 * np.sign(z_star[on]), atol=1e-6)
    assert np.all(np.abs(grad[~on]) <= 0.4 + 1e-6)


def test_iterations_to_gap():
    assert iterations_to_gap([5.0, 2.0, 0.5, 0.1], 0.5) == 2
    assert iterations_to_gap([5.0, 2.0], 0.1) is None


def test_solver_validation():
    D = np.ones((4, 3))
    with pytest.raises(ValueError, match="x must have shape"):
        ista(np.ones((2, 5)), D, 0.1, n_iter=3)
    with pytest.raises(ValueError, match="lam"):
        fista(np.ones((2, 3)), D, -1.0, n_iter=3)
    with pytest.raises(ValueError, match="alpha=0.5 > 0 needs a prediction p"):
        fista(np.ones((2, 3)), D, 0.1, n_iter=3, alpha=0.5)
    with pytest.raises(ValueError, match="n_iter"):
        fista(np.ones((2, 3)), D, 0.1, n_iter=0)


def test_unit_norm_dictionary_and_gain_layers(rng):
    layer = UnitNormDictionary(6, 4, rng=rng)
    np.testing.assert_allclose(np.linalg.norm(layer.D, axis=1), 1.0, rtol=1e-12)
    assert check_layer(layer, rng.standard_normal((3, 6)), rng=rng).worst < 1e-7
    assert check_layer(Gain(4, init_value=0.7), rng.standard_normal((3, 4)),
                       rng=rng).worst < 1e-7
    # a gradient that ignores the normalisation (dV = dD) is caught
    layer.zero_grad()
    z = rng.standard_normal((3, 6))
    r = rng.standard_normal((3, 4))
    layer.forward(z)
    layer.backward(r)
    naive = z.T @ r
    f = lambda: float(np.sum(layer.forward(z) * r))  # noqa: E731
    assert check_arrays(f, {"V": layer.params["V"]}, {"V": naive}).worst > 1e-3


def test_psd_gradient_with_codes_fixed_and_training_lowers_the_energy(rng):
    model = PSD(n_in=6, n_atoms=10, lam=0.2, alpha=1.0, rng=rng)
    x = rng.uniform(0, 1, (8, 6))
    assert check_model(model, x, codes=model.infer(x)).worst < 1e-7
    from tinyae.optim import Adam
    opt = Adam(model.params, lr=0.02)
    first = model.loss_and_grad(x)[0]
    for _ in range(200):
        opt.step(model.loss_and_grad(x)[1])
    assert model.loss_and_grad(x)[0] < 0.7 * first
    # the encoder alone now predicts codes closer than the zero code
    z = fista(x, model.D, 0.2, n_iter=500)[0]
    assert np.linalg.norm(model.predict(x) - z) < np.linalg.norm(z)


def test_psd_validation(rng):
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        PSD(n_in=4, n_atoms=5, alpha=0.0, rng=rng)
    model = PSD(n_in=4, n_atoms=5, rng=rng)
    with pytest.raises(ValueError, match="codes must have shape"):
        model.loss_and_grad(np.ones((2, 4)), codes=np.zeros((2, 4)))


def test_recirculation_decoder_rule_is_the_scaled_gradient(rng):
    model = RecirculationAutoencoder(sizes=(7, 4), regression=0.75, rng=rng)
    x = rng.uniform(0, 1, (5, 7))
    _, rec = model.recirculation_grads(x)
    rec = {k: v.copy() for k, v in rec.items()}
    _, true = MLPAutoencoder.loss_and_grad(model, x)
    for k in ("decoder.0.W", "decoder.0.b"):
        assert rel_error(rec[k], true[k]) < 1e-12
    assert rel_error(rec["encoder.0.W"], true["encoder.0.W"]) > 1e-2   # not in general


def test_recirculation_encoder_rule_is_the_gradient_for_symmetric_weights(rng):
    """W2 = W1^T and lam -> 1: the encoder's update tends to the gradient."""
    errors = []
    for lam in (0.99, 0.9999):
        model = RecirculationAutoencoder(sizes=(7, 4), regression=lam,
                                         rng=np.random.default_rng(0))
        model.params["decoder.0.W"][...] = model.params["encoder.0.W"].T
        x = np.random.default_rng(1).uniform(0, 1, (5, 7))
        _, rec = model.recirculation_grads(x)
        rec = {k: v.copy() for k, v in rec.items()}
        _, true = MLPAutoencoder.loss_and_grad(model, x)
        errors.append(max(rel_error(rec[k], true[k]) for k in true))
    assert errors[1] < 1e-3 and errors[1] < errors[0] / 10
    agreement = model.agreement(x)
    assert agreement["symmetry"] == pytest.approx(1.0)
    assert agreement["decoder.0.W"] == pytest.approx(1.0, abs=1e-12)


def test_recirculation_rules_and_validation(rng):
    x = rng.uniform(0, 1, (5, 6))
    for rule in ("recirculation", "backprop"):
        model = RecirculationAutoencoder(sizes=(6, 3), rule=rule,
                                         rng=np.random.default_rng(0))
        loss, grads = model.loss_and_grad(x)
        assert set(grads) == set(model.params) and np.isfinite(loss)
    with pytest.raises(ValueError, match="regression must be a number in \\(0, 1\\), got 1.0"):
        RecirculationAutoencoder(sizes=(6, 3), regression=1.0, rng=rng)
    with pytest.raises(ValueError, match="rule must be one of"):
        RecirculationAutoencoder(sizes=(6, 3), rule="hebb", rng=rng)


def test_random_patches(rng):
    images = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 784) / 2000
    p = random_patches(images, size=5, n=50, rng=rng)
    assert p.shape == (50, 25) and p.dtype == np.float32
    # each patch is a contiguous 5x5 window: rows step by 28 pixels, columns by 1
    square = p.reshape(50, 5, 5) * 2000
    np.testing.assert_allclose(np.diff(square, axis=2), 1, atol=1e-3)
    np.testing.assert_allclose(np.diff(square, axis=1), 28, atol=1e-3)
    x, _ = load_mnist("test", dtype=np.float32)
    inked = random_patches(x[:500], size=8, n=200, rng=rng, min_ink=0.2)
    assert inked.mean(axis=1).min() >= 0.2
    with pytest.raises(ValueError, match="size must be at most side=28, got 30"):
        random_patches(images, size=30, n=1, rng=rng)
    with pytest.raises(ValueError, match="found only 0 of n=3"):
        random_patches(np.zeros((2, 784)), size=4, n=3, rng=rng, min_ink=0.5)


def test_psd_forward_only_loss_matches_and_leaves_grads_alone(rng):
    model = PSD(n_in=6, n_atoms=10, rng=rng)
    x = rng.uniform(0, 1, (5, 6))
    codes = model.infer(x)
    expected, grads = model.loss_and_grad(x, codes=codes)
    stats = dict(model.last_stats)
    before = {k: g.copy() for k, g in grads.items()}
    assert model.loss(x, codes=codes) == pytest.approx(expected, rel=1e-12)
    assert model.loss(x) == pytest.approx(expected, rel=1e-12)   # the same inference
    assert model.last_stats == pytest.approx(stats, rel=1e-12)
    for k in before:
        np.testing.assert_array_equal(model.grads[k], before[k])
