"""The ``tinyae`` command: one entry point for the course.

    tinyae lessons [NN ...] [--full] [--seed S] ...   run lessons, summarise claims
    tinyae gradcheck [-k NAME]                        check every backward pass
    tinyae bench [...]                                the benchmark table
    tinyae bench --tsne [...]                         t-SNE against scikit-learn
    tinyae exercises start DIR                        write the student folder
    tinyae exercises check [N ...] [--json]           check a student's exercises
    tinyae exercises solution N                       show a reference solution
    tinyae exercises hint N [--level L]               a hint (levels 1 to 3), recorded
    tinyae exercises grade SUBMISSIONS --csv F.csv    grade one folder per student
    tinyae exercises list                             the exercises, lessons, mistakes
    tinyae notebooks DIR                              lessons and exercises as .ipynb
    tinyae book DIR [--lessons NN ...] [--execute]    the course book, a static site

``tinyae <command> --help`` explains each. ``python -m tinyae.course.lesson``,
``python -m tinyae.gradcheck`` and ``python -m tinyae.bench`` keep working:
the first three commands hand their arguments to those modules' own
parsers. Exit status: 0 on success, 1 when a check fails, 2 for a usage
error (an unknown command, lesson or exercise).
"""

import argparse
import json
import os
import sys
from pathlib import Path


def _lessons(argv):
    from .lesson import main
    return main(argv, prog="tinyae lessons")


def _gradcheck(argv):
    from ..gradcheck.runner import main
    return main(argv, prog="tinyae gradcheck")


def _bench(argv):
    from ..bench import run
    run(argv, prog="tinyae bench")
    return 0


def _book(argv):
    from .book import main
    return main(argv, prog="tinyae book")


#: Commands whose arguments go, untouched, to an existing module's parser.
DELEGATED = {
    "lessons": (_lessons, "run lessons (all, or the numbers given) and summarise their "
                          "claims; lesson flags (--full, --seed, ...) are passed on"),
    "gradcheck": (_gradcheck, "check every registered backward pass against finite "
                              "differences"),
    "bench": (_bench, "time training steps (NumPy, Numba, PyTorch if installed); "
                      "--tsne: Barnes-Hut t-SNE against scikit-learn"),
    "book": (_book, "build the course book, a static HTML site (needs tinyae[book])"),
}


# --------------------------------------------------------------------------
# tinyae exercises ...
# --------------------------------------------------------------------------

def _numbers(parser, values):
    from .exercises import exercise
    try:
        return [exercise(v).number for v in values]
    except ValueError as e:
        parser.error(str(e))


def _ex_start(args, parser):
    from .exercises import start
    try:
        paths = start(args.dir, numbers=_numbers(parser, args.numbers), force=args.force)
    except FileExistsError as e:
        parser.error(str(e))
    print(f"wrote {len(paths)} exercises to {Path(args.dir).resolve()}:")
    for p in paths:
        print(f"  {p.name}")
    print(f"Edit them, then run `tinyae exercises check` in {args.dir} "
          f"(or run an exercise's last cell).")
    return 0


def _ex_check(args, parser):
    from .exercises.checker import check_folder, format_result, jsonable, summary

    numbers = _numbers(parser, args.numbers)
    stream = None if args.json else sys.stdout

    def show(result):
        if stream is not None:
            print(format_result(result) + "\n", file=stream, flush=True)
    try:
        seed, results = check_folder(args.dir, numbers, timeout=args.timeout, seed=args.seed,
                                     integration=not args.no_integration, on_result=show)
    except FileNotFoundError as e:
        parser.error(str(e))
    if args.json:
        print(json.dumps(jsonable({"seed": seed, "results": results}), indent=1))
    else:
        print(summary(results, seed))
    return 0 if results and all(r["status"] == "pass" for r in results) else 1


def _ex_solution(args, parser):
    from .exercises import remove_markers, solution_source
    [number] = _numbers(parser, [args.number])
    source = solution_source(number)
    print(source if args.markers else remove_markers(source), end="")
    return 0


def _ex_grade(args, parser):
    from .exercises.checker import check_csv_path, grade
    try:
        check_csv_path(args.csv, "--csv")
        rows = grade(args.submissions, args.csv, _numbers(parser, args.numbers),
                     timeout=args.timeout, seed=args.seed,
                     integration=not args.no_integration, stream=sys.stdout,
                     assignment=args.assignment)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    print(f"wrote {args.csv}: {len(rows)} student(s)")
    return 0


def _ex_hint(args, parser):
    from .exercises import EXERCISES, hints
    from .exercises.hint_levels import HINT_FILE, record_opened

    [number] = _numbers(parser, [args.number])
    levels = hints(number)
    print(f"Exercise {number}, hint {args.level} of {len(levels)}:\n")
    print(levels[args.level - 1] + "\n")
    if args.level < len(levels):
        print(f"Still stuck? `tinyae exercises hint {number} --level {args.level + 1}`.")
    else:
        print("That was the last level; `tinyae exercises check` names known mistakes.")
    folder = Path(args.dir)
    if any((folder / f"{ex.stem}{suffix}").exists()
           for ex in EXERCISES.values() for suffix in (".py", ".ipynb")):
        try:
            record = record_opened(folder, number, args.level)
        except (OSError, ValueError) as e:
            print(f"tinyae exercises hint: not recorded: {e}", file=sys.stderr)
        else:
            print(f"(hints opened for exercise {number}: up to level {record[number]}, "
                  f"recorded in {folder / HINT_FILE})")
    return 0


def _hint_level(value):
    """``--level``: a whole number from 1 to LEVELS."""
    from .exercises.hint_levels import LEVELS
    try:
        level = int(value)
    except ValueError:
        level = None
    if level not in range(1, LEVELS + 1):
        raise argparse.ArgumentTypeError(f"invalid level {value!r}: expected a whole "
                                         f"number from 1 to {LEVELS}")
    return level


def _ex_gradescope(args, parser):
    from .exercises.gradescope import gradescope
    try:
        out = gradescope(args.submission, args.results, _numbers(parser, args.numbers),
                         timeout=args.timeout, seed=args.seed,
                         integration=not args.no_integration)
    except (FileNotFoundError, IsADirectoryError) as e:
        parser.error(str(e))
    print(f"wrote {args.results}: {out['score']:g} / {len(out['tests'])}")
    return 0


def _ex_list(args, parser):
    from .exercises import EXERCISES
    from .syllabus import lesson_of_exercise
    for ex in EXERCISES.values():
        print(f"{ex.number:2d}  {ex.stem:<20s} lesson {lesson_of_exercise(ex.number)}  "
              f"{ex.title}")
        if args.messages:
            for m in ex.mistakes:
                print(f"      - {m.key}: {m.message}")
        else:
            print(f"      mistakes it names: {', '.join(m.key for m in ex.mistakes)}")
    return 0


def _arg(*flags, **options):
    """One ``add_argument`` call, as a row of a command's table."""
    return flags, options


class _OneOf(tuple):
    """Rows that are mutually exclusive (one ``add_mutually_exclusive_group``)."""


def _command(sub, name, run, help, description, arguments=()):
    """Add the subcommand ``name`` with its arguments (``_arg`` rows, or a
    ``_OneOf`` of them) and the function ``run(args, parser)`` that runs it."""
    p = sub.add_parser(name, help=help, description=description)
    for row in arguments:
        if isinstance(row, _OneOf):
            group = p.add_mutually_exclusive_group()
            for flags, options in row:
                group.add_argument(*flags, **options)
        else:
            flags, options = row
            p.add_argument(*flags, **options)
    p.set_defaults(run=run, parser=p)
    return p


def _seconds(text):
    """``--timeout``: a positive, finite number of seconds (argparse's type)."""
    from .exercises.checker import check_timeout
    try:
        return check_timeout(text, "--timeout")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _check_options():
    from .exercises.checker import DEFAULT_TIMEOUT
    return [_arg("--timeout", type=_seconds, default=DEFAULT_TIMEOUT,
                 help=f"seconds allowed per exercise (default {DEFAULT_TIMEOUT:g})"),
            _arg("--seed", type=int, default=None,
                 help="seed of the random inputs (default: fresh; the report says "
                      "which, to repeat a run)"),
            _arg("--no-integration", action="store_true",
                 help="skip the training runs (faster)")]


def _exercise_actions():
    """``tinyae exercises ACTION``: name -> (run, help, description, arguments)."""
    return {
        "start": (_ex_start, "write the student versions into DIR",
                  "Write the student version of every exercise (or of the numbers given) "
                  "into DIR. Existing files are kept unless --force.",
                  [_arg("dir", metavar="DIR"),
                   _arg("numbers", nargs="*", metavar="N", help="only these exercises"),
                   _arg("--force", action="store_true", help="overwrite existing files")]),
        "check": (_ex_check, "check the exercises in this folder",
                  "Check each exercise (all in the folder, or the numbers given) in a child "
                  "process with a time limit: the contract, the values against the library, "
                  "a finite-difference check, a diagnosis of known mistakes and a training "
                  "run. Exit status 0 only if every one passes.",
                  [_arg("numbers", nargs="*", metavar="N",
                        help="exercise numbers (default: all)"),
                   _arg("--dir", default=".", help="the student folder (default: here)"),
                   _arg("--json", action="store_true",
                        help="print JSON instead of the report"),
                   *_check_options()]),
        "solution": (_ex_solution, "print a reference solution",
                     "Print the reference solution of exercise N.",
                     [_arg("number", metavar="N"),
                      _arg("--markers", action="store_true",
                           help="keep the ### BEGIN/END SOLUTION markers (nbgrader source)")]),
        "grade": (_ex_grade, "grade a folder of student folders into a CSV",
                  "Check every student folder in SUBMISSIONS (one per student) in isolation, "
                  "with the same random inputs, and write a CSV: per student the total, and "
                  "per exercise the score (fraction of the check's parts passed), the status "
                  "and the diagnosis.",
                  [_arg("submissions", metavar="SUBMISSIONS"),
                   _arg("numbers", nargs="*", metavar="N", help="only these exercises"),
                   _arg("--csv", required=True, help="the CSV file to write"),
                   _arg("--assignment", default=None,
                        help="read SUBMISSIONS/<student>/<assignment>/ (nbgrader's "
                             "submitted/ layout; found by itself when each student "
                             "folder has one sub-folder of exercises)"),
                   *_check_options()]),
        "gradescope": (_ex_gradescope, "check one submission into Gradescope's results.json",
                       "Check one submission folder (Gradescope's /autograder/submission) "
                       "and write Gradescope's results.json: one test per exercise, scored "
                       "0 to 1 (the share of the check's parts passed), the report as its "
                       "output.",
                       [_arg("submission", metavar="SUBMISSION"),
                        _arg("numbers", nargs="*", metavar="N", help="only these exercises"),
                        _arg("--results", required=True,
                             help="the results.json to write "
                                  "(/autograder/results/results.json)"),
                        *_check_options()]),
        "hint": (_ex_hint, "show a hint for exercise N (levels 1 to 3)",
                 "Print one level of exercise N's hints: 1 says where to start, 2 gives "
                 "the key step, 3 may give the formula. Run in a student folder, it "
                 "records the highest level opened per exercise in .tinyae-hints.json.",
                 [_arg("number", metavar="N"),
                  _arg("--level", type=_hint_level, default=1, metavar="L",
                       help="the hint level, 1 to 3 (default 1)"),
                  _arg("--dir", default=".",
                       help="the student folder, where the level is recorded "
                            "(default: here)")]),
        "list": (_ex_list, "list the exercises, their lessons and their mistakes",
                 "List the exercises, the lesson each goes with, and the names of the "
                 "mistakes each one's diagnosis knows. The messages a student gets for "
                 "them often state the correct formula, so they are shown only with "
                 "--messages (for instructors).",
                 [_arg("--messages", action="store_true",
                       help="also print the message of each mistake (it may give the "
                            "answer away)")]),
    }


def _exercises_parser(sub):
    p = sub.add_parser("exercises", help="the course's exercises: start, check, solution, "
                                         "hint, grade, list",
                       description="Exercises a student writes, checked and diagnosed.")
    esub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, spec in _exercise_actions().items():
        _command(esub, name, *spec)


def _notebooks(args, parser):
    from .notebooks import write_notebooks
    if Path(args.dir).exists() and not Path(args.dir).is_dir():
        parser.error(f"DIR {args.dir!r} is a file; expected a folder (new or existing)")
    try:
        paths = write_notebooks(args.dir, lessons=not args.exercises_only,
                                exercises=not args.lessons_only, solutions=args.solutions,
                                lessons_dir=args.lessons, force=args.force)
    except ImportError as e:
        print(f"tinyae notebooks: {e}", file=sys.stderr)
        return 1
    except (FileNotFoundError, FileExistsError) as e:
        parser.error(str(e))
    print(f"wrote {len(paths)} notebooks to {Path(args.dir).resolve()}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinyae", description=__doc__.split("\n\n")[0].rstrip("."),
        epilog="`tinyae COMMAND --help` explains each command.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"tinyae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    _exercises_parser(sub)
    _command(sub, "notebooks", _notebooks, "write the lessons and exercises as .ipynb",
             "Write every lesson and exercise (student version) as a Jupyter notebook "
             "into DIR. Needs jupytext (pip install \"tinyae[notebooks]\").",
             [_arg("dir", metavar="DIR"),
              _arg("--force", action="store_true",
                   help="overwrite notebooks already in DIR (a student's edits are lost)"),
              _arg("--solutions", action="store_true",
                   help="exercises with their solutions (for the instructor)"),
              _OneOf([_arg("--lessons-only", action="store_true"),
                      _arg("--exercises-only", action="store_true")]),
              _arg("--lessons", default=None, help="folder holding the lessons")])
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in DELEGATED:
            return DELEGATED[argv[0]][0](argv[1:])
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.run(args, args.parser)
    except BrokenPipeError:
        # the reader went away (`tinyae exercises list | head`): stop quietly;
        # stdout goes to /dev/null so the interpreter's last flush cannot fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
