"""Training resumes where it stopped, and a failed save loses nothing.

Two epochs, an interruption (a KeyboardInterrupt, or a process killed with
SIGKILL), then ``fit(..., resume=True)`` from the last checkpoint, with a
model, an optimiser and a generator built afresh from other seeds, give
parameters bitwise equal to four epochs in one go, on both backends. A save
that fails midway (a file-size limit in a child process, as a full disk)
leaves the previous checkpoint intact and no temporary file behind.
"""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinyae import checkpoint
from tinyae.models import MLPAutoencoder
from tinyae.optim import Adam, cosine_decay
from tinyae.train import fit

X = np.random.default_rng(5).uniform(0.05, 0.95, size=(150, 12))
EPOCHS = 4


def _run(seed=0, dtype=np.float64):
    model = MLPAutoencoder(sizes=(12, 6, 3), rng=np.random.default_rng(seed), dtype=dtype)
    return model, Adam(model.params, lr=3e-3), np.random.default_rng(seed + 1)


def _fit(model, opt, rng, **kw):
    x = X.astype(model.params["encoder.0.W"].dtype)
    return fit(model, x, optimizer=opt, epochs=EPOCHS, batch_size=32, rng=rng,
               progress=False, lr_schedule=cosine_decay(3e-3, EPOCHS), val=x[:20], **kw)


def _interrupt_in_epoch_3():
    calls = {"n": 0}

    def transform(xb, rng):
        calls["n"] += 1
        if calls["n"] == 2 * 5 + 2:                  # 5 steps an epoch: epoch 3, step 2
            raise KeyboardInterrupt
        return xb
    return transform


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_interrupted_run_resumes_bit_for_bit(tmp_path, each_backend, dtype, capsys):
    straight, opt, rng = _run(dtype=dtype)
    history = _fit(straight, opt, rng)

    path = tmp_path / "run.npz"
    model, opt, rng = _run(dtype=dtype)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, opt, rng, checkpoint=path, transform=_interrupt_in_epoch_3())
    err = capsys.readouterr().err
    assert "interrupted in epoch 3, step 2" in err and "after epoch 2" in err
    assert str(path) in err and "resume=True" in err

    model, opt, rng = _run(seed=40, dtype=dtype)         # all new, other seeds
    resumed = _fit(model, opt, rng, checkpoint=path, resume=True)
    for k, p in straight.params.items():
        assert np.array_equal(model.params[k], p), f"{k} differs after resuming"
    assert resumed["loss"] == history["loss"] and resumed["val_loss"] == history["val_loss"]
    assert opt.t == 5 * EPOCHS


def test_a_resume_that_keeps_its_own_generator_differs(tmp_path):
    """Near miss: going on from the checkpoint with a generator that was not
    restored gives other parameters, so the test above can see it."""
    path = tmp_path / "run.npz"
    model, opt, rng = _run()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, opt, rng, checkpoint=path, transform=_interrupt_in_epoch_3())
    straight, opt_s, rng_s = _run()
    _fit(straight, opt_s, rng_s)
    model, opt, rng = _run(seed=40)
    history, epoch = checkpoint.load_training(path, model, opt, rng=np.random.default_rng(3))
    assert epoch == 2 and len(history["loss"]) == 2
    fit(model, X, optimizer=opt, epochs=2, batch_size=32, rng=rng, progress=False,
        lr_schedule=lambda e: cosine_decay(3e-3, EPOCHS)(e + 2), val=X[:20])
    assert any(not np.array_equal(model.params[k], p) for k, p in straight.params.items())


def test_a_killed_process_resumes_from_its_last_checkpoint(tmp_path):
    path = tmp_path / "run.npz"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        import test_resume as t
        calls = {{"n": 0}}
        def transform(xb, rng):
            calls["n"] += 1
            if calls["n"] == 13:                      # epoch 3, step 3
                os.kill(os.getpid(), signal.SIGKILL)
            return xb
        model, opt, rng = t._run()
        t._fit(model, opt, rng, checkpoint={str(path)!r}, transform=transform)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not list(tmp_path.glob("*.tmp"))
    straight, opt, rng = _run()
    _fit(straight, opt, rng)
    model, opt, rng = _run(seed=7)
    _fit(model, opt, rng, checkpoint=path, resume=True)
    for k, p in straight.params.items():
        assert np.array_equal(model.params[k], p), k


def test_resume_needs_a_path_and_a_matching_run(tmp_path):
    model, opt, rng = _run()
    with pytest.raises(ValueError, match="resume=True needs checkpoint="):
        _fit(model, opt, rng, resume=True)
    path = tmp_path / "run.npz"
    _fit(model, opt, rng, checkpoint=path)
    with pytest.raises(ValueError, match="after epoch 4, beyond epochs=2"):
        fit(model, X, optimizer=opt, epochs=2, batch_size=32, rng=rng, progress=False,
            checkpoint=path, resume=True)
    checkpoint.save(model, tmp_path / "plain.npz")
    with pytest.raises(checkpoint.CheckpointError, match="no training state"):
        checkpoint.load_training(tmp_path / "plain.npz", model, opt, rng=rng)


def test_a_save_that_fails_midway_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    small = MLPAutoencoder(sizes=(12, 6, 3), rng=np.random.default_rng(0))
    checkpoint.save(small, path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import resource, signal
        import numpy as np
        from tinyae import checkpoint
        from tinyae.models import MLPAutoencoder
        big = MLPAutoencoder(sizes=(12, 400, 3), rng=np.random.default_rng(1))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a write past the limit fails
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        try:
            checkpoint.save(big, {str(path)!r})
        except OSError as e:
            print("failed:", e.errno)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert "failed: 27" in proc.stdout, proc.stdout + proc.stderr      # EFBIG
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    checkpoint.load(MLPAutoencoder(sizes=(12, 6, 3), rng=np.random.default_rng(3)), path)


def test_a_training_checkpoint_gets_every_check_of_load(tmp_path):
    model, opt, rng = _run()
    _fit(model, opt, rng, checkpoint=tmp_path / "run.npz")
    model.params["encoder.0.W"][0, 0] = np.nan
    checkpoint.save_training(tmp_path / "nan.npz", model, opt, rng=rng, history={}, epoch=4)
    fresh, opt2, rng2 = _run(seed=3)
    with pytest.raises(checkpoint.CheckpointError, match="non-finite values .* encoder.0.W: 1"):
        checkpoint.load_training(tmp_path / "nan.npz", fresh, opt2, rng=rng2)
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(checkpoint.CheckpointError, match="is a directory"):
        checkpoint.load_training(tmp_path / "dir.npz", fresh, opt2, rng=rng2)
    assert np.isfinite(fresh.params["encoder.0.W"]).all()        # nothing was loaded
