"""Smoke test of ``python -m tinyae.bench`` on a few steps: the table's
structure, the FLOP bookkeeping and the PyTorch fallback. Never a timing
assertion (speed is the benchmark's business), and PyTorch is never imported:
``sys.modules["torch"] = None`` makes ``import torch`` fail here even on a
machine that has it."""

import json
import sys

import numpy as np
import pytest

from tinyae import bench


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)


def test_step_flops_by_hand():
    # ae: forward and weight gradient of 4 layers, input gradient of the last 3
    layers = bench.CONFIGS["ae"][1]
    fwd = 2 * 128 * (784 * 512 + 512 * 32 + 32 * 512 + 512 * 784)
    dx = 2 * 128 * (512 * 32 + 32 * 512 + 512 * 784)
    assert bench.step_flops(layers) == 2 * fwd + dx == 538_968_064
    assert len(bench.step_matmuls(layers)) == 4 + 4 + 3


def test_conv_step_flops_by_hand():
    """The book's CNN: im2col products of three convs (the first without an
    input gradient) and three transposed convs."""
    layers = bench.CONFIGS["conv"][1]
    macs = 0
    for i, (c_in, c_out, hw) in enumerate([(1, 16, 28), (16, 32, 14), (32, 64, 7)]):
        macs += (3 if i else 2) * c_out * c_in * 9 * 128 * hw * hw
    for c_in, c_out, hw in [(64, 32, 3), (32, 16, 7), (16, 1, 14)]:
        macs += 3 * c_in * c_out * 9 * 128 * hw * hw   # each input pixel stamps C_out k k
    assert bench.step_flops(layers) == 2 * macs
    assert len(bench.step_matmuls(layers)) == 2 + 5 * 3


def test_conv_layer_list_matches_the_model():
    """Each image layer's input size is what the model's layer receives."""
    model, step = bench.tinyae_step("conv", np.float32, np.random.default_rng(0))
    x = np.random.default_rng(1).random((2, 784)).astype(np.float32)
    h = model._images(x)
    sizes = []
    for layer in list(model.encoder.layers) + list(model.decoder.layers):
        if hasattr(layer, "params") and "W" in layer.params:
            sizes.append(h.shape[2:])
        h = layer.forward(h)
    assert sizes == [layer[4] for layer in bench.CONFIGS["conv"][1]]
    assert np.isfinite(step(x))


@pytest.mark.parametrize("name", bench.CONFIG_NAMES)
def test_config_layers_are_the_models_weights(name):
    """The FLOP count uses the shapes the library's model really has."""
    model, _ = bench.tinyae_step(name, np.float32, np.random.default_rng(0))
    weights = sorted(p.shape for k, p in model.params.items() if p.ndim >= 2)
    assert weights == sorted(bench.weight_shapes(bench.CONFIGS[name][1]))


@pytest.mark.usefixtures("no_torch")
def test_bench_table_and_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    result = bench.run(["--steps", "2", "--rounds", "1", "--warmup", "1", "--threads", "1",
                        "--configs", "ae,cae,vae,conv", "--dtypes", "float32,float64",
                        "--limit", "640", "--json", str(path)])
    out = capsys.readouterr().out
    rows = result["rows"]
    assert [(r["config"], r["dtype"]) for r in rows] == [
        (c, d) for d in ("float32", "float64") for c in ("ae", "cae", "vae", "conv")]
    for r in rows:
        assert r["tinyae_samples_per_s"] > 0 and r["step_ms"] > 0
        assert r["gflops"] == pytest.approx(
            bench.step_flops(bench.CONFIGS[r["config"]][1]) / r["step_ms"] / 1e6)
        assert r["blas_fraction"] == pytest.approx(r["blas_only_ms"] / r["step_ms"])
        assert r["torch_samples_per_s"] is None and r["speedup_vs_torch"] is None
        assert r["threads"] == 1
    assert result["torch"] is None and result["thread_pools_set"]["torch"] is False
    # the printed table: a header with every column, one line per row, the n/a note
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["config", "dtype"])
    for col, _, _ in bench.COLUMNS:
        assert col in lines[header]
    body = lines[header + 2:header + 2 + len(rows)]
    assert [line.split()[:2] for line in body] == [[r["config"], r["dtype"]] for r in rows]
    assert all(line.count(bench.TORCH_NA) == 4 for line in body)
    for r in rows:                      # one round: its ratio is the best-over-best one
        assert r["blas_fraction_rounds"] == pytest.approx([r["blas_fraction"]] * 2)
        assert r["speedup_vs_torch_rounds"] is None
    assert json.loads(path.read_text())["rows"] == json.loads(json.dumps(rows))


def test_no_torch_flag_says_so(capsys):
    result = bench.run(["--steps", "1", "--rounds", "1", "--warmup", "0", "--threads", "1",
                        "--configs", "sae", "--dtypes", "float32", "--limit", "256",
                        "--no-torch"])
    assert result["torch"] is None
    assert "n/a (--no-torch)" in capsys.readouterr().out


def test_split_rows_for_the_configs_whose_model_splits(capsys):
    """At two threads ``ae`` gets a row as written and a DataParallel row
    (split 2); ``sae`` (a batch-mean penalty) only the first; one thread and
    ``--no-split`` give no split row."""
    assert [n for n in bench.CONFIG_NAMES if bench.config_splits(n)] == [
        "ae", "dae", "vae", "conv", "mae"]
    common = ["--steps", "1", "--rounds", "1", "--warmup", "0", "--dtypes", "float32",
              "--limit", "256", "--no-torch", "--configs", "ae,sae"]
    rows = bench.run(common + ["--threads", "2,1"])["rows"]
    assert [(r["config"], r["threads"], r["workers"]) for r in rows] == [
        ("ae", 2, 1), ("ae", 2, 2), ("sae", 2, 1), ("ae", 1, 1), ("sae", 1, 1)]
    assert all(r["tinyae_samples_per_s"] > 0 for r in rows)
    assert "split over 2 workers" in capsys.readouterr().out
    rows = bench.run(common + ["--threads", "2", "--no-split"])["rows"]
    assert [r["workers"] for r in rows] == [1, 1]


@pytest.mark.parametrize("argv, message", [
    (["--configs", "ae,gan"], "'gan'"), (["--dtypes", "float16"], "'float16'"),
    (["--steps", "0"], "--steps"), (["--threads", "0"], "--threads"),
    (["--threads", "2,x"], "--threads"), (["--threads", ","], "--threads: expected N or a list"),
])
def test_bad_arguments_name_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.run(argv + ["--no-torch"])
    assert message in capsys.readouterr().err


def test_blas_only_step_runs_the_step_matmuls():
    """The BLAS-only reference multiplies exactly the shapes step_flops
    counts, with the step's layouts (x^T and W^T as transposed views)."""
    layers = bench.CONFIGS["vae"][1]
    run = bench.blas_only_step(layers, np.float32, np.random.default_rng(0), batch=4)
    shapes = [(a.shape[0], a.shape[1], b.shape[1]) for a, b in run.operands]
    assert shapes == bench.step_matmuls(layers, batch=4)
    transposed = [a.flags.f_contiguous and not a.flags.c_contiguous for a, _ in run.operands]
    assert sum(transposed) == len(layers)          # one x^T per layer (its dW)
    assert all(a.dtype == np.float32 for a, _ in run.operands)
    run()


def test_mae_config_counts_tokens_and_runs():
    """The MAE's dense layers act on batch x tokens rows (4 visible in the
    encoder, 16 in the decoder), and one step on MNIST rows runs (NCHW
    inside) and lowers the loss on a fixed batch after a few steps."""
    layers = bench.CONFIGS["mae"][1]
    assert bench.step_matmuls(layers)[0] == (128 * 16, 49, 64)       # patch embedding
    assert (128 * 4, 64, 192) in bench.step_matmuls(layers)         # encoder qkv
    assert (128 * 16, 32, 96) in bench.step_matmuls(layers)         # decoder qkv
    run = bench.blas_only_step(layers, np.float32, np.random.default_rng(0), batch=2)
    assert [(a.shape[0], a.shape[1], b.shape[1]) for a, b in run.operands] == \
        bench.step_matmuls(layers, batch=2)
    model, step = bench.tinyae_step("mae", np.float32, np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(0, 1, (8, 784)).astype(np.float32)
    assert np.isfinite(step(x))
    fixed = model.draw_mask(8, np.random.default_rng(2))
    before = model.loss(x.reshape(-1, 1, 28, 28), mask=fixed)
    for _ in range(5):
        step(x)
    assert model.loss(x.reshape(-1, 1, 28, 28), mask=fixed) < before


def test_torch_worker_protocol_times_the_parents_batches(monkeypatch):
    """The PyTorch child (run here in-process, with a recording stand-in for
    the PyTorch step) loads the same rows, steps through exactly the batches
    the parent names, and answers each round with its seconds."""
    import io
    seen = []
    monkeypatch.setattr(bench, "_torch_version", lambda: "stand-in")
    monkeypatch.setattr(bench, "torch_step",
                        lambda name, dtype, seed: (lambda xb: seen.append(xb.sum())))
    monkeypatch.setattr(bench, "set_threads", lambda n: None)
    requests = [{"config": "ae", "dtype": "float32", "threads": 1, "limit": 384, "seed": 0},
                {"start": 1, "count": 4}]
    stdout = io.StringIO()
    bench.torch_worker(io.StringIO("\n".join(json.dumps(r) for r in requests) + "\n"),
                       stdout)
    replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert replies[0] == {"torch": True, "version": "stand-in"}
    assert replies[1]["seconds"] > 0 and len(replies) == 2
    x = bench.load_mnist("train", dtype=np.float32)[0][:384]
    assert seen == [b.sum() for b in bench._batches(x, 1, 4)]     # batches 1, 2, 0, 1
    assert len({float(s) for s in seen}) == 3


def test_torch_worker_without_torch_says_so(no_torch):
    import io
    stdout = io.StringIO()
    bench.torch_worker(io.StringIO(json.dumps(
        {"config": "ae", "dtype": "float32", "threads": 1, "limit": None, "seed": 0}) + "\n"),
        stdout)
    assert json.loads(stdout.getvalue()) == {"torch": False}


@pytest.mark.skipif(bench._torch_available(), reason="PyTorch is installed here")
def test_torch_process_is_none_without_torch():
    """The real child process, started with this interpreter, reports that
    it has no PyTorch and the parent gets None (the n/a columns)."""
    assert bench.TorchProcess.start("ae", np.float32, threads=1, limit=256, seed=0) is None


def test_fit_epoch_time_counts_what_fit_adds_around_the_steps(monkeypatch):
    """fit_epoch_time splits one fit epoch into the time inside the model's
    loss_and_grad and the optimiser's step and the rest: a per-batch cost
    planted in fit's batching shows up in the difference, not inside; the
    timing wrappers are removed afterwards."""
    import time as _time

    from tinyae import train
    model, step = bench.tinyae_step("sae", np.float32, np.random.default_rng(0))
    x = bench.load_mnist("train", dtype=np.float32)[0][:512]
    row = bench.bench_config("sae", np.float32, x, steps=2, warmup=0, rounds=1, threads=1,
                             use_torch=False)
    assert 0 <= row["fit_overhead"] < 1.0              # no planted cost: small
    original = train.minibatches

    def slow_batches(*a, **k):
        for b in original(*a, **k):
            _time.sleep(0.05)                         # 4 batches: 0.2 s outside the steps
            yield b
    monkeypatch.setattr(train, "minibatches", slow_batches)
    epoch, inside = bench.fit_epoch_time(model, step.optimizer, x, np.random.default_rng(1))
    assert 0 < inside < epoch
    assert 0.2 <= epoch - inside < 0.2 + 0.5 * inside + 0.1
    assert "loss_and_grad" not in vars(model) and "step" not in vars(step.optimizer)


def test_torch_columns_from_the_child_times(monkeypatch):
    """The parent turns the child's round times into the torch columns:
    x torch = torch step / tinyae step, ceiling = torch step / BLAS-only."""
    class FakeChild:
        version = "stand-in"
        asked = []

        def time_steps(self, start, count):
            self.asked.append((start, count))
            return 0.5 * count                        # 0.5 s a step

        def close(self):
            self.closed = True
    child = FakeChild()
    monkeypatch.setattr(bench.TorchProcess, "start", classmethod(lambda cls, *a, **k: child))
    x = bench.load_mnist("train", dtype=np.float32)[0][:512]
    row = bench.bench_config("sae", np.float32, x, steps=2, warmup=1, rounds=2, threads=1)
    assert row["torch_samples_per_s"] == pytest.approx(bench.BATCH / 0.5)
    assert row["speedup_vs_torch"] == pytest.approx(0.5 / (row["step_ms"] / 1e3))
    assert row["speedup_ceiling"] == pytest.approx(0.5 / (row["blas_only_ms"] / 1e3))
    assert child.asked == [(0, 2), (2, 2), (4, 2)] and child.closed   # warm-up, two rounds
    assert row["torch_version"] == "stand-in"


def test_a_torch_worker_that_dies_is_an_error_not_a_hang():
    import subprocess
    proc = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)   # as start()
    proc.wait()
    with pytest.raises(RuntimeError, match=r"the PyTorch worker stopped \(exit code 0\)"):
        bench.TorchProcess(proc).time_steps(0, 1)


def test_mae_attention_products_by_hand():
    """Each attention layer adds batch x heads products of its six shapes
    (scores, A v; dA, dv, dq, dk) to the FLOPs, and the BLAS-only step
    runs them on operands laid out as the kernels lay them out."""
    layers = bench.CONFIGS["mae"][1]
    attn = bench.attention_matmuls(layers, batch=2)
    assert len(attn) == 12
    enc, dec = attn[:6], attn[6:]
    assert enc == [(8, 4, 16, 4), (8, 4, 4, 16), (8, 4, 16, 4)] + [(8, 4, 4, 16)] * 3
    assert dec == [(8, 16, 8, 16), (8, 16, 16, 8), (8, 16, 8, 16)] + [(8, 16, 16, 8)] * 3
    dense = sum(2 * m * k * n for m, k, n in bench.step_matmuls(layers, batch=2))
    by_hand = 2 * 2 * 4 * 6 * (4 * 16 * 4 + 16 * 8 * 16)     # 2 m k n, batch x heads, 6 each
    assert bench.step_flops(layers, batch=2) == dense + by_hand == dense + 221_184
    assert bench.weight_shapes(layers) == [layer[:2] for layer in layers if layer[0] != "attn"]
    # the docstring's "14 of 267 million" at the bench's batch of 128
    assert bench.step_flops(layers) == 266_731_520
    assert bench.step_flops(layers) - sum(2 * m * k * n for m, k, n in
                                          bench.step_matmuls(layers)) == 14_155_776

    run = bench.blas_only_step(layers, np.float64, np.random.default_rng(0), batch=2)
    qkv = np.zeros((2, 16, 96))
    want = qkv.reshape(2, 16, 3, 4, 8).transpose(2, 0, 3, 1, 4)[0]   # kernels' q of the decoder
    q, k, v, a, out, dout, ds, dq, dk, dv = run.batched[1]
    assert q.shape == k.shape == v.shape == dq.shape == out.shape == dout.shape == (2, 4, 16, 8)
    assert q.strides == k.strides == dq.strides == want.strides
    assert a.shape == ds.shape == (2, 4, 16, 16)
    assert out.strides == np.zeros((2, 16, 4, 8)).transpose(0, 2, 1, 3).strides
    run()


def test_blas_only_times_dense_and_attention_apart_and_adds_them(monkeypatch):
    """The BLAS-only time is the dense products' best loop time plus the
    attention products' best loop time, each timed on its own (run one
    after the other, the attention's operands come back from memory and
    the limit would be slower than what it bounds)."""
    import time as _time
    real = bench.blas_only_step

    def fake(layers, dtype, rng, batch=bench.BATCH):
        run = real(layers, dtype, rng, batch)
        calls = {"dense": 0, "attention": 0}

        def dense():
            calls["dense"] += 1
            _time.sleep(0.004)

        def attention():
            calls["attention"] += 1
            _time.sleep(0.002)
        run.dense, run.attention, run.calls = dense, attention, calls
        fake.run = run
        return run
    monkeypatch.setattr(bench, "blas_only_step", fake)
    x = bench.load_mnist("train", dtype=np.float32)[0][:512]
    row = bench.bench_config("mae", np.float32, x, steps=2, warmup=1, rounds=2, threads=1,
                             use_torch=False)
    assert fake.run.calls == {"dense": 4, "attention": 4}          # 2 rounds x 2 steps each
    assert 6.0 <= row["blas_only_ms"] < 6.0 + 2.5                   # 4 + 2 ms, not the max
    assert row["blas_fraction"] == pytest.approx(row["blas_only_ms"] / row["step_ms"])


def test_round_ranges_pair_the_times_of_one_round(monkeypatch):
    """``BLAS % rounds`` and ``x torch rounds`` divide times taken in the same
    round: with planted times the spread is [0.3, 0.4] and [50, 50], where
    pairing the extremes of different rounds would give [0.2, 0.6] and
    [25, 100]; the best-over-best columns stay as they were."""
    tinyae_s = [0.01, 0.02]                      # seconds a step, rounds 1 and 2
    blas_s = [(0.003, 0.001), (0.004, 0.002)]    # (dense, attention): 0.004, 0.006
    torch_s = [0.5, 1.0]
    planted = {"steps": iter([0.0] + tinyae_s), "blas": iter(p for pair in blas_s for p in pair)}

    def fake_time_steps(step, batches):
        n = len(batches)
        if isinstance(batches, range):           # a BLAS-only loop
            return next(planted["blas"]) * n
        return next(planted["steps"]) * n        # the warm-up, then one per round

    class FakeChild:
        version = "stand-in"
        rounds = iter([0.0] + torch_s)

        def time_steps(self, start, count):
            return next(self.rounds) * count

        def close(self):
            pass
    monkeypatch.setattr(bench, "_time_steps", fake_time_steps)
    monkeypatch.setattr(bench.TorchProcess, "start",
                        classmethod(lambda cls, *a, **k: FakeChild()))
    x = bench.load_mnist("train", dtype=np.float32)[0][:512]
    row = bench.bench_config("sae", np.float32, x, steps=2, warmup=1, rounds=2, threads=1)
    assert row["blas_fraction_rounds"] == pytest.approx([0.3, 0.4])
    assert row["speedup_vs_torch_rounds"] == pytest.approx([50.0, 50.0])
    assert row["blas_fraction"] == pytest.approx(0.004 / 0.01)
    assert row["speedup_vs_torch"] == pytest.approx(0.5 / 0.01)
    line = bench.format_table([row]).splitlines()[2]
    assert "30%-40%" in line and "50.00-50.00" in line
    with pytest.raises(ValueError, match="one time of each per round"):
        bench._ratio_range([1.0], [1.0, 2.0])
