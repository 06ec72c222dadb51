"""The gradient checker itself: it passes correct gradients, catches wrong
ones, refuses float32, and its command line lists and checks every case."""

import subprocess
import sys

import numpy as np
import pytest

from tinyae import gradcheck
from tinyae.gradcheck import (check_layer, check_model, directional_check,
                              numerical_gradient, rel_error)
from tinyae.layers import Linear
from tinyae.models import MLPAutoencoder


def test_numerical_gradient_of_a_known_function():
    """h(x) = x1^2 + 3 x1 x2 at (4, 10): gradient (2 x1 + 3 x2, 3 x1) = (38, 12)."""
    x = np.array([4.0, 10.0])
    num = numerical_gradient(lambda: x[0] ** 2 + 3 * x[0] * x[1], x, h=1e-4)
    assert rel_error(np.array([38.0, 12.0]), num) == pytest.approx(2.2e-12, rel=0.1)
    np.testing.assert_array_equal(x, [4.0, 10.0])          # restored after perturbing


def test_rel_error_has_a_floor():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([1e-20]), np.array([0.0]), floor=1e-10) == pytest.approx(1e-10)
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)


def test_checker_catches_a_wrong_backward(rng):
    class HalfGradLinear(Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] *= 0.5                       # a factor-of-two slip
            return dx
    bad = HalfGradLinear(4, 3, rng=rng)
    report = check_layer(bad, rng.standard_normal((5, 4)), rng=rng)
    assert report.errors["W"] > 0.1 and report.errors["x"] < 1e-7
    assert not report.passed()


def test_directional_check_catches_a_wrong_model(rng):
    model = MLPAutoencoder(sizes=(8, 5, 3), activation="tanh", rng=rng)
    x = rng.uniform(0.1, 0.9, size=(6, 8))
    assert directional_check(model, x, rng=rng).worst < 1e-7
    original = model.loss_and_grad

    def wrong(x, **kw):
        loss, grads = original(x, **kw)
        grads["decoder.0.b"] *= -1
        return loss, grads
    model.loss_and_grad = wrong
    assert directional_check(model, x, rng=rng).worst > 1e-3


def test_float32_is_refused(rng):
    model = MLPAutoencoder(sizes=(4, 2), rng=rng, dtype=np.float32)
    with pytest.raises(TypeError, match="float64"):
        check_model(model, np.zeros((2, 4), dtype=np.float32))


def test_every_registered_case_passes():
    ok, reports = gradcheck.run(stream=open("/dev/null", "w"))
    assert ok, "\n".join(str(r) for r in reports if not r.passed())
    names = {r.name for r in reports}
    for expected in ("layer Linear (glorot)", "layer TiedLinear (in Sequential)",
                     "layer ReLU", "layer Softplus", "loss bce_with_logits",
                     "loss gaussian_nll", "model MLPAutoencoder (relu, bernoulli)"):
        assert expected in names


def test_command_line_lists_cases_and_fails_on_a_bad_tolerance():
    ok = subprocess.run([sys.executable, "-m", "tinyae.gradcheck", "-k", "layer Sigmoid"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "layer Sigmoid" in ok.stdout and "all passed" in ok.stdout
    strict = subprocess.run([sys.executable, "-m", "tinyae.gradcheck", "-k", "layer Sigmoid",
                             "--tol", "1e-30"], capture_output=True, text=True)
    assert strict.returncode == 1 and "FAIL" in strict.stdout


# -- the checker at its own threshold ------------------------------------------
# Each test below fails if the default tolerance were loosened (1e-7 -> 1e-3)
# or the default floor raised (1e-10 -> 1.0): a near miss must not pass.

class _FakeModel:
    """loss = scale * sum(w^2) / 2, whose true gradient is scale * w; the
    returned gradient is ``factor`` times that (factor 1 = correct)."""

    def __init__(self, scale, factor, rng):
        self.params = {"w": rng.uniform(0.5, 1.5, size=5)}
        self.scale, self.factor = scale, factor

    def loss_and_grad(self, *args, **kwargs):
        w = self.params["w"]
        return self.scale * 0.5 * float(w @ w), {"w": self.factor * self.scale * w}


def _sq_loss(factor, scale=1.0):
    def loss(x):
        return scale * 0.5 * float(np.sum(x * x)), factor * scale * x
    return loss


def test_default_tolerance_and_floor_are_pinned():
    assert gradcheck.DEFAULT_TOL == 1e-7 and gradcheck.DEFAULT_FLOOR == 1e-10


@pytest.mark.parametrize("check", ["loss", "model", "directional"])
def test_gradient_off_by_1e_5_fails_at_the_default_tolerance(check, rng):
    """A gradient 1 + 1e-5 times too large has relative error ~5e-6: between
    a correct float64 gradient (<1e-8) and the 1e-3 a loose check would allow."""
    def report(factor):
        if check == "loss":
            return gradcheck.check_loss(_sq_loss(factor), rng.uniform(0.5, 1.5, size=(3, 4)))
        model = _FakeModel(1.0, factor, rng)
        if check == "model":
            return check_model(model)
        return directional_check(model, rng=rng)
    near_miss = report(1 + 1e-5)
    assert 1e-6 < near_miss.worst < 1e-4
    assert not near_miss.passed()                       # the default tolerance
    assert report(1.0).passed()


@pytest.mark.parametrize("check", ["loss", "model", "directional"])
def test_tiny_wrong_gradient_fails_with_the_default_floor(check, rng):
    """A gradient of size 1e-8 off by a factor 2: relative error 1/3 with the
    1e-10 floor; a floor of 1.0 would turn it into 1e-8 and pass it."""
    def report(factor):
        if check == "loss":
            return gradcheck.check_loss(_sq_loss(factor, 1e-8), rng.uniform(0.5, 1.5, size=4))
        model = _FakeModel(1e-8, factor, rng)
        if check == "model":
            return check_model(model)
        return directional_check(model, rng=rng)
    assert report(2.0).worst > 0.1 and not report(2.0).passed()
    assert report(1.0).passed()


def test_runner_fails_a_near_miss_case_at_its_default_tolerance(monkeypatch, rng):
    from tinyae.gradcheck import cases
    monkeypatch.setitem(cases.CASES, "near miss", lambda r: gradcheck.check_loss(
        _sq_loss(1 + 1e-5), r.uniform(0.5, 1.5, size=(2, 3))))
    ok, reports = gradcheck.run("near miss", stream=open("/dev/null", "w"))
    assert not ok and reports[0].worst > 1e-6


def test_stochastic_model_without_fixed_noise_says_fix_eps(rng):
    from tinyae.models import VAE
    vae = VAE(sizes=(6, 5, 2), rng=rng)
    x = rng.uniform(0.1, 0.9, size=(3, 6))
    with pytest.raises(gradcheck.NondeterministicLossError, match="fix eps/noise"):
        check_model(vae, x, rng=rng)
    with pytest.raises(ValueError, match="eps"):      # directional_check keeps its rng
        directional_check(vae, x, rng=rng)
    eps = rng.standard_normal((3, 2))
    assert check_model(vae, x, eps=eps).passed()


def test_a_check_of_nothing_is_refused(rng):
    model = _FakeModel(1.0, 1.0, rng)
    with pytest.raises(ValueError, match="n_directions"):
        directional_check(model, rng=rng, n_directions=0)
    with pytest.raises(ValueError, match="empty"):
        gradcheck.check_arrays(lambda: 0.0, {"x": np.zeros((0, 3))}, {"x": np.zeros((0, 3))})
    with pytest.raises(ValueError, match="no arrays"):
        gradcheck.check_arrays(lambda: 0.0, {}, {})
    with pytest.raises(ValueError, match="checked no array"):
        gradcheck.GradReport("nothing").passed()
    with pytest.raises(ValueError, match="empty"):
        rel_error(np.zeros(0), np.zeros(0))


def test_nan_gradient_is_a_failure_not_a_pass():
    assert rel_error(np.array([np.nan, 1.0]), np.array([1.0, 1.0])) == np.inf
