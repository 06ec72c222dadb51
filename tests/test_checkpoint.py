"""Checkpoints that must never hurt: a pickle payload is never run, a forged
header never allocates, non-finite weights are refused, and interrupted
saves leave nothing behind for long."""

import io
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinyae import checkpoint
from tinyae.checkpoint import CheckpointError
from tinyae.models import MLPAutoencoder


def small_model(seed=0):
    return MLPAutoencoder(sizes=(6, 4, 2), rng=np.random.default_rng(seed))


class Payload:
    """Unpickling this creates the file ``marker``: a visible side effect."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _npy_bytes(header, data=b""):
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, header)
    return f.getvalue() + data


def _replace_member(path, name, raw):
    """Rewrite the .npz at ``path`` with member ``name`` replaced by ``raw``."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members[name] = raw
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)


def test_the_payload_is_live(tmp_path):
    """Control: unpickled, the payload does create its file (so the tests
    below that find no file mean it was never unpickled)."""
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_load_never_unpickles_an_object_array(tmp_path):
    marker = tmp_path / "pwned"
    path = checkpoint.save(small_model(), tmp_path / "m.npz")
    obj = np.empty(1, dtype=object)
    obj[0] = Payload(marker)
    f = io.BytesIO()
    np.save(f, obj, allow_pickle=True)
    _replace_member(path, "encoder.0.W.npy", f.getvalue())
    with pytest.raises(CheckpointError, match="encoder.0.W.*pickle"):
        checkpoint.load(small_model(), path)
    assert not marker.exists()


def test_load_never_unpickles_a_pickle_file(tmp_path):
    """``np.load(allow_pickle=True)`` would unpickle a plain pickle file."""
    marker = tmp_path / "pwned"
    path = tmp_path / "m.npz"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError, match="not a readable .npz"):
        checkpoint.load(small_model(), path)
    assert not marker.exists()


@pytest.mark.parametrize("shape, pattern", [
    ((10 ** 9, 10 ** 9), r"announces shape \(1000000000, 1000000000\).*max_bytes"),
    ((6, 4000), r"announces shape \(6, 4000\).*the file holds 192 bytes"),
])
def test_forged_header_is_refused_before_allocating(tmp_path, shape, pattern):
    path = checkpoint.save(small_model(), tmp_path / "m.npz")
    raw = _npy_bytes({"descr": "<f8", "fortran_order": False, "shape": shape},
                     np.zeros(24).tobytes())
    _replace_member(path, "encoder.0.W.npy", raw)
    with pytest.raises(CheckpointError, match=pattern):
        checkpoint.load(small_model(), path)


def test_max_bytes_is_a_setting(tmp_path):
    path = checkpoint.save(small_model(), tmp_path / "m.npz")
    with pytest.raises(CheckpointError, match="max_bytes=100"):
        checkpoint.load(small_model(), path, max_bytes=100)
    checkpoint.load(small_model(), path, max_bytes=192)      # 6 x 4 float64 fits exactly


def test_non_finite_weights_are_refused_unless_allowed(tmp_path):
    model = small_model()
    model.params["encoder.0.W"][0, :2] = [np.nan, np.inf]
    model.params["decoder.0.b"][1] = -np.inf
    path = checkpoint.save(model, tmp_path / "m.npz")
    target = small_model(seed=3)
    before = {k: v.copy() for k, v in target.params.items()}
    with pytest.raises(CheckpointError, match=r"decoder.0.b: 1, encoder.0.W: 2.*allow_nonfinite"):
        checkpoint.load(target, path)
    for k, v in target.params.items():                        # untouched on failure
        np.testing.assert_array_equal(v, before[k])
    checkpoint.load(target, path, allow_nonfinite=True)
    assert np.isnan(target.params["encoder.0.W"][0, 0])


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_save_removes_temporaries_of_dead_processes_only(tmp_path):
    path = tmp_path / "m.npz"
    stale = tmp_path / f"m.npz.{_dead_pid()}.0123abcd.tmp"
    live = tmp_path / f"m.npz.{os.getppid()}.0123abcd.tmp"   # our parent still runs
    other = tmp_path / f"other.npz.{_dead_pid()}.0123abcd.tmp"
    for f in (stale, live, other):
        f.write_bytes(b"half a checkpoint")
    checkpoint.save(small_model(), path)
    assert not stale.exists()
    assert live.exists() and other.exists()
    assert checkpoint.clean_stale_temporaries(tmp_path / "other.npz") == [other]


def test_a_save_killed_mid_write_is_cleaned_by_the_next(tmp_path):
    """A process killed while writing leaves its temporary file (no handler
    runs); the next save of the same checkpoint removes it."""
    path = tmp_path / "m.npz"
    script = (
        "import os, numpy as np\n"
        "from tinyae import checkpoint\n"
        "from tinyae.models import MLPAutoencoder\n"
        "def die(f, **kw):\n"
        "    f.write(b'PK partial'); f.flush(); os._exit(9)\n"
        "np.savez = die\n"
        f"checkpoint.save(MLPAutoencoder(sizes=(6, 4, 2), rng=np.random.default_rng(0)), {str(path)!r})\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 9, proc.stderr
    left = list(tmp_path.glob("m.npz.*.tmp"))
    assert len(left) == 1 and not path.exists()
    checkpoint.save(small_model(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


@pytest.mark.parametrize("make, exc, pattern", [
    (lambda t: t / "missing.npz", FileNotFoundError, "does not exist"),
    (lambda t: (t / "d.npz").mkdir() or t / "d.npz", CheckpointError, "is a directory"),
    (lambda t: t / "m.txt", ValueError, "must end in .npz"),
])
def test_load_path_errors(tmp_path, make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        checkpoint.load(small_model(), make(tmp_path))
