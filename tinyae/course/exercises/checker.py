"""Checking a student's folder: each exercise in a child process with a
time limit, a readable report or JSON, and grading many folders.

The child (``python -m tinyae.course.exercises.worker FOLDER``) imports numpy and
tinyae once and checks the exercises it is sent one at a time, answering
one JSON line each on a private pipe (the student's prints go to stderr).
The parent waits at most ``timeout`` seconds per exercise: an exercise that
hangs is reported as a timeout, one that kills the child (a crash, an
``os._exit``) as a crash; either way the child is replaced and the run goes
on with the next exercise. Exceptions raised by the student's code are
reported by the child itself, with the line they came from.
"""

import csv
import json
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from . import EXERCISES, exercise
from .specs import PARTS

#: Seconds an exercise may take in the child (the integration part trains a
#: small model twice; about a second of CPU on an idle machine).
DEFAULT_TIMEOUT = 120.0
#: Seconds the child may take to import numpy and tinyae.
STARTUP_TIMEOUT = 120.0

STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "not done": "NOT DONE", "error": "ERROR",
                "timeout": "TIMEOUT", "crash": "CRASH", "missing": "MISSING"}


# --------------------------------------------------------------------------
# Finding and loading a student's exercise (used in the child)
# --------------------------------------------------------------------------

def exercise_file(folder, ex):
    """The student's file for ``ex`` in ``folder``: ``exNN_slug.py`` or
    ``exNN_slug.ipynb`` (the more recently modified if both), else None."""
    found = [p for p in (Path(folder) / f"{ex.stem}.py", Path(folder) / f"{ex.stem}.ipynb")
             if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def read_code(path):
    """Python source of a .py file, or the code cells of a .ipynb joined
    (IPython magics and shell lines, starting with % or !, left out)."""
    path = Path(path)
    if path.suffix != ".ipynb":
        return path.read_text()
    nb = json.loads(path.read_text())
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        cells.append("\n".join(line for line in src.splitlines()
                               if not line.lstrip().startswith(("%", "!"))))
    return "\n\n".join(cells) + "\n"


def load_functions(path, names):
    """Run the student's file as a module (not as __main__, so its check
    cell does not run) and return {name: object or None}."""
    path = Path(path)
    namespace = {"__name__": f"student_{path.stem}", "__file__": str(path)}
    exec(compile(read_code(path), str(path), "exec"), namespace)   # noqa: S102  (the student's own code)
    return {name: namespace.get(name) for name in names}


def _empty_result(ex, status, message, file=None):
    return {"number": ex.number, "name": ex.stem, "title": ex.title, "status": status,
            "score": 0.0, "message": message, "file": file, "diagnosis": [],
            "differences": [], **{p: None for p in PARTS}}


def check_file(folder, number, *, seed=None, integration=True):
    """Check exercise ``number`` of ``folder`` in this process."""
    from .specs import _student_traceback, check_functions

    ex = exercise(number)
    path = exercise_file(folder, ex)
    if path is None:
        return _empty_result(ex, "missing", f"no {ex.stem}.py (or .ipynb) in {folder}")
    try:
        funcs = load_functions(path, ex.functions)
    except BaseException as exc:                       # noqa: BLE001  (the student's module)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _empty_result(ex, "error", f"could not run {path.name}: "
                             + _student_traceback(exc), path.name)
    try:
        result = check_functions(ex, funcs, seed=seed, integration=integration)
    except BaseException as exc:                       # noqa: BLE001  (e.g. sys.exit in a function)
        if isinstance(exc, KeyboardInterrupt):
            raise
        result = _empty_result(ex, "error", "the check stopped: " + _student_traceback(exc))
    result["file"] = path.name
    return result


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------

def jsonable(value):
    """``value`` with numpy scalars as Python numbers and inf/nan as strings
    (strict JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value


# --------------------------------------------------------------------------
# The parent: workers with a time limit
# --------------------------------------------------------------------------

class _Worker:
    """One child process checking exercises of one folder."""

    def __init__(self, folder, seed, integration):
        self.log = tempfile.TemporaryFile(mode="w+")
        env = dict(os.environ, TINYAE_BACKEND="numpy", OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
                   PYTHONPATH=os.pathsep.join(
                       [str(Path(__file__).resolve().parents[3])]
                       + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
        cmd = [sys.executable, "-m", "tinyae.course.exercises.worker", str(folder), "--seed", str(seed)]
        if not integration:
            cmd.append("--no-integration")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, cwd=str(folder), env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)                           # end of file: the child is gone

    def receive(self, timeout):
        """The next JSON line as a dict, "timeout" or "eof"."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return "timeout"
        return "eof" if line is None else json.loads(line)

    def send(self, number):
        self.proc.stdin.write(f"{number}\n")
        self.proc.stdin.flush()

    def log_tail(self, n=600):
        self.log.seek(0)
        text = self.log.read()
        return text[-n:].strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.log.close()


def check_folder(folder, numbers=None, *, timeout=DEFAULT_TIMEOUT, seed=None,
                 integration=True, on_result=None):
    """Check the exercises ``numbers`` (default: every exercise whose file is
    in ``folder``) of a student folder, each with a time limit in a child
    process. Returns (seed, [result dict]); ``on_result(result)`` is called
    as each arrives."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist")
    if numbers:
        exercises = [exercise(n) for n in numbers]
    else:
        exercises = [ex for ex in EXERCISES.values() if exercise_file(folder, ex)]
        if not exercises:
            raise FileNotFoundError(
                f"no exercise files (ex01_linear.py, ...) in {folder}: run "
                f"`tinyae exercises start {folder}` first, or pass --dir")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    results, worker = [], None
    try:
        for ex in exercises:
            if exercise_file(folder, ex) is None:
                result = _empty_result(ex, "missing", f"no {ex.stem}.py (or .ipynb) in "
                                       f"{folder}")
            else:
                if worker is None:
                    worker = _Worker(folder, seed, integration)
                    ready = worker.receive(STARTUP_TIMEOUT)
                    if not isinstance(ready, dict):
                        raise RuntimeError(f"the checker's child process did not start "
                                           f"({ready}): {worker.log_tail()}")
                start = time.monotonic()
                worker.send(ex.number)
                answer = worker.receive(timeout)
                if isinstance(answer, dict):
                    result = answer
                else:
                    seconds = time.monotonic() - start
                    tail = worker.log_tail()
                    worker.stop()
                    code = worker.proc.returncode
                    worker = None
                    if answer == "timeout":
                        result = _empty_result(
                            ex, "timeout", f"stopped after {seconds:.1f} s (time limit "
                            f"{timeout:g} s): an endless loop, or far too slow",
                            exercise_file(folder, ex).name)
                    else:
                        result = _empty_result(
                            ex, "crash", f"the process running your code died (exit code "
                            f"{code})" + (f"; its last output: {tail}" if tail else ""),
                            exercise_file(folder, ex).name)
            result["seed"] = seed
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        if worker is not None:
            worker.stop()
    return seed, results


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------

def format_result(result):
    """A readable report of one exercise."""
    head = f"{result['name']}  {result['title']}"
    word = STATUS_WORDS.get(result["status"], str(result["status"]).upper())
    lines = [f"{head} {'.' * max(3, 66 - len(head))} {word}"]
    if result.get("message"):
        lines.append(f"    {result['message']}")
    for part in PARTS:
        p = result.get(part)
        if p is not None:
            lines.append(f"    {part:<12s} {'ok  ' if p['passed'] else 'FAIL'} {p['text']}")
        elif part == "gradients" and result.get("values") is not None:
            lines.append(f"    {part:<12s} n/a  no backward pass in this exercise")
    for d in result.get("diagnosis", []):
        lines.append(f"    diagnosis    [{d['mistake']}] in {', '.join(d['outputs'])}: "
                     f"{d['message']}")
    for text in result.get("differences", []):
        lines.append(f"    difference   {text}")
    if result.get("status") == "fail" and not result.get("diagnosis") \
            and not result.get("differences"):
        lines.append("    diagnosis    the values match; see the failing part above")
    return "\n".join(lines)


def summary(results, seed):
    """One closing paragraph: counts and the seed that repeats the run."""
    passed = [r for r in results if r["status"] == "pass"]
    by_status = {}
    for r in results:
        if r["status"] != "pass":
            by_status.setdefault(r["status"], []).append(str(r["number"]))
    rest = "; ".join(f"{s}: {', '.join(ns)}" for s, ns in by_status.items())
    return (f"{len(passed)}/{len(results)} exercises pass" + (f" ({rest})" if rest else "")
            + f". Random inputs from seed {seed} (repeat with --seed {seed}).")


# --------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------

def _notes(result):
    if result["diagnosis"]:
        return " | ".join(f"{d['mistake']}: {d['message']}" for d in result["diagnosis"])
    if result["differences"]:
        return " | ".join(result["differences"])
    failing = [p for p in PARTS if result.get(p) is not None and not result[p]["passed"]]
    if failing:
        return " | ".join(f"{p}: {result[p]['text']}" for p in failing)
    return result.get("message", "")


def grade(submissions, csv_path, numbers=None, *, timeout=DEFAULT_TIMEOUT, seed=None,
          integration=True, stream=None):
    """Check every student folder in ``submissions`` (one sub-folder per
    student) in isolation, with the same random inputs for everyone, and
    write ``csv_path``: one row per student with the total, then per
    exercise its score (0 to 1, the fraction of the check's parts that
    passed), its status and the notes (diagnosed mistakes or what failed).
    Returns the rows."""
    submissions = Path(submissions)
    students = sorted(p for p in submissions.iterdir() if p.is_dir()
                      and not p.name.startswith("."))
    if not students:
        raise FileNotFoundError(f"no student folders in {submissions}")
    exercises = [exercise(n) for n in (numbers or EXERCISES)]
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    header = ["student", "total"]
    for ex in exercises:
        header += [f"ex{ex.number:02d}", f"ex{ex.number:02d}_status", f"ex{ex.number:02d}_notes"]
    rows = []
    for student in students:
        _, results = check_folder(student, [ex.number for ex in exercises], timeout=timeout,
                                  seed=seed, integration=integration)
        row = {"student": student.name, "total": round(sum(r["score"] for r in results), 3)}
        for r in results:
            key = f"ex{r['number']:02d}"
            row[key], row[f"{key}_status"], row[f"{key}_notes"] = (r["score"], r["status"],
                                                                    _notes(r))
        rows.append(row)
        if stream is not None:
            print(f"{student.name}: {row['total']:g} / {len(exercises)}  ("
                  + ", ".join(f"{r['number']}: {r['status']}" for r in results) + ")",
                  file=stream, flush=True)
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return rows
