"""The Numba twins in ``tinyae.kernels`` against the NumPy reference.

Every dense op (``backend.OP_FAMILIES["dense"]``) is run through both modules on ordinary and
edge inputs (1x1, batch 1, width 1, zeros, magnitudes up to 1e4, transposed
and sliced views) in float32 and float64. The whole return value is compared
leaf by leaf, caches included: same structure, same dtype (the input's),
values within ``REL_TOL[dtype]`` in the norm-wise relative sense
``max|a - b| / max|b|`` (with a floor of the dtype's tiny, so zeros must
match exactly); boolean caches (the top-k mask) must match exactly.
"""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyae import backend, functional, kernels

REL_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
DTYPES = [np.float32, np.float64]

#: kind -> (batch, d). Value kinds draw the values; layout kinds
#: ("transposed", "sliced") draw ordinary values and pass a view.
SHAPES = {
    "random": (7, 5), "1x1": (1, 1), "batch1": (1, 5), "width1": (7, 1),
    "zeros": (7, 5), "large": (7, 5), "transposed": (7, 5), "sliced": (6, 4),
}
ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus", "identity")

#: The fused ops of the training step have their own inputs and tests (the
#: end of this file); every other dense op goes through the generic tests,
#: with its inputs from the table ``INPUTS`` below (one row per op).
FUSED_OPS = ("linear_act_forward", "linear_act_backward", "adam_update",
             "contractive_penalty", "kl_sparsity", "reparameterize_kl",
             "reparameterize_kl_backward", "gaussian_corrupt", "masking_corrupt")
# Other families (conv, ...) have their own inputs in tests/test_<family>.py.

# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def _view(a, kind):
    """The values of ``a`` as a non-contiguous view (or ``a`` itself)."""
    if kind == "transposed":  # F-ordered: x.T of a C array
        return np.ascontiguousarray(a.T).T
    if kind == "sliced":      # every other element of a larger array
        every_other = tuple(slice(None, None, 2) for _ in a.shape)
        big = np.full([2 * s for s in a.shape], np.nan, a.dtype)
        big[every_other] = a
        return big[every_other]
    return a


def _draw(rng, shape, dtype, kind, role="x"):
    """One input array. role: "x" (any real), "unit" (a target in [0, 1]),
    "logvar" (a log-variance: moderate even when kind is "large")."""
    if kind == "zeros":
        return np.zeros(shape, dtype)
    if kind == "large":
        if role == "unit":
            a = rng.integers(0, 2, shape)
        else:
            bound = 20.0 if role == "logvar" else 1e4
            a = rng.uniform(-bound, bound, shape)
            a.flat[::2] = np.where(a.flat[::2] < 0, -bound, bound)  # exact +-bound
    else:
        a = rng.uniform(0, 1, shape) if role == "unit" else rng.uniform(-3, 3, shape)
    return _view(a.astype(dtype), kind)


def _elementwise(draw, n, d):
    return (draw((n, d)),), (n, d)


#: Forward op or loss -> f(draw, n, d) -> (args, shape of out, or None for a
#: loss). A ``*_backward`` op is run on its forward's cache with a random
#: dout of that shape. A new op is one row.
INPUTS = {
    "linear_forward": lambda draw, n, d: (
        # W is never square unless 1x1: catches a lost .T
        (draw((n, d)), draw((d, max(d - 2, 1))), draw((max(d - 2, 1),))), (n, max(d - 2, 1))),
    **{f"{act}_forward": _elementwise for act in ACTIVATIONS},
    # k = about half the width (1 when d = 1; every entry is a tie in "zeros")
    "topk_forward": lambda draw, n, d: ((draw((n, d)), max(d // 2, 1)), (n, d)),
    "mse_loss": lambda draw, n, d: ((draw((n, d)), draw((n, d))), None),
    "bce_with_logits_loss": lambda draw, n, d: ((draw((n, d)), draw((n, d), "unit")), None),
    "gaussian_nll_loss": lambda draw, n, d: (
        (draw((n, d)), draw((n, d), "logvar"), draw((n, d))), None),
}

#: Every op the generic tests run: the table's, and each forward's backward.
BASIC_OPS = tuple(op for fwd in INPUTS for op in
                  ((fwd, fwd.replace("_forward", "_backward")) if fwd.endswith("_forward")
                   else (fwd,)))


def _inputs(op, dtype, kind, seed=0):
    """(args of the forward op or loss, dout or None) for ``op``."""
    rng = np.random.default_rng(seed)
    n, d = SHAPES[kind]

    def draw(shape, role="x"):
        return _draw(rng, shape, dtype, kind, role)

    args, out_shape = INPUTS[op.replace("_backward", "_forward")](draw, n, d)
    return args, (draw(out_shape) if op.endswith("_backward") else None)


def test_every_dense_op_has_inputs_or_its_own_tests():
    covered = set(BASIC_OPS) | set(FUSED_OPS)
    assert set(backend.OP_FAMILIES["dense"]) == covered


def _run(module, op, args, dout):
    """Call ``module.op``; a backward op gets the cache of its own forward."""
    if op.endswith("_backward"):
        _, cache = getattr(module, op.replace("_backward", "_forward"))(*args)
        return getattr(module, op)(dout, cache)
    return getattr(module, op)(*args)


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------

def _leaves(result):
    """Flatten nested tuples (out, (x, W)) into their leaves."""
    if isinstance(result, tuple):
        return [leaf for item in result for leaf in _leaves(item)]
    return [result]


def _rel_diff(a, b):
    """max|a - b| / max|b|, floored at the dtype's tiny (zeros compare exactly)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    floor = np.finfo(np.float64).tiny
    return float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(b), initial=0.0), floor))


def _assert_twins(got, ref, dtype):
    """Same structure, Python floats for losses, arrays in ``dtype``, close values."""
    got_leaves, ref_leaves = _leaves(got), _leaves(ref)
    assert len(got_leaves) == len(ref_leaves)
    worst = 0.0
    for g, r in zip(got_leaves, ref_leaves):
        if r is None or isinstance(r, str):   # no cache, or an activation's name
            assert g == r
            continue
        if isinstance(r, np.ndarray) and r.dtype == bool:   # a mask (top-k): exact
            assert isinstance(g, np.ndarray) and g.dtype == bool and g.shape == r.shape
            np.testing.assert_array_equal(g, r)
            continue
        if isinstance(r, float):
            assert type(g) is float
        else:
            assert isinstance(g, np.ndarray)
            assert g.dtype == r.dtype == np.dtype(dtype)
            assert g.shape == r.shape
        assert np.all(np.isfinite(g)) and np.all(np.isfinite(r))
        worst = max(worst, _rel_diff(g, r))
    assert worst <= REL_TOL[np.dtype(dtype)], worst
    return worst


# --------------------------------------------------------------------------
# Every op, every kind, both dtypes
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", list(SHAPES))
@pytest.mark.parametrize("op", BASIC_OPS)
def test_kernel_matches_reference(op, kind, dtype):
    args, dout = _inputs(op, dtype, kind)
    got = _run(kernels, op, args, dout)
    ref = _run(functional, op, args, dout)
    _assert_twins(got, ref, dtype)
    if op.endswith("_forward"):  # the same aliasing of out and cache
        assert (got[1] is got[0]) == (ref[1] is ref[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("op", [op for op in BASIC_OPS if op.endswith("_backward")])
def test_caches_are_interchangeable(op, dtype):
    """A kernel backward accepts the reference forward's cache (same contract)."""
    args, dout = _inputs(op, dtype, "random", seed=1)
    _, cache = getattr(functional, op.replace("_backward", "_forward"))(*args)
    _assert_twins(getattr(kernels, op)(dout, cache),
                  getattr(functional, op)(dout, cache), dtype)


@pytest.mark.parametrize("op", backend.OP_NAMES)
def test_same_names_and_signatures(op):
    twin, ref = getattr(kernels, op), getattr(functional, op)
    assert inspect.signature(twin) == inspect.signature(ref)
    assert twin.__doc__


# --------------------------------------------------------------------------
# float32 stays float32 inside the kernels
# --------------------------------------------------------------------------

def test_float32_arithmetic_is_bit_identical():
    """Ops made of + - * / only must round like NumPy, step by step: a
    float64 intermediate (a Python float literal, ``/ n`` with an int)
    would round once instead and change some last bits."""
    rng = np.random.default_rng(2)
    x, dout, target = (rng.standard_normal((63, 33)).astype(np.float32) for _ in range(3))
    out = rng.uniform(0, 1, (63, 33)).astype(np.float32)
    x[::5, ::3] = 0.0  # ReLU kinks
    for op, args in [
        ("sigmoid_backward", (dout, out)), ("tanh_backward", (dout, out)),
        ("relu_backward", (dout, np.maximum(x, 0))), ("relu_forward", (x,)),
        ("identity_backward", (dout, None)),
    ]:
        np.testing.assert_array_equal(_leaves(getattr(kernels, op)(*args))[0],
                                      _leaves(getattr(functional, op)(*args))[0], err_msg=op)
    np.testing.assert_array_equal(kernels.mse_loss(x, target)[1],
                                  functional.mse_loss(x, target)[1])


# --------------------------------------------------------------------------
# Edge values, exact
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("module", [functional, kernels], ids=["numpy", "numba"])
def test_tails_are_exact(module, dtype):
    z = np.array([[1e4, -1e4]], dtype)
    ones = np.ones_like(z)
    np.testing.assert_array_equal(module.sigmoid_forward(z)[0], [[1, 0]])
    np.testing.assert_array_equal(module.sigmoid_backward(ones, module.sigmoid_forward(z)[1]), [[0, 0]])
    np.testing.assert_array_equal(module.softplus_forward(z)[0], [[1e4, 0]])
    np.testing.assert_array_equal(module.softplus_backward(ones, module.softplus_forward(z)[1]), [[1, 0]])
    np.testing.assert_array_equal(module.tanh_forward(z)[0], [[1, -1]])
    # BCE: l(z, t) = softplus(z) - t z; one element at a time, then a batch of 4
    cases = [(1e4, 1, 0.0, 0), (1e4, 0, 1e4, 1), (-1e4, 1, 1e4, -1), (-1e4, 0, 0.0, 0)]
    for zi, ti, loss_i, grad_i in cases:
        loss, dz = module.bce_with_logits_loss(np.array([[zi]], dtype), np.array([[ti]], dtype))
        assert loss == loss_i and dz[0, 0] == grad_i and dz.dtype == dtype
    zs, ts, losses, grads = (np.array([[c[k]] for c in cases], dtype) for k in range(4))
    loss, dz = module.bce_with_logits_loss(zs, ts)
    assert loss == losses.sum() / 4
    np.testing.assert_array_equal(dz, grads / 4)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("module", [functional, kernels], ids=["numpy", "numba"])
def test_relu_derivative_at_zero_is_zero(module, dtype):
    x = np.array([[0.0, -0.0, 2.0, -2.0]], dtype)
    out, cache = module.relu_forward(x)
    np.testing.assert_array_equal(out, [[0, 0, 2, 0]])
    np.testing.assert_array_equal(module.relu_backward(np.ones_like(x), cache), [[0, 0, 1, 0]])


@settings(max_examples=40, deadline=None)
@given(data=st.data(), z=hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
    elements=st.floats(-1e4, 1e4)))
def test_bce_gradient_is_sigmoid_minus_target(data, z):
    t = data.draw(hnp.arrays(np.float64, z.shape,
                             elements=st.sampled_from([0.0, 1.0]) | st.floats(0, 1)))
    loss, dz = kernels.bce_with_logits_loss(z, t)
    assert np.isfinite(loss) and loss >= 0.0
    # s(z) and t lie in [0, 1]: an absolute tolerance of a few ulps of 1
    np.testing.assert_allclose(dz, (functional.sigmoid(z) - t) / z.shape[0],
                               rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------
# The backend switch
# --------------------------------------------------------------------------

@pytest.fixture
def fresh_backend(monkeypatch):
    """Undo any backend change at teardown; start unset, no env var."""
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setattr(backend, "_current_module", None)
    monkeypatch.delenv(backend.ENV_VAR, raising=False)
    return monkeypatch


@pytest.mark.usefixtures("fresh_backend")
def test_set_backend_routes_every_op():
    for name, module in [("numpy", functional), ("numba", kernels), ("numpy", functional)]:
        backend.set_backend(name)
        assert backend.get_backend() == name and backend.module() is module
        for op in backend.OP_NAMES:
            assert getattr(backend.ops, op) is getattr(module, op)


@pytest.mark.usefixtures("fresh_backend")
def test_use_restores_the_previous_backend():
    backend.set_backend("numba")
    with backend.use("numpy"):
        assert backend.ops.mse_loss is functional.mse_loss
    assert backend.get_backend() == "numba"
    with pytest.raises(RuntimeError), backend.use("numpy"):
        raise RuntimeError("inside the block")
    assert backend.ops.mse_loss is kernels.mse_loss


@pytest.mark.usefixtures("fresh_backend")
def test_bad_backend_name_raises():
    backend.set_backend("numpy")
    for bad in [lambda: backend.set_backend("cuda"), lambda: backend.use("cuda").__enter__()]:
        with pytest.raises(ValueError, match="'cuda'"):
            bad()
    assert backend.get_backend() == "numpy"


def test_environment_variable_picks_the_backend(fresh_backend):
    assert backend.get_backend() == "numba"  # the default
    for name, module in [("numpy", functional), ("numba", kernels)]:
        fresh_backend.setenv(backend.ENV_VAR, name)
        fresh_backend.setattr(backend, "_current", None)
        fresh_backend.setattr(backend, "_current_module", None)
        assert backend.ops.relu_forward is module.relu_forward
        assert backend.get_backend() == name
    fresh_backend.setenv(backend.ENV_VAR, "fortran")
    fresh_backend.setattr(backend, "_current", None)
    with pytest.raises(ValueError, match=f"{backend.ENV_VAR}.*'fortran'"):
        backend.get_backend()


# --------------------------------------------------------------------------
# Fused ops of the training step: the same comparison, op by op
# --------------------------------------------------------------------------

FUSED_KINDS = ("random", "1x1", "batch1", "width1", "zeros", "large", "transposed", "sliced")


def _unit(rng, shape, dtype, kind, low=0.0):
    """Codes in (low, 1) (sigmoid: low 0, tanh: low -1); zeros stay zeros."""
    if kind == "zeros":
        return np.zeros(shape, dtype)
    return _view(rng.uniform(low, 1, shape).astype(dtype), kind)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", FUSED_KINDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_linear_act_matches_reference(activation, kind, dtype):
    rng = np.random.default_rng(3)
    n, d = SHAPES[kind]
    n_out = max(d - 2, 1)
    x, W, b = (_draw(rng, s, dtype, kind) for s in [(n, d), (d, n_out), (n_out,)])
    dout = _draw(rng, (n, n_out), dtype, kind)
    got = kernels.linear_act_forward(x, W, b, activation)
    ref = functional.linear_act_forward(x, W, b, activation)
    _assert_twins(got, ref, dtype)
    assert got[1][2] == ref[1][2] == activation
    assert (got[1][1] is got[0]) == (ref[1][1] is ref[0])        # same aliasing
    # Backward from one cache (the reference's: the same contract): a float32
    # tanh saturated at +-1 turns an ulp of difference in out into a large
    # relative one in 1 - out^2, which is the forward's business, not this.
    for need_dx in (True, False):
        g = kernels.linear_act_backward(dout, ref[1], need_dx)
        r = functional.linear_act_backward(dout, ref[1], need_dx)
        _assert_twins(g, r, dtype)
        assert (g[0] is None) == (r[0] is None) == (not need_dx)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_linear_act_is_linear_then_activation(activation, dtype):
    """The fused op equals the two unfused ops in sequence (both backends)."""
    rng = np.random.default_rng(4)
    x, W, b, dout = (rng.standard_normal(s).astype(dtype)
                     for s in [(9, 6), (6, 4), (4,), (9, 4)])
    for module in (functional, kernels):
        out, cache = module.linear_act_forward(x, W, b, activation)
        a, lin_cache = module.linear_forward(x, W, b)
        act_f, act_b = (getattr(module, f"{activation}_{s}") for s in ("forward", "backward"))
        out2, act_cache = act_f(a)
        _assert_twins(out, out2, dtype)
        dx, dW, db = module.linear_act_backward(dout, cache)
        _assert_twins((dx, dW, db), module.linear_backward(act_b(dout, act_cache), lin_cache),
                      dtype)


def _adam_inputs(rng, shape, dtype, kind):
    p, g = (_draw(rng, shape, dtype, kind) for _ in range(2))
    m = _draw(rng, shape, dtype, kind)
    v = np.abs(_draw(rng, shape, dtype, kind))
    return p, g, m, v


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", FUSED_KINDS)
@pytest.mark.parametrize("shape", [None, (5,)], ids=["matrix", "vector"])
def test_adam_update_matches_reference(shape, kind, dtype):
    rng = np.random.default_rng(5)
    shape = shape or SHAPES[kind]
    arrays = _adam_inputs(rng, shape, dtype, kind)
    mine = [a.copy() if kind not in ("transposed", "sliced") else _view(a.copy(), kind)
            for a in arrays]
    ref = [a.copy() for a in arrays]
    for t in (1, 2, 3):   # a few steps: the bias correction changes with t
        g = _draw(rng, shape, dtype, kind)
        assert kernels.adam_update(mine[0], g, mine[2], mine[3],
                                   1e-3, 0.9, 0.999, 1e-8, t) is None
        functional.adam_update(ref[0], g, ref[2], ref[3], 1e-3, 0.9, 0.999, 1e-8, t)
    for k in (0, 2, 3):   # p, m, v changed in place, identically
        assert mine[k].dtype == np.dtype(dtype)
        assert _rel_diff(mine[k], ref[k]) <= REL_TOL[np.dtype(dtype)], k


def test_adam_update_moves_against_the_gradient():
    """A first step moves every coordinate by lr against the sign of g
    (m_hat / sqrt(v_hat) = g / |g| at t = 1): a wrong bias correction fails."""
    g = np.array([[3.0, -0.5], [1e-3, -40.0]])
    p, m, v = np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))
    kernels.adam_update(p, g, m, v, 0.01, 0.9, 0.999, 1e-12, 1)
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-12)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", FUSED_KINDS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_contractive_penalty_matches_reference(activation, kind, dtype):
    rng = np.random.default_rng(6)
    n, d = SHAPES[kind]
    h = _unit(rng, (n, d), dtype, kind, low=-1.0 if activation == "tanh" else 0.0)
    W = _draw(rng, (d + 3, d), dtype, "large" if kind == "large" else "random")
    got = kernels.contractive_penalty(h, W, activation, 0.1)
    ref = functional.contractive_penalty(h, W, activation, 0.1)
    _assert_twins(got, ref, dtype)


def test_contractive_penalty_is_the_penalties_module_formula():
    """functional's twin and tinyae.penalties compute the same penalty."""
    penalties = pytest.importorskip("tinyae.penalties")
    rng = np.random.default_rng(7)
    h, W = rng.uniform(0, 1, (8, 5)), rng.standard_normal((6, 5))
    for activation in ("sigmoid", "tanh"):
        _assert_twins(functional.contractive_penalty(h, W, activation, 0.3),
                      penalties.contractive_from_code(h, W, activation=activation, lam=0.3),
                      np.float64)
    _assert_twins(functional.kl_sparsity(h, 0.05, 3.0),
                  penalties.kl(h, rho=0.05, beta=3.0), np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", FUSED_KINDS)
def test_kl_sparsity_matches_reference(kind, dtype):
    rng = np.random.default_rng(8)
    h = _unit(rng, SHAPES[kind], dtype, kind)   # zeros: rho_hat clipped to 1e-7
    _assert_twins(kernels.kl_sparsity(h, 0.05, 3.0),
                  functional.kl_sparsity(h, 0.05, 3.0), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", FUSED_KINDS)
def test_reparameterize_kl_matches_reference(kind, dtype):
    rng = np.random.default_rng(9)
    shape = SHAPES[kind]
    mu = _draw(rng, shape, dtype, kind)
    logvar = _draw(rng, shape, dtype, kind, "logvar")
    eps, dz = (_draw(rng, shape, dtype, kind) for _ in range(2))
    got = kernels.reparameterize_kl(mu, logvar, eps)
    ref = functional.reparameterize_kl(mu, logvar, eps)
    _assert_twins(got, ref, dtype)
    for beta in (1.0, 0.25):
        _assert_twins(kernels.reparameterize_kl_backward(dz, got[2], beta),
                      functional.reparameterize_kl_backward(dz, ref[2], beta), dtype)


def test_reparameterize_uses_logvar_as_a_log_variance():
    """The moment test: with eps ~ N(0, 1), Var[z] = exp(logvar), not exp(2 logvar)."""
    rng = np.random.default_rng(10)
    n = 200_000
    mu, logvar = np.full((n, 1), 0.5), np.full((n, 1), np.log(4.0))
    z, kl, _ = kernels.reparameterize_kl(mu, logvar, rng.standard_normal((n, 1)))
    assert abs(z.var() - 4.0) < 0.05 and abs(z.mean() - 0.5) < 0.02
    assert kl == pytest.approx(0.5 * (4.0 + 0.25 - 1.0 - np.log(4.0)), rel=1e-9)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("kind", FUSED_KINDS)
def test_corruptions_match_reference(kind, dtype):
    rng = np.random.default_rng(11)
    shape = SHAPES[kind]
    x = _draw(rng, shape, dtype, kind)
    for e in (rng.standard_normal(shape), rng.standard_normal(shape).astype(dtype)):
        _assert_twins(kernels.gaussian_corrupt(x, e, 0.5),
                      functional.gaussian_corrupt(x, e, 0.5), dtype)
    u = rng.random(shape)
    got = kernels.masking_corrupt(x, u, 0.3)
    np.testing.assert_array_equal(got, functional.masking_corrupt(x, u, 0.3))
    assert got.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("scale", [3.0, 40.0])
@pytest.mark.parametrize("d", [784, 783])
def test_bce_log_blocks_on_a_full_batch(d, scale, dtype):
    """The BCE kernel sums log1p terms as logs of products over blocks of
    512 elements, in four chains: a 127 x 784 batch fills 194 blocks and
    ends in a partial one (the small shapes above never reach a boundary);
    127 x 783 also ends in a tail of one element after the last group of
    four. Same value and gradient as the reference."""
    rng = np.random.default_rng(12)
    z = (scale * rng.standard_normal((127, d))).astype(dtype)
    t = rng.uniform(0, 1, (127, d)).astype(dtype)
    t[::3] = (z[::3] > 0)                   # confident and right: tiny terms
    _assert_twins(kernels.bce_with_logits_loss(z, t),
                  functional.bce_with_logits_loss(z, t), dtype)


def test_float64_exp_is_within_an_ulp_of_libm():
    """The vectorised float64 exp(-|a|) (``kernels.base._exp_nonpos``)
    against NumPy's (libm's) exp: at most 1.5 ulp apart over the whole
    range (measured 1.0; a Taylor series cut two terms shorter is 39 ulp
    off, and a lost ln 2 correction term far more), exact at 0, 0 below the
    smallest subnormal, NaN for NaN, and the libm path for x < -700
    (subnormal results) agrees to the last bit."""
    from tinyae.kernels.base import _exp_neg_abs
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(20_000) * 30, rng.uniform(-760, 760, 20_000),
                        [0.0, -0.0, 1e-300, 5e-324, 699.999, 700.0, 700.001, 708.4, 745.13,
                         745.14, 1e4, np.inf, -np.inf, np.nan]])
    got, ref = _exp_neg_abs(x), np.exp(-np.abs(x))
    assert got.dtype == np.float64 and got.shape == x.shape
    normal = ref >= np.finfo(np.float64).tiny
    ulps = np.abs(got[normal] - ref[normal]) / (ref[normal] * np.finfo(np.float64).eps)
    assert ulps.max() <= 1.5, ulps.max()
    rest = ~normal & ~np.isnan(ref)
    np.testing.assert_array_equal(got[rest], ref[rest])      # subnormal, 0: libm's own
    assert np.isnan(got[np.isnan(ref)]).all()
    assert got[40_000] == got[40_001] == 1.0                 # exp(-0) exactly
    block = x[:40_000].reshape(200, 200)[:, ::3]              # any shape, a strided view
    np.testing.assert_array_equal(_exp_neg_abs(block), got[:40_000].reshape(200, 200)[:, ::3])


def test_float32_exp_is_within_an_ulp_of_the_true_value():
    """The vectorised float32 exp(-|a|) (``kernels.base._exp_nonpos``)
    against float64's exp rounded to float32: within 1 ulp over the normal
    range (measured 0.84; NumPy's own float32 exp is 1.61 ulp off here; a
    Taylor series one term shorter is 2.0 ulp off, without the ln 2
    correction term 2e5), within half a subnormal step below it (the libm
    path, from -86 on), exact at 0, 0 far below, NaN for NaN."""
    from tinyae.kernels.base import _exp_neg_abs
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.standard_normal(20_000) * 30, rng.uniform(-110, 110, 20_000),
                        [0.0, -0.0, 1e-30, 1e-45, 85.999, 86.0, 86.001, 87.3, 88.7, 103.2,
                         103.3, 104.0, 1e4, np.inf, -np.inf, np.nan]]).astype(np.float32)
    got = _exp_neg_abs(x)
    true = np.exp(-np.abs(x.astype(np.float64)))
    assert got.dtype == np.float32 and got.shape == x.shape
    normal = true >= np.finfo(np.float32).tiny
    ulps = np.abs(got[normal] - true[normal]) / (true[normal] * np.finfo(np.float32).eps)
    assert ulps.max() <= 1.0, ulps.max()
    rest = ~normal & ~np.isnan(true)
    assert rest.sum() > 1_000                                # the libm path is exercised
    assert np.abs(got[rest] - true[rest]).max() <= 2.0 ** -150
    assert np.isnan(got[np.isnan(true)]).all()
    assert got[40_000] == got[40_001] == 1.0                 # exp(-0) exactly
    block = x[:40_000].reshape(200, 200)[:, ::3]              # any shape, a strided view
    np.testing.assert_array_equal(_exp_neg_abs(block), got[:40_000].reshape(200, 200)[:, ::3])
