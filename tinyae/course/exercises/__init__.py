"""The course kit: exercises a student writes, checked and diagnosed.

Each exercise is one function or a forward/backward pair from the library's
own reference (``tinyae.functional`` and friends), in course order (see
``catalogue.EXERCISES``). Its source, ``sources/exNN_slug.py``, is a
jupytext percent-format script: maths and instructions in markdown cells,
the functions with their solutions between nbgrader's ``### BEGIN
SOLUTION`` / ``### END SOLUTION`` markers, and a cell that runs the check.

* ``start(folder)`` writes the student versions (solutions stripped,
  ``strip``); ``solution_source(n)`` is the reference solution.
* ``check_here(n, globals())`` -- the last cell of every exercise -- checks
  the functions of a running script or notebook, in-process.
* ``checker.check_folder(folder)`` -- ``tinyae exercises check`` -- checks a
  student folder, each exercise in a child process with a time limit, so
  code that raises, hangs or crashes is reported and the run goes on.
* ``checker.grade(submissions)`` -- ``tinyae exercises grade`` -- one
  folder per student, a CSV with a score and the diagnoses per exercise.
* ``hints(n)`` -- ``tinyae exercises hint N --level L`` -- the exercise's
  three graded hints (``hint_levels``): the statement asks for the
  derivation, the hints lead to it, the last may give the formula.

A check has five parts (``specs``): the contract, the values against the
reference (float32 and float64, awkward shapes), a finite-difference check
of the student's backward against the student's own forward, a diagnosis
against a catalogue of known mistakes, and an integration run in which the
student's function replaces the library's op in a small training run
(``harness``).
"""

from pathlib import Path

from .catalogue import EXERCISES
from .hint_levels import hints
from .specs import check_functions
from .strip import remove_markers, strip_solutions

SOURCES = Path(__file__).resolve().parent / "sources"


def exercise(number):
    """The Exercise with this number; an unknown number is an error."""
    try:
        n = int(number)
    except (TypeError, ValueError):
        n = None
    if n not in EXERCISES:
        raise ValueError(f"unknown exercise {number!r}: the exercises are "
                         f"{', '.join(str(k) for k in EXERCISES)}")
    return EXERCISES[n]


def solution_source(number):
    """The solution source of exercise ``number`` (with its markers)."""
    return (SOURCES / f"{exercise(number).stem}.py").read_text()


def student_source(number):
    """The student version of exercise ``number`` (solutions stripped)."""
    return strip_solutions(solution_source(number))


def start(folder, *, numbers=None, force=False):
    """Write the student version of each exercise into ``folder`` (created
    if needed) and return the paths. Existing files are never overwritten
    unless ``force``: a student's work is not clobbered by a second start."""
    folder = Path(folder)
    exercises = [exercise(n) for n in (numbers or EXERCISES)]
    targets = [folder / f"{ex.stem}.py" for ex in exercises]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{len(existing)} exercise file(s) already exist, e.g. "
                              f"{existing[0]}; pass force=True (--force) to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    for ex, path in zip(exercises, targets):
        path.write_text(student_source(ex.number))
    return targets


class ExerciseNotPassed(AssertionError):
    """Raised by ``check_here`` in a notebook when the check does not pass, so
    that the cell fails (and nbgrader's graded test cell scores 0)."""


def check_here(number, namespace, *, seed=None, integration=True, strict=None):
    """Check the functions defined in ``namespace`` (a script's or a
    notebook's ``globals()``) for exercise ``number``, print the report and
    return the result dict. Runs in this process (no time limit).

    ``strict`` (default: in a notebook kernel): a check that does not pass
    raises ``ExerciseNotPassed`` after the report, so the cell fails, as an
    nbgrader test cell must. A script run as ``python exNN_slug.py`` instead
    exits with status 1 (``__main__`` of the exercise files)."""
    from ..lesson import in_notebook
    from .checker import format_result

    ex = exercise(number)
    funcs = {name: namespace.get(name) for name in ex.functions}
    result = check_functions(ex, funcs, seed=seed, integration=integration)
    print(format_result(result))
    if result["status"] != "pass":
        if in_notebook() if strict is None else strict:
            raise ExerciseNotPassed(f"exercise {number} does not pass yet ({result['status']}"
                                    f"): the report above says what to fix")
        if strict is None and namespace.get("__name__") == "__main__":
            raise SystemExit(1)
    return result


__all__ = ["EXERCISES", "SOURCES", "exercise", "solution_source", "student_source", "start",
           "check_here", "ExerciseNotPassed", "check_functions", "strip_solutions", "remove_markers", "hints"]
