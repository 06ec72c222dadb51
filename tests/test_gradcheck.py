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
