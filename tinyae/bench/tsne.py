"""t-SNE benchmark: tinyae's Barnes-Hut t-SNE against scikit-learn's.

    python -m tinyae.bench --tsne                          # n = 2,000, 5,000, 10,000
    python -m tinyae.bench --tsne --sizes 2000 --threads 1 --json tsne.json
    tinyae bench --tsne ...

Data: the first n MNIST test images projected on their 50 principal
components (tinyae's PCA): one float64 array, which scikit-learn receives
through a ``.npy`` file.

Both libraries run the same schedule: perplexity 30, ``--n-iter`` steps
(1,000) of which the first 250 with P multiplied by 12 and momentum 0.5
(scikit-learn's exploration phase, fixed at 250), then momentum 0.8; the
learning rate "auto" (n / 12 / 4, at least 50) and the initialisation
(PCA, scaled so the first component has standard deviation 1e-4) are the
same in both; theta 0.5 (scikit-learn's ``angle``). scikit-learn's early
stops are switched off (``min_grad_norm=0``, ``n_iter_without_progress``
= the steps), so both take every step; its ``n_iter_`` is reported.
Differences that remain, by design of each library:

* neighbours per point: floor(3 perplexity) = 90 in tinyae (the paper),
  int(3 perplexity + 1) = 91 in scikit-learn;
* the size of a cell in the theta criterion: its diagonal in tinyae (the
  paper), its side in scikit-learn, which at the same theta therefore opens
  fewer cells (it matches tinyae at theta x sqrt(2));
* scikit-learn computes the Barnes-Hut gradient in float32, tinyae in
  float64.

Columns, one row per (n, threads):

* ``tinyae s``: wall time of ``TSNE(method="barnes_hut").fit_transform(x)``
  (neighbours, affinities, initialisation, every step), the best of
  ``--rounds``; ``sklearn s``: the same for ``sklearn.manifold.TSNE`` in a
  process of its own; ``x sklearn``: their ratio (above 1: tinyae faster);
* ``KL tinyae``, ``KL sklearn``: each library's own final KL (of its
  sparse P, with Z estimated by its own tree);
* ``same-cost``: both final embeddings scored by one cost, KL(P || Q) with
  tinyae's sparse P and Z computed exactly (the Barnes-Hut cost at theta 0,
  O(n^2), once per embedding), and ``KL +%``: scikit-learn's over tinyae's
  minus 1 (positive: tinyae's embedding is the better one).

Threads: ``--threads N`` (default: every core) sets tinyae's OpenBLAS and
Numba pools (``tinyae.threads``) and, for scikit-learn's child,
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``n_jobs``; ``--threads
2,1`` gives a block of rows per count. The two never run at once: the parent
waits while the child fits.

Reproducing the scikit-learn columns. scikit-learn is never a dependency of
tinyae: only the child process (``python -m tinyae.bench.tsne
--sklearn-worker``, the same interpreter) imports it. Install it in a
separate environment:

    python3 -m venv .sklearnvenv
    .sklearnvenv/bin/pip install scikit-learn numpy scipy numba tqdm matplotlib
    .sklearnvenv/bin/pip install -e . --no-deps
    .sklearnvenv/bin/python -m tinyae.bench --tsne --json tsne.json

Without it the scikit-learn columns say ``n/a``, and the line under the
table why: ``n/a (scikit-learn not installed)`` or ``n/a (--no-sklearn)``.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

from .. import threads
from .._validation import arg_positive_int
from .kit import ChildProcess, check_json_path, finish, format_rows, thread_counts
from ..analysis.tsne import TSNE, sparse_joint_probabilities
from ..backend import ops
from ..data import load_mnist
from ..models import PCA

PERPLEXITY = 30.0
EXAGGERATION, EXAGGERATION_ITER = 12.0, 250       # scikit-learn's, fixed
DIMENSIONS = 50
MNIST_TEST_ROWS = 10_000
SKLEARN_NA = "n/a (scikit-learn not installed)"
#: seconds of idleness between the two libraries' runs (OpenBLAS's threads
#: spin for about 0.1 s after their last product: ``bench.QUIET_S``)
QUIET_S = 0.3


def digits(n):
    """The first n MNIST test images in their 50 principal components: (n, 50) float64."""
    x = load_mnist("test")[0][:n].astype(np.float64)
    return PCA(min(DIMENSIONS, n)).fit(x).transform(x)


def tinyae_tsne(x, *, n_iter, theta, perplexity=PERPLEXITY):
    """(seconds, own final KL, embedding) of tinyae's Barnes-Hut t-SNE on x."""
    tsne = TSNE(perplexity=perplexity, n_iter=n_iter, exaggeration=EXAGGERATION,
                exaggeration_iter=EXAGGERATION_ITER, method="barnes_hut", theta=theta,
                cost_every=n_iter)
    start = time.perf_counter()
    y = tsne.fit_transform(x)
    return time.perf_counter() - start, tsne.kl_divergence_, y


def same_cost(x, embeddings, perplexity=PERPLEXITY):
    """KL(P || Q) of each embedding with tinyae's sparse P of x and Z exact."""
    indptr, indices, p, _ = sparse_joint_probabilities(x, perplexity)
    return [ops.tsne_bh_kl_grad(y, indptr, indices, p, 0.0)[0] for y in embeddings]


# --------------------------------------------------------------------------
# scikit-learn, in a process of its own
# --------------------------------------------------------------------------

def _sklearn_available():
    """Whether ``import sklearn`` would find scikit-learn, without importing it."""
    if "sklearn" in sys.modules:
        return sys.modules["sklearn"] is not None
    from importlib.util import find_spec
    return find_spec("sklearn") is not None


class SklearnProcess(ChildProcess):
    """scikit-learn's t-SNE in a child (``python -m tinyae.bench.tsne
    --sklearn-worker``) with its thread count set in its environment before
    NumPy loads; one JSON line each way per fit. ``start()`` returns None
    when the child cannot import scikit-learn."""

    NAME = "scikit-learn"

    @classmethod
    def start(cls, n_threads):
        env = dict(os.environ, **{v: str(n_threads) for v in
                                  ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
        worker = cls.spawn(["tinyae.bench.tsne", "--sklearn-worker"], env=env)
        ready = worker._ask({"threads": n_threads})
        if not ready.get("sklearn"):
            worker.close()
            return None
        worker.version = ready["sklearn"]
        return worker

    def fit(self, x, *, n_iter, theta, perplexity=PERPLEXITY):
        """(seconds, own final KL, steps taken, embedding) of scikit-learn on x."""
        with tempfile.TemporaryDirectory() as folder:
            data, out = os.path.join(folder, "x.npy"), os.path.join(folder, "y.npy")
            np.save(data, x)
            time.sleep(QUIET_S)
            answer = self._ask({"data": data, "out": out, "n_iter": n_iter, "theta": theta,
                                "perplexity": perplexity})
            time.sleep(QUIET_S)
            return answer["seconds"], answer["kl"], answer["n_iter"], np.load(out)


def sklearn_arguments(n_iter, theta, perplexity, n_threads, parameters):
    """scikit-learn's TSNE keyword arguments for this schedule; ``parameters``:
    the names its constructor takes (``max_iter`` since 1.5, ``n_iter`` before)."""
    kw = dict(n_components=2, perplexity=perplexity, early_exaggeration=EXAGGERATION,
              learning_rate="auto", init="pca", method="barnes_hut", angle=theta,
              n_jobs=n_threads, min_grad_norm=0.0, n_iter_without_progress=n_iter,
              random_state=0)
    kw["max_iter" if "max_iter" in parameters else "n_iter"] = n_iter
    return kw


def sklearn_worker(stdin=None, stdout=None):
    """The child side of ``SklearnProcess``: a setup line ``{"threads"}``
    answered by ``{"sklearn": version or false}``, then one line per fit."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout

    def say(obj):
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()
    n_threads = json.loads(stdin.readline())["threads"]
    try:
        import inspect

        import sklearn
        from sklearn.manifold import TSNE as SklearnTSNE
    except ImportError:
        return say({"sklearn": False})
    say({"sklearn": sklearn.__version__})
    parameters = inspect.signature(SklearnTSNE).parameters
    for line in stdin:
        req = json.loads(line)
        x = np.load(req["data"])
        tsne = SklearnTSNE(**sklearn_arguments(req["n_iter"], req["theta"], req["perplexity"],
                                               n_threads, parameters))
        start = time.perf_counter()
        y = tsne.fit_transform(x)
        seconds = time.perf_counter() - start
        np.save(req["out"], np.asarray(y, dtype=np.float64))
        say({"seconds": seconds, "kl": float(tsne.kl_divergence_),
             "n_iter": int(getattr(tsne, "n_iter_", req["n_iter"]))})


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

def bench_size(n, n_threads, *, n_iter, theta, rounds, worker):
    """One row: tinyae (and scikit-learn when ``worker``) on the first n digits."""
    x = digits(n)
    row = {"n": n, "threads": n_threads, "n_iter": n_iter, "theta": theta,
           "sklearn_s": None, "sklearn_kl": None, "sklearn_kl_same": None,
           "sklearn_n_iter": None, "speedup_vs_sklearn": None, "kl_same_gap": None}
    best, best_sk = np.inf, np.inf
    for _ in range(rounds):                    # alternating, so a burst of load hits both
        seconds, kl, y = tinyae_tsne(x, n_iter=n_iter, theta=theta)
        if seconds < best:
            best, row["tinyae_kl"], y_tinyae = seconds, kl, y
        if worker is not None:
            seconds, kl, steps, y = worker.fit(x, n_iter=n_iter, theta=theta)
            if seconds < best_sk:
                best_sk, row["sklearn_kl"], row["sklearn_n_iter"], y_sklearn = seconds, kl, steps, y
    row["tinyae_s"] = best
    if worker is None:
        row["tinyae_kl_same"], = same_cost(x, [y_tinyae])
        return row
    row["tinyae_kl_same"], row["sklearn_kl_same"] = same_cost(x, [y_tinyae, y_sklearn])
    row["sklearn_s"] = best_sk
    row["speedup_vs_sklearn"] = best_sk / best
    row["kl_same_gap"] = row["sklearn_kl_same"] / row["tinyae_kl_same"] - 1
    return row


COLUMNS = [("n", "n", "{}"), ("thr", "threads", "{}"), ("tinyae s", "tinyae_s", "{:.2f}"),
           ("sklearn s", "sklearn_s", "{:.2f}"), ("x sklearn", "speedup_vs_sklearn", "{:.2f}"),
           ("KL tinyae", "tinyae_kl", "{:.4f}"), ("KL sklearn", "sklearn_kl", "{:.4f}"),
           ("same-cost tinyae", "tinyae_kl_same", "{:.4f}"),
           ("same-cost sklearn", "sklearn_kl_same", "{:.4f}"), ("KL +%", "kl_same_gap", "{:+.2%}")]


def _sizes(text):
    sizes = [arg_positive_int(s) for s in text.split(",") if s.strip()]
    bad = [n for n in sizes if not 2 * PERPLEXITY + 2 <= n <= MNIST_TEST_ROWS]
    if not sizes or bad:
        raise argparse.ArgumentTypeError(
            f"expected sizes in [{int(2 * PERPLEXITY + 2)}, {MNIST_TEST_ROWS}] (the MNIST "
            f"test images; perplexity {PERPLEXITY:g} needs n > 2 x 31), got {text!r}")
    return sizes


def _parse(argv, prog):
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tsne", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--sklearn-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--sizes", type=_sizes, default=[2000, 5000, 10_000],
                   help="comma-separated numbers of digits (default 2000,5000,10000)")
    p.add_argument("--threads", default=str(os.cpu_count() or 1),
                   help="threads for both libraries, or a list such as 2,1 (default: all cores)")
    p.add_argument("--n-iter", type=arg_positive_int, default=1000,
                   help=f"gradient steps, more than {EXAGGERATION_ITER} (default 1000)")
    p.add_argument("--theta", type=float, default=0.5, help="theta, in [0, 1] (default 0.5)")
    p.add_argument("--rounds", type=arg_positive_int, default=1,
                   help="fits per library and size; the fastest is kept (default 1)")
    p.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn columns")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON")
    args = p.parse_args(argv)
    if args.sklearn_worker:
        return args
    args.threads = thread_counts(p, args.threads)
    if args.n_iter <= EXAGGERATION_ITER:
        p.error(f"argument --n-iter: expected more than {EXAGGERATION_ITER} (the early "
                f"exaggeration phase of both libraries, after which scikit-learn first "
                f"reports an unexaggerated KL), got {args.n_iter}")
    if not 0.0 <= args.theta <= 1.0:
        p.error(f"argument --theta: expected a number in [0, 1], got {args.theta!r}")
    check_json_path(p, args.json)
    return args


def run(argv=None, out=None, prog="python -m tinyae.bench --tsne"):
    """Run the t-SNE benchmark from command-line arguments; returns the result dict."""
    out = out or sys.stdout
    args = _parse(argv, prog)
    if args.sklearn_worker:
        return sklearn_worker()
    use_sklearn = not args.no_sklearn and _sklearn_available()
    na = "n/a (--no-sklearn)" if args.no_sklearn else SKLEARN_NA
    load = os.getloadavg()
    print(f"tinyae.bench --tsne: MNIST test digits in {DIMENSIONS} principal components, "
          f"perplexity {PERPLEXITY:g}, {args.n_iter} steps ({EXAGGERATION_ITER} exaggerated "
          f"x{EXAGGERATION:g}), theta {args.theta:g}; threads {','.join(map(str, args.threads))}; "
          f"scikit-learn {'in its own process' if use_sklearn else 'not run'}; load average "
          f"{load[0]:.2f}", file=out, flush=True)
    TSNE(perplexity=5.0, n_iter=EXAGGERATION_ITER, exaggeration_iter=EXAGGERATION_ITER,
         method="barnes_hut").fit_transform(digits(64))     # compile (or load) the kernels
    rows, version = [], None
    for n_threads in args.threads:
        threads.set_threads(n_threads)
        worker = SklearnProcess.start(n_threads) if use_sklearn else None
        try:
            for n in args.sizes:
                row = bench_size(n, n_threads, n_iter=args.n_iter, theta=args.theta,
                                 rounds=args.rounds, worker=worker)
                rows.append(row)
                print(f"  n = {n}, {n_threads} thread(s): tinyae {row['tinyae_s']:.2f} s"
                      + (f", scikit-learn {row['sklearn_s']:.2f} s" if worker else ""),
                      file=out, flush=True)
        finally:
            if worker is not None:
                version = worker.version
                worker.close()
    print("\n" + format_rows(rows, COLUMNS, "n/a"), file=out)
    print(f"\nscikit-learn {version}, in a process of its own" if version else
          f"\nscikit-learn columns: {na}; see the module docstring to install it in a "
          f"separate venv", file=out)
    return finish({"rows": rows, "threads": args.threads, "sklearn": version,
                   "loadavg_before": load}, args.json, out)


if __name__ == "__main__":
    run()
