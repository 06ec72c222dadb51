"""What every lesson script shares: its command line, its seed, where its
figures go, and its claims.

A lesson states each textbook claim it tests as one line,

    CLAIM PASS  PCA-30 test error per image: measured 13.871 (expected 13.87 +- 0.02)

and exits with status 1 if any claim failed, so CI and a student see at once
whether the library still reproduces the literature.

    lesson = Lesson("01_linear_ae_vs_pca", __doc__, epochs=5)
    ... train with lesson.rng, lesson.epochs ...
    lesson.claim("PCA-30 test error per image", err, within=(13.87, 0.02))
    lesson.save(fig, "subspace")
    lesson.finish()

Figures go to ``lessons/figures/<lesson name>/`` (or ``$TINYAE_FIGURES/<name>``,
or ``--figures DIR``).
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from ._validation import arg_nonneg_int, arg_positive_int
from .threads import THREADS_ENV, set_threads



#: BLAS/Numba threads in lessons unless ``--threads`` or $TINYAE_THREADS says
#: otherwise. Measured on the 2-core machines here: with both cores free, two
#: OpenBLAS threads made a 784-512-32 training step 1.75x faster than one; but
#: as soon as anything else runs, two threads stall on every product (lesson
#: 03, whose matrices are tiny, took 76 s with two threads at load ~4 and
#: 15 s with one; a 784-400-20 VAE step went from 13 ms to 480 ms at load
#: ~10). One thread is never far from the best and never catastrophic.
DEFAULT_THREADS = 1

FIGURES_ENV = "TINYAE_FIGURES"
DEFAULT_FIGURES = Path(__file__).resolve().parent.parent / "lessons" / "figures"


def threads_from_env():
    """The thread count in ${THREADS_ENV} (an integer >= 1), else DEFAULT_THREADS."""
    text = os.environ.get(THREADS_ENV)
    if text is None or text == "":
        return DEFAULT_THREADS
    try:
        return arg_positive_int(text)
    except argparse.ArgumentTypeError as err:
        raise ValueError(f"environment variable {THREADS_ENV}: {err}") from None


class Lesson:
    """Command line, rng, figure folder and claim bookkeeping of one lesson.

    Flags every lesson understands: ``--epochs N`` (default ``epochs``),
    ``--full`` (the longer, more faithful run: ``full_epochs``), ``--seed``,
    ``--figures DIR``, ``--progress`` (show progress bars) and ``--threads``
    (BLAS and Numba threads, set once here for the whole lesson). ``extra`` is
    an optional function adding lesson-specific flags to the parser.
    """

    def __init__(self, name, doc=None, *, epochs=None, full_epochs=None, extra=None,
                 argv=None):
        parser = argparse.ArgumentParser(
            prog=f"python lessons/{name}.py", description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        if epochs is not None:
            parser.add_argument("--epochs", type=arg_positive_int, default=None,
                                help=f"training epochs (default {epochs}"
                                + (f", --full: {full_epochs})" if full_epochs else ")"))
            parser.add_argument("--full", action="store_true",
                                help="the longer, more faithful run")
        parser.add_argument("--seed", type=arg_nonneg_int, default=0,
                            help="random seed (default 0)")
        parser.add_argument("--figures", default=None, help="folder for the PNG figures")
        parser.add_argument("--progress", action="store_true", help="show progress bars")
        parser.add_argument("--threads", type=arg_positive_int, default=None,
                            help=f"BLAS/Numba threads (default ${THREADS_ENV}, else "
                                 f"{DEFAULT_THREADS})")
        if extra is not None:
            extra(parser)
        self.args = parser.parse_args(argv)
        self.name = name
        self.full = bool(getattr(self.args, "full", False))
        if epochs is not None:
            if self.args.epochs is not None:
                self.epochs = self.args.epochs
            else:
                self.epochs = full_epochs if self.full and full_epochs else epochs
        self.seed = self.args.seed
        self.rng = np.random.default_rng(self.seed)
        base = self.args.figures or os.environ.get(FIGURES_ENV) or DEFAULT_FIGURES
        self.figure_dir = Path(base) / name
        self.progress = self.args.progress
        self.threads = self.args.threads if self.args.threads is not None \
            else threads_from_env()
        set_threads(self.threads)
        self.claims = []
        self._start = time.perf_counter()
        print(f"== {name} (seed {self.seed}, {self.threads} thread(s)"
              + (f", {self.epochs} epochs" if epochs is not None else "") + ")")

    # -- claims ------------------------------------------------------------
    def claim(self, text, value, *, lt=None, gt=None, within=None, rel_within=None):
        """Test ``value`` against one bound and print a CLAIM line.

        Exactly one of: ``lt=b`` (value < b), ``gt=b`` (value > b),
        ``within=(target, tol)`` (|value - target| <= tol),
        ``rel_within=(target, rtol)`` (|value - target| <= rtol |target|).
        Returns whether it held.
        """
        given = [b is not None for b in (lt, gt, within, rel_within)]
        if sum(given) != 1:
            raise ValueError("claim needs exactly one of lt, gt, within, rel_within")
        value = float(value)
        if lt is not None:
            ok, bound = value < lt, f"< {lt:.6g}"
        elif gt is not None:
            ok, bound = value > gt, f"> {gt:.6g}"
        elif within is not None:
            target, tol = within
            ok, bound = abs(value - target) <= tol, f"{target:.6g} +- {tol:.3g}"
        else:
            target, rtol = rel_within
            ok = abs(value - target) <= rtol * abs(target)
            bound = f"{target:.6g} within {100 * rtol:.3g}%"
        ok = ok and math.isfinite(value)
        self.claims.append((text, value, bound, ok))
        print(f"CLAIM {'PASS' if ok else 'FAIL'}  {text}: measured {value:.6g} "
              f"(expected {bound})", flush=True)
        return ok

    # -- figures and output --------------------------------------------------
    def save(self, fig, stem):
        """Save a matplotlib figure as ``<figure_dir>/<stem>.png``."""
        from .plotting import save
        path = save(fig, self.figure_dir / f"{stem}.png")
        print(f"   figure: {path}")
        return path

    def report(self, text):
        """Print a measured figure that is not a claim (context for the student)."""
        print(f"   {text}", flush=True)

    def finish(self):
        """Print the summary and exit: 0 if every claim held, 1 otherwise."""
        failed = [c for c in self.claims if not c[3]]
        seconds = time.perf_counter() - self._start
        print(f"== {self.name}: {len(self.claims) - len(failed)}/{len(self.claims)} "
              f"claims hold ({seconds:.1f} s)")
        for text, value, bound, _ in failed:
            print(f"   failed: {text}: {value:.6g}, expected {bound}")
        sys.exit(1 if failed or not self.claims else 0)


# --------------------------------------------------------------------------
# ``python -m tinyae.lesson``: run every lesson (the course's main job)
# --------------------------------------------------------------------------

def find_lessons(folder=None):
    """Lesson scripts ``NN_topic.py`` in ``folder`` (default: ./lessons, else
    the lessons folder beside the installed package)."""
    candidates = [Path(folder)] if folder else [Path.cwd() / "lessons",
                                                 DEFAULT_FIGURES.parent]
    for c in candidates:
        scripts = sorted(c.glob("[0-9][0-9]_*.py"))
        if scripts:
            return scripts
    raise FileNotFoundError(
        f"no lessons (NN_topic.py) found in {[str(c) for c in candidates]}; "
        f"run from the repository root or pass --lessons DIR")


def main(argv=None):
    import subprocess

    parser = argparse.ArgumentParser(
        prog="python -m tinyae.lesson",
        description="Run the lessons in order with their default settings and "
                    "summarise every claim. Exits non-zero if any claim fails.")
    parser.add_argument("only", nargs="*",
                        help="lesson numbers or names to run (default: all)")
    parser.add_argument("--lessons", default=None, help="folder holding the lessons")
    args = parser.parse_args(argv)
    scripts = find_lessons(args.lessons)
    if args.only:
        def matches(script, o):
            return script.stem.startswith(o) or o in script.stem
        unknown = [o for o in args.only if not any(matches(s, o) for s in scripts)]
        if unknown:
            parser.error(f"no lesson matches {', '.join(map(repr, unknown))}; the lessons "
                         f"are {', '.join(s.stem for s in scripts)}")
        scripts = [s for s in scripts if any(matches(s, o) for o in args.only)]
    rows = []
    for script in scripts:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        claims = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("CLAIM "):
                claims.append(line.split()[1] == "PASS")
        code = proc.wait()
        rows.append((script.stem, code, sum(claims), len(claims),
                     time.perf_counter() - start))
    print("\nlesson                             claims   seconds  result")
    for stem, code, passed, total, seconds in rows:
        print(f"{stem:<34s} {passed:>3d}/{total:<3d} {seconds:8.1f}  "
              f"{'ok' if code == 0 else 'FAILED'}")
    failed = [r for r in rows if r[1] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
