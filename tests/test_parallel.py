"""tinyae.parallel.DataParallel: a step split over worker threads equals the
step on the whole batch, and tinyae.threads.blas_threads."""

import numpy as np
import pytest

from tinyae import threads
from tinyae.corruption import GaussianNoise
from tinyae.models import (MAE, VAE, ConditionalVAE, ContractiveAutoencoder, ConvAutoencoder,
                           ConvVAE, MLPAutoencoder, SparseAutoencoder, StackedAutoencoder)
from tinyae.models.conv import PML_BOOK_CNN
from tinyae.optim import Adam
from tinyae.parallel import DataParallel, _shares
from tinyae.train import fit

#: float64, two runs of the same sums in another order: a few ulps of the
#: largest entry. A wrong weighting of uneven slices is off by far more
#: (``test_the_unweighted_mean_of_uneven_slices_fails_the_check``).
TOL = 1e-12

SMALL_CNN = {
    "encoder": [("conv", 4, 3, {"padding": 1}), "relu", ("maxpool", 2),
                ("conv", 6, 3, {"padding": 1}), "relu", ("maxpool", 2)],
    "decoder": [("convT", 4, 3, {"stride": 2, "padding": 1, "output_padding": 1}), "relu",
                ("convT", 1, 3, {"stride": 2, "padding": 1, "output_padding": 1})],
}


def _models(rng):
    return {
        "conv": (ConvAutoencoder(**SMALL_CNN, input_shape=(1, 12, 12), rng=rng),
                 lambda n: rng.uniform(0.05, 0.95, (n, 1, 12, 12))),
        "mlp": (MLPAutoencoder(sizes=(20, 9, 3), rng=rng),
                lambda n: rng.uniform(0.05, 0.95, (n, 20))),
    }


def _rel(a, b):
    """max |a - b| / max |b|, with a floor for an all-zero b."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _worst(grads, ref):
    assert grads.keys() == ref.keys()
    return max(_rel(grads[k], ref[k]) for k in ref)


def _whole(model, x, **kw):
    loss, grads = model.loss_and_grad(x, **kw)
    return loss, {k: g.copy() for k, g in grads.items()}, dict(model.last_stats)


@pytest.mark.parametrize("kind", ["conv", "mlp"])
@pytest.mark.parametrize("n, workers", [(1, 2), (2, 2), (5, 2), (7, 3), (4, 4), (3, 5)])
def test_split_step_equals_the_whole_batch(kind, n, workers, rng, each_backend):
    model, data = _models(rng)[kind]
    x = data(n)
    loss, ref, stats = _whole(model, x)
    dp = DataParallel(model, workers=workers)
    got, grads = dp.loss_and_grad(x, rng=rng)
    assert abs(got - loss) <= TOL * abs(loss)
    assert _worst(grads, ref) <= TOL
    assert _worst(model.grads, ref) <= TOL       # the model's own arrays hold it
    assert dp.last_stats.keys() == stats.keys() == model.last_stats.keys()
    for k in stats:
        assert abs(dp.last_stats[k] - stats[k]) <= TOL * abs(stats[k])
        assert model.last_stats[k] == dp.last_stats[k]


def test_the_unweighted_mean_of_uneven_slices_fails_the_check(rng):
    """5 rows over 2 workers are slices of 3 and 2: their gradients averaged
    with equal weights instead of 3/5 and 2/5 must miss TOL by far."""
    model, data = _models(rng)["conv"]
    x = data(5)
    _, ref, _ = _whole(model, x)
    _, g0, _ = _whole(model, x[:3])
    _, g1, _ = _whole(model, x[3:])
    unweighted = {k: 0.5 * (g0[k] + g1[k]) for k in ref}
    weighted = {k: 0.6 * g0[k] + 0.4 * g1[k] for k in ref}
    assert _worst(weighted, ref) <= TOL
    assert _worst(unweighted, ref) > 1e3 * TOL


def test_shares_are_as_even_as_can_be():
    assert _shares(10, 3) == [4, 3, 3]
    assert _shares(128, 2) == [64, 64]
    assert _shares(1, 3) == [1, 0, 0]
    assert sum(_shares(1001, 7)) == 1001


def test_an_optimiser_step_reaches_the_replicas(rng):
    """The replicas share the model's parameter arrays: after Adam's
    in-place step the next split step sees the new weights."""
    model, data = _models(rng)["conv"]
    x = data(6)
    dp = DataParallel(model, workers=2)
    opt = Adam(model.params, lr=0.05)
    for _ in range(2):
        _, grads = dp.loss_and_grad(x)
        opt.step(grads)
    loss, ref, _ = _whole(model, x)
    got, grads = dp.loss_and_grad(x)
    assert abs(got - loss) <= TOL * abs(loss)
    assert _worst(grads, ref) <= TOL


def test_a_replaced_parameter_array_rebuilds_the_replicas(rng):
    model, data = _models(rng)["mlp"]
    x = data(4)
    dp = DataParallel(model, workers=2)
    dp.loss_and_grad(x)
    layer = model.decoder.layers[0]
    layer.params["W"] = layer.params["W"] * 1.5             # a new array, not in place
    layer._grads["W"] = np.zeros_like(layer.params["W"])
    loss, ref, _ = _whole(model, x)
    got, grads = dp.loss_and_grad(x)
    assert abs(got - loss) <= TOL * abs(loss)
    assert _worst(grads, ref) <= TOL


def test_noise_and_target_are_sliced_with_the_batch(rng):
    model = MLPAutoencoder(sizes=(12, 5, 3), corruption=GaussianNoise(0.4), rng=rng)
    x = rng.uniform(0.05, 0.95, (7, 12))
    target = rng.uniform(0.05, 0.95, (7, 12))
    noise = model.corruption.sample(x, rng)
    loss, ref, _ = _whole(model, x, noise=noise, target=target)
    dp = DataParallel(model, workers=2)
    got, grads = dp.loss_and_grad(x, noise=noise, target=target)
    assert abs(got - loss) <= TOL * abs(loss)
    assert _worst(grads, ref) <= TOL
    with pytest.raises(ValueError, match=r"pass rng .* or noise="):
        dp.loss_and_grad(x)                          # neither noise nor rng


CONV_VAE = {"encoder": [("conv", 2, 3, {"stride": 2, "padding": 1}), "tanh",
                        ("avgpool", 3, {"stride": 2, "padding": 1})],
            "decoder": [("linear", 2 * 3 * 3), "tanh", ("reshape", 2, 3, 3),
                        ("convT", 1, 4, {"stride": 2, "padding": 1})]}


@pytest.mark.parametrize("kind", ["dae", "conv_dae", "mae", "vae", "cvae", "conv_vae"])
def test_draws_are_made_for_the_whole_batch_then_sliced(kind, rng):
    """A model that draws (noise, a VAE's eps, the MAE's mask) gets the
    whole batch's draws, as its unsplit call draws them: the same loss and
    gradient from the same seed, and the generator left in the same state."""
    data = ()
    if kind == "mae":
        model = MAE(rng=rng)
        x = rng.uniform(0, 1, (5, 1, 28, 28))
    elif kind == "vae":
        model = VAE(sizes=(12, 7, 3), rng=rng)
        x = rng.uniform(0.05, 0.95, (5, 12))
    elif kind == "cvae":
        model = ConditionalVAE(sizes=(12, 7, 3), n_cond=4, rng=rng)
        x = rng.uniform(0.05, 0.95, (5, 12))
        data = (np.eye(4)[rng.integers(0, 4, 5)],)              # c, sliced with x
    elif kind == "conv_vae":
        model = ConvVAE(**CONV_VAE, n_code=2, input_shape=(1, 6, 6), rng=rng)
        x = rng.uniform(0.05, 0.95, (5, 1, 6, 6))
    elif kind == "dae":
        model = MLPAutoencoder(sizes=(12, 5, 3), corruption=GaussianNoise(0.4), rng=rng)
        x = rng.uniform(0.05, 0.95, (5, 12))
    else:
        model = ConvAutoencoder(**SMALL_CNN, input_shape=(1, 12, 12),
                                corruption=GaussianNoise(0.3), rng=rng)
        x = rng.uniform(0.05, 0.95, (5, 144))                # flat rows, as fit passes
    seed_a, seed_b = np.random.default_rng(7), np.random.default_rng(7)
    loss, grads = model.loss_and_grad(x, *data, rng=seed_a)
    ref, stats = {k: g.copy() for k, g in grads.items()}, dict(model.last_stats)
    dp = DataParallel(model, workers=2)
    got, grads = dp.loss_and_grad(x, *data, rng=seed_b)
    assert abs(got - loss) <= TOL * abs(loss)
    assert _worst(grads, ref) <= TOL
    assert all(abs(dp.last_stats[k] - stats[k]) <= TOL * abs(stats[k]) for k in stats)
    assert seed_a.random() == seed_b.random()                # as many draws
    other, _ = dp.loss_and_grad(x, *data, rng=np.random.default_rng(8))
    assert abs(other - loss) > 1e3 * TOL * abs(loss)         # the draws matter
    with pytest.raises(ValueError, match=f"{type(model).__name__}'s batch: .*pass rng"):
        dp.loss_and_grad(x, *data)


@pytest.mark.parametrize("make, reason", [
    (lambda rng: SparseAutoencoder(sizes=(8, 4), rng=rng), "SparseAutoencoder has not"),
    (lambda rng: StackedAutoencoder(sizes=(8, 5, 3), rng=rng), "StackedAutoencoder has not"),
    (lambda rng: ContractiveAutoencoder(sizes=(8, 4), lam=0.1, rng=rng),
     "ContractiveAutoencoder has"),
])
def test_models_whose_step_does_not_split_are_refused(make, reason, rng):
    with pytest.raises(ValueError, match=f"cannot split .*{reason}"):
        DataParallel(make(rng))


def test_not_a_model_is_refused():
    with pytest.raises(ValueError, match="not a tinyae model"):
        DataParallel(object())


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2", None])
def test_workers_must_be_a_positive_int(workers, rng):
    model, _ = _models(rng)["mlp"]
    with pytest.raises(ValueError, match=f"workers must be a positive integer, got {workers!r}"):
        DataParallel(model, workers=workers)


def test_a_workers_error_is_raised_and_blas_threads_restored(rng):
    """A bad row in the second slice only: the replica's error reaches the
    caller, and OpenBLAS has its thread count back."""
    model, data = _models(rng)["mlp"]
    x = data(6)
    x[5, 0] = 1.5                                   # outside [0, 1]: not a bernoulli target
    before = threads.blas_thread_count()
    dp = DataParallel(model, workers=2)
    with pytest.raises(ValueError, match="x"):
        dp.loss_and_grad(x)
    assert threads.blas_thread_count() == before


def test_an_empty_batch_and_one_worker_are_the_models_own_call(rng):
    model, data = _models(rng)["mlp"]
    x = data(5)
    loss, ref, _ = _whole(model, x)
    got, grads = DataParallel(model, workers=1).loss_and_grad(x)
    assert got == loss and all(np.array_equal(grads[k], ref[k]) for k in ref)


def test_everything_else_is_the_models(rng):
    model, data = _models(rng)["conv"]
    dp = DataParallel(model, workers=2)
    x = data(3)
    assert dp.params.keys() == model.params.keys()
    assert all(dp.params[k] is model.params[k] for k in model.params)
    assert np.array_equal(dp.reconstruct(x), model.reconstruct(x))
    assert dp.n_params == model.n_params
    assert "workers=2" in repr(dp)
    with pytest.raises(TypeError, match="needs the batch"):
        dp.loss_and_grad()
    dp.close()
    dp.loss_and_grad(x)                              # a closed pool starts again


def test_fit_with_a_split_step_trains_as_the_whole_batch(rng):
    """Two epochs of fit, the same seed: the histories and the weights agree
    (Adam's steps amplify nothing at this size: 1e-10)."""
    x = np.random.default_rng(1).uniform(0.05, 0.95, (40, 1, 12, 12))
    out = []
    for wrap, lr in ((False, 1e-2), (True, 1e-2), (False, 1.0001e-2)):
        model = ConvAutoencoder(**SMALL_CNN, input_shape=(1, 12, 12),
                                rng=np.random.default_rng(2))
        opt = Adam(model.params, lr=lr)
        trainee = DataParallel(model, workers=2) if wrap else model
        hist = fit(trainee, x, optimizer=opt, epochs=2, batch_size=16,
                   rng=np.random.default_rng(3), progress=False)
        out.append((hist, {k: v.copy() for k, v in model.params.items()}))
    (h0, p0), (h1, p1), (h_near, p_near) = out
    # near miss: a step size 1e-4 off is far outside the tolerances below
    assert not np.allclose(h_near["loss"], h0["loss"], rtol=1e-10, atol=0)
    assert _worst(p_near, p0) > 1e-10
    assert np.allclose(h1["loss"], h0["loss"], rtol=1e-10, atol=0)
    assert np.allclose(h1["recon"], h0["recon"], rtol=1e-10, atol=0)
    assert _worst(p1, p0) <= 1e-10
    assert h1["loss"][1] < h1["loss"][0]             # it trained


def test_the_books_cnn_in_float32_splits_within_float32_rounding(rng):
    """The bench's model and dtype: slices of 64 and 64 against the batch of
    128, within a few float32 ulps (a slice missing would be off by far more)."""
    model = ConvAutoencoder(**PML_BOOK_CNN, rng=rng, dtype=np.float32)
    x = rng.uniform(0, 1, (128, 1, 28, 28)).astype(np.float32)
    loss, ref, _ = _whole(model, x)
    got, grads = DataParallel(model, workers=2).loss_and_grad(x)
    assert abs(got - loss) <= 1e-5 * abs(loss)
    assert _worst(grads, ref) <= 1e-4
    _, half, _ = _whole(model, x[:64])
    assert _worst({k: 0.5 * half[k] for k in ref}, ref) > 0.1


def test_blas_threads_sets_and_restores():
    before = threads.blas_thread_count()
    assert before is not None and before >= 1
    with threads.blas_threads(1):
        assert threads.blas_thread_count() == 1
    assert threads.blas_thread_count() == before
    with pytest.raises(RuntimeError):
        with threads.blas_threads(1):
            raise RuntimeError("inside")
    assert threads.blas_thread_count() == before
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match=f"n must be a positive integer.*{bad!r}"):
            with threads.blas_threads(bad):
                pass


def test_the_column_gradient_pieces_follow_blas_threads_not_numbas():
    """``_same_dx`` sizes its pieces by the threads a product splits over: one
    inside a worker's ``blas_threads(1)``, even with Numba's pool at two."""
    import numba

    from tinyae.kernels import conv as kconv
    before = threads.blas_thread_count(), numba.get_num_threads()
    threads.set_threads(2)
    try:
        assert kconv._product_threads() == 2
        with threads.blas_threads(1):
            assert numba.get_num_threads() == 2
            assert kconv._product_threads() == 1
    finally:
        threads._set_blas(before[0])
        numba.set_num_threads(before[1])


def test_a_split_run_checkpoints_and_resumes_bit_for_bit(tmp_path):
    """fit's checkpoint of a DataParallel run holds the model's arrays; two
    epochs, then a resume to three, give the parameters of three in one go."""
    x = np.random.default_rng(1).uniform(0.05, 0.95, (40, 1, 12, 12))

    def run(epochs, path, resume=False, seed=2):
        model = ConvAutoencoder(**SMALL_CNN, input_shape=(1, 12, 12),
                                rng=np.random.default_rng(seed))
        opt = Adam(model.params, lr=1e-2)
        hist = fit(DataParallel(model, workers=2), x, optimizer=opt, epochs=epochs,
                   batch_size=16, rng=np.random.default_rng(3), progress=False,
                   checkpoint=path, resume=resume)
        return hist, model.params
    straight, p_straight = run(3, tmp_path / "a.npz")
    run(2, tmp_path / "b.npz")
    resumed, p_resumed = run(3, tmp_path / "b.npz", resume=True, seed=9)   # weights loaded
    assert resumed["loss"] == straight["loss"]
    assert all(np.array_equal(p_resumed[k], p_straight[k]) for k in p_straight)
