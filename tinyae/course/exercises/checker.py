"""Checking a student's folder: each exercise in a child process with a
time limit, a readable report or JSON, and grading many folders.

The student's code is untrusted: it runs in a child process (``worker``,
started as a script, so the child never loads the checker, the catalogue
or the solutions) which only evaluates the student's functions on the
inputs this process sends and returns the outputs as data. Everything else
-- the reference, the cases, the comparison, the diagnosis, the
finite-difference check (its perturbed points are sent to the child one by
one) and the training runs (each call of a student's op goes to the
child) -- happens here, so nothing the student's code does can write a
verdict. A child serves one exercise. The time limit counts the time spent
waiting for the child: an exercise that hangs is reported as a timeout,
one that kills the child (a crash, an ``os._exit``) or garbles the pipe as
a crash; either way the run goes on with the next exercise. A student's
function that calls the library's own implementation of a function under
test (the child replaces those with recording stubs) gets a named message
and no marks.
"""

import ast
import csv
import math
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from . import EXERCISES, exercise, solution_source
from . import worker as wire
from .specs import PARTS, check_functions
from .hint_levels import HINT_FILE, opened
from .strip import BEGIN

#: Seconds an exercise may take in the child (the integration part trains a
#: small model twice; about a second of CPU on an idle machine).
DEFAULT_TIMEOUT = 120.0
#: Seconds the child may take to start (Python and numpy).
STARTUP_TIMEOUT = 120.0

STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "not done": "NOT DONE", "error": "ERROR",
                "timeout": "TIMEOUT", "crash": "CRASH", "missing": "MISSING"}


def check_timeout(timeout, name="timeout"):
    """``timeout`` as a float if it is positive and finite; else ValueError
    naming the option and the value."""
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive, finite number of seconds, got "
                         f"{timeout!r}")
    return value


def check_csv_path(csv_path, name="csv"):
    """Refuse, before any work, a CSV path that cannot be written: a
    directory, a file in a folder that does not exist, or no permission."""
    path = Path(csv_path)
    if path.is_dir():
        raise ValueError(f"{name} {str(csv_path)!r} is a directory: give a file name, e.g. "
                         f"{path / 'grades.csv'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{name} {str(csv_path)!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{name} {str(csv_path)!r} is not writable")
    return path


# --------------------------------------------------------------------------
# Finding a student's exercise
# --------------------------------------------------------------------------

def exercise_file(folder, ex):
    """The student's file for ``ex`` in ``folder``: ``exNN_slug.py`` or
    ``exNN_slug.ipynb`` (the more recently modified if both), else None."""
    found = [p for p in (Path(folder) / f"{ex.stem}.py", Path(folder) / f"{ex.stem}.ipynb")
             if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def functions_under_test(ex):
    """The functions of ``ex`` the student writes: those whose body holds a
    solution region in the exercise's source (the others are given)."""
    source = solution_source(ex.number)
    lines = source.splitlines()
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name in ex.functions and any(
                BEGIN in line for line in lines[node.lineno - 1:node.end_lineno]):
            names.append(node.name)
    return tuple(n for n in ex.functions if n in names)


def hints_opened(folder):
    """Exercise number -> highest hint level opened, from the folder's
    ``HINT_FILE`` ({} if there is none; ``hint_levels.opened``). The record
    is the student's own file: what it says is reported, never trusted for
    anything else; a file that is not such a record gives None (reported as
    unreadable)."""
    try:
        return opened(folder)
    except (ValueError, OSError):
        return None


def _empty_result(ex, status, message, file=None):
    return {"number": ex.number, "name": ex.stem, "title": ex.title, "status": status,
            "score": 0.0, "message": message, "file": file, "diagnosis": [],
            "differences": [], **{p: None for p in PARTS}}


# --------------------------------------------------------------------------
# The child, seen from here
# --------------------------------------------------------------------------

class ChildTimeout(BaseException):
    """The student's code used up its time (not an Exception: it must pass
    through the checks' handlers of the student's exceptions)."""


class ChildGone(BaseException):
    """The child died, or sent something that is not an answer."""


class RemoteError(Exception):
    """An exception the student's code raised in the child."""

    def __init__(self, header):
        self.remote_type = str(header.get("type", "Exception"))
        self.where = str(header.get("where", ""))
        self.function = str(header.get("function", ""))
        super().__init__(str(header.get("text", "")))


class RemoteNotDone(RemoteError, NotImplementedError):
    """NotImplementedError, raised by the student's code in the child."""


class RemoteFunction:
    """A student's function: calling it calls it in the child."""

    def __init__(self, child, name):
        self.child, self.__name__ = child, name

    def __call__(self, *args, **kwargs):
        return self.child.call(self.__name__, args, kwargs)

    def __repr__(self):
        return f"<your {self.__name__}>"


_WORKER = str(Path(wire.__file__).resolve())
_ROOT = str(Path(__file__).resolve().parents[3])


class _Child:
    """One child process serving one exercise of one folder."""

    def __init__(self, folder):
        self.log = tempfile.TemporaryFile(mode="w+b")
        env = dict(os.environ, TINYAE_BACKEND="numpy", OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
                   PYTHONPATH=os.pathsep.join(
                       [_ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                                  else [])))
        req_r, self.requests = os.pipe()
        self.answers, ans_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, _WORKER, str(req_r), str(ans_w)], stdin=subprocess.DEVNULL,
                stdout=self.log, stderr=self.log, pass_fds=(req_r, ans_w), cwd=str(folder),
                env=env, start_new_session=True)             # its own process group
        finally:
            os.close(req_r)
            os.close(ans_w)
        os.set_blocking(self.requests, False)
        self.frames = queue.Queue()
        self.budget, self.used = STARTUP_TIMEOUT, 0.0
        self.library, self.callbacks, self.freed, self.next_id = [], {}, [], 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        """The reader thread: frames into the queue until end of file. It
        owns the answer pipe and closes it, so the descriptor cannot be
        reused (by the next child's pipe) while it is still reading."""
        try:
            while True:
                frame = wire.read_frame(self.answers)
                self.frames.put(frame)
                if frame is None:
                    return
        except (wire.ProtocolError, OSError) as exc:
            self.frames.put(exc)
        finally:
            os.close(self.answers)

    # time ------------------------------------------------------------------

    def limit(self, seconds):
        """From now on the student's code may take ``seconds`` in all."""
        self.budget, self.used = seconds, 0.0

    def _left(self):
        return max(self.budget - self.used, 0.0)

    # frames ----------------------------------------------------------------

    def _send(self, header, encoder):
        header = dict(header, free=self.freed[:])
        del self.freed[:len(header["free"])]
        view = memoryview(encoder.frame(header))
        while view:
            start = time.monotonic()
            _, ready, _ = select.select([], [self.requests], [], self._left())
            self.used += time.monotonic() - start
            if not ready:
                raise ChildTimeout()
            try:
                view = view[os.write(self.requests, view):]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise ChildGone(f"closed its pipe ({exc})") from None

    def _receive(self):
        start = time.monotonic()
        try:
            frame = self.frames.get(timeout=self._left())
        except queue.Empty:
            raise ChildTimeout() from None
        finally:
            self.used += time.monotonic() - start
        if frame is None:
            raise ChildGone("")
        if isinstance(frame, Exception):
            raise ChildGone(f"broke the checker's protocol ({frame})")
        try:
            header, arrays = wire.parse(frame)
        except wire.ProtocolError as exc:
            raise ChildGone(f"broke the checker's protocol ({exc})") from None
        library = header.get("library", [])
        if not (isinstance(library, list) and all(isinstance(m, str) for m in library)):
            raise ChildGone("broke the checker's protocol (bad record of library calls)")
        self.library.extend(m for m in library if m not in self.library)
        return header, arrays

    def _value(self, tree, arrays):
        try:
            return wire.tree_value(tree, arrays, handle=lambda n: wire.Handle(
                n, self.freed.append))
        except wire.ProtocolError as exc:
            raise ChildGone(f"broke the checker's protocol ({exc})") from None

    def _callback(self, fn):
        self.next_id += 1
        self.callbacks[self.next_id] = fn
        return self.next_id

    # requests --------------------------------------------------------------

    def start(self):
        header, _ = self._receive()
        if header.get("op") != "ready":
            raise ChildGone("did not say it was ready")

    def _request(self, header, payload=None, sent=()):
        """Send a request, serve the child's callbacks, return the answer's
        value; arrays the call changed are copied into ``sent``."""
        self.next_id += 1
        rid = self.next_id
        encoder = payload or wire.Encoder()
        self._send(dict(header, id=rid), encoder)
        while True:
            header, arrays = self._receive()
            self._copy_back(header.get("after"), arrays, encoder.arrays)
            op = header.get("op")
            if op == "callback" and header.get("callback") in self.callbacks:
                self._serve_callback(header, arrays)
                continue
            if header.get("id") != rid or op not in ("result", "raised"):
                raise ChildGone("broke the checker's protocol (an answer to no request)")
            if op == "raised":
                error = RemoteNotDone if header.get("type") == "NotImplementedError" \
                    else RemoteError
                raise error(header)
            return self._value(header.get("value"), arrays)

    def _copy_back(self, after, arrays, sent):
        if after is None:
            return
        if not isinstance(after, dict):
            raise ChildGone("broke the checker's protocol (bad changed arrays)")
        for key, tree in after.items():
            new = self._value(tree, arrays)
            i = int(key) if key.isdigit() else -1
            if not 0 <= i < len(sent) or not isinstance(new, np.ndarray):
                raise ChildGone("broke the checker's protocol (bad changed arrays)")
            old = sent[i]
            if old.shape == new.shape and old.dtype == new.dtype and old.flags.writeable:
                np.copyto(old, new)

    def _serve_callback(self, header, arrays):
        call = self._value(header.get("value"), arrays)
        if not (isinstance(call, list) and len(call) == 2 and isinstance(call[0], list)
                and isinstance(call[1], dict)):
            raise ChildGone("broke the checker's protocol (a bad callback)")
        encoder = wire.Encoder(callback=self._callback)
        try:
            reply = {"op": "reply", "value": encoder.tree(
                self.callbacks[header["callback"]](*call[0], **call[1]))}
        except Exception as exc:                       # noqa: BLE001  (arguments from the child)
            encoder = wire.Encoder()
            reply = {"op": "reply", "raised": f"{type(exc).__name__}: {exc}"}
        self._send(reply, encoder)

    def load(self, path, names, under_test):
        """Run the student's file in the child: {name: callable?}."""
        loaded = self._request({"op": "load", "path": str(path), "names": list(names),
                                "under_test": list(under_test)})
        if not (isinstance(loaded, dict) and set(loaded) == set(names)):
            raise ChildGone("broke the checker's protocol (a bad answer to load)")
        return {name: RemoteFunction(self, name) if loaded[name] is True else None
                for name in names}

    def call(self, name, args, kwargs):
        encoder = wire.Encoder(callback=self._callback)
        payload = encoder.tree([list(args), dict(kwargs)])
        return self._request({"op": "call", "function": name, "args": payload}, encoder)

    # the end ---------------------------------------------------------------

    def log_tail(self, n=600):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-n:].strip()

    def stop(self):
        """Kill the child and whatever it started (its process group), and
        close the request pipe and the log (the reader closes the answers)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        self.proc.wait()
        if not self.log.closed:
            os.close(self.requests)
            self.log.close()


# --------------------------------------------------------------------------
# Checking one exercise, and a folder
# --------------------------------------------------------------------------

def _not_own_work(result, calls):
    """No marks for an exercise whose functions call the library's own
    implementation of a function under test; the report names the calls."""
    result["library_calls"] = list(calls)
    if calls:
        result["score"] = 0.0
        if result["status"] in ("pass", "fail"):
            result["status"] = "fail"
        message = result.get("message") or ""
        if not all(c in message for c in calls):
            result["message"] = "; ".join(calls) + (f". {message}" if message else "")
    return result


def _check_in_child(folder, ex, path, *, timeout, seed, integration, child=None):
    child = child or _Child(folder)
    try:
        try:
            child.start()
        except (ChildTimeout, ChildGone) as exc:
            raise RuntimeError(f"the checker's child process did not start "
                               f"({type(exc).__name__} {exc}): {child.log_tail()}") from None
        child.limit(timeout)
        try:
            funcs = child.load(path, ex.functions, functions_under_test(ex))
        except RemoteError as exc:
            result = _empty_result(ex, "error", f"could not run {path.name}: {exc.where}")
        else:
            result = check_functions(ex, funcs, seed=seed, integration=integration)
        result = _not_own_work(result, child.library)
    except ChildTimeout:
        result = _not_own_work(_empty_result(
            ex, "timeout", f"stopped after {child.used:.1f} s (time limit {timeout:g} s): an "
            f"endless loop, or far too slow"), child.library)
    except ChildGone as exc:
        tail = child.log_tail()
        child.stop()
        reason = str(exc) or f"died (exit code {child.proc.returncode})"
        result = _not_own_work(_empty_result(
            ex, "crash", f"the process running your code {reason}"
            + (f"; its last output: {tail}" if tail else "")), child.library)
    finally:
        child.stop()
    result["file"] = path.name
    result["seed"] = seed
    return result


def check_file(folder, number, *, seed=None, integration=True, timeout=DEFAULT_TIMEOUT,
               child=None):
    """Check exercise ``number`` of ``folder``: the student's file runs in a
    child process (``child``, one already started, or a new one; it serves
    this exercise only), the check here (see the module docstring)."""
    timeout = check_timeout(timeout)
    ex = exercise(number)
    path = exercise_file(folder, ex)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    if path is None:
        if child is not None:
            child.stop()
        result = dict(_empty_result(ex, "missing", f"no {ex.stem}.py (or .ipynb) in "
                                    f"{folder}"), seed=seed)
    else:
        result = _check_in_child(Path(folder).resolve(), ex, path.resolve(), timeout=timeout,
                                 seed=seed, integration=integration, child=child)
    opened = hints_opened(folder)
    result["hints"] = "unreadable" if opened is None else opened.get(ex.number, 0)
    return result


def check_folder(folder, numbers=None, *, timeout=DEFAULT_TIMEOUT, seed=None,
                 integration=True, on_result=None):
    """Check the exercises ``numbers`` (default: every exercise whose file is
    in ``folder``) of a student folder, each with a time limit in a child
    process. Returns (seed, [result dict]); ``on_result(result)`` is called
    as each arrives."""
    timeout = check_timeout(timeout)
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
    results, spare = [], None
    with_file = [ex for ex in exercises if exercise_file(folder, ex)]
    try:
        for ex in exercises:
            child = None
            if any(ex is e for e in with_file):
                # the next exercise's child starts (imports numpy and tinyae)
                # while this one is checked
                child, spare = spare, (_Child(folder) if ex is not with_file[-1] else None)
            result = check_file(folder, ex.number, seed=(seed * 1000 + ex.number) % 2**63,
                                integration=integration, timeout=timeout, child=child)
            result["seed"] = seed
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        if spare is not None:
            spare.stop()
    return seed, results


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
    hints = result.get("hints")
    if hints == "unreadable":
        lines.append(f"    hints        {HINT_FILE} is not a record of opened hints")
    elif hints:
        lines.append(f"    hints        opened up to level {hints} "
                     f"({', '.join(str(level) for level in range(1, hints + 1))})")
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
    """The CSV's notes: the library calls first, then what the check found."""
    calls = "; ".join(result.get("library_calls") or ())
    rest = _notes_of_the_check(result)
    return f"{calls} | {rest}" if calls and rest and calls not in rest else (rest or calls)


def _notes_of_the_check(result):
    if result["diagnosis"]:
        return " | ".join(f"{d['mistake']}: {d['message']}" for d in result["diagnosis"])
    if result["differences"]:
        return " | ".join(result["differences"])
    failing = [p for p in PARTS if result.get(p) is not None and not result[p]["passed"]]
    if failing:
        return " | ".join(f"{p}: {result[p]['text']}" for p in failing)
    return result.get("message", "")


def student_work(folder, assignment=None):
    """Where a student's exercise files are: ``folder`` itself, or its
    sub-folder ``assignment`` (nbgrader's ``submitted/<student>/<assignment>/``
    layout); with ``assignment`` None, the one sub-folder holding exercise
    files if ``folder`` holds none."""
    folder = Path(folder)
    if assignment is not None:          # a student who submitted nothing: all missing
        return folder / assignment if (folder / assignment).is_dir() else folder
    if any(exercise_file(folder, ex) for ex in EXERCISES.values()):
        return folder
    inner = [d for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")
             and any(exercise_file(d, ex) for ex in EXERCISES.values())]
    return inner[0] if len(inner) == 1 else folder


def grade(submissions, csv_path, numbers=None, *, timeout=DEFAULT_TIMEOUT, seed=None,
          integration=True, stream=None, assignment=None):
    """Check every student folder in ``submissions`` (one sub-folder per
    student; nbgrader's ``submitted/`` works too: each student's files are
    found in ``<student>/<assignment>/``, see ``student_work``) in
    isolation, with the same random inputs for everyone, and
    write ``csv_path``: one row per student with the total, then per
    exercise its score (0 to 1, the fraction of the check's parts that
    passed), its status, the notes (diagnosed mistakes or what failed) and
    the highest hint level the student opened (0: none; ``HINT_FILE``).
    Returns the rows. The options (``timeout``, ``csv_path``) are checked
    before any student is."""
    timeout = check_timeout(timeout)
    check_csv_path(csv_path)
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
        header += [f"ex{ex.number:02d}{column}"
                   for column in ("", "_status", "_notes", "_hints")]
    rows = []
    for student in students:
        _, results = check_folder(student_work(student, assignment),
                                  [ex.number for ex in exercises], timeout=timeout,
                                  seed=seed, integration=integration)
        row = {"student": student.name, "total": round(sum(r["score"] for r in results), 3)}
        for r in results:
            key = f"ex{r['number']:02d}"
            row[key], row[f"{key}_status"], row[f"{key}_notes"] = (r["score"], r["status"],
                                                                    _notes(r))
            row[f"{key}_hints"] = r.get("hints", 0)
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
