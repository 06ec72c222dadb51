"""VQ-VAE: the nearest-code and code-statistics twins, the straight-through
estimator, the codebook/commitment losses and the EMA update, the model's
gradient with its quantisation frozen, collapse and restarts."""

import numpy as np
import pytest

from tinyae import functional, kernels
from tinyae.functional.vq import (perplexity, vq_ema_update, vq_losses,
                                  vq_straight_through_backward, vq_straight_through_forward)
from tinyae.gradcheck import check_arrays, check_model
from tinyae.gradcheck.cases import CASES
from tinyae.layers import VectorQuantizer
from tinyae.models.vq import VQVAE, CodebookEMA, normalized_mse
from tinyae.optim import Adam

REL_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b), initial=0.0)
                 / max(np.max(np.abs(b), initial=0.0), np.finfo(np.float64).tiny))


#: (M, K, D, kind)
SHAPES = [(50, 7, 3, "random"), (1, 1, 1, "random"), (9, 1, 4, "random"), (6, 5, 1, "random"),
          (8, 4, 3, "zeros"), (20, 6, 3, "large"), (12, 5, 3, "ties"), (10, 4, 3, "sliced")]


def _draw(m, k, d, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    z, e = rng.standard_normal((m, d)), rng.standard_normal((k, d))
    if kind == "zeros":
        z = np.zeros_like(z)
    elif kind == "large":
        z, e = 1e4 * z, 1e4 * e
    elif kind == "ties":                     # duplicated codes: the lowest index wins
        e[1] = e[0]
        z[:4] = e[0]
    elif kind == "sliced":
        z = np.repeat(z, 2, axis=0)[::2]     # a non-contiguous view
    return z.astype(dtype), e.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}x{s[2]}-{s[3]}")
def test_vq_nearest_and_code_stats_twins(shape, dtype):
    z, e = _draw(*shape, dtype)
    idx_ref, dist_ref = functional.vq_nearest(z, e)
    idx, dist = kernels.vq_nearest(z, e)
    np.testing.assert_array_equal(idx, idx_ref)
    assert idx.dtype == idx_ref.dtype == np.int64
    assert dist.dtype == dist_ref.dtype == np.dtype(dtype)
    assert _rel(dist, dist_ref) <= REL_TOL[np.dtype(dtype)]
    if shape[3] == "ties":
        assert np.all(idx[:4] == 0)
    # the argmin is the true nearest code (brute force in float64), up to ties
    brute = ((z.astype(np.float64)[:, None, :] - e.astype(np.float64)[None]) ** 2).sum(-1)
    best = brute.min(axis=1)
    chosen = brute[np.arange(len(z)), idx]
    assert np.all(chosen <= best + 1e-5 * (1 + best))
    counts_ref, sums_ref = functional.vq_code_stats(z, idx, shape[1])
    counts, sums = kernels.vq_code_stats(z, idx, shape[1])
    assert counts.dtype == sums.dtype == np.dtype(dtype)
    assert _rel(counts, counts_ref) == 0
    assert _rel(sums, sums_ref) <= REL_TOL[np.dtype(dtype)]
    assert counts.sum() == len(z)


def test_twin_tolerance_catches_a_near_miss():
    z, e = _draw(50, 7, 3, "random", np.float64)
    _, dist = functional.vq_nearest(z, e)
    assert _rel(dist * (1 + 1e-9), dist) > REL_TOL[np.dtype(np.float64)]


def test_straight_through_value_and_gradient(rng):
    z_e = rng.standard_normal((6, 3))
    q = rng.standard_normal((6, 3))
    out, _ = vq_straight_through_forward(z_e, z_e.copy(), q)
    np.testing.assert_allclose(out, q, rtol=0, atol=1e-15)         # value: the code
    dout = rng.standard_normal((6, 3))
    assert vq_straight_through_backward(dout, None) is dout         # gradient: copied


@pytest.mark.parametrize("name", [n for n in CASES if "vq" in n.lower()])
def test_registered_vq_gradients(name, each_backend):
    assert CASES[name](np.random.default_rng(4)).worst < 1e-7


def test_vq_loss_gradients_catch_a_near_miss(rng):
    z_e, e = rng.standard_normal((9, 3)), rng.standard_normal((4, 3))
    idx, _ = functional.vq_nearest(z_e, e)
    z_sg, q_sg = z_e.copy(), e[idx]
    C, B, dz, de = vq_losses(z_e, q_sg, z_sg, e, idx, 0.25, 3)
    f = lambda: sum(vq_losses(z_e, q_sg, z_sg, e, idx, 0.25, 3)[:2])  # noqa: E731
    assert check_arrays(f, {"z_e": z_e, "e": e}, {"z_e": dz, "e": de}).worst < 1e-7
    assert check_arrays(f, {"e": e}, {"e": 1.01 * de}).worst > 1e-3
    # the usual slip: the commitment gradient without beta
    assert check_arrays(f, {"z_e": z_e}, {"z_e": dz / 0.25}).worst > 1e-1
    # the values, by hand
    assert C == pytest.approx(np.sum((z_e - e[idx]) ** 2) / 3)
    assert B == pytest.approx(0.25 * np.sum((z_e - e[idx]) ** 2) / 3)
    unused = np.setdiff1d(np.arange(4), idx)
    assert np.all(de[unused] == 0)                                   # dead codes: no gradient


def test_ema_update_is_the_running_mean(rng):
    e = rng.standard_normal((3, 2))
    size, total = np.ones(3), e.copy()
    z = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    idx = np.array([0, 0, 2])
    counts, sums = functional.vq_code_stats(z, idx, 3)
    before = e[1].copy()
    vq_ema_update(e, size, total, counts, sums, decay=0.0, eps=1e-12)
    np.testing.assert_allclose(e[0], [2.0, 3.0], rtol=1e-10)         # mean of its vectors
    np.testing.assert_allclose(e[2], [5.0, 6.0], rtol=1e-10)
    np.testing.assert_allclose(e[1], 0.0)                            # decay 0: forgets
    e2 = rng.standard_normal((3, 2))
    keep = e2[1].copy()
    size, total = np.ones(3), e2.copy()
    vq_ema_update(e2, size, total, counts, sums, decay=0.99, eps=1e-5)
    np.testing.assert_allclose(e2[1], keep, rtol=1e-3)               # unused: stays put
    assert not np.allclose(before, e[1])


def test_perplexity():
    assert perplexity([5, 5, 5, 5]) == pytest.approx(4.0)
    assert perplexity([7, 0, 0]) == pytest.approx(1.0)
    assert 1 < perplexity([9, 1]) < 2


def _small(rng, **kw):
    return VQVAE(rng=rng, n_in=12, hidden=8, n_positions=3, code_dim=2, n_codes=5,
                 dtype=np.float64, **kw)


def test_model_gradient_frozen_and_a_wrong_straight_through_is_caught(rng):
    model = _small(rng, codebook_init="normal")
    x = rng.uniform(0, 1, (4, 12))
    frozen = model.stop_gradient_values(x)
    assert check_model(model, x, frozen=frozen).worst < 1e-7
    # frozen values equal to the live ones give the same loss and gradient
    loss_live, g_live = model.loss_and_grad(x)
    g_live = {k: v.copy() for k, v in g_live.items()}
    loss_frozen, g_frozen = model.loss_and_grad(x, frozen=frozen)
    assert loss_live == pytest.approx(loss_frozen, rel=1e-12)
    for k in g_live:
        np.testing.assert_allclose(g_live[k], g_frozen[k], rtol=1e-10, atol=1e-14)
    # a quantiser that blocks the gradient (the true derivative, 0) fails the check
    model.quantizer.backward = lambda dout, need_dx=True: np.zeros_like(dout)
    assert check_model(model, x, frozen=frozen).worst > 1e-3


def test_model_code_api_and_rate(rng):
    model = _small(rng)
    x = rng.uniform(0, 1, (7, 12)).astype(np.float64)
    codes = model.encode(x)
    assert codes.shape == (7, 3) and codes.min() >= 0 and codes.max() < 5
    np.testing.assert_allclose(model.decode(codes), model.reconstruct(x))
    assert model.code_usage(x).sum() == 21
    assert VQVAE(rng=rng).bits_per_image == 343.0
    with pytest.raises(ValueError, match="codes must lie in"):
        model.decode(np.full((2, 3), 5))
    with pytest.raises(ValueError, match="codebook_update must be one of"):
        _small(rng, codebook_update="kmeans")
    with pytest.raises(ValueError, match="CodebookEMA needs a VQVAE"):
        CodebookEMA(_small(rng), Adam(model.params))
    assert normalized_mse(model, x) > 0


def test_restart_revives_dead_codes(rng):
    model = _small(rng, codebook_init="normal")
    model.quantizer.codebook[...] = 50.0                  # every code far away ...
    model.quantizer.codebook[0] = 0.0                     # ... but one
    x = rng.uniform(0, 1, (20, 12))
    assert np.count_nonzero(model.code_usage(x)) == 1
    assert model.restart_dead_codes(x, rng) == 4
    assert np.count_nonzero(model.code_usage(x)) > 1
    assert model.restart_dead_codes(x, rng, min_count=0) == 0


def test_ema_training_moves_codes_without_a_codebook_gradient(rng):
    model = _small(rng, codebook_update="ema")
    assert "quantizer.codebook" not in model.params
    x = rng.uniform(0, 1, (16, 12))
    opt = CodebookEMA(model, Adam(model.params, lr=1e-2), decay=0.9)
    before = model.quantizer.codebook.copy()
    first = model.loss_and_grad(x)[0]
    for _ in range(100):
        opt.step(model.loss_and_grad(x)[1])
    assert not np.allclose(before, model.quantizer.codebook)
    assert model.loss_and_grad(x)[0] < first
    opt.lr = 0.5
    assert opt.optimizer.lr == 0.5
    with pytest.raises(ValueError, match="eps must be a finite number > 0, got 0"):
        CodebookEMA(model, Adam(model.params), eps=0)


def test_vector_quantizer_validation(rng):
    with pytest.raises(ValueError, match="init must be one of"):
        VectorQuantizer(4, 2, rng=rng, init="zeros")
    vq = VectorQuantizer(4, 2, rng=rng, learned=True)
    with pytest.raises(ValueError, match="x must have 2 features"):
        vq.forward(np.zeros((3, 5)))
    vq.forward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="ema_update needs"):
        vq.ema_update(0.9)


@pytest.mark.parametrize("update", ["loss", "ema"])
def test_forward_only_loss_matches_and_leaves_grads_alone(rng, update):
    model = _small(rng, codebook_update=update)
    x = rng.uniform(0, 1, (5, 12))
    expected, grads = model.loss_and_grad(x)
    stats = dict(model.last_stats)
    before = {k: g.copy() for k, g in grads.items()}
    assert model.loss(x) == pytest.approx(expected, rel=1e-12)
    assert model.last_stats == pytest.approx(stats, rel=1e-12)
    for k in before:
        np.testing.assert_array_equal(model.grads[k], before[k])
