"""Plumbing of ``python -m tinyae.bench --tsne`` on tiny sizes: the table,
the JSON, the flags, the scikit-learn child's protocol and the arguments it
would pass. Never a timing assertion, and scikit-learn is never imported:
``sys.modules["sklearn"] = None`` makes ``import sklearn`` fail here even on
a machine that has it, and the child's TSNE is a recording stand-in."""

import io
import json
import sys
import types

import numpy as np
import pytest

from tinyae import bench
from tinyae.bench import tsne as bench_tsne


@pytest.fixture
def no_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)


TINY = ["--sizes", "70,90", "--n-iter", "260", "--threads", "1"]


@pytest.mark.usefixtures("no_sklearn")
def test_tsne_table_and_json(tmp_path, capsys):
    path = tmp_path / "tsne.json"
    result = bench.run(["--tsne", *TINY, "--json", str(path)])      # through bench's flag
    out = capsys.readouterr().out
    rows = result["rows"]
    assert [(r["n"], r["threads"]) for r in rows] == [(70, 1), (90, 1)]
    for r in rows:
        assert r["tinyae_s"] > 0 and r["n_iter"] == 260 and r["theta"] == 0.5
        assert 0 < r["tinyae_kl"] < 5 and 0 < r["tinyae_kl_same"] < 5
        assert r["sklearn_s"] is None and r["speedup_vs_sklearn"] is None
    assert result["sklearn"] is None
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["n", "thr"])
    for col, _, _ in bench_tsne.COLUMNS:
        assert col in lines[header]
    body = lines[header + 2:header + 4]
    assert [line.split()[:2] for line in body] == [["70", "1"], ["90", "1"]]
    assert all(line.count("n/a") == 5 for line in body)
    assert bench_tsne.SKLEARN_NA in out
    assert json.loads(path.read_text())["rows"] == json.loads(json.dumps(rows))


def test_same_cost_is_the_exact_kl_of_the_sparse_p():
    """The common score: tinyae's sparse P, Z summed over every pair."""
    from tinyae.analysis.tsne import sparse_joint_probabilities
    x = bench_tsne.digits(80)
    y = np.random.default_rng(0).standard_normal((80, 2))
    indptr, indices, p, _ = sparse_joint_probabilities(x, bench_tsne.PERPLEXITY)
    dense = np.zeros((80, 80))
    dense[np.repeat(np.arange(80), np.diff(indptr)), indices] = p
    w = 1.0 / (1.0 + ((y[:, None] - y[None]) ** 2).sum(-1))
    np.fill_diagonal(w, 0.0)
    q = w / w.sum()
    on = dense > 0
    kl = np.sum(dense[on] * np.log(dense[on] / q[on]))
    assert bench_tsne.same_cost(x, [y])[0] == pytest.approx(kl, rel=1e-12)


def test_sklearn_columns_from_the_childs_fits(monkeypatch):
    """The parent turns the child's answers into the columns: x sklearn =
    its seconds over tinyae's, KL +% from both embeddings' same cost."""
    class FakeChild:
        version = "stand-in"
        asked = []

        def fit(self, x, *, n_iter, theta):
            self.asked.append((x.shape, n_iter, theta))
            return 4.0, 0.5, n_iter, np.random.default_rng(1).standard_normal((len(x), 2))
    row = bench_tsne.bench_size(70, 1, n_iter=260, theta=0.5, rounds=2, worker=FakeChild())
    assert FakeChild.asked == [((70, 50), 260, 0.5)] * 2
    assert row["sklearn_s"] == 4.0 and row["speedup_vs_sklearn"] == 4.0 / row["tinyae_s"]
    assert row["sklearn_kl"] == 0.5 and row["sklearn_n_iter"] == 260
    assert row["kl_same_gap"] == pytest.approx(row["sklearn_kl_same"] / row["tinyae_kl_same"] - 1)
    assert row["sklearn_kl_same"] != row["tinyae_kl_same"]         # each embedding scored


def test_sklearn_worker_protocol_and_arguments(monkeypatch, tmp_path):
    """The child (run here in-process, with a stand-in scikit-learn) loads
    the parent's array, builds TSNE with the benchmark's schedule, and
    answers with its seconds, KL and steps; the embedding goes to a file."""
    made = []

    class StandIn:
        def __init__(self, n_components=2, *, perplexity=30.0, early_exaggeration=12.0,
                     learning_rate="auto", max_iter=1000, n_iter_without_progress=300,
                     min_grad_norm=1e-7, init="pca", method="barnes_hut", angle=0.5,
                     n_jobs=None, random_state=None):
            made.append(dict(locals()))

        def fit_transform(self, x):
            self.kl_divergence_, self.n_iter_ = 0.75, made[-1]["max_iter"] - 1
            return x[:, :2].astype(np.float32)
    fake = types.ModuleType("sklearn")
    fake.__version__ = "0.stand-in"
    manifold = types.ModuleType("sklearn.manifold")
    manifold.TSNE = StandIn
    monkeypatch.setitem(sys.modules, "sklearn", fake)
    monkeypatch.setitem(sys.modules, "sklearn.manifold", manifold)
    x = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "x.npy", x)
    requests = [{"threads": 2}, {"data": str(tmp_path / "x.npy"), "out": str(tmp_path / "y.npy"),
                                 "n_iter": 400, "theta": 0.3, "perplexity": 5.0}]
    stdout = io.StringIO()
    bench_tsne.sklearn_worker(io.StringIO("\n".join(json.dumps(r) for r in requests) + "\n"),
                              stdout)
    replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert replies[0] == {"sklearn": "0.stand-in"}
    assert replies[1]["kl"] == 0.75 and replies[1]["n_iter"] == 399 and replies[1]["seconds"] >= 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x[:, :2])
    kw = made[0]
    assert (kw["perplexity"], kw["max_iter"], kw["angle"], kw["n_jobs"]) == (5.0, 400, 0.3, 2)
    assert (kw["early_exaggeration"], kw["learning_rate"], kw["init"], kw["method"]) == \
        (12.0, "auto", "pca", "barnes_hut")
    assert kw["min_grad_norm"] == 0.0 and kw["n_iter_without_progress"] == 400
    # before scikit-learn 1.5 the steps were called n_iter
    assert bench_tsne.sklearn_arguments(400, 0.5, 30.0, 1, {"n_iter": None})["n_iter"] == 400


def test_sklearn_worker_without_sklearn_says_so(no_sklearn):
    stdout = io.StringIO()
    bench_tsne.sklearn_worker(io.StringIO(json.dumps({"threads": 1}) + "\n"), stdout)
    assert json.loads(stdout.getvalue()) == {"sklearn": False}


@pytest.mark.skipif(bench_tsne._sklearn_available(), reason="scikit-learn is installed here")
def test_sklearn_process_is_none_without_sklearn():
    """The real child, started with this interpreter, reports that it has
    no scikit-learn and the parent gets None (the n/a columns)."""
    assert bench_tsne.SklearnProcess.start(1) is None


def test_no_sklearn_flag_says_so(capsys):
    result = bench_tsne.run(["--sizes", "70", "--n-iter", "251", "--threads", "1",
                             "--no-sklearn"])
    assert result["sklearn"] is None and "n/a (--no-sklearn)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "50"], "--sizes"), (["--sizes", "20000"], "--sizes"),
    (["--n-iter", "250"], "--n-iter: expected more than 250"),
    (["--theta", "1.5"], "--theta: expected a number in [0, 1]"),
    (["--threads", "0"], "--threads"),
])
def test_bad_tsne_arguments_name_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.run(["--tsne", *argv, "--no-sklearn"])
    assert message in capsys.readouterr().err
