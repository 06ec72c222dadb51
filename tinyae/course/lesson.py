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

Lessons as notebooks
--------------------
Every lesson is also a notebook: it is written in jupytext's percent format
(the module docstring first, then a ``# %%`` line before each top-level
block: the imports, each function, each section, the ``if __name__ ==
"__main__":`` block), so ``python lessons/NN_topic.py`` runs it as a script
and jupytext (``tinyae notebooks DIR``) opens it as a notebook. Inside a
notebook kernel the command line belongs to the kernel (``ipykernel_launcher
-f kernel.json``), so ``Lesson`` ignores ``sys.argv`` there and reads its
flags from the environment variable ``TINYAE_LESSON_ARGS`` instead (for
example ``"--full --seed 1"``; empty: the defaults), and ``finish()`` does
not exit the kernel: it returns when every claim holds and raises
``ClaimsFailed`` otherwise.
"""

import argparse
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from .._validation import arg_nonneg_int, arg_positive_int
from ..threads import THREADS_ENV, set_threads



#: BLAS/Numba threads in lessons unless ``--threads`` or $TINYAE_THREADS says
#: otherwise. Measured on the 2-core machines here: with both cores free, two
#: OpenBLAS threads made a 784-512-32 training step 1.75x faster than one; but
#: as soon as anything else runs, two threads stall on every product (lesson
#: 03, whose matrices are tiny, took 76 s with two threads at load ~4 and
#: 15 s with one; a 784-400-20 VAE step went from 13 ms to 480 ms at load
#: ~10). One thread is never far from the best and never catastrophic.
DEFAULT_THREADS = 1

FIGURES_ENV = "TINYAE_FIGURES"
DEFAULT_FIGURES = Path(__file__).resolve().parents[2] / "lessons" / "figures"

#: Lesson flags inside a notebook kernel, whose own argv is not the lesson's.
NOTEBOOK_ARGS_ENV = "TINYAE_LESSON_ARGS"


#: The flags every lesson understands, declared once: ``Lesson`` parses them
#: and the runner (``tinyae lessons``) accepts them and passes them on.
PASSED_FLAGS = (
    ("--full", dict(action="store_true", help="the longer, more faithful runs")),
    ("--epochs", dict(type=arg_positive_int, help="training epochs (lessons that train)")),
    ("--seed", dict(type=arg_nonneg_int, help="random seed (default 0)")),
    ("--threads", dict(type=arg_positive_int, help=f"BLAS/Numba threads (default "
                                                    f"${THREADS_ENV}, else {DEFAULT_THREADS})")),
    ("--progress", dict(action="store_true", help="show progress bars")),
    ("--figures", dict(help="folder for the PNG figures")),
)



class ClaimsFailed(AssertionError):
    """Raised by ``Lesson.finish`` in a notebook when a claim failed."""


def in_notebook():
    """True inside a Jupyter kernel, whose argv (``ipykernel_launcher -f
    kernel.json``) is not a lesson's flags."""
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0.startswith("ipykernel_launcher"):
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def lesson_argv(argv=None):
    """The flags a lesson parses: ``argv`` if given; in a notebook kernel
    the words of $TINYAE_LESSON_ARGS; otherwise None (argparse reads
    sys.argv)."""
    if argv is not None:
        return list(argv)
    if in_notebook():
        return shlex.split(os.environ.get(NOTEBOOK_ARGS_ENV, ""))
    return None


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
        # --epochs and --full are accepted by every lesson, so that `tinyae
        # lessons --full` can pass them on; a lesson that does not train says so
        helps = {"--epochs": f"training epochs (default {epochs}"
                             + (f", --full: {full_epochs})" if full_epochs else ")"),
                 "--full": "the longer, more faithful run"}
        if epochs is None:
            helps = dict.fromkeys(helps, "accepted for uniformity: this lesson does not train")
        for flag, kwargs in PASSED_FLAGS:
            parser.add_argument(flag, **dict(kwargs, help=helps.get(flag, kwargs["help"])))
        if extra is not None:
            extra(parser)
        self.notebook = in_notebook() and argv is None
        self.args = parser.parse_args(lesson_argv(argv))
        self.name = name
        self.full = bool(getattr(self.args, "full", False))
        if epochs is None and (self.full or self.args.epochs is not None):
            print(f"note: {name} has a single run and trains nothing for epochs; "
                  f"--full and --epochs change nothing")
        if epochs is not None:
            if self.args.epochs is not None:
                self.epochs = self.args.epochs
            else:
                self.epochs = full_epochs if self.full and full_epochs else epochs
        self.seed = 0 if self.args.seed is None else self.args.seed
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
        The result is kept for ``finish``; nothing is returned, so a notebook
        cell that ends in a claim shows its CLAIM line and no echoed value.
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

    # -- figures and output --------------------------------------------------
    def save(self, fig, stem):
        """Save a matplotlib figure as ``<figure_dir>/<stem>.png`` and, in a
        notebook kernel, show that PNG inline under the cell (the figures are
        drawn with the Agg backend, which displays nothing by itself).
        Returns nothing, so a cell that ends in it shows the figure alone."""
        from .plotting import save
        path = save(fig, self.figure_dir / f"{stem}.png")
        if self.notebook:
            from IPython.display import Image, display
            display(Image(filename=str(path)))
        else:
            print(f"   figure: {path}")

    show = save

    def report(self, text):
        """Print a measured figure that is not a claim (context for the student)."""
        print(f"   {text}", flush=True)

    def finish(self):
        """Print the summary and exit: 0 if every claim held, 1 otherwise.

        In a notebook kernel it does not exit: it returns if every claim
        held and raises ``ClaimsFailed`` otherwise.
        """
        failed = [c for c in self.claims if not c[3]]
        seconds = time.perf_counter() - self._start
        print(f"== {self.name}: {len(self.claims) - len(failed)}/{len(self.claims)} "
              f"claims hold ({seconds:.1f} s)")
        for text, value, bound, _ in failed:
            print(f"   failed: {text}: {value:.6g}, expected {bound}")
        if self.notebook:
            if failed or not self.claims:
                raise ClaimsFailed(f"{len(failed)} of {len(self.claims)} claims failed")
            return
        sys.exit(1 if failed or not self.claims else 0)


# --------------------------------------------------------------------------
# ``python -m tinyae.course.lesson``: run every lesson (the course's main job)
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


def select_lessons(scripts, only):
    """The scripts named by ``only`` (numbers such as 2 or 02, full stems
    such as 02_undercomplete_ae, or topics such as undercomplete_ae), in
    the order given. A name matches exactly (2 is lesson 02, not 12); a name
    that matches no lesson is an error naming every such name."""
    def matches(script, name):
        return name in (script.stem, script.stem[3:]) or (
            name.isdigit() and int(name) == int(script.stem[:2]))

    unknown = [o for o in only if not any(matches(s, o) for s in scripts)]
    if unknown:
        raise ValueError(f"no lesson matches {', '.join(map(repr, unknown))}; the lessons "
                         f"are {', '.join(s.stem for s in scripts)}")
    return [next(s for s in scripts if matches(s, o)) for o in only]


def main(argv=None, prog="python -m tinyae.course.lesson"):
    import subprocess

    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:                                   # lesson-specific flags after --
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the lessons in order and summarise every claim. Exits "
                    "non-zero if any claim fails. The flags below are passed to every "
                    "lesson; anything after -- too (e.g. -- --k 5000).")
    parser.add_argument("only", nargs="*",
                        help="lesson numbers or names to run (default: all)")
    parser.add_argument("--lessons", default=None, help="folder holding the lessons")
    for flag, kwargs in PASSED_FLAGS:
        parser.add_argument(flag, **kwargs)
    args = parser.parse_args(argv)
    try:
        scripts = find_lessons(args.lessons)
        if args.only:
            scripts = select_lessons(scripts, args.only)
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    passed = []
    for flag, kwargs in PASSED_FLAGS:
        value = getattr(args, flag[2:])
        if kwargs.get("action") == "store_true":
            passed += [flag] if value else []
        elif value is not None:
            passed += [flag, str(value)]
    rows = []
    for script in scripts:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(script), *passed, *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        claims = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("CLAIM "):
                claims.append(line.split()[1] == "PASS")
        code = proc.wait()
        rows.append((script.stem, code, sum(claims), len(claims),
                     time.perf_counter() - start))
    print("\nlesson                             claims   seconds  result")
    for stem, code, passed_claims, total, seconds in rows:
        print(f"{stem:<34s} {passed_claims:>3d}/{total:<3d} {seconds:8.1f}  "
              f"{'ok' if code == 0 else 'FAILED'}")
    failed = [r for r in rows if r[1] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
