"""t-SNE: the Numba twins against the NumPy reference, the hand-derived
gradient against finite differences (and a near miss that must fail), the
perplexity bisection, the optimiser on data with a known answer, and the
boundary checks."""

import numpy as np
import pytest

from tinyae import backend, functional, kernels
from tinyae.analysis.embedding_metrics import knn_accuracy, squared_distances, trustworthiness
from tinyae.functional.tsne import PERPLEXITY_TOL
from tinyae.gradcheck import check_loss
from tinyae.gradcheck.cases import CASES
from tinyae.analysis.tsne import TSNE, conditional_probabilities, joint_probabilities, row_perplexity

REL = 1e-12


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(float).tiny))


def _joint(rng, n, scale=1.0):
    a = rng.uniform(0.0, 1.0, size=(n, n))
    p = a + a.T
    np.fill_diagonal(p, 0.0)
    return scale * p / p.sum()


# --------------------------------------------------------------------------
# Twins
# --------------------------------------------------------------------------

def _data(kind, rng):
    """(dist2, perplexity) for the affinity twins."""
    if kind == "3 points":
        x = rng.standard_normal((3, 2))
        return squared_distances(x), 1.5
    if kind == "random":
        return squared_distances(rng.standard_normal((40, 5))), 8.0
    if kind == "duplicates":                       # exact ties, some rows with 3 twins
        x = rng.standard_normal((10, 4))
        x = np.concatenate([x, x[:3], x[:3]])
        return squared_distances(x), 5.0
    if kind == "large":                            # distances ~1e6: beta must shrink far
        return squared_distances(1e3 * rng.standard_normal((30, 3))), 6.0
    if kind == "tiny":                             # distances ~1e-8: beta must grow far
        return squared_distances(1e-4 * rng.standard_normal((30, 3))), 6.0
    if kind == "1e120":                            # beyond the window: scaled rows
        return squared_distances(1e60 * rng.standard_normal((30, 3))), 6.0
    if kind == "1e-120":
        return squared_distances(1e-60 * rng.standard_normal((30, 3))), 6.0
    raise KeyError(kind)


@pytest.mark.parametrize("kind", ["3 points", "random", "duplicates", "large", "tiny",
                                  "1e120", "1e-120"])
def test_conditional_p_twins_agree(kind, rng):
    dist2, perplexity = _data(kind, rng)
    p_ref, beta_ref = functional.tsne_conditional_p(dist2, perplexity)
    p, beta = kernels.tsne_conditional_p(dist2, perplexity)
    assert p.dtype == beta.dtype == np.float64
    assert _rel(p, p_ref) <= REL and _rel(beta, beta_ref) <= REL
    np.testing.assert_array_equal(np.diag(p), 0.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-13)


@pytest.mark.parametrize("n, k, scale", [(2, 1, 4.0), (3, 1, 1.0), (7, 2, 1.0),
                                         (60, 2, 12.0), (25, 3, 1.0)])
def test_kl_grad_twins_agree(n, k, scale, rng):
    y = rng.standard_normal((n, k)) * 3
    p = _joint(rng, n, scale)
    p[0, 1] = p[1, 0] = 0.0                        # a zero affinity: 0 log 0 = 0
    cost_ref, dy_ref = functional.tsne_kl_grad(y, p)
    cost, dy = kernels.tsne_kl_grad(y, p)
    assert type(cost) is float and dy.dtype == np.float64 and dy.shape == (n, k)
    assert abs(cost - cost_ref) <= REL * max(abs(cost_ref), 1.0)
    assert _rel(dy, dy_ref) <= REL
    for module in (functional, kernels):           # the gradient alone: no cost, same dy
        none, dy_only = module.tsne_kl_grad(y, p, need_cost=False)
        assert none is None and _rel(dy_only, dy_ref) <= REL


def test_kl_is_the_kl_divergence(rng):
    """With P summing to 1 the cost is KL(P || Q), computed the long way here."""
    n = 6
    y = rng.standard_normal((n, 2))
    p = _joint(rng, n)
    w = 1.0 / (1.0 + squared_distances(y))
    np.fill_diagonal(w, 0.0)
    q = w / w.sum()
    off = ~np.eye(n, dtype=bool)
    kl = np.sum(p[off] * np.log(p[off] / q[off]))
    for module in (functional, kernels):
        assert module.tsne_kl_grad(y, p)[0] == pytest.approx(kl, rel=1e-12)


# --------------------------------------------------------------------------
# The gradient
# --------------------------------------------------------------------------

@pytest.mark.parametrize("module", [functional, kernels], ids=["numpy", "numba"])
@pytest.mark.parametrize("scale", [1.0, 12.0])
def test_kl_gradient_matches_finite_differences(module, scale, rng):
    y = rng.standard_normal((8, 2))
    p = _joint(rng, 8, scale)
    report = check_loss(lambda y, p: module.tsne_kl_grad(y, p), y, p)
    assert report.worst < 1e-7, report


def test_a_near_miss_gradient_fails(rng):
    """A classic slip (forgetting that every pair appears twice: factor 2
    instead of 4) fails by far; a gradient off by one part in 1e4 fails too."""
    y = rng.standard_normal((8, 2))
    p = _joint(rng, 8)

    def half(y, p):
        cost, dy = functional.tsne_kl_grad(y, p)
        return cost, dy / 2

    assert check_loss(half, y, p).worst > 0.1

    def slightly_off(y, p):
        cost, dy = functional.tsne_kl_grad(y, p)
        return cost, dy * (1 + 1e-4)

    report = check_loss(slightly_off, y, p)
    assert 1e-6 < report.worst < 1e-3 and not report.passed()


def test_gradcheck_cases_are_registered_and_pass(rng):
    names = [name for name in CASES if name.startswith("tsne")]
    assert len(names) >= 4
    for name in names:
        for which in ("numpy", "numba"):
            with backend.use(which):
                report = CASES[name](np.random.default_rng(0))
            assert report.passed(), report


# --------------------------------------------------------------------------
# Perplexity calibration
# --------------------------------------------------------------------------

@pytest.mark.parametrize("perplexity", [2.0, 10.0, 30.0])
def test_bisection_hits_the_target_entropy(perplexity, each_backend, rng):
    x = rng.standard_normal((120, 10))
    p, beta = conditional_probabilities(x, perplexity)
    h = np.log(row_perplexity(p))                  # entropy in nats, per row
    assert np.max(np.abs(h - np.log(perplexity))) < PERPLEXITY_TOL
    assert np.all(beta > 0)
    # p_{j|i} is exactly the Gaussian of its beta
    d2 = squared_distances(x)
    e = np.exp(-beta[:, None] * (d2 - np.where(np.eye(120, dtype=bool), np.inf, d2)
                                 .min(axis=1, keepdims=True)))
    np.fill_diagonal(e, 0.0)
    np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True), rtol=1e-10, atol=1e-300)


SCALES = [-480, -200, -40, 0, 40, 200, 480]       # x times 2^k: squared distances 2^2k


def _scaled_rows(rng):
    """x (two clusters, so near and far neighbours) at every scale: k -> (p, beta)."""
    x = np.concatenate([rng.standard_normal((40, 5)), rng.standard_normal((20, 5)) + 6])
    return {k: conditional_probabilities(x * 2.0 ** k, 8.0) for k in SCALES}


def test_every_scale_gives_the_perplexity_and_the_same_kernels(each_backend, rng):
    """p depends on beta d only: at every scale a float64 distance can hold,
    each row meets its perplexity and beta carries the scale (beta 4^k equal
    to the unscaled beta within the bisection's tolerance)."""
    rows = _scaled_rows(rng)
    for k, (p, beta) in rows.items():
        h = np.log(row_perplexity(p))
        assert np.max(np.abs(h - np.log(8.0))) < PERPLEXITY_TOL, k
        np.testing.assert_allclose(beta * 4.0 ** k, rows[0][1], rtol=1e-3, err_msg=str(k))
        np.testing.assert_allclose(p, rows[0][0], rtol=1e-3, atol=1e-12, err_msg=str(k))


def test_without_the_scaling_far_rows_miss_their_perplexity(each_backend, rng, monkeypatch):
    """The near miss: with the window widened to 2^+-1023 (no row here is
    scaled), a bisection from beta = 1 runs out of steps at 2^+-200 and
    misses the perplexity by far; inside the window nothing changes."""
    from tinyae.functional import tsne as reference
    from tinyae.kernels import tsne as twin
    for module in (reference, twin):
        monkeypatch.setattr(module, "PERPLEXITY_SCALE_BITS", 1023)
    rows = _scaled_rows(rng)
    for k, (p, _) in rows.items():
        miss = np.max(np.abs(np.log(row_perplexity(p)) - np.log(8.0)))
        assert (miss > 0.1) if abs(k) >= 200 else (miss < PERPLEXITY_TOL), (k, miss)


def test_the_scaling_leaves_data_of_ordinary_scale_bit_for_bit(rng, monkeypatch):
    x = rng.standard_normal((50, 6))
    before = {m: m.tsne_conditional_p(squared_distances(x), 7.0) for m in (functional, kernels)}
    from tinyae.functional import tsne as reference
    from tinyae.kernels import tsne as twin
    for module in (reference, twin):
        monkeypatch.setattr(module, "PERPLEXITY_SCALE_BITS", 1023)
    for m, (p, beta) in before.items():
        p_off, beta_off = m.tsne_conditional_p(squared_distances(x), 7.0)
        assert np.array_equal(p, p_off) and np.array_equal(beta, beta_off)


def test_higher_perplexity_means_wider_kernels(rng):
    x = rng.standard_normal((80, 4))
    _, beta_5 = conditional_probabilities(x, 5.0)
    _, beta_20 = conditional_probabilities(x, 20.0)
    assert np.all(beta_20 < beta_5)


def test_unreachable_entropy_keeps_consistent_p(rng):
    """Four exact copies of a point: its row cannot go below entropy log 3
    (its 3 twins tie), so perplexity 2 is out of reach; the bisection stops
    after its budget with p at the final beta (mass spread on the twins)."""
    x = np.concatenate([np.zeros((4, 2)), rng.standard_normal((10, 2)) + 5])
    for module in (functional, kernels):
        p, beta = module.tsne_conditional_p(squared_distances(x), 2.0)
        np.testing.assert_allclose(p[0, 1:4], 1 / 3, rtol=1e-12)
        assert np.all(np.isfinite(p)) and np.isfinite(beta[0]) and beta[0] > 1e10


def test_joint_probabilities_are_symmetric_and_sum_to_one(rng):
    p = joint_probabilities(rng.standard_normal((30, 3)), 5.0)
    np.testing.assert_allclose(p, p.T, rtol=0, atol=0)
    assert p.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_array_equal(np.diag(p), 0.0)


# --------------------------------------------------------------------------
# The optimiser on a known answer
# --------------------------------------------------------------------------

def _clusters(rng, n=300, c=6, d=50, spread=3.0):
    """c Gaussian clusters in d dims, centres ~N(0, spread^2 I): well separated."""
    labels = np.arange(n) % c
    centres = spread * rng.standard_normal((c, d))
    return centres[labels] + rng.standard_normal((n, d)), labels


def test_tsne_separates_gaussian_clusters(rng):
    x, labels = _clusters(rng)
    tsne = TSNE(perplexity=20, n_iter=250, exaggeration_iter=80)
    y = tsne.fit_transform(x)
    assert y.shape == (300, 2) and np.all(np.isfinite(y))
    assert knn_accuracy(y, labels, 5) >= 0.99
    assert trustworthiness(x, y, 5) > 0.95
    costs = [c for _, c in tsne.cost_history_]
    assert costs[-1] < costs[0] and tsne.kl_divergence_ == pytest.approx(costs[-1], rel=0.05)


def test_backends_give_the_same_embedding(rng):
    x, _ = _clusters(rng, n=60, c=3, d=8)
    out = {}
    for which in ("numpy", "numba"):
        with backend.use(which):
            out[which] = TSNE(perplexity=10, n_iter=30, exaggeration_iter=10,
                              cost_every=10).fit_transform(x)
    assert _rel(out["numba"], out["numpy"]) < 1e-9


def test_random_init_uses_the_rng(rng):
    x, _ = _clusters(rng, n=40, c=2, d=5)
    kw = dict(perplexity=5, n_iter=20, exaggeration_iter=5, init="random")
    a = TSNE(**kw).fit_transform(x, rng=np.random.default_rng(1))
    b = TSNE(**kw).fit_transform(x, rng=np.random.default_rng(1))
    c = TSNE(**kw).fit_transform(x, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


# --------------------------------------------------------------------------
# The boundary
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(perplexity=0.0), "perplexity must be a finite number > 0, got 0.0"),
    (dict(n_iter=0), "n_iter must be a positive integer, got 0"),
    (dict(n_iter=10, exaggeration_iter=11), r"exaggeration_iter .* \[0, 10\], got 11"),
    (dict(learning_rate="fast"), "learning_rate must be a finite number > 0, got 'fast'"),
    (dict(momentum=1.0), r"momentum must be a number in \[0, 1\), got 1.0"),
    (dict(init="spectral"), "init must be one of .*got 'spectral'"),
    (dict(n_component=2), "unexpected keyword"),
])
def test_bad_hyperparameters_raise(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TSNE(**kwargs)


def test_bad_inputs_raise(rng):
    x = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"perplexity must lie in \(1, n - 1\) = \(1, 9\).*got 9.0"):
        TSNE(perplexity=9.0).fit_transform(x)
    with pytest.raises(ValueError, match="x must be 2-D, got shape"):
        TSNE(perplexity=3).fit_transform(x[0])
    with pytest.raises(ValueError, match="non-finite"):
        TSNE(perplexity=3).fit_transform(np.full((10, 3), np.nan))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        TSNE(perplexity=3, init="random").fit_transform(x)
    with pytest.raises(ValueError, match="n_components <= min"):
        TSNE(perplexity=3, n_components=4).fit_transform(x)
