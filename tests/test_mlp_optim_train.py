"""The MLP autoencoder on the layer protocol, the optimisers, the training
loop (history, reproducibility, the non-finite stop) and checkpoints."""

import zipfile

import numpy as np
import pytest

from tinyae import checkpoint
from tinyae.gradcheck import check_model
from tinyae.models import MLPAutoencoder
from tinyae.optim import SGD, Adam, Momentum
from tinyae.train import NonFiniteLossError, evaluate, fit


def small_model(seed=0, **kw):
    kw.setdefault("sizes", (6, 4, 2))
    return MLPAutoencoder(rng=np.random.default_rng(seed), **kw)


@pytest.mark.parametrize("kw", [
    dict(activation="relu"), dict(activation="sigmoid", likelihood="mse"),
    dict(activation="tanh", tied=True), dict(activation="softplus", code_activation="sigmoid"),
    dict(sizes=(5, 1), activation="tanh"), dict(sizes=(1, 3, 1), activation="tanh"),
])
def test_mlp_gradients(kw, rng, each_backend):
    model = small_model(**kw)
    x = rng.uniform(0.05, 0.95, size=(4, model.sizes[0]))
    report = check_model(model, x)
    assert report.worst < 1e-7, str(report)


def test_mlp_batch_of_one(rng):
    model = small_model(activation="tanh")
    assert check_model(model, rng.uniform(0.1, 0.9, size=(1, 6))).worst < 1e-7


def test_flat_param_names_and_tied_sharing():
    model = small_model(tied=True)
    assert list(model.params) == ["encoder.0.W", "encoder.0.b", "encoder.2.W", "encoder.2.b",
                                  "decoder.0.b", "decoder.2.b"]
    untied = small_model()
    assert "decoder.0.W" in untied.params
    assert model.params["encoder.0.W"] is model.encoder[0].params["W"]


def test_mlp_rejects_bad_inputs():
    model = small_model()
    with pytest.raises(ValueError, match=r"x must have shape \(\*, 6\)"):
        model.loss_and_grad(np.zeros((3, 5)))
    with pytest.raises(TypeError, match="x must have dtype float64"):
        model.loss_and_grad(np.zeros((3, 6), dtype=np.float32))
    with pytest.raises(ValueError, match="x contains 1 non-finite"):
        x = np.zeros((3, 6)); x[1, 2] = np.nan
        model.loss_and_grad(x)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        small_model(likelihood="poisson")
    with pytest.raises(TypeError, match="unexpected keyword"):
        small_model(hidden_units=3)


# -- optimisers -------------------------------------------------------------

def quadratic():
    """f(theta) = 0.5 ||theta - c||^2, gradient theta - c."""
    c = np.array([1.0, -2.0, 3.0])
    params = {"theta": np.zeros(3)}
    return params, c


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1), lambda p: Momentum(p, lr=0.05, momentum=0.9),
    lambda p: Momentum(p, lr=0.05, momentum=0.9, nesterov=True), lambda p: Adam(p, lr=0.05)])
def test_optimisers_minimise_a_quadratic_in_place(make):
    params, c = quadratic()
    theta = params["theta"]
    opt = make(params)
    for _ in range(500):
        opt.step({"theta": params["theta"] - c})
    assert params["theta"] is theta                      # updated in place
    np.testing.assert_allclose(theta, c, atol=1e-3)


def test_adam_first_step_is_lr_times_sign():
    params = {"w": np.array([0.0, 0.0])}
    Adam(params, lr=0.01).step({"w": np.array([3.0, -1e-3])})
    np.testing.assert_allclose(params["w"], [-0.01, 0.01], rtol=1e-4)


def test_sgd_step_and_weight_decay_exact():
    params = {"w": np.array([2.0])}
    SGD(params, lr=0.1, weight_decay=0.5).step({"w": np.array([1.0])})
    assert params["w"][0] == pytest.approx(2.0 - 0.1 * (1.0 + 0.5 * 2.0))


def test_optimiser_errors():
    with pytest.raises(ValueError, match="lr"):
        SGD({"w": np.zeros(1)}, lr=-1)
    with pytest.raises(KeyError, match="w"):
        SGD({"w": np.zeros(1)}, lr=0.1).step({})


# -- training loop ------------------------------------------------------------

def toy_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.uniform(size=(n, 2))
    return (z @ rng.uniform(size=(2, 6)) / 2).clip(0, 1)


def test_fit_reduces_loss_and_records_history():
    x = toy_data()
    model = small_model(activation="tanh")
    before = evaluate(model, x)[0]
    hist = fit(model, x, optimizer=Adam(model.params, lr=1e-2), epochs=5, batch_size=32,
               rng=np.random.default_rng(0), val=x[:64], progress=False)
    assert len(hist["loss"]) == len(hist["val_loss"]) == len(hist["seconds"]) == 5
    assert hist["loss"][-1] < hist["loss"][0] and hist["val_loss"][-1] < before
    assert hist["recon"] == hist["loss"]


def test_fit_is_reproducible_from_seeds():
    x = toy_data()
    runs = []
    for _ in range(2):
        model = small_model(seed=3, activation="tanh")
        fit(model, x, optimizer=Momentum(model.params, lr=0.05), epochs=2, batch_size=50,
            rng=np.random.default_rng(11), progress=False)
        runs.append(model.params["encoder.0.W"].copy())
    np.testing.assert_array_equal(*runs)


def test_non_finite_loss_stops_with_epoch_and_step():
    x = toy_data()
    model = small_model(likelihood="mse")
    # finite data (1e200 is refused by the model itself) and finite weights
    # after each step, but so large that the next loss overflows; the
    # divergence watch, which would stop this earlier, is switched off
    with pytest.raises(NonFiniteLossError, match=r"loss became inf at epoch 1, step \d+"):
        fit(model, x, optimizer=SGD(model.params, lr=1e150), epochs=3, batch_size=32,
            rng=np.random.default_rng(0), progress=False, divergence=None)


class _PoisonAt(SGD):
    """SGD that writes a NaN into one weight at its ``at``-th step."""

    def __init__(self, params, at):
        super().__init__(params, lr=1e-3)
        self.at = at

    def step(self, grads):
        super().step(grads)
        if self.t == self.at:
            self.params["decoder.0.W"][0, 0] = np.nan


@pytest.mark.parametrize("at, epoch, step", [(2, 1, 2), (4, 1, 4), (7, 2, 3)])
def test_a_parameter_gone_bad_is_named_with_its_step(at, epoch, step):
    """fit checks the parameters when a loss turns non-finite and at the end
    of each epoch (not after every step): either way the error names the
    parameter and the very step that broke it, mid-epoch (2), the last step
    of an epoch (4 batches of 8) or in a later epoch (7 = epoch 2, step 3)."""
    from tinyae.train import DivergenceError
    model = small_model(likelihood="mse")
    with pytest.raises(DivergenceError, match=rf"parameter 'decoder.0.W' became non-finite "
                                              rf".* at epoch {epoch}, step {step} "):
        fit(model, toy_data()[:32], optimizer=_PoisonAt(model.params, at), epochs=3,
            batch_size=8, rng=np.random.default_rng(0), progress=False)


def test_divergence_is_one_error_without_numpy_warnings_before_it():
    """Adam at lr=1e39 overflows a float32 model's parameters to inf in the
    first step; the next forward pass multiplies by them. fit reports that
    as one DivergenceError naming the parameter and step, with no NumPy
    RuntimeWarning ("invalid value encountered in matmul") printed first."""
    import warnings
    from tinyae.optim import Adam
    from tinyae.train import DivergenceError
    model = small_model(dtype=np.float32)
    x = np.random.default_rng(1).uniform(0.05, 0.95, size=(8, 6)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # any warning fails the test
        with pytest.raises(DivergenceError, match=r"parameter '.*' became non-finite .* "
                                                  r"epoch 1, step 1 .* lr=1e\+39"):
            fit(model, x, optimizer=Adam(model.params, lr=1e39), epochs=1, batch_size=4,
                rng=np.random.default_rng(0), progress=False)


def test_fit_validates_its_arguments():
    model = small_model()
    opt = SGD(model.params, lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, toy_data(), optimizer=opt, epochs=0, batch_size=8, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        fit(model, toy_data(), optimizer=opt, epochs=1, batch_size=8, rng=42)


# -- checkpoints ----------------------------------------------------------------

def test_checkpoint_round_trip(tmp_path):
    model = small_model(seed=1)
    path = checkpoint.save(model, tmp_path / "sub" / "model.npz")
    assert [p.name for p in path.parent.iterdir()] == ["model.npz"]   # no temp file left
    other = small_model(seed=2)
    W = other.params["encoder.0.W"]
    checkpoint.load(other, path)
    assert other.params["encoder.0.W"] is W                      # loaded in place
    for k, v in model.params.items():
        np.testing.assert_array_equal(other.params[k], v)


def test_checkpoint_mismatch_says_what_differs(tmp_path):
    path = checkpoint.save(small_model(), tmp_path / "m.npz")
    with pytest.raises(checkpoint.CheckpointError, match=r"encoder.0.W: shape \(6, 4\) in file, \(6, 5\)"):
        checkpoint.load(small_model(sizes=(6, 5, 2)), path)
    with pytest.raises(checkpoint.CheckpointError, match="dtype float64 in file, float32"):
        checkpoint.load(small_model(dtype=np.float32), path)
    with pytest.raises(checkpoint.CheckpointError, match="missing parameters"):
        checkpoint.load(small_model(sizes=(6, 4, 3, 2)), path)


def test_corrupted_checkpoint_is_a_clear_error(tmp_path):
    path = checkpoint.save(small_model(), tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match="truncated or corrupted"):
        checkpoint.load(small_model(), path)
    # A checkpoint never needs pickle: an object array is refused, not executed.
    evil = tmp_path / "evil.npz"
    np.savez(evil, **{"encoder.0.W": np.array([object()], dtype=object)})
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load(small_model(), evil)
    assert zipfile.is_zipfile(evil)


def test_failed_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    model = small_model()
    path = checkpoint.save(model, tmp_path / "m.npz")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_cosine_decay_schedule_drives_fit():
    from tinyae.optim import cosine_decay
    sched = cosine_decay(0.1, 4)
    np.testing.assert_allclose([sched(e) for e in (1, 2, 3, 4)],
                               [0.1, 0.05 * (1 + np.cos(np.pi / 4)), 0.05,
                                0.05 * (1 + np.cos(3 * np.pi / 4))])
    assert cosine_decay(0.1, 1, floor=0.5)(2) == 0.05           # the floor
    model = small_model()
    opt = SGD(model.params, lr=1.0)
    seen = []
    fit(model, toy_data(), optimizer=opt, epochs=3, batch_size=64, rng=np.random.default_rng(0),
        progress=False, lr_schedule=sched, callback=lambda e, h: seen.append(opt.lr))
    np.testing.assert_allclose(seen, [sched(1), sched(2), sched(3)])
    with pytest.raises(ValueError, match="epochs"):
        cosine_decay(0.1, 0)


def test_transform_applies_to_training_batches_only():
    """Dynamic binarisation (or any transform) draws new training data each
    batch; the validation set stays as given, so epochs are comparable."""
    x = toy_data()
    seen_rows = []

    def spy(xb, rng):
        seen_rows.append(xb.shape[0])
        return xb
    model = small_model(activation="tanh")
    hist = fit(model, x, optimizer=SGD(model.params, lr=0.01), epochs=2, batch_size=64,
               rng=np.random.default_rng(0), val=x[:10], transform=spy, progress=False)
    assert sum(seen_rows) == 2 * x.shape[0]                 # training rows only, no val rows
    assert hist["val_loss"][1] == pytest.approx(evaluate(model, x[:10])[0])
