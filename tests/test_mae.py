"""The masked autoencoder and the Gaussian-imputation baseline.

The model: gradients against central differences (and a near miss), the
encoder sees only the visible tokens, the mask keeps exactly the requested
count, both backends give the same loss, validation names the parameter.
The imputation: exact on a Gaussian, where it is the conditional mean."""

import numpy as np
import pytest

from tinyae import backend
from tinyae.functional import patchify, unpatchify
from tinyae.gradcheck.core import check_model, numerical_gradient, rel_error
from tinyae.analysis.imputation import GaussianImputer
from tinyae.models import MAE
from tinyae.optim import Adam

SMALL = dict(image_shape=(1, 4, 4), patch=2, dim=8, decoder_dim=4, mlp_ratio=1)


def _perturb(model, rng, scale=0.3):
    for p in model.params.values():
        p += scale * rng.standard_normal(p.shape)
    return model


def _model(rng, **kw):
    return _perturb(MAE(rng=rng, **{**SMALL, **kw}), rng)


# --------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kw, n, mask_rows", [
    (dict(n_heads=1, decoder_heads=1), 1, [[True, True, False, True]]),    # 1 visible, batch 1
    (dict(n_heads=2, decoder_heads=2, pos_embed="learned", mask_ratio=0.5), 2,
     [[False, True, False, True], [True, False, False, True]]),
    (dict(n_heads=2, decoder_heads=1, norm_pix_loss=True, depth=2), 2,
     [[True, False, True, True], [False, True, True, True]]),
], ids=["1-visible-1-head-batch-1", "learned-positions", "normalised-targets"])
def test_model_gradients(kw, n, mask_rows):
    rng = np.random.default_rng(0)
    model = _model(rng, **kw)
    x = rng.uniform(0, 1, (n, 1, 4, 4))
    mask = np.array(mask_rows)
    report = check_model(model, x, mask=mask, h=1e-5)
    assert report.worst < 1e-7, str(report)
    assert set(report.errors) == set(model.params)


def test_model_gradient_near_miss_fails():
    """A mask token whose gradient also collects the visible positions' (a
    plausible slip: ``dfull.sum`` instead of ``dfull[mask].sum``) fails the
    check, and so does the right gradient off by 1e-4 relative. The slip's
    extra term, the gradient reaching the decoder's input at the visible
    tokens summed over them, is exactly decoder_embed's bias gradient."""
    rng = np.random.default_rng(1)
    model = _model(rng, n_heads=2, decoder_heads=2)
    x = rng.uniform(0, 1, (2, 1, 4, 4))
    mask = np.array([[True, False, True, True], [False, True, True, True]])
    _, grads = model.loss_and_grad(x, mask=mask)
    analytic = grads["mask_token.value"].copy()
    slip = analytic + grads["decoder_embed.b"]
    num = numerical_gradient(lambda: model.loss(x, mask=mask),
                             model.params["mask_token.value"], h=1e-5)
    assert rel_error(analytic, num) < 1e-7
    assert rel_error(slip, num) > 1e-3
    assert rel_error(analytic * (1 + 1e-4), num) > 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda t: t.__name__)
def test_backends_agree(dtype):
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (3, 1, 8, 8)).astype(dtype)
    losses = {}
    for name in ("numpy", "numba"):
        model = MAE(rng=np.random.default_rng(3), image_shape=(1, 8, 8), patch=2, dim=16,
                    decoder_dim=8, n_heads=4, decoder_heads=2, dtype=dtype)
        mask = model.draw_mask(3, np.random.default_rng(4))
        with backend.use(name):
            loss, grads = model.loss_and_grad(x, mask=mask)
        losses[name] = (loss, {k: g.copy() for k, g in grads.items()})
        assert all(g.dtype == dtype for g in grads.values())
    tol = 1e-4 if dtype == np.float32 else 1e-11
    assert losses["numpy"][0] == pytest.approx(losses["numba"][0], rel=tol)
    for k, g in losses["numpy"][1].items():
        assert rel_error(losses["numba"][1][k], g) < tol, k


# --------------------------------------------------------------------------
# Masking: the count, and what the encoder sees
# --------------------------------------------------------------------------

@pytest.mark.parametrize("ratio, hidden", [(0.25, 4), (0.5, 8), (0.75, 12), (0.9, 14)])
def test_draw_mask_hides_exactly_the_requested_count(ratio, hidden):
    model = MAE(rng=np.random.default_rng(0), image_shape=(1, 8, 8), patch=2, dim=8,
                decoder_dim=4, n_heads=2, decoder_heads=2, mask_ratio=ratio)
    mask = model.draw_mask(100, np.random.default_rng(1))
    assert mask.dtype == bool and mask.shape == (100, 16)
    assert np.all(mask.sum(axis=1) == hidden) and model.n_mask == hidden
    assert np.all(model.draw_mask(5, np.random.default_rng(1), n_mask=3).sum(axis=1) == 3)


def test_encoder_sees_only_visible_tokens():
    """Changing the pixels of hidden patches changes no prediction (only the
    loss's target), and the encoder's blocks run on K = T - n_mask tokens."""
    rng = np.random.default_rng(5)
    model = _model(rng, n_heads=2, decoder_heads=2)
    x = rng.uniform(0, 1, (3, 1, 4, 4))
    mask = model.draw_mask(3, rng)
    pred = model.predict(x, mask)
    block = model.modules["encoder"][0]
    assert block.attn.attention.shape == (3, 2, 1, 1)            # 1 visible of 4
    hidden_pixels = unpatchify(np.broadcast_to(mask[:, :, None], (3, 4, 4)).astype(float),
                               2, (1, 4, 4)) > 0
    y = np.where(hidden_pixels, rng.uniform(0, 1, x.shape), x)
    assert not np.allclose(y, x)
    np.testing.assert_array_equal(model.predict(y, mask), pred)
    # ...while a visible pixel does change them
    z = np.where(hidden_pixels, x, x + 0.1)
    assert not np.allclose(model.predict(z, mask), pred)


def test_loss_counts_hidden_patches_only():
    rng = np.random.default_rng(6)
    model = _model(rng, n_heads=1, decoder_heads=1)
    x = rng.uniform(0, 1, (2, 1, 4, 4))
    mask = model.draw_mask(2, rng)
    loss, _ = model.loss_and_grad(x, mask=mask)
    pred, target = model.predict(x, mask), patchify(x, 2)
    assert loss == pytest.approx(np.sum((pred - target)[mask] ** 2) / 2, rel=1e-12)
    assert model.last_stats["per_pixel"] == pytest.approx(loss / (3 * 4))
    recon = model.reconstruct(x, mask)
    np.testing.assert_array_equal(patchify(recon, 2)[~mask], target[~mask])


def test_training_lowers_the_masked_loss():
    rng = np.random.default_rng(7)
    model = MAE(rng=rng, image_shape=(1, 8, 8), patch=2, dim=16, decoder_dim=8, n_heads=2,
                decoder_heads=2)
    x = rng.uniform(0, 1, (16, 1, 8, 8))
    mask = model.draw_mask(16, rng)
    before = model.loss(x, mask=mask)
    opt = Adam(model.params, lr=3e-3)
    for _ in range(30):
        opt.step(model.loss_and_grad(x, rng=rng)[1])
    assert model.loss(x, mask=mask) < 0.7 * before


def test_encode_and_attention_maps():
    rng = np.random.default_rng(8)
    model = _model(rng, n_heads=2, decoder_heads=2, depth=2)
    x = rng.uniform(0, 1, (5, 1, 4, 4))
    feats = model.encode(x, batch_size=2)
    assert feats.shape == (5, 8)
    np.testing.assert_allclose(feats[3:], model.encode(x[3:]))
    maps = model.attention_maps(x)
    assert len(maps) == 2 and maps[0].shape == (5, 2, 4, 4)
    np.testing.assert_allclose(maps[1].sum(axis=-1), 1.0, rtol=1e-13)


@pytest.mark.parametrize("kw, match", [
    (dict(mask_ratio=0.1), "mask_ratio must hide at least one"),
    (dict(mask_ratio=1.0), "mask_ratio must hide at least one"),
    (dict(pos_embed="rope"), "pos_embed must be one of"),
    (dict(n_heads=3), "n_heads must divide dim=8"),
    (dict(patch=3), "patch must divide"),
])
def test_bad_hyperparameters(kw, match):
    with pytest.raises(ValueError, match=match):
        MAE(rng=np.random.default_rng(0), **{**SMALL, **kw})


def test_bad_masks_and_inputs():
    model = MAE(rng=np.random.default_rng(0), **SMALL)
    x = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match="hide the same number"):
        model.loss_and_grad(x, mask=np.array([[True, False, False, False],
                                              [True, True, False, False]]))
    with pytest.raises(ValueError, match="leave at least one visible"):
        model.loss_and_grad(x, mask=np.ones((2, 4), dtype=bool))
    with pytest.raises(ValueError, match=r"bool array of shape \(2, 4\)"):
        model.loss_and_grad(x, mask=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="pass rng"):
        model.loss_and_grad(x)
    with pytest.raises(ValueError, match="x must have shape"):
        model.loss_and_grad(np.zeros((2, 1, 4, 5)), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_mask must be an integer"):
        model.draw_mask(2, np.random.default_rng(0), n_mask=4)


# --------------------------------------------------------------------------
# The Gaussian imputation baseline
# --------------------------------------------------------------------------

def _gaussian(rng, d=6):
    a = rng.standard_normal((d, d))
    return rng.standard_normal(d), a @ a.T + 0.5 * np.eye(d)


def test_imputation_is_the_conditional_mean():
    """With known moments, each hidden entry is mu_h + S_hv S_vv^-1 (x_v - mu_v),
    checked against a solve written out here, for every row's own pattern."""
    rng = np.random.default_rng(9)
    mu, cov = _gaussian(rng)
    imp = GaussianImputer.from_moments(mu, cov)
    x = rng.multivariate_normal(mu, cov, size=5)
    hidden = np.array([[True, False, True, False, False, True],
                       [False, False, False, False, False, True],
                       [True, True, True, True, True, True],        # nothing visible: mu
                       [False] * 6,                                  # nothing hidden: x
                       [True, False, True, False, False, True]])
    out = imp.impute(x, hidden)
    for row in range(5):
        h, v = hidden[row], ~hidden[row]
        want = x[row].copy()
        if h.any() and v.any():
            want[h] = mu[h] + cov[np.ix_(h, v)] @ np.linalg.solve(cov[np.ix_(v, v)],
                                                                   x[row, v] - mu[v])
        elif h.any():
            want[h] = mu[h]
        np.testing.assert_allclose(out[row], want, rtol=1e-12, atol=1e-12)


def test_imputation_is_optimal_on_a_gaussian():
    """On Gaussian samples the imputation's mean squared error matches the
    trace of the conditional covariance (the Bayes error), the residual is
    uncorrelated with the visible entries, and every other linear predictor
    (here: the coefficients nudged) does worse. Moments fitted on a large
    sample from the same Gaussian give the same error."""
    rng = np.random.default_rng(10)
    mu, cov = _gaussian(rng)
    x = rng.multivariate_normal(mu, cov, size=200_000)
    visible = np.array([True, False, True, True, False, False])
    hidden = np.broadcast_to(~visible, x.shape).copy()
    imp = GaussianImputer.from_moments(mu, cov)
    resid = imp.impute(x, hidden)[:, ~visible] - x[:, ~visible]
    bayes = np.trace(imp.conditional_covariance(visible))
    mse = np.mean(np.sum(resid ** 2, axis=1))
    assert mse == pytest.approx(bayes, rel=0.01)
    corr = (x[:, visible] - mu[visible]).T @ resid / len(x)
    assert np.max(np.abs(corr)) < 0.02 * np.sqrt(np.max(np.diag(cov)) * bayes)
    b = imp.coefficients(visible)
    for _ in range(3):
        worse = b + 0.05 * rng.standard_normal(b.shape)
        alt = mu[~visible] + (x[:, visible] - mu[visible]) @ worse
        assert np.mean(np.sum((alt - x[:, ~visible]) ** 2, axis=1)) > mse
    fitted = GaussianImputer().fit(x)
    resid_fit = fitted.impute(x, hidden)[:, ~visible] - x[:, ~visible]
    assert np.mean(np.sum(resid_fit ** 2, axis=1)) == pytest.approx(mse, rel=1e-3)


def test_imputation_singular_covariance_needs_a_ridge():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((50, 4))
    x[:, 0] = 0.0                                   # a pixel that never varies
    hidden = np.zeros_like(x, dtype=bool)
    hidden[:, 3] = True
    with pytest.raises(np.linalg.LinAlgError, match="pass ridge > 0"):
        GaussianImputer().fit(x).impute(x, hidden)
    out = GaussianImputer(ridge=1e-6).fit(x).impute(x, hidden)
    assert np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="ridge must be a finite number >= 0"):
        GaussianImputer(ridge=-1.0)
    with pytest.raises(ValueError, match="hidden must be a bool array"):
        GaussianImputer().fit(x).impute(x, hidden.astype(float))
    with pytest.raises(RuntimeError, match="not fitted"):
        GaussianImputer().impute(x, hidden)


def test_masked_reconstructions_wraps_long_rows_into_blocks():
    """Lesson 18's fill figure: 5 images a row at 2 per block make 3 blocks of
    the 2 rows, with a spacer row between blocks, and each image drawn once."""
    from tinyae.course.plotting import plt
    from tinyae.course.plotting.mae import masked_reconstructions
    x = np.random.default_rng(0).random((5, 16))
    masked = x.copy()
    masked[:, :4] = np.nan
    fig = masked_reconstructions({"input": x, "masked": masked}, shape=(4, 4), per_block=2,
                                 col_labels=[f"a {i}" for i in range(5)])
    axes = np.array(fig.axes).reshape(-1, 2)
    assert axes.shape == (3 * 2 + 2, 2)
    assert sum(len(ax.images) for ax in fig.axes) == 2 * 5
    assert [t.get_text() for ax in axes[[1, 4, 7]].ravel() for t in ax.texts
            if t.get_text().startswith("a ")] == [f"a {i}" for i in range(5)]
    plt.close(fig)
    with pytest.raises(ValueError, match="per_block: expected an integer >= 1, got 0"):
        masked_reconstructions({"input": x}, shape=(4, 4), per_block=0)
