"""The Numba twins in ``tinyae.kernels`` against the NumPy reference.

Every op in ``backend.OP_NAMES`` is run through both modules on ordinary and
edge inputs (1x1, batch 1, width 1, zeros, magnitudes up to 1e4, transposed
and sliced views) in float32 and float64. The whole return value is compared
leaf by leaf, caches included: same structure, same dtype (the input's),
values within ``REL_TOL[dtype]`` in the norm-wise relative sense
``max|a - b| / max|b|`` (with a floor of the dtype's tiny, so zeros must
match exactly).
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


def _inputs(op, dtype, kind, seed=0):
    """(args of the forward op or loss, dout or None) for ``op``."""
    rng = np.random.default_rng(seed)
    n, d = SHAPES[kind]
    n_out = max(d - 2, 1)  # W is never square unless 1x1: catches a lost .T

    def draw(shape, role="x"):
        return _draw(rng, shape, dtype, kind, role)

    if op.startswith("linear"):
        args, out_shape = (draw((n, d)), draw((d, n_out)), draw((n_out,))), (n, n_out)
    elif op == "mse_loss":
        return (draw((n, d)), draw((n, d))), None
    elif op == "bce_with_logits_loss":
        return (draw((n, d)), draw((n, d), "unit")), None
    elif op == "gaussian_nll_loss":
        return (draw((n, d)), draw((n, d), "logvar"), draw((n, d))), None
    else:
        args, out_shape = (draw((n, d)),), (n, d)
    return args, (draw(out_shape) if op.endswith("_backward") else None)


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
        if r is None:
            assert g is None
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
@pytest.mark.parametrize("op", backend.OP_NAMES)
def test_kernel_matches_reference(op, kind, dtype):
    args, dout = _inputs(op, dtype, kind)
    got = _run(kernels, op, args, dout)
    ref = _run(functional, op, args, dout)
    _assert_twins(got, ref, dtype)
    if op.endswith("_forward"):  # the same aliasing of out and cache
        assert (got[1] is got[0]) == (ref[1] is ref[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("op", [op for op in backend.OP_NAMES if op.endswith("_backward")])
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
