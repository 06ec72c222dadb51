"""The catalogue of bad inputs, settings and faults (issue 9, "nothing silent").

One parametrised case per bad input: each must raise the error type given
AND a message that names the parameter (or flag, or file) and the value
received, so a student can act on it. A second list holds inputs that look
odd but are valid, each with the reason; they must run without error.

A case is ``bad(id, fn, exc, pattern)``: ``fn(tmp_path)`` must raise ``exc``
whose message matches the regular expression ``pattern``. Command lines are
run in-process: an argparse error becomes ``CLIError`` carrying stderr.
Cases marked ``backends=True`` run once per backend (NumPy and Numba).
"""

import contextlib
import gzip
import io
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinyae import bench, checkpoint, data, gradcheck, losses, threads
from tinyae.course import lesson
from tinyae import backend as _backend
from tinyae.checkpoint import CheckpointError
from tinyae.corruption import MaskingNoise
from tinyae.data import DataError, DataNotFoundError
from tinyae.gradcheck import NondeterministicLossError
from tinyae.layers import Conv2d, ConvTranspose2d, Linear
from tinyae.analysis.metrics import roc_auc
from tinyae.models import VAE, MLPAutoencoder
from tinyae.optim import SGD, Adam, Momentum, cosine_decay
from tinyae.train import DivergenceError, NonFiniteLossError, evaluate, fit

MNIST = Path(__file__).resolve().parent.parent / "data" / "mnist"

CASES, BACKEND_CASES, VALID = [], [], []


def bad(case_id, fn, exc, pattern, *, backends=False):
    (BACKEND_CASES if backends else CASES).append(
        pytest.param(fn, exc, pattern, id=case_id))


def valid(case_id, fn, why):
    VALID.append(pytest.param(fn, id=f"{case_id} ({why})"))


class CLIError(Exception):
    """argparse rejected the command line (exit status 2); str is stderr."""


def cli(main, argv):
    """Run ``main(argv)`` in-process; an argparse error raises CLIError(stderr)."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main(argv)
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise CLIError(err.getvalue()) from None
        raise


def rng(seed=0):
    return np.random.default_rng(seed)


def ae(seed=0, **kw):
    kw.setdefault("sizes", (6, 4, 2))
    return MLPAutoencoder(rng=rng(seed), **kw)


def xs(n=8, d=6, seed=1):
    return rng(seed).uniform(0.05, 0.95, size=(n, d))


def adam(model, **kw):
    return Adam(model.params, **kw)


def fit_ae(*, data=None, model=None, optimizer=None, **kw):
    model = model or ae()
    kw.setdefault("epochs", 1)
    kw.setdefault("batch_size", 4)
    kw.setdefault("rng", rng())
    return fit(model, xs() if data is None else data,
               optimizer=optimizer or adam(model), progress=False, **kw)


# ============================================================================
# gradient checker
# ============================================================================

class Quadratic:
    """A model with loss sum(w^2)/2; ``noisy`` adds fresh noise each call."""

    def __init__(self, noisy=False):
        self.params = {"w": np.linspace(0.5, 1.5, 4)}
        self.noise = rng(7) if noisy else None

    def loss_and_grad(self, *a, **k):
        w = self.params["w"]
        extra = self.noise.standard_normal() if self.noise is not None else 0.0
        return 0.5 * float(w @ w) + extra, {"w": w.copy()}


GC = gradcheck
bad("gradcheck: directional n_directions=0",
    lambda t: GC.directional_check(Quadratic(), rng=rng(), n_directions=0),
    ValueError, r"n_directions must be a positive integer, got 0")
bad("gradcheck: directional n_directions=-2",
    lambda t: GC.directional_check(Quadratic(), rng=rng(), n_directions=-2),
    ValueError, r"n_directions .* got -2")
bad("gradcheck: directional n_directions=1.5",
    lambda t: GC.directional_check(Quadratic(), rng=rng(), n_directions=1.5),
    ValueError, r"n_directions .* got 1.5")
bad("gradcheck: directional h=0",
    lambda t: GC.directional_check(Quadratic(), rng=rng(), h=0.0),
    ValueError, r"h must be a finite number > 0, got 0.0")
bad("gradcheck: directional rng=None",
    lambda t: GC.directional_check(Quadratic(), rng=None),
    TypeError, r"rng must be a numpy.random.Generator.*NoneType")
bad("gradcheck: numerical_gradient h=0",
    lambda t: GC.numerical_gradient(lambda: 0.0, np.ones(3), h=0.0),
    ValueError, r"h must be a finite number > 0, got 0.0")
bad("gradcheck: numerical_gradient h=-1e-6",
    lambda t: GC.numerical_gradient(lambda: 0.0, np.ones(3), h=-1e-6),
    ValueError, r"h must be .* got -1e-06")
bad("gradcheck: numerical_gradient h=nan",
    lambda t: GC.numerical_gradient(lambda: 0.0, np.ones(3), h=float("nan")),
    ValueError, r"h must be .* got nan")
bad("gradcheck: numerical_gradient of float32",
    lambda t: GC.numerical_gradient(lambda: 0.0, np.ones(3, np.float32)),
    TypeError, r"float64.*x has dtype float32")
bad("gradcheck: check_arrays of an empty array",
    lambda t: GC.check_arrays(lambda: 0.0, {"x": np.zeros((0, 3))}, {"x": np.zeros((0, 3))}),
    ValueError, r"array 'x' is empty \(shape \(0, 3\)\)")
bad("gradcheck: check_arrays of no arrays",
    lambda t: GC.check_arrays(lambda: 0.0, {}, {}),
    ValueError, r"no arrays to check")
bad("gradcheck: check_model floor=0",
    lambda t: GC.check_model(Quadratic(), floor=0.0),
    ValueError, r"floor must be a finite number > 0, got 0.0")
bad("gradcheck: check_model floor=inf",
    lambda t: GC.check_model(Quadratic(), floor=float("inf")),
    ValueError, r"floor must be .* got inf")
bad("gradcheck: check_model h=-1",
    lambda t: GC.check_model(Quadratic(), h=-1.0),
    ValueError, r"h must be .* got -1.0")
bad("gradcheck: check_model of a noisy loss",
    lambda t: GC.check_model(Quadratic(noisy=True)),
    NondeterministicLossError, r"two different values .* fix eps/noise")
bad("gradcheck: directional_check of a noisy loss",
    lambda t: GC.directional_check(Quadratic(noisy=True), rng=rng()),
    NondeterministicLossError, r"fix eps/noise")
bad("gradcheck: VAE given rng instead of eps",
    lambda t: GC.check_model(VAE(sizes=(4, 3, 2), rng=rng()),
                             xs(3, 4), rng=rng()),
    NondeterministicLossError, r"VAE gave two different values.*fix eps/noise")
bad("gradcheck: check_model of a float32 model",
    lambda t: GC.check_model(ae(dtype=np.float32), xs().astype(np.float32)),
    TypeError, r"float64.*encoder.0.W has dtype float32")
bad("gradcheck: passed(tol=-1)",
    lambda t: GC.check_model(Quadratic()).passed(tol=-1.0),
    ValueError, r"tol must be a finite number > 0, got -1.0")
bad("gradcheck: passed(tol=nan)",
    lambda t: GC.check_model(Quadratic()).passed(tol=float("nan")),
    ValueError, r"tol must be .* got nan")
bad("gradcheck: passed(tol=0)",
    lambda t: GC.check_model(Quadratic()).passed(tol=0),
    ValueError, r"tol must be .* got 0")
bad("gradcheck: an empty report passed()",
    lambda t: GC.GradReport("nothing").passed(),
    ValueError, r"report 'nothing' checked no array")
bad("gradcheck: rel_error of empty arrays",
    lambda t: GC.rel_error(np.zeros(0), np.zeros(0)),
    ValueError, r"empty gradients \(shape \(0,\)\)")
bad("gradcheck: rel_error of mismatched shapes",
    lambda t: GC.rel_error(np.zeros(3), np.zeros(4)),
    ValueError, r"differ in shape: \(3,\) vs \(4,\)")
bad("gradcheck: rel_error floor=-1",
    lambda t: GC.rel_error(np.ones(3), np.ones(3), floor=-1.0),
    ValueError, r"floor must be .* got -1.0")
bad("gradcheck: run(tol=-1)",
    lambda t: GC.run("layer Sigmoid", tol=-1.0, stream=io.StringIO()),
    ValueError, r"tol must be .* got -1.0")
bad("gradcheck: run of a pattern matching nothing",
    lambda t: GC.run("no such case", stream=io.StringIO()),
    ValueError, r"no gradcheck case matches pattern 'no such case'")
for flag, value, expected in [("--tol", "-1", "a finite number > 0"),
                              ("--tol", "nan", "a finite number > 0"),
                              ("--tol", "inf", "a finite number > 0"),
                              ("--tol", "0", "a finite number > 0"),
                              ("--tol", "tight", "a finite number > 0"),
                              ("--seed", "-1", "an integer >= 0"),
                              ("--backend", "cuda", "invalid choice: 'cuda'")]:
    bad(f"gradcheck CLI: {flag} {value}",
        lambda t, a=[flag, value]: cli(GC.main, ["-k", "layer Sigmoid"] + a),
        CLIError, rf"argument {flag}: .*{re.escape(expected)}.*{re.escape(value)}"
        if flag != "--backend" else rf"argument {flag}: {re.escape(expected)}")

# ============================================================================
# checkpoints
# ============================================================================


def saved(t, model=None):
    return checkpoint.save(model or ae(), t / "m.npz")


def with_nan(model):
    model.params["encoder.0.W"][0, 0] = np.nan
    return model


def forged(t, shape):
    path = saved(t)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members["encoder.0.W.npy"] = header.getvalue() + bytes(192)
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


def truncated(t):
    path = saved(t)
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    return path


bad("checkpoint: save to a path without .npz",
    lambda t: checkpoint.save(ae(), t / "m.pkl"), ValueError, r"path must end in .npz, got '.*m.pkl'")
bad("checkpoint: save to a path of type int",
    lambda t: checkpoint.save(ae(), 3), TypeError, r"path must be a str or a path, got int")
bad("checkpoint: save over a directory",
    lambda t: (t / "d.npz").mkdir() or checkpoint.save(ae(), t / "d.npz"),
    IsADirectoryError, r"d.npz' is a directory")
bad("checkpoint: load a missing file",
    lambda t: checkpoint.load(ae(), t / "nope.npz"), FileNotFoundError, r"nope.npz' does not exist")
bad("checkpoint: load a directory",
    lambda t: (t / "d.npz").mkdir() or checkpoint.load(ae(), t / "d.npz"),
    CheckpointError, r"d.npz' is a directory")
bad("checkpoint: load a truncated file",
    lambda t: checkpoint.load(ae(), truncated(t)), CheckpointError, r"m.npz' is not a readable .npz.*truncated")
bad("checkpoint: load a text file",
    lambda t: (t / "m.npz").write_text("hello") and checkpoint.load(ae(), t / "m.npz"),
    CheckpointError, r"m.npz' is not a readable .npz")
bad("checkpoint: forged header of 1e18 values",
    lambda t: checkpoint.load(ae(), forged(t, (10 ** 9, 10 ** 9))),
    CheckpointError, r"'encoder.0.W' announces shape \(1000000000, 1000000000\) .* max_bytes")
bad("checkpoint: forged header beyond the data",
    lambda t: checkpoint.load(ae(), forged(t, (6, 400))),
    CheckpointError, r"'encoder.0.W' announces shape \(6, 400\) \(19200 bytes\) but the file holds 192")
bad("checkpoint: NaN weights",
    lambda t: checkpoint.load(ae(), saved(t, with_nan(ae()))),
    CheckpointError, r"non-finite values \(NaN or inf\): encoder.0.W: 1.*allow_nonfinite=True")
bad("checkpoint: shape mismatch",
    lambda t: checkpoint.load(ae(sizes=(6, 5, 2)), saved(t)),
    CheckpointError, r"encoder.0.W: shape \(6, 4\) in file, \(6, 5\) in model")
bad("checkpoint: dtype mismatch",
    lambda t: checkpoint.load(ae(dtype=np.float32), saved(t)),
    CheckpointError, r"encoder.0.W: dtype float64 in file, float32 in model")
bad("checkpoint: missing parameters",
    lambda t: checkpoint.load(ae(sizes=(6, 4, 3, 2)), saved(t)),
    CheckpointError, r"missing parameters \['decoder.4.W'")
bad("checkpoint: unexpected parameters",
    lambda t: checkpoint.load(ae(), saved(t, ae(sizes=(6, 4, 3, 2)))),
    CheckpointError, r"unexpected parameters \['decoder.4.W'")
bad("checkpoint: max_bytes=0",
    lambda t: checkpoint.load(ae(), saved(t), max_bytes=0),
    ValueError, r"max_bytes must be a positive integer, got 0")
bad("checkpoint: max_bytes below an array",
    lambda t: checkpoint.load(ae(), saved(t), max_bytes=64),
    CheckpointError, r"\(192 bytes\), more than max_bytes=64")

# ============================================================================
# optimisers
# ============================================================================

for kw, pattern in [
    (dict(betas=(1.0, 0.999)), r"betas\[0\] must be a number in \[0, 1\), got 1.0"),
    (dict(betas=(0.9, 1.0)), r"betas\[1\] must be a number in \[0, 1\), got 1.0"),
    (dict(betas=(-0.1, 0.999)), r"betas\[0\] .* got -0.1"),
    (dict(betas=(float("nan"), 0.999)), r"betas\[0\] .* got nan"),
    (dict(betas=0.9), r"betas must be a pair \(beta1, beta2\), got 0.9"),
    (dict(betas=(0.9,)), r"betas must be a pair .* got \(0.9,\)"),
    (dict(lr=0.0), r"lr must be a finite number > 0, got 0.0"),
    (dict(lr=-1e-3), r"lr must be .* got -0.001"),
    (dict(lr=float("nan")), r"lr must be .* got nan"),
    (dict(lr=float("inf")), r"lr must be .* got inf"),
    (dict(lr="1e-3"), r"lr must be .* got '1e-3'"),
    (dict(eps=0.0), r"eps must be a finite number > 0, got 0.0"),
    (dict(eps=-1e-8), r"eps must be .* got -1e-08"),
    (dict(weight_decay=-0.1), r"weight_decay must be a finite number >= 0, got -0.1"),
    (dict(weight_decay=float("nan")), r"weight_decay .* got nan"),
]:
    bad(f"optim: Adam({', '.join(f'{k}={v!r}' for k, v in kw.items())})",
        lambda t, kw=kw: Adam(ae().params, **kw), ValueError, pattern)
for kw, pattern in [
    (dict(momentum=1.0), r"momentum must be a number in \[0, 1\), got 1.0"),
    (dict(momentum=-0.5), r"momentum .* got -0.5"),
    (dict(nesterov="yes"), r"nesterov must be True or False, got 'yes'"),
]:
    bad(f"optim: Momentum({', '.join(f'{k}={v!r}' for k, v in kw.items())})",
        lambda t, kw=kw: Momentum(ae().params, lr=0.1, **kw), ValueError, pattern)
bad("optim: SGD without lr", lambda t: SGD(ae().params), TypeError, r"lr")
bad("optim: params={}", lambda t: SGD({}, lr=0.1), ValueError, r"params must be a non-empty dict .* \(empty\)")
bad("optim: params a list", lambda t: SGD([np.ones(3)], lr=0.1), ValueError,
    r"params must be a non-empty dict .* got list")
bad("optim: params of ints", lambda t: SGD({"w": np.ones(3, int)}, lr=0.1), TypeError,
    r"params\['w'\] must be a float numpy array, got int64")
bad("optim: setting lr=-1", lambda t: setattr(adam(ae()), "lr", -1.0), ValueError,
    r"lr must be .* got -1.0")
bad("optim: step with a missing gradient",
    lambda t: adam(ae()).step({}), KeyError, r"grads has no entry for parameter\(s\) \['decoder.0.W'")
bad("optim: step with another model's gradient shapes",
    lambda t: adam(ae()).step(ae(sizes=(6, 5, 2)).grads), ValueError,
    r"grads\['encoder.0.W'\] must be an array of shape \(6, 4\) .* got \(6, 5\).*another model")
bad("optim: step with float32 gradients",
    lambda t: adam(ae()).step(ae(dtype=np.float32).grads), ValueError,
    r"grads\['encoder.0.W'\] must be an array of shape \(6, 4\) and dtype float64.*float32")
bad("optim: step with the parameters as gradients",
    lambda t: (lambda m: adam(m).step(m.params))(ae()), ValueError,
    r"grads\['encoder.0.W'\] is the parameter array itself")
bad("optim: step with a list", lambda t: adam(ae()).step([1]), TypeError,
    r"grads must be a dict name -> array, got list")
bad("optim: cosine_decay lr=0", lambda t: cosine_decay(0.0, 10), ValueError, r"lr must be .* got 0.0")
bad("optim: cosine_decay epochs=0", lambda t: cosine_decay(1e-3, 0), ValueError,
    r"epochs must be a positive integer, got 0")
bad("optim: cosine_decay floor=0", lambda t: cosine_decay(1e-3, 5, floor=0.0), ValueError,
    r"floor must be in \(0, 1\] .* got 0.0")
bad("optim: cosine_decay floor=2", lambda t: cosine_decay(1e-3, 5, floor=2.0), ValueError,
    r"floor must be a number in \[0, 1\], got 2.0")

# ============================================================================
# fit and evaluate
# ============================================================================

bad("fit: optimiser built on a re-created model",
    lambda t: fit_ae(model=ae(), optimizer=adam(ae())), ValueError,
    r"Adam was built on another model's parameters .* re-created .*Adam\(model.params")
bad("fit: optimiser holding parameters the model has not",
    lambda t: fit_ae(model=ae(), optimizer=adam(ae(sizes=(6, 4, 3, 2)))), ValueError,
    r"holds parameter\(s\) \['decoder.4.W'.* model.params has not")
bad("fit: optimizer=None", lambda t: fit(ae(), xs(), optimizer=None, epochs=1, batch_size=4,
                                         rng=rng()), TypeError,
    r"optimizer must hold a params dict .* got NoneType")
bad("fit: epochs=0", lambda t: fit_ae(epochs=0), ValueError, r"epochs must be a positive integer, got 0")
bad("fit: epochs=-1", lambda t: fit_ae(epochs=-1), ValueError, r"epochs .* got -1")
bad("fit: epochs=1.5", lambda t: fit_ae(epochs=1.5), ValueError, r"epochs .* got 1.5")
bad("fit: batch_size=0", lambda t: fit_ae(batch_size=0), ValueError,
    r"batch_size must be a positive integer, got 0")
bad("fit: rng=42", lambda t: fit_ae(rng=42), TypeError, r"rng must be a numpy.random.Generator.*int")
bad("fit: data of 0 rows", lambda t: fit_ae(data=np.zeros((0, 6))), ValueError,
    r"data has 0 rows \(shape \(0, 6\)\)")
bad("fit: val of 0 rows", lambda t: fit_ae(val=np.zeros((0, 6))), ValueError,
    r"val has 0 rows \(shape \(0, 6\)\)")
bad("fit: data a list", lambda t: fit_ae(data=[[0.5] * 6] * 4), TypeError,
    r"data must be a numpy array, got list")
bad("fit: data a scalar array", lambda t: fit_ae(data=np.float64(0.5)), TypeError,
    r"data must be a numpy array, got float64")
bad("fit: data tuple of misaligned arrays", lambda t: fit_ae(data=(xs(8), xs(7))), ValueError,
    r"data arrays must have the same number of rows, got \[8, 7\]")
bad("fit: data tuple with 0-row second array", lambda t: fit_ae(data=(xs(8), np.zeros((0, 2)))),
    ValueError, r"data\[1\] has 0 rows")
for value in (-0.1, 0.0, float("nan"), float("inf")):
    bad(f"fit: lr_schedule returning {value}",
        lambda t, v=value: fit_ae(lr_schedule=lambda e: v), ValueError,
        rf"lr_schedule returned {value!r} for epoch 1; a learning rate must be a finite number > 0")
bad("fit: lr_schedule returning None", lambda t: fit_ae(lr_schedule=lambda e: None), ValueError,
    r"lr_schedule returned None for epoch 1")
for name in ("lr_schedule", "callback", "transform"):
    bad(f"fit: {name} not callable", lambda t, n=name: fit_ae(**{n: 0.1}), TypeError,
        rf"{name} must be callable or None, got float")
bad("fit: divergence=0", lambda t: fit_ae(divergence=0.0), ValueError,
    r"divergence must be a finite number > 0, got 0.0")
bad("fit: divergence=-5", lambda t: fit_ae(divergence=-5), ValueError, r"divergence .* got -5")
bad("fit: Adam at lr=1e3 diverges",
    lambda t: (lambda m: fit(m, data.load_mnist("test", dtype=np.float64)[0][:512],
                             optimizer=Adam(m.params, lr=1e3), epochs=2, batch_size=64,
                             rng=rng(), progress=False))(ae(sizes=(784, 32, 8))),
    DivergenceError, r"diverged at epoch 1, step \d+: batch loss .* running minimum .* "
                     r"learning rate lr=1000 is too large")
bad("fit: Adam at lr=1e39 overflows a float32 model's parameters",
    lambda t: fit_ae(model=(m := ae(dtype=np.float32)), data=xs().astype(np.float32),
                     optimizer=Adam(m.params, lr=1e39)),
    DivergenceError, r"parameter '.*' became non-finite .* epoch 1, step 1 .* lr=1e\+39")
bad("fit: NaN in the data", lambda t: fit_ae(data=np.full((4, 6), np.nan)), ValueError,
    r"x contains 24 non-finite value\(s\)")
bad("evaluate: data of 0 rows", lambda t: evaluate(ae(), np.zeros((0, 6))), ValueError,
    r"data has 0 rows")
bad("evaluate: batch_size=0", lambda t: evaluate(ae(), xs(), batch_size=0), ValueError,
    r"batch_size must be a positive integer, got 0")

# ============================================================================
# command lines: lessons and the benchmark
# ============================================================================

bad("lesson runner: unknown lesson 99", lambda t: cli(lesson.main, ["99"]), CLIError,
    r"no lesson matches '99'; the lessons are 00_gradient_checking")
bad("lesson runner: one known, one unknown", lambda t: cli(lesson.main, ["01", "vae", "gan"]),
    CLIError, r"no lesson matches 'gan'")
for argv, pattern in [
    (["--epochs", "0"], r"argument --epochs: expected an integer >= 1, got '0'"),
    (["--epochs", "-3"], r"argument --epochs: expected an integer >= 1, got '-3'"),
    (["--epochs", "2.5"], r"argument --epochs: expected an integer >= 1, got '2.5'"),
    (["--threads", "0"], r"argument --threads: expected an integer >= 1, got '0'"),
    (["--threads", "-1"], r"argument --threads: expected an integer >= 1, got '-1'"),
    (["--threads", "many"], r"argument --threads: expected an integer >= 1, got 'many'"),
    (["--seed", "-1"], r"argument --seed: expected an integer >= 0, got '-1'"),
    (["--seed", "abc"], r"argument --seed: expected an integer >= 0, got 'abc'"),
    (["--bogus"], r"unrecognized arguments: --bogus"),
]:
    bad(f"lesson flags: {' '.join(argv)}",
        lambda t, a=argv: cli(lambda v: lesson.Lesson("99_test", epochs=3, argv=v), a),
        CLIError, pattern)


def lesson_with_env_threads(value):
    import os
    old = os.environ.get(threads.THREADS_ENV)
    os.environ[threads.THREADS_ENV] = value
    try:
        lesson.Lesson("99_test", epochs=3, argv=[])
    finally:
        if old is None:
            del os.environ[threads.THREADS_ENV]
        else:
            os.environ[threads.THREADS_ENV] = old


bad("lesson: TINYAE_THREADS=0", lambda t: lesson_with_env_threads("0"), ValueError,
    r"environment variable TINYAE_THREADS: expected an integer >= 1, got '0'")
bad("lesson: claim with two bounds",
    lambda t: lesson.Lesson("99_test", argv=[]).claim("x", 1.0, lt=2, gt=0), ValueError,
    r"claim needs exactly one of lt, gt, within, rel_within")
for argv, pattern in [
    (["--limit", "10"], r"argument --limit: expected 128 <= N <= 60000 .* got 10"),
    (["--limit", "0"], r"argument --limit: expected an integer >= 1, got '0'"),
    (["--limit", "-5"], r"argument --limit: expected an integer >= 1, got '-5'"),
    (["--limit", "70000"], r"argument --limit: expected 128 <= N <= 60000 .* got 70000"),
    (["--threads", "0"], r"argument --threads: expected an integer >= 1, got '0'"),
    (["--threads", "-1"], r"argument --threads: expected an integer >= 1, got '-1'"),
    (["--steps", "0"], r"argument --steps: expected an integer >= 1, got '0'"),
    (["--rounds", "0"], r"argument --rounds: expected an integer >= 1, got '0'"),
    (["--warmup", "-1"], r"argument --warmup: expected an integer >= 0, got '-1'"),
    (["--configs", "ae,gan"], r"--configs: unknown config 'gan'"),
    (["--dtypes", "float16"], r"--dtypes: expected float32 and/or float64, got 'float16'"),
]:
    bad(f"bench flags: {' '.join(argv)}", lambda t, a=argv: cli(bench.run, a + ["--no-torch"]),
        CLIError, pattern)
bad("bench: --json in a folder that does not exist",
    lambda t: cli(bench.run, ["--json", str(t / "no" / "b.json"), "--no-torch"]), CLIError,
    r"argument --json: cannot write '.*b.json': folder '.*no' does not exist")
def bench_json_without_write_permission(t):
    """As root every folder is writable, so the refusal is simulated."""
    import os
    real = os.access
    os.access = lambda path, mode: False
    try:
        cli(bench.run, ["--json", str(t / "b.json"), "--no-torch"])
    finally:
        os.access = real


bad("bench: --json in a folder without write permission", bench_json_without_write_permission,
    CLIError, r"argument --json: cannot write '.*b.json': folder '.*' is not writable")
bad("bench: --json is a directory",
    lambda t: cli(bench.run, ["--json", str(t), "--no-torch"]), CLIError,
    r"argument --json: cannot write .*: it is a directory")
bad("bench: --json below a file",
    lambda t: (t / "f").write_text("") or cli(bench.run, ["--json", str(t / "f" / "b.json")]),
    CLIError, r"argument --json: cannot write '.*f/b.json': folder '.*f' does not exist")

# ============================================================================
# data
# ============================================================================


def mnist_dir(t, images=None):
    """A copy of the test split in ``t``; ``images`` replaces the images file:
    "labels" (a labels file in its place), "dir" (a folder) or None."""
    for stem in ("t10k-labels-idx1-ubyte",):
        shutil.copy(MNIST / f"{stem}.gz", t / f"{stem}.gz")
    target = t / "t10k-images-idx3-ubyte.gz"
    if images == "labels":
        shutil.copy(MNIST / "t10k-labels-idx1-ubyte.gz", target)
    elif images == "dir":
        target.mkdir()
    elif images == "garbage":
        target.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + bytes(12)))
    elif images == "not gzip":
        target.write_bytes(b"not a gzip file at all")
    return t


def unreadable(t, monkeypatch_target=Path):
    d = mnist_dir(t)
    shutil.copy(MNIST / "t10k-images-idx3-ubyte.gz", d / "t10k-images-idx3-ubyte.gz")
    real = Path.read_bytes

    def deny(self):
        if self.name.startswith("t10k-images"):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)
    Path.read_bytes = deny
    try:
        data.mnist._CACHE.clear()
        data.load_mnist("test", data_dir=d)
    finally:
        Path.read_bytes = real


bad("data: a labels file in place of the images (wrong magic number)",
    lambda t: data.load_mnist("test", data_dir=mnist_dir(t, "labels")), DataError,
    r"t10k-images-idx3-ubyte.gz: wrong IDX magic number: expected 2051, got 2049")
bad("data: a directory in place of the images file",
    lambda t: data.load_mnist("test", data_dir=mnist_dir(t, "dir")), DataError,
    r"t10k-images-idx3-ubyte.gz is a directory, expected a gzip file")
bad("data: an unreadable images file", unreadable, DataError,
    r"t10k-images-idx3-ubyte.gz cannot be read: permission denied")
bad("data: the images file missing",
    lambda t: data.load_mnist("test", data_dir=mnist_dir(t)), DataNotFoundError,
    r"MNIST file missing: .*t10k-images-idx3-ubyte.gz")
bad("data: a right magic but a short file",
    lambda t: data.load_mnist("test", data_dir=mnist_dir(t, "garbage")), DataError,
    r"checksum mismatch .* \(16 bytes\)")
bad("data: an images file that is not gzip",
    lambda t: data.load_mnist("test", data_dir=mnist_dir(t, "not gzip")), DataError,
    r"t10k-images-idx3-ubyte.gz: truncated or corrupted gzip file")
bad("data: data_dir missing", lambda t: data.load_mnist("test", data_dir=t / "none"),
    DataNotFoundError, r"MNIST folder not found: looked in .*none")
bad("data: data_dir=3", lambda t: data.load_mnist("test", data_dir=3), TypeError,
    r"data_dir must be a str, a path or None, got 3")
bad("data: split='val'", lambda t: data.load_mnist("val"), ValueError,
    r"split must be 'train' or 'test', got 'val'")
bad("data: dtype=int", lambda t: data.load_mnist("test", dtype=np.int32), ValueError,
    r"dtype must be float32 or float64, got <class 'numpy.int32'>")
bad("data: flatten='yes'", lambda t: data.load_mnist("test", flatten="yes"), ValueError,
    r"flatten must be True or False, got 'yes'")
bad("data: minibatches batch_size=0", lambda t: data.minibatches(xs(), batch_size=0),
    ValueError, r"batch_size must be a positive integer, got 0")
bad("data: minibatches of nothing", lambda t: data.minibatches(batch_size=2), ValueError,
    r"minibatches needs at least one array, got none")
bad("data: minibatches misaligned", lambda t: data.minibatches(xs(8), xs(5), batch_size=2,
                                                               rng=rng()),
    ValueError, r"same first dimension, got lengths \[8, 5\]")
bad("data: minibatches shuffle without rng", lambda t: data.minibatches(xs(), batch_size=2),
    TypeError, r"rng must be a numpy.random.Generator when shuffle=True, got None")
bad("data: binarize_dynamic of 0-255 pixels",
    lambda t: data.binarize_dynamic(255 * xs(), rng()), ValueError,
    r"x must hold probabilities in \[0, 1\], got values in \[.*, 2\d\d\.\d*\]")
bad("data: binarize_dynamic of ints", lambda t: data.binarize_dynamic(np.ones((2, 2), int), rng()),
    ValueError, r"x must be a floating array .* got dtype int64")
bad("data: binarize_static threshold=nan",
    lambda t: data.binarize_static(xs(), threshold=float("nan")), ValueError,
    r"threshold must be a finite real number, got nan")
bad("threads: set_threads(0)", lambda t: threads.set_threads(0), ValueError,
    r"n must be a positive integer number of threads, got 0")
bad("threads: set_threads(-1)", lambda t: threads.set_threads(-1), ValueError,
    r"n must be .* got -1")

# ============================================================================
# corruption, penalties, metrics, scores, layers, PCA: found by trying
# ============================================================================

from tinyae import corruption, penalties  # noqa: E402
from tinyae.analysis import scores, tsne  # noqa: E402
from tinyae.models import PCA  # noqa: E402

bad("corruption: GaussianNoise(-1)", lambda t: corruption.GaussianNoise(-1), ValueError,
    r"sigma must be a finite number >= 0, got -1")
bad("corruption: GaussianNoise(nan)", lambda t: corruption.GaussianNoise(float("nan")),
    ValueError, r"sigma must be .* got nan")
bad("corruption: MaskingNoise(1.5)", lambda t: MaskingNoise(1.5), ValueError,
    r"fraction must be a number in \[0, 1\], got 1.5")
bad("corruption: sample without rng", lambda t: corruption.GaussianNoise(0.5).sample(xs(), None),
    TypeError, r"rng must be a numpy.random.Generator .* got NoneType")
bad("penalties: l1 lam=-1", lambda t: penalties.l1(xs(), lam=-1), ValueError,
    r"lam must be a finite number >= 0, got -1")
bad("penalties: kl rho=0", lambda t: penalties.kl(xs(), rho=0.0, beta=1.0), ValueError,
    r"rho must be a number in \(0, 1\), got 0.0")
bad("penalties: kl rho=1", lambda t: penalties.kl(xs(), rho=1.0, beta=1.0), ValueError,
    r"rho must be a number in \(0, 1\), got 1.0")
bad("penalties: kl of 0 rows", lambda t: penalties.kl(np.zeros((0, 3)), rho=0.05, beta=1.0),
    ValueError, r"h has 0 rows")
bad("metrics: roc_auc of nothing", lambda t: roc_auc(np.array([]), np.array([1.0])),
    ValueError, r"scores_neg must be a non-empty 1-D array of scores, got shape \(0,\)")
bad("metrics: roc_auc with NaN", lambda t: roc_auc(np.array([np.nan, 1.0]), np.array([1.0])),
    ValueError, r"scores_neg contains non-finite scores")
bad("scores: dae_score sigma=0",
    lambda t: scores.dae_score(ae(sizes=(2, 3), likelihood="mse"), xs(3, 2), 0.0),
    ValueError, r"sigma must be a finite number > 0, got 0.0")
bad("scores: ParameterAverage decay=1",
    lambda t: scores.ParameterAverage(adam(ae()), decay=1.0), ValueError,
    r"decay must be a number in \[0, 1\), got 1.0")
bad("layers: Linear(0, 3)", lambda t: Linear(0, 3, rng=rng()), ValueError,
    r"n_in must be a positive integer, got 0")
bad("layers: Linear init='he2'", lambda t: Linear(2, 3, rng=rng(), init="he2"), ValueError,
    r"init must be one of \[.*\], got 'he2'")
bad("layers: Linear.forward of the wrong width", lambda t: Linear(2, 3, rng=rng()).forward(xs(4, 5)),
    ValueError, r"Linear.forward: x must have 2 features on its last axis, got shape \(4, 5\)")
bad("PCA: n_components=0", lambda t: PCA(0), ValueError,
    r"n_components must be a positive integer, got 0")
bad("PCA: fit of 0 rows", lambda t: PCA(2).fit(np.zeros((0, 4))), ValueError, r"x has 0 rows")
bad("PCA: more components than features", lambda t: PCA(5).fit(xs(10, 4)), ValueError,
    r"n_components must be <= min\(n_samples, n_features\) = min\(10, 4\) = 4, got 5")
bad("PCA: transform before fit", lambda t: PCA(2).transform(xs(10, 4)), RuntimeError,
    r"this PCA is not fitted yet: call fit\(x\) first")
bad("VAE: sample n=0", lambda t: VAE(sizes=(D, 4, 2), rng=rng()).sample(0, rng=rng()),
    ValueError, r"n must be a positive integer, got 0")
bad("VAE: beta=-1", lambda t: VAE(sizes=(D, 4, 2), rng=rng(), beta=-1), ValueError,
    r"beta must be a finite number >= 0, got -1")
bad("data: ring n=0", lambda t: data.ring(0, rng=rng()), ValueError,
    r"n must be a positive integer, got 0")
bad("data: two_moons noise=-1", lambda t: data.two_moons(10, rng=rng(), noise=-1), ValueError,
    r"noise must be a finite number >= 0, got -1")
bad("tsne: 0 points", lambda t: tsne.conditional_probabilities(
    np.zeros((0, 3)), 5.0), ValueError, r"x has 0 rows \(shape \(0, 3\)\)")
bad("tsne: perplexity above n - 1", lambda t: tsne.conditional_probabilities(
    xs(10, 3), 30.0), ValueError,
    r"perplexity must lie in \(1, n - 1\) = \(1, 9\) for n = 10 points .* got 30.0")
bad("data: mixture with a negative weight",
    lambda t: data.GaussianMixture([-0.5, 1.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]]),
    ValueError, r"weights must all be finite and > 0, got \[-0.5, 1.5\]")

# ============================================================================
# losses (both backends)
# ============================================================================

bad("losses: bce target 0-255", lambda t: losses.bce_with_logits(xs(), 255 * xs()), ValueError,
    r"target must lie in \[0, 1\] for likelihood=.bernoulli., got values in \[.*, 2\d\d.*divide by 255",
    backends=True)
bad("losses: bce target negative", lambda t: losses.bce_with_logits(xs(), xs() - 1), ValueError,
    r"target must lie in \[0, 1\] .* got values in \[-0.9", backends=True)
bad("losses: mse shapes differ", lambda t: losses.mse(xs(4, 6), xs(4, 5)), ValueError,
    r"target must have dtype|pred and target must have the same shape, got \(4, 6\) and \(4, 5\)",
    backends=True)
bad("losses: mse of NaN", lambda t: losses.mse(np.full((2, 3), np.nan), xs(2, 3)), ValueError,
    r"pred contains 6 non-finite value\(s\)", backends=True)
bad("losses: mse of ints", lambda t: losses.mse(np.ones((2, 3), int), xs(2, 3)), TypeError,
    r"pred must have dtype float32 or float64, got int64", backends=True)
bad("losses: gaussian_nll logvar shape", lambda t: losses.gaussian_nll(xs(2, 3), xs(2, 2),
                                                                       xs(2, 3)),
    ValueError, r"logvar and mu must have the same shape, got \(2, 2\) and \(2, 3\)",
    backends=True)
bad("losses: mse of 0 rows", lambda t: losses.mse(np.zeros((0, 3)), np.zeros((0, 3))),
    ValueError, r"pred has 0 rows", backends=True)

# ============================================================================
# models (both backends): support, empty data, huge inputs, shapes, dtypes
# ============================================================================

D = 6                                   # input width of every small model below


def bernoulli_models():
    """Every model with a Bernoulli likelihood: name -> constructor."""
    from tinyae.corruption import GaussianNoise, MaskingNoise
    from tinyae.models import (ContractiveAutoencoder, RecirculationAutoencoder,
                               SemanticHashingAutoencoder, SparseAutoencoder,
                               StackedAutoencoder)
    return {
        "MLP": lambda: ae(),
        "recirculation": lambda: RecirculationAutoencoder(sizes=(D, 3), rng=rng()),
        "semantic hashing": lambda: SemanticHashingAutoencoder(sizes=(D, 4, 2), rng=rng()),
        "denoising (Gaussian)": lambda: ae(corruption=GaussianNoise(0.3)),
        "denoising (masking)": lambda: ae(corruption=MaskingNoise(0.25)),
        "contractive": lambda: ContractiveAutoencoder(sizes=(D, 3), lam=0.1, rng=rng()),
        "sparse": lambda: SparseAutoencoder(sizes=(D, 3), rng=rng()),
        "stacked": lambda: StackedAutoencoder(sizes=(D, 4, 2), rng=rng()),
        "VAE": lambda: VAE(sizes=(D, 4, 2), rng=rng()),
    }


def gaussian_models():
    """Every model of vectors with a Gaussian likelihood (a squared error or
    Gaussian NLL of its data x): name -> constructor."""
    from tinyae.models import (PSD, VQVAE, DiffusionModel, GaussianDenoiser,
                               ImageDiffusionModel, LinearAutoencoder,
                               SemanticHashingAutoencoder, VarianceNetworkVAE)
    return {
        "MLP (mse)": lambda: ae(likelihood="mse"),
        "VAE (gaussian)": lambda: VAE(sizes=(D, 4, 2), likelihood="gaussian", rng=rng()),
        "linear": lambda: LinearAutoencoder(sizes=(D, 2), rng=rng()),
        "variance-network VAE": lambda: VarianceNetworkVAE(sizes=(D, 4, 2), rng=rng()),
        "Gaussian denoiser": lambda: GaussianDenoiser(sizes=(D, 4), sigma=0.3, rng=rng()),
        "PSD": lambda: PSD(n_in=D, n_atoms=4, n_infer=3, rng=rng()),
        "VQ-VAE": lambda: VQVAE(n_in=D, hidden=4, n_positions=2, code_dim=2, n_codes=3,
                                rng=rng(), dtype=np.float64),
        "diffusion": lambda: DiffusionModel(sizes=(D, 4), n_levels=5, rng=rng()),
        "image diffusion": lambda: ImageDiffusionModel(image_shape=(1, 2, 3), n_levels=5,
                                                       hidden=(4,), rng=rng()),
        "semantic hashing (mse)": lambda: SemanticHashingAutoencoder(
            sizes=(D, 4, 2), likelihood="mse", rng=rng()),
    }


def energy_model():
    from tinyae.models import LatentEnergyAutoencoder
    return LatentEnergyAutoencoder(sizes=(D, 4, 2), infer_steps=2, rng=rng())


#: Every model class tinyae.models exports, by the likelihood of its data:
#: the census test below finds the classes there, so a new model is placed.
LIKELIHOODS = {
    "bernoulli": {"ContractiveAutoencoder", "SparseAutoencoder", "StackedAutoencoder",
                  "RecirculationAutoencoder", "ConditionalVAE"},
    "bernoulli or gaussian": {"MLPAutoencoder", "VAE", "ConvAutoencoder", "ConvVAE",
                              "SemanticHashingAutoencoder"},
    "gaussian": {"LinearAutoencoder", "VarianceNetworkVAE", "GaussianDenoiser", "PSD",
                 "VQVAE", "DiffusionModel", "ImageDiffusionModel", "LatentEnergyAutoencoder",
                 "MAE"},
    "categorical (labels; x checked by check_scale)": {"SoftmaxClassifier"},
}


def loss_of(make, x):
    return make().loss_and_grad(x, rng=rng())


def fwd_loss_of(make, x):
    return make().loss(x, rng=rng())


for name, make in bernoulli_models().items():
    for how, fn in (("loss_and_grad", loss_of), ("loss", fwd_loss_of)):
        bad(f"{name} {how}: pixels 0..255 (Bernoulli support)",
            lambda t, m=make, f=fn: f(m, 255 * xs()), ValueError,
            r"x must lie in \[0, 1\] for likelihood='bernoulli', got values in "
            r"\[\d+\.?\d*, 2\d\d.*divide by 255", backends=True)
    bad(f"{name}: negative targets (Bernoulli support)",
        lambda t, m=make: loss_of(m, xs() - 0.5), ValueError,
        r"x must lie in \[0, 1\] .* got values in \[-0.4", backends=True)
    bad(f"{name}: 1e200 inputs (Bernoulli support)",
        lambda t, m=make: loss_of(m, np.full((3, D), 1e200)), ValueError,
        r"x must lie in \[0, 1\] .* got values in \[1e\+200, 1e\+200\]", backends=True)



def cvae():
    from tinyae.models import ConditionalVAE
    return ConditionalVAE(sizes=(D, 4, 2), n_cond=3, rng=rng())


bad("ConditionalVAE: pixels 0..255 (Bernoulli support)",
    lambda t: cvae().loss_and_grad(255 * xs(), np.eye(3)[np.arange(8) % 3], rng=rng()),
    ValueError, r"x must lie in \[0, 1\] for likelihood='bernoulli', .*divide by 255",
    backends=True)

for name, make in {**bernoulli_models(), **gaussian_models()}.items():
    bad(f"{name} loss_and_grad: 0 rows",
        lambda t, m=make: loss_of(m, np.zeros((0, D))), ValueError,
        r"x has 0 rows \(shape \(0, 6\)\)", backends=True)
    bad(f"{name} loss: 0 rows",
        lambda t, m=make: fwd_loss_of(m, np.zeros((0, D))), ValueError,
        r"x has 0 rows \(shape \(0, 6\)\)", backends=True)
    if hasattr(make(), "encode"):                 # not the denoiser, PSD, diffusion
        bad(f"{name} encode: 0 rows",
            lambda t, m=make: m().encode(np.zeros((0, D))), ValueError,
            r"x has 0 rows \(shape \(0, 6\)\)", backends=True)
    bad(f"{name} fit: 0 rows",
        lambda t, m=make: fit_ae(model=m(), data=np.zeros((0, D))), ValueError,
        r"data has 0 rows \(shape \(0, 6\)\)")
    bad(f"{name} evaluate: 0 rows",
        lambda t, m=make: evaluate(m(), np.zeros((0, D)), rng=rng()), ValueError,
        r"data has 0 rows")
    bad(f"{name}: NaN input",
        lambda t, m=make: loss_of(m, np.where(np.eye(4, D) > 0, np.nan, 0.5)), ValueError,
        r"x contains 4 non-finite value\(s\)", backends=True)
    bad(f"{name}: wrong width",
        lambda t, m=make: loss_of(m, xs(4, D + 1)), ValueError,
        r"x must have shape \(\*, 6\), got \(4, 7\)", backends=True)
    bad(f"{name}: float32 input to a float64 model",
        lambda t, m=make: loss_of(m, xs().astype(np.float32)), TypeError,
        r"x must have dtype float64 .* got float32", backends=True)
    bad(f"{name}: a 1-D input",
        lambda t, m=make: loss_of(m, xs()[0]), ValueError,
        r"x must be 2-D, got shape \(6,\)", backends=True)
    bad(f"{name}: a list input",
        lambda t, m=make: loss_of(m, xs().tolist()), TypeError,
        r"x must be a numpy array, got list", backends=True)

for name, make in gaussian_models().items():
    for how, fn in (("loss_and_grad", loss_of), ("loss", fwd_loss_of)):
        bad(f"{name} {how}: 1e200 inputs make the loss infinite",
            lambda t, m=make, f=fn: f(m, np.full((3, D), 1e200)), ValueError,
            r"x is too large: it holds values up to 1e\+200 .* loss would be infinite; "
            r"rescale the data", backends=True)
bad("MLP (mse) float32: 1e19 inputs would make the loss infinite",
    lambda t: ae(likelihood="mse", dtype=np.float32).loss_and_grad(
        np.full((3, D), 1e19, np.float32)), ValueError,
    r"x is too large: it holds values up to 1e\+19 .* 6 float32 values overflows",
    backends=True)
for how, fn in (("loss_and_grad", lambda m, y: m.loss_and_grad(y, rng=rng())),
                ("loss", lambda m, y: m.loss(y, rng=rng()))):
    bad(f"energy autoencoder {how}: 1e200 data make the loss infinite",
        lambda t, f=fn: f(energy_model(), np.full((3, D), 1e200)), ValueError,
        r"y is too large: it holds values up to 1e\+200 .* loss would be infinite",
        backends=True)
# the 'too large' check's second half (losses.check_overflow): where the loss
# exponentiates a log-variance the network outputs, data far below the
# squared-norm bound overflows it, so the loss is refused after the pass
GREY = np.round(255 * xs(8))                            # unscaled grey levels 0..255
for how, fn in (("loss_and_grad", loss_of), ("loss", fwd_loss_of)):
    bad(f"variance-network VAE {how}: grey levels 0..255 (inf before)",
        lambda t, f=fn: f(gaussian_models()["variance-network VAE"], GREY),
        losses.LossOverflowError,
        r"x is too large for this model: with values in \[1\d, 2\d\d\] the loss overflowed "
        r"to (inf|nan) \(the encoder's log-variance spans .* the decoder's log-variance spans "
        r"\[-\d.*e\+\d+, .*; exp overflows float64 beyond \+-709.8\); rescale the data",
        backends=True)
    bad(f"VAE (gaussian) {how}: data of scale 1e4 (inf before)",
        lambda t, f=fn: f(gaussian_models()["VAE (gaussian)"], 1e4 * xs(8)),
        losses.LossOverflowError,
        r"x is too large for this model: .*\(the encoder's log-variance spans \[.*, "
        r"\d.*e\+0[34]\]; exp overflows",
        backends=True)
    bad(f"ConvVAE (mse) {how}: images of scale 1e4 (inf before)",
        lambda t, f=fn: f(lambda: conv_models()["ConvVAE"](likelihood="mse"),
                          1e4 * images(4)), losses.LossOverflowError,
        r"x is too large for this model: .*\(the encoder's log-variance spans", backends=True)
bad("variance-network VAE fit: grey levels 0..255 stop at the first step",
    lambda t: fit_ae(model=gaussian_models()["variance-network VAE"](), data=GREY),
    losses.LossOverflowError, r"x is too large for this model: with values in \[\d+, 2\d\d\]")
bad("variance-network VAE fit: weights blown up by lr=100 (the steps' fault, not the data's)",
    lambda t: fit_ae(model=(m := gaussian_models()["variance-network VAE"]()),
                     optimizer=SGD(m.params, lr=100.0), divergence=None),
    NonFiniteLossError, r"loss became inf at epoch 1, step 2 .* try a smaller learning rate")
bad("MLP: inputs of 1e200 with a separate target in [0, 1]",
    lambda t: ae().loss_and_grad(np.full((3, D), 1e200), target=xs(3)), ValueError,
    r"x is too large: it holds values up to 1e\+200", backends=True)
SMALL_CONV = {"encoder": [("conv", 2, 3, {"padding": 1}), "relu", ("maxpool", 2)],
              "decoder": [("convT", 1, 4, {"stride": 2, "padding": 1})]}
SMALL_CONV_VAE = {"encoder": [("conv", 2, 3, {"padding": 1}), "relu"],
                  "decoder": [("linear", 18), "relu", ("reshape", 2, 3, 3),
                              ("convT", 1, 4, {"stride": 2, "padding": 1})]}


def conv_models():
    from tinyae.models import ConvAutoencoder, ConvVAE
    return {
        "ConvAutoencoder": lambda **kw: ConvAutoencoder(**SMALL_CONV, input_shape=(1, 6, 6),
                                                        rng=rng(), **kw),
        "ConvVAE": lambda **kw: ConvVAE(**SMALL_CONV_VAE, n_code=2, input_shape=(1, 6, 6),
                                        rng=rng(), **kw),
    }


def images(n=4, seed=1):
    return rng(seed).uniform(0.05, 0.95, size=(n, 1, 6, 6))


for name, make in conv_models().items():
    bad(f"{name}: pixels 0..255 (Bernoulli support)",
        lambda t, m=make: m().loss_and_grad(255 * images(), rng=rng()), ValueError,
        r"x must lie in \[0, 1\] for likelihood='bernoulli', got values in .*divide by 255",
        backends=True)
    bad(f"{name} loss: 0 rows", lambda t, m=make: m().loss(np.zeros((0, 1, 6, 6)), rng=rng()),
        ValueError, r"x has 0 rows \(shape \(0, 1, 6, 6\)\)", backends=True)
    bad(f"{name} loss_and_grad: 0 flat rows",
        lambda t, m=make: m().loss_and_grad(np.zeros((0, 36)), rng=rng()),
        ValueError, r"x has 0 rows \(shape \(0, 36\)\)", backends=True)
    bad(f"{name} encode: 0 rows", lambda t, m=make: m().encode(np.zeros((0, 1, 6, 6))),
        ValueError, r"x has 0 rows", backends=True)
    bad(f"{name} fit: 0 rows",
        lambda t, m=make: fit_ae(model=m(), data=np.zeros((0, 36))), ValueError,
        r"data has 0 rows")
    bad(f"{name} (mse): 1e200 inputs",
        lambda t, m=make: m(likelihood="mse").loss_and_grad(np.full((2, 1, 6, 6), 1e200),
                                                            rng=rng()),
        ValueError, r"x is too large: it holds values up to 1e\+200 .* row of 36 float64",
        backends=True)
# float16 on the image path (a bare NotImplementedError on Numba before): the
# pooling and upsampling layers are in tests/test_image_inputs.py
for name, make in {"Conv2d": lambda: Conv2d(1, 2, 3, padding=1, rng=rng()),
                   "ConvTranspose2d": lambda: ConvTranspose2d(1, 2, 3, stride=2, rng=rng()),
                   }.items():
    bad(f"{name}: float16 images", lambda t, m=make: m().forward(
        np.zeros((1, 1, 4, 4), np.float16)), TypeError,
        rf"{name}.forward: x must have dtype float64 \(the layer's dtype\), got float16",
        backends=True)
bad("ConvAutoencoder: target with fewer rows than x",
    lambda t: conv_models()["ConvAutoencoder"]().loss_and_grad(images(4), target=images(2)),
    ValueError, r"target and x must have the same shape, got \(2, 1, 6, 6\) and \(4, 1, 6, 6\)",
    backends=True)


def mae(**kw):
    from tinyae.models import MAE
    return MAE(image_shape=(1, 4, 4), patch=2, dim=4, n_heads=1, decoder_dim=4,
               decoder_heads=1, rng=rng(), **kw)


bad("MAE: 1e200 inputs", lambda t: mae().loss_and_grad(np.full((2, 1, 4, 4), 1e200), rng=rng()),
    ValueError, r"x is too large: it holds values up to 1e\+200 .* row of 16 float64",
    backends=True)
bad("MAE: 0 rows", lambda t: mae().loss_and_grad(np.zeros((0, 1, 4, 4)), rng=rng()),
    ValueError, r"x has 0 rows \(shape \(0, 1, 4, 4\)\)", backends=True)
bad("MAE encode: 0 rows", lambda t: mae().encode(np.zeros((0, 1, 4, 4))),
    ValueError, r"x has 0 rows", backends=True)
bad("MAE: mask_ratio=1.5", lambda t: mae(mask_ratio=1.5), ValueError,
    r"mask_ratio .*1.5")


def clf():
    from tinyae.models import SoftmaxClassifier
    return SoftmaxClassifier(n_in=D, n_classes=3, rng=rng())


bad("softmax: 1e200 inputs", lambda t: clf().loss_and_grad(np.full((2, D), 1e200),
                                                          np.array([0, 1])),
    ValueError, r"x is too large: it holds values up to 1e\+200", backends=True)
bad("softmax: 0 rows", lambda t: clf().loss_and_grad(np.zeros((0, D)), np.zeros(0, int)),
    ValueError, r"x has 0 rows", backends=True)
bad("softmax: label 3 of 3 classes", lambda t: clf().loss_and_grad(xs(2), np.array([0, 3])),
    ValueError, r"y must hold class labels in \[0, 3\), got values in \[0, 3\]", backends=True)
bad("softmax: float labels", lambda t: clf().loss_and_grad(xs(2), np.array([0.0, 1.0])),
    TypeError, r"y must hold integer class labels in \[0, 3\) .* got dtype float64",
    backends=True)
bad("softmax: one label for two rows", lambda t: clf().loss_and_grad(xs(2), np.array([0])),
    ValueError, r"y must have shape \(2,\) \(one label per row of x\), got \(1,\)",
    backends=True)
bad("MLP: target of another shape",
    lambda t: ae().loss_and_grad(xs(4), target=xs(3)), ValueError,
    r"target and x must have the same shape, got \(3, 6\) and \(4, 6\)", backends=True)
bad("MLP: target 0..255",
    lambda t: ae().loss_and_grad(xs(), target=255 * xs()), ValueError,
    r"target must lie in \[0, 1\] for likelihood='bernoulli'", backends=True)
bad("MLP decode: 0 rows", lambda t: ae().decode(np.zeros((0, 2))), ValueError,
    r"z has 0 rows \(shape \(0, 2\)\)", backends=True)
bad("stacked pretrain: pixels 0..255",
    lambda t: bernoulli_models()["stacked"]().pretrain(255 * xs(), epochs=1, batch_size=4,
                                                       rng=rng()),
    ValueError, r"x must lie in \[0, 1\] for likelihood='bernoulli'")
bad("stacked pretrain: 0 rows",
    lambda t: bernoulli_models()["stacked"]().pretrain(np.zeros((0, D)), epochs=1,
                                                       batch_size=4, rng=rng()),
    ValueError, r"x has 0 rows")
bad("denoising: noise of the wrong shape",
    lambda t: bernoulli_models()["denoising (Gaussian)"]().loss_and_grad(
        xs(4), noise=np.zeros((3, D))), ValueError,
    r"noise must have shape \(4, 6\), got \(3, 6\)", backends=True)
bad("denoising: neither noise nor rng",
    lambda t: bernoulli_models()["denoising (Gaussian)"]().loss_and_grad(xs()), ValueError,
    r"rng must be a numpy Generator when noise is not given")
bad("MLP: noise given to a model without corruption",
    lambda t: ae().loss_and_grad(xs(), noise=np.zeros((8, D))), ValueError,
    r"noise was given but this autoencoder has no corruption")
bad("gradcheck: denoising model given rng instead of noise",
    lambda t: GC.check_model(bernoulli_models()["denoising (Gaussian)"](), xs(3), rng=rng()),
    NondeterministicLossError, r"MLPAutoencoder gave two different values.*fix eps/noise")
bad("VAE: eps of the wrong shape",
    lambda t: VAE(sizes=(D, 4, 2), rng=rng()).loss_and_grad(xs(4), eps=np.zeros((4, 3))),
    ValueError, r"eps must have shape \(4, 2\), got \(4, 3\)", backends=True)
bad("VAE: neither eps nor rng",
    lambda t: VAE(sizes=(D, 4, 2), rng=rng()).loss_and_grad(xs()), ValueError,
    r"pass rng \(a numpy Generator\) or eps")
bad("VAE: decoder_variance learned with a Bernoulli likelihood",
    lambda t: VAE(sizes=(D, 4, 2), rng=rng(), decoder_variance="learned"), ValueError,
    r"decoder_variance='learned' needs likelihood='gaussian'")
bad("MLP: likelihood='poisson'", lambda t: ae(likelihood="poisson"), ValueError,
    r"likelihood must be one of \['bernoulli', 'mse'\], got 'poisson'")
bad("MLP: output= (the old keyword)", lambda t: ae(output="bernoulli"), TypeError,
    r"unexpected keyword argument 'output'")
bad("MLP: sizes=(6,)", lambda t: ae(sizes=(6,)), ValueError,
    r"sizes must have at least 2 entries, got \(6,\)")
bad("MLP: sizes=(6, 0)", lambda t: ae(sizes=(6, 0)), ValueError,
    r"sizes\[1\] must be a positive integer, got 0")
bad("MLP: sizes=6", lambda t: ae(sizes=6), TypeError,
    r"sizes must be a sequence of layer widths .* got 6")
bad("MLP: corruption=0.5", lambda t: ae(corruption=0.5), TypeError,
    r"corruption must be None or a tinyae.corruption.Corruption.* got 0.5")
bad("MLP: activation='gelu'", lambda t: ae(activation="gelu"), ValueError,
    r"activation must be one of \[.*\], got 'gelu'")
bad("MLP: dtype=float16", lambda t: ae(dtype=np.float16), ValueError,
    r"dtype must be float32 or float64, got <class 'numpy.float16'>")
bad("MLP: rng=0", lambda t: ae(rng=0) if False else MLPAutoencoder(sizes=(D, 2), rng=0),
    TypeError, r"rng must be a numpy.random.Generator .* got int")

# ============================================================================
# the later lessons' tools (issue 26): t-SNE, stochastic decoders, compression,
# search, MAE, sparse coding, energy, the checkerboard measure, the checker
# ============================================================================

bad("tsne: data scaled by 1e200 (squared distances overflow)",
    lambda t: tsne.TSNE(perplexity=3.0, n_iter=5, exaggeration_iter=2).fit_transform(
        1e200 * xs(12, 3)), ValueError,
    r"x is too large: it holds values up to 9.*e\+199 .* squared distances between its "
    r"rows overflow float64 .* rescale the data", backends=True)
bad("tsne: data scaled by 1e-170 (squared distances underflow to 0: P was uniform)",
    lambda t: tsne.conditional_probabilities(1e-170 * xs(12, 3), 3.0), ValueError,
    r"x is too small: it holds values up to 9.*e-171 .* squared distances between its rows "
    r"\(at most 0\) fall below float64's normal range .* rescale the data", backends=True)
bad("tsne: data scaled by 1e-156 (beta = 1 / (2 sigma^2) overflows)",
    lambda t: tsne.TSNE(perplexity=3.0, n_iter=5, exaggeration_iter=2).fit_transform(
        1e-156 * xs(12, 3)), ValueError,
    r"x is too small: .* \(at most \d.*e-31\d\) .* beta = 1 / \(2 sigma\^2\) cannot be "
    r"represented", backends=True)
bad("tsne: conditional_probabilities of data scaled by 1e160",
    lambda t: tsne.conditional_probabilities(1e160 * xs(12, 3), 3.0), ValueError,
    r"x is too large: it holds values up to 9.*e\+159", backends=True)


# the variance-network VAE and the Gaussian denoiser: rows with every Gaussian model above
bad("variance-network VAE recon_nll: 1e200 inputs",
    lambda t: gaussian_models()["variance-network VAE"]().recon_nll(np.full((3, D), 1e200)),
    ValueError, r"x is too large: it holds values up to 1e\+200", backends=True)

from tinyae.analysis import compression  # noqa: E402

SYMBOLS = np.array([0, 1, 1, 2, 2, 2, 2])               # 10 payload bits, 6 of padding


def huffman():
    """(code, packed data, payload bits) of SYMBOLS."""
    code = compression.HuffmanCode(np.bincount(SYMBOLS))
    return (code, *code.encode(SYMBOLS))


def stream_claiming(n):
    stream = compression.encode_stream(SYMBOLS)
    stream.n = n
    return stream


bad("compression: quantize of NaN",
    lambda t: compression.quantize(np.array([0.5, np.nan]), 0.5), ValueError,
    r"z contains 1 non-finite value\(s\) \(NaN or inf\)")
bad("compression: quantize of 1e300 (no int64 to round to)",
    lambda t: compression.quantize(np.array([0.5, 1e300]), 0.5), ValueError,
    r"z / step must fit in int64 .* got values up to 1e\+300 in magnitude with step=0.5")
bad("compression: kmeans_1d of NaN",
    lambda t: compression.kmeans_1d(np.array([0.1, np.nan, 0.3]), 2), ValueError,
    r"values contains 1 non-finite value\(s\)")
bad("compression: Huffman decode without n_bits (the padding was read as symbols)",
    lambda t: (lambda c, d, nb: c.decode(d, SYMBOLS.size + 2))(*huffman()), TypeError,
    r"decode\(\) missing 1 required positional argument: 'n_bits'")
bad("compression: Huffman decode of truncated data (a byte lost)",
    lambda t: (lambda c, d, nb: c.decode(d[:1], SYMBOLS.size, nb))(*huffman()), ValueError,
    r"n_bits must be an integer in \[0, 8 len\(data\)\] = \[0, 8\], got 10 .* truncated data")
bad("compression: Huffman decode of truncated data (a stream whose payload is cut)",
    lambda t: (lambda c, d, nb: c.decode(d[:0], SYMBOLS.size, 0))(*huffman()), ValueError,
    r"data ends after 0 of the n=7 symbols asked for \(0 payload bits\): truncated data")
bad("compression: Huffman decode of more symbols than encoded",
    lambda t: (lambda c, d, nb: c.decode(d, SYMBOLS.size + 2, nb))(*huffman()), ValueError,
    r"data ends after 7 of the n=9 symbols .* n larger than the number of symbols encoded")
bad("compression: decode_stream of a stream claiming more symbols than it holds",
    lambda t: compression.decode_stream(stream_claiming(SYMBOLS.size + 2)), ValueError,
    r"data ends after 7 of the n=9 symbols asked for \(10 payload bits\)")
bad("compression: Huffman decode n=-1",
    lambda t: (lambda c, d, nb: c.decode(d, -1, nb))(*huffman()), ValueError,
    r"n must be an integer >= 0 .* got -1")
bad("compression: Huffman decode n_bits beyond the data",
    lambda t: (lambda c, d, nb: c.decode(d, 7, 99))(*huffman()), ValueError,
    r"n_bits must be an integer in \[0, 8 len\(data\)\] = \[0, 16\], got 99")
bad("compression: encode_stream of a value range asking for terabytes",
    lambda t: compression.encode_stream(np.array([0, 2 ** 40])), ValueError,
    r"values span 1099511627777 symbols \(from 0 to 1099511627776\), more than "
    r"MAX_ALPHABET = 2\^24")

from tinyae.analysis import retrieval  # noqa: E402

Q_LABELS, DB_LABELS = np.array([0, 1]), np.array([0, 1, 1])


def ranked(order):
    return retrieval.relevance(np.array(order), Q_LABELS, DB_LABELS)


def search_eval(**kw):
    kw.setdefault("k", 2)
    queries, labels = kw.pop("queries", xs(3, 4)), kw.pop("labels", np.zeros(3, int))
    return retrieval.evaluate_ranking(retrieval.euclidean_rank, queries, xs(5, 4, seed=2),
                                      labels, np.zeros(5, int), **kw)


bad("search: relevance of an index beyond the database",
    lambda t: ranked([[0, 1, 3], [0, 1, 2]]), ValueError,
    r"order must hold database indices in \[0, 3\), got values in \[0, 3\]")
bad("search: relevance of a negative index (wrapped silently before)",
    lambda t: ranked([[0, 1, -1], [0, 1, 2]]), ValueError,
    r"order must hold database indices in \[0, 3\), got values in \[-1, 2\]")
bad("search: relevance of float indices",
    lambda t: ranked([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]), TypeError,
    r"order must hold integer indices into the database, got dtype float64")
bad("search: precision_recall at a fractional cut-off",
    lambda t: retrieval.precision_recall(ranked([[0, 1, 2], [0, 1, 2]]), [1, 2.5]), ValueError,
    r"ks must be a 1-D array of whole-number cutoffs in \[1, 3\], got array\(\[1. , 2.5\]\)")
bad("search: evaluate_ranking at a fractional cut-off",
    lambda t: search_eval(cutoffs=[1.5]), ValueError,
    r"cutoffs must be a 1-D array of whole-number cutoffs in \[1, 5\], got array\(\[1.5\]\)")
bad("search: evaluate_ranking of zero queries",
    lambda t: search_eval(queries=xs(3, 4)[:0], labels=np.zeros(0, int)), ValueError,
    r"query_labels is empty: there is no query to score")
bad("search: evaluate_ranking chunk=0", lambda t: search_eval(chunk=0), ValueError,
    r"chunk must be a positive integer, got 0")

def mae_with(**kw):
    """``mae()`` with any of its fixed sizes overridden."""
    from tinyae.models import MAE
    sizes = dict(image_shape=(1, 4, 4), patch=2, dim=4, n_heads=1, decoder_dim=4,
                 decoder_heads=1)
    return MAE(rng=rng(), **{**sizes, **kw})


bad("MAE: decoder_heads not dividing decoder_dim (was reported as n_heads and dim)",
    lambda t: mae_with(decoder_dim=6, decoder_heads=4), ValueError,
    r"decoder_heads must divide decoder_dim=6 .* got decoder_heads=4")
bad("MAE: n_heads not dividing dim", lambda t: mae_with(dim=6, n_heads=4), ValueError,
    r"n_heads must divide dim=6 .* got n_heads=4")
bad("MAE: dim=0 (was reported as n_out)", lambda t: mae_with(dim=0), ValueError,
    r"dim must be a positive integer, got 0")
bad("MAE: decoder_dim=0", lambda t: mae_with(decoder_dim=0), ValueError,
    r"decoder_dim must be a positive integer, got 0")
for how in ("loss_and_grad", "loss"):
    bad(f"MAE {how}: a mask hiding no patch (divided by zero)",
        lambda t, h=how: getattr(mae(), h)(images(2, 1)[:, :, :4, :4].copy(),
                                          mask=np.zeros((2, 4), bool)), ValueError,
        r"mask must hide at least one patch per row: .* got 0 hidden of 4", backends=True)

from tinyae.inference import energy, sparse_coding  # noqa: E402


def ellipse_fn(z):
    return energy.ellipse_energy(np.ones((3, 2)), z, (1.0, 2.0))


bad("sparse coding: an all-zero dictionary (divided by zero)",
    lambda t: sparse_coding.ista(xs(4, 3), np.zeros((5, 3)), 0.1, n_iter=3), ValueError,
    r"D must have a non-zero entry: D \(shape \(5, 3\)\) is all zeros and alpha=0, so "
    r"L = .* = 0", backends=True)
bad("sparse coding: a transposed dictionary (was blamed on x)",
    lambda t: sparse_coding.fista(xs(4, 3), xs(3, 5), 0.1, n_iter=3), ValueError,
    r"D must have shape \(n_atoms, 3\) .* got D of shape \(3, 5\) for x of shape \(4, 3\); "
    r"D.T has shape \(5, 3\): was D given transposed\?", backends=True)
bad("energy: ellipse_points rng=None",
    lambda t: energy.ellipse_points(5, rng=None), TypeError,
    r"rng must be a numpy.random.Generator .* got NoneType")
bad("energy: free_energy of NaN",
    lambda t: energy.free_energy(np.array([[1.0, np.nan, 2.0]]), 1.0, 0.1), ValueError,
    r"energies contains 1 NaN value\(s\)")
bad("energy: laplace_free_energy of a NaN minimum",
    lambda t: energy.laplace_free_energy(np.array([np.nan, 1.0]), np.ones(2), 1.0), ValueError,
    r"e_min contains 1 non-finite value\(s\)")
bad("energy: laplace_free_energy of a NaN curvature",
    lambda t: energy.laplace_free_energy(np.ones(2), np.array([1.0, np.nan]), 1.0), ValueError,
    r"curvature contains 1 non-finite value\(s\)")

from tinyae.models.conv import checkerboard_power  # noqa: E402

bad("checkerboard_power: NaN images (returned NaN)",
    lambda t: checkerboard_power(np.where(images(2) > 0.9, np.nan, images(2))), ValueError,
    r"images contains \d+ non-finite value\(s\) \(NaN or inf\)")
bad("checkerboard_power: RGB images (a raw reshape error)",
    lambda t: checkerboard_power(np.repeat(images(2), 3, axis=1)), ValueError,
    r"images must have shape \(N, H, W\) or \(N, 1, H, W\) .* got shape \(2, 3, 6, 6\); "
    r"for colour images pass one channel or the grey levels images.mean\(axis=1\)")
bad("checkerboard_power: 0 images (returned NaN)",
    lambda t: checkerboard_power(images(2)[:0]), ValueError,
    r"images must have shape .* with N >= 1 .* got shape \(0, 1, 6, 6\)")

for x_dtype in (np.float32, np.float64):
    bad(f"gradcheck: check_layer of a float32 layer with {np.dtype(x_dtype)} x "
        f"(the advice went in a circle)",
        lambda t, d=x_dtype: GC.check_layer(Linear(3, 2, rng=rng(), dtype=np.float32),
                                            np.ones((2, 3), d), rng=rng()), TypeError,
        r"W has dtype float32\. .* build the layer with dtype=np.float64 to check it, "
        r"e.g. Linear\(\.\.\., dtype=np.float64\)", backends=True)
bad("gradcheck: check_layer rng=0 (an AttributeError)",
    lambda t: GC.check_layer(Linear(3, 2, rng=rng()), np.ones((2, 3)), rng=0), TypeError,
    r"rng must be a numpy.random.Generator \(e.g. np.random.default_rng\(0\)\), got int")
bad("gradcheck: check_layer of float32 x says how to convert it",
    lambda t: GC.check_layer(Linear(3, 2, rng=rng()), np.ones((2, 3), np.float32), rng=rng()),
    TypeError, r"x has dtype float32\. .* convert it with x.astype\(np.float64\)")

# ============================================================================
# valid inputs that look odd: they must run
# ============================================================================

valid("fit: batch_size larger than the data", lambda t: fit_ae(batch_size=100),
      "one batch of all rows, as in full-batch gradient descent")
valid("fit: one row", lambda t: fit_ae(data=xs(1)), "a batch of one is a batch")
valid("fit: optimiser over part of the parameters",
      lambda t: fit_ae(model=(m := ae()),
                       optimizer=Adam({k: v for k, v in m.params.items()
                                       if k.startswith("decoder")})),
      "frozen encoder: the arrays it holds are the model's")
valid("fit: lr_schedule returning an int", lambda t: fit_ae(lr_schedule=lambda e: 1),
      "an integer learning rate is a number > 0")
valid("fit: divergence=None", lambda t: fit_ae(divergence=None), "the check switched off")
valid("optim: Adam betas=(0, 0)", lambda t: Adam(ae().params, betas=(0.0, 0.0)),
      "no averaging: RMS-normalised sign-like steps")
valid("optim: momentum=0", lambda t: Momentum(ae().params, lr=0.1, momentum=0.0), "plain SGD")
valid("bernoulli targets exactly 0 and 1",
      lambda t: ae().loss_and_grad(np.tile([0.0, 1.0], (3, 3))), "the ends of the support")
valid("MLP (mse): targets outside [0, 1]",
      lambda t: ae(likelihood="mse").loss_and_grad(255 * xs() - 100),
      "a Gaussian likelihood has the whole real line as support")
valid("MLP: standardised input with a target in [0, 1]",
      lambda t: ae().loss_and_grad(5 * xs() - 2.5, target=xs()),
      "only the target must lie in the Bernoulli support")
valid("denoising: corrupted input leaves [0, 1]",
      lambda t: bernoulli_models()["denoising (Gaussian)"]().loss_and_grad(xs(), rng=rng()),
      "Gaussian noise moves the input, the clean target stays in [0, 1]")
valid("layers: Linear.forward of 0 rows",
      lambda t: Linear(D, 2, rng=rng()).forward(
          np.zeros((0, D))),
      "a layer maps rows to rows with no reduction: 0 rows in, 0 rows out, no NaN")
valid("corruption: MaskingNoise(1.0)",
      lambda t: MaskingNoise(1.0),
      "masks every input: degenerate but well defined (the model learns the mean)")
valid("metrics: roc_auc of lists", lambda t: roc_auc(
          [0.1, 0.2], [0.3]), "converted to arrays; checked non-empty and finite")
valid("data: binarize_static of 0 rows", lambda t: data.binarize_static(np.zeros((0, 3))),
      "element-wise, no reduction: an empty array in, an empty array out")
valid("MLP (mse) float64: inputs of 1e100",
      lambda t: ae(likelihood="mse").loss_and_grad(np.full((2, D), 1e100)),
      "large but the loss (~1e200) is finite; only overflow is refused")
valid("checkpoint: NaN weights with allow_nonfinite=True",
      lambda t: checkpoint.load(ae(), saved(t, with_nan(ae())), allow_nonfinite=True),
      "explicitly asked for, e.g. to inspect a diverged run")
valid("checkpoint: max_bytes exactly the largest array",
      lambda t: checkpoint.load(ae(), saved(t), max_bytes=192), "the limit is inclusive")
valid("lesson flags: --seed 0 --threads 1 --epochs 1",
      lambda t: lesson.Lesson("99_test", epochs=3, argv=["--seed", "0", "--threads", "1",
                                                          "--epochs", "1"]),
      "the smallest values each flag accepts")
valid("search: precision_recall at whole cut-offs held as floats",
      lambda t: retrieval.precision_recall(ranked([[0, 1, 2], [0, 1, 2]]), [1.0, 3.0]),
      "2.0 is the cut-off 2 (np.geomspace gives floats); only a fraction is refused")
valid("tsne: data scaled by 1e100 (distances 1e200)",
      lambda t: tsne.TSNE(perplexity=3.0, n_iter=5, exaggeration_iter=2).fit_transform(
          1e100 * xs(12, 3)),
      "p depends on beta d only; rows far from 1 are bisected at their own scale "
      "(tests/test_tsne.py: every scale meets its perplexity)")
valid("energy: descend from integer starting points",
      lambda t: energy.descend(ellipse_fn, np.zeros(3, int), lr=0.1, max_steps=3),
      "converted to float64, as a list is: a starting point is a number, not a dtype choice")
valid("energy: free_energy with +inf energies",
      lambda t: energy.free_energy(np.array([[1.0, np.inf]]), 1.0, 0.1),
      "an infinite energy is a state of zero weight; only NaN is refused")
valid("ConditionalVAE.sample with an all-zero condition row",
      lambda t: __import__("tinyae.models", fromlist=["ConditionalVAE"]).ConditionalVAE(
          sizes=(D, 4, 2), n_cond=3, rng=rng()).sample(2, rng=rng(), c=np.zeros((2, 3))),
      "by design (issue 26): c is an input like any other, and 'no label' is a "
      "condition a student may want to decode")
valid("MaxPool2d of an NHWC batch",
      lambda t: __import__("tinyae.layers", fromlist=["MaxPool2d"]).MaxPool2d(2).forward(
          rng().uniform(size=(2, 4, 4, 2))),
      "by design (issue 26): a layer cannot know the channel axis; the models check "
      "their input shape")
valid("gradcheck: h=1e-3 and floor=1e-6 given explicitly",
      lambda t: GC.check_model(Quadratic(), h=1e-3, floor=1e-6).passed(),
      "a caller may choose its own step and floor")


# ============================================================================
# the tests
# ============================================================================

def _run_case(fn, exc, pattern, tmp_path):
    with pytest.raises(exc) as info:
        fn(tmp_path)
    message = str(info.value)
    assert re.search(pattern, message, re.S), f"message {message!r} does not match {pattern!r}"


@pytest.mark.parametrize("fn, exc, pattern", CASES)
def test_bad_input_gives_a_named_error(fn, exc, pattern, tmp_path):
    _run_case(fn, exc, pattern, tmp_path)


@pytest.mark.parametrize("fn, exc, pattern", BACKEND_CASES)
def test_bad_input_gives_the_same_named_error_on_each_backend(fn, exc, pattern, tmp_path,
                                                              each_backend):
    _run_case(fn, exc, pattern, tmp_path)


@pytest.mark.parametrize("fn", VALID)
def test_odd_but_valid_input_is_accepted(fn, tmp_path):
    fn(tmp_path)


def test_unknown_lesson_exits_non_zero_from_the_shell():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "tinyae.course.lesson", "99"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no lesson matches '99'" in proc.stderr


def test_every_exported_model_is_placed_by_its_likelihood_and_gaussian_ones_have_rows():
    """The census: every model class is in LIKELIHOODS, and every class whose
    likelihood can be Gaussian has a 'too large' row above."""
    import inspect
    from tinyae import models
    exported = {name for name, c in vars(models).items()
                if inspect.isclass(c) and issubclass(c, models.Model) and c is not models.Model}
    placed = set().union(*LIKELIHOODS.values())
    assert exported == placed, (f"not placed: {sorted(exported - placed)}; "
                                f"no longer exported: {sorted(placed - exported)}")
    with_rows = {type(make()).__name__ for make in gaussian_models().values()} | {
        type(energy_model()).__name__, type(mae()).__name__,
        *(type(make()).__name__ for make in conv_models().values())}
    gaussian = LIKELIHOODS["gaussian"] | LIKELIHOODS["bernoulli or gaussian"]
    assert gaussian <= with_rows, f"no 'too large' row for {sorted(gaussian - with_rows)}"
    with_rows = {type(make()).__name__ for make in bernoulli_models().values()} | {
        type(cvae()).__name__, *(type(make()).__name__ for make in conv_models().values())}
    bernoulli = LIKELIHOODS["bernoulli"] | LIKELIHOODS["bernoulli or gaussian"]
    assert bernoulli <= with_rows, f"no 0..255 row for {sorted(bernoulli - with_rows)}"
