"""What an exercise is, and how one set of a student's functions is checked.

An ``Exercise`` names the functions the student writes, the library's
reference for each, a *program* that runs them on one set of inputs and
returns named outputs (``{"dx": ..., "dW": ..., "db": ...}``), the random
cases to run it on, and a catalogue of known mistakes. Each ``Mistake`` is a
working implementation *of the mistake* (a variant of the reference); the
diagnosis runs every variant on the very inputs the student's code saw and
names the variants whose outputs the student's match, output by output.

``check_functions(exercise, funcs)`` runs the five parts of a check in the
current process and returns a plain dict (JSON-ready):

1. contract -- every output present, with the reference's shape and the
   input's dtype; no input modified (except the ones the exercise updates in
   place, such as Adam's moments);
2. values -- every output against the reference, float32 and float64, on
   ordinary and awkward shapes (batch 1, width 1, large values);
3. gradients -- the student's backward against central finite differences of
   the student's own forward, in float64 (``tinyae.gradcheck``);
4. diagnosis -- the catalogue, or which entries differ and by how much;
5. integration -- the student's op swapped into a small training run
   (``tinyae.course.exercises.harness``) against the reference run.

Running it in a child process with a time limit is ``tinyae.course.exercises.checker``'s job.
"""

import inspect
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...gradcheck.core import DEFAULT_TOL, NondeterministicLossError, check_arrays
from .worker import student_traceback

#: Relative tolerance (max-norm, see ``close``) against the reference, per dtype.
#: float64 at 1e-8: a correct float64 computation in another order lands
#: within about 1e-13, one done in float32 and cast back about 1e-7 away.
RTOL = {np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-8}

#: Diagnosis by kind: the student's output fits a mistake when, in every
#: case, it lies within ``KIND`` times the mistake's own distance from the
#: reference (or within the value tolerance) of the mistake's output. Another
#: form of the same mistake lands far closer than that (the tests plant a
#: second form of every mistake); the correct answer, at distance 1, never
#: does.
KIND = 0.2

#: The parts of a check, in order; a part is None when it does not apply.
PARTS = ("contract", "values", "gradients", "integration")


class NotDone(Exception):
    """The student's function still raises NotImplementedError."""


class Raised:
    """Stands for an output that could not be computed because the code
    raised: two Raised compare equal when the exception types agree (so a
    mistake that raises, e.g. 0/0 without a floor, can still be named)."""

    def __init__(self, exc, where=""):
        self.type = getattr(exc, "remote_type", type(exc).__name__)
        self.text = f"{self.type}: {exc}"
        self.where = where

    def __repr__(self):
        return f"Raised({self.text})"


def attempt(fn, *args, **kwargs):
    """``fn(*args)``, or ``Raised`` if it raises (NotImplementedError passes
    through): lets a program with several functions compute each output
    independently of the others' failures."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:                           # noqa: BLE001  (student code)
        return Raised(exc, _student_traceback(exc))


@dataclass(frozen=True)
class Mistake:
    """A known mistake: ``key`` names it, ``message`` explains it to the
    student, ``variant`` maps function names to implementations that make
    it (or is a tuple of such maps, when the mistake has written forms whose
    outputs differ by more than rounding, e.g. an unguarded log that gives
    -inf and one guarded by +1e-7 that gives -16), and ``plant`` is a list
    of (old, new) edits that plant it in the solution source.

    ``forms`` holds *other* written forms of the same mistake, each a list
    of (old, new) edits like ``plant`` (the floor added per entry instead of
    through a maximum, x restored by arithmetic instead of by assignment):
    the tests plant every one and check the diagnosis still names the
    mistake, so a catalogue entry stands for a kind of mistake, not for one
    spelling of it (``KIND``)."""

    key: str
    message: str
    variant: object
    plant: tuple = ()
    forms: tuple = ()

    @property
    def variants(self):
        """The implementations of the mistake, as a tuple of name -> function maps."""
        return self.variant if isinstance(self.variant, tuple) else (self.variant,)


@dataclass(frozen=True)
class Case:
    """One set of inputs: ``label`` says what is awkward about it."""

    label: str
    dtype: np.dtype
    inputs: dict


F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
DTYPES = (F64, F32)


def cast_inputs(dtype, **inputs):
    """The arrays among ``inputs`` cast to ``dtype`` (numbers kept as they are)."""
    return {k: np.asarray(v).astype(dtype) if isinstance(v, np.ndarray) else v
            for k, v in inputs.items()}


def cases_in_both_dtypes(rng, specs):
    """[(label, make(rng) -> dict of float64 arrays and numbers)] -> Cases in
    float64 and float32 (the same numbers, cast)."""
    cases = []
    for label, make in specs:
        inputs = make(rng)
        for dtype in DTYPES:
            cases.append(Case(f"{label}, {dtype.name}", dtype, cast_inputs(dtype, **inputs)))
    return cases


@dataclass
class Exercise:
    number: int
    slug: str
    title: str
    functions: tuple            # every function the program calls, by name
    reference: dict             # name -> the library's function
    program: object             # (funcs, **inputs) -> {output name: value}
    cases: object               # rng -> [Case]
    mistakes: tuple = ()
    fd: object = None           # (funcs, rng) -> {label: (f, arrays, analytic)}
    integration: object = None  # funcs -> [dict(passed, text, ...)]
    in_place: tuple = ()        # inputs the functions must update in place
    restores: tuple = ()        # inputs a function may change but must give back as found
    rtol: dict = field(default_factory=lambda: dict(RTOL))

    @property
    def stem(self):
        """File stem of the exercise: ``ex01_linear``."""
        return f"ex{self.number:02d}_{self.slug}"


# --------------------------------------------------------------------------
# Comparing outputs
# --------------------------------------------------------------------------

def _as_array(v):
    return np.asarray(v, dtype=np.float64)


def difference(a, b):
    """Max-norm relative difference ``max|a - b| / max(max|b|, 1e-30)`` of a
    (student's) from b (reference), after checking that the shapes agree and
    that non-finite entries (inf, nan) sit at the same places with the same
    values. Returns inf when shapes, dtypes (of two arrays) or non-finite
    entries disagree; two ``Raised`` of the same exception type differ by 0."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        same = isinstance(a, Raised) and isinstance(b, Raised) and a.type == b.type
        return 0.0 if same else np.inf
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype != b.dtype:
        return np.inf
    try:
        a, b = _as_array(a), _as_array(b)
    except (TypeError, ValueError):
        return np.inf
    if a.shape != b.shape:
        return np.inf
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb) or not np.array_equal(a[~fb], b[~fb], equal_nan=True):
        return np.inf
    if not fb.any():
        return 0.0
    scale = max(float(np.max(np.abs(b[fb]))), 1e-30)
    return float(np.max(np.abs(a[fb] - b[fb]))) / scale


def close(a, b, rtol):
    return difference(a, b) <= rtol


def _describe(v):
    if isinstance(v, np.ndarray):
        return f"array {v.shape} {v.dtype}"
    return type(v).__name__


def _worst_entry(a, b):
    """Index, student's and reference's value at the largest difference."""
    a, b = _as_array(a), _as_array(b)
    d = np.abs(a - b)
    d = np.where(np.isnan(d) | (np.isfinite(a) != np.isfinite(b)), np.inf, d)
    i = np.unravel_index(int(np.argmax(d)), d.shape) if d.ndim else ()
    return i, float(a[i]), float(b[i])


# --------------------------------------------------------------------------
# Running a program
# --------------------------------------------------------------------------

def _copy_inputs(inputs):
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def _parameter_names(exercise, name):
    try:
        return list(inspect.signature(exercise.reference[name]).parameters)
    except (KeyError, TypeError, ValueError):
        return []


def _shares_memory(value, a):
    if isinstance(value, np.ndarray):
        return np.shares_memory(value, a)
    return isinstance(value, (tuple, list)) and any(_shares_memory(v, a) for v in value)


def _own_copy(value, a):
    """``value`` with every array that shares memory with ``a`` copied."""
    if isinstance(value, np.ndarray):
        return value.copy() if np.shares_memory(value, a) else value
    if isinstance(value, (tuple, list)):
        return type(value)(_own_copy(v, a) for v in value)
    return value


class _Watched:
    """One of the student's functions, noting which of its array arguments
    it changed: ``log`` gets (function name, parameter name). An argument
    the function must not change is put back afterwards, so the next
    function of the program sees the input as it was and the change is
    blamed on the function that made it, not on the next one."""

    def __init__(self, exercise, name, fn, log):
        self.exercise, self.name, self.fn, self.log = exercise, name, fn, log
        self.params = _parameter_names(exercise, name)

    def __call__(self, *args, **kwargs):
        named = [(self.params[i] if i < len(self.params) else f"argument {i + 1}", a)
                 for i, a in enumerate(args)] + list(kwargs.items())
        before = [(p, a, a.copy()) for p, a in named if isinstance(a, np.ndarray)]
        value = self.fn(*args, **kwargs)
        for param, a, old in before:
            if a.shape == old.shape and not np.array_equal(a, old, equal_nan=a.dtype.kind in "fc"):
                self.log.append((self.name, param))
                if param not in self.exercise.in_place + self.exercise.restores:
                    value = _own_copy(value, a) if _shares_memory(value, a) else value
                    a[...] = old
        return value


def run_program(exercise, funcs, case):
    """Run the exercise's program on a copy of the case's inputs.

    Returns ``(outputs, inputs_after, modified)``, ``modified`` the list of
    (function, parameter) whose array argument the function changed.
    NotImplementedError becomes ``NotDone``; any other exception makes
    every output ``Raised``.
    """
    inputs = _copy_inputs(case.inputs)
    modified = []
    watched = {name: _Watched(exercise, name, fn, modified) if callable(fn) else fn
               for name, fn in funcs.items()}
    try:
        with np.errstate(all="ignore"):
            out = exercise.program(watched, **inputs)
    except NotImplementedError as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        name = getattr(exc, "function", None) or (frames[-1].name if frames else "")
        raise NotDone(name) from None
    except Exception as exc:                           # noqa: BLE001  (student code)
        out = _all_raised(exc)
    return out, inputs, modified


class _all_raised(dict):
    """Outputs of a program that raised: every key maps to the same Raised."""

    def __init__(self, exc):
        super().__init__()
        self.raised = Raised(exc, _student_traceback(exc))

    def get(self, key, default=None):
        return self.raised

    def __getitem__(self, key):
        return self.raised

    def __contains__(self, key):
        return True


_PACKAGE = str(Path(__file__).resolve().parents[2])


def _student_traceback(exc):
    """Where the exception came from in the student's code (or the last
    frame); for an exception raised in the checker's child process, where
    the child says it came from."""
    if hasattr(exc, "remote_type"):
        return exc.where
    return student_traceback(exc, _PACKAGE)


def _variant_outputs(exercise, variant, cases):
    funcs = dict(exercise.reference)
    funcs.update(variant)
    return [run_program(exercise, funcs, case)[0] for case in cases]


# --------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------

def _modified_inputs(exercise, cases, modified):
    """One problem per (function, argument) that a function changed and
    should not have, with the cases it happened in."""
    seen = {}
    for case, changed in zip(cases, modified):
        for key in dict.fromkeys(changed):
            if key[1] not in exercise.in_place:
                seen.setdefault(key, []).append(case.label)
    problems = []
    for (fn, param), labels in seen.items():
        where = f"[{labels[0]}]" + (f" and {len(labels) - 1} more case(s)" if len(labels) > 1
                                    else "")
        if param in exercise.restores:
            problems.append(f"{where}: your {fn} gave {param!r} back changed: it may change "
                            f"{param} while it runs, but must put every entry back before it "
                            f"returns")
        else:
            problems.append(f"{where}: your {fn} modified its input {param!r}: leave its "
                            f"inputs unchanged (work on new arrays)")
    return problems


def _contract(exercise, cases, ref_outs, stu_outs, inputs_after, modified):
    problems = _modified_inputs(exercise, cases, modified)
    for case, ref, stu, after, changed in zip(cases, ref_outs, stu_outs, inputs_after,
                                              modified):
        where = f"[{case.label}]"
        if isinstance(stu, _all_raised):
            problems.append(f"{where} your code raised {stu.raised.where}")
            continue
        if not isinstance(stu, dict):
            problems.append(f"{where} got {_describe(stu)} back, not the expected outputs")
            continue
        for key, r in ref.items():
            s = stu.get(key)
            if isinstance(s, Raised):
                problems.append(f"{where} {key}: your code raised {s.where}")
            elif isinstance(r, np.ndarray):
                if not isinstance(s, np.ndarray):
                    problems.append(f"{where} {key} is {_describe(s)}, expected a numpy array "
                                    f"of shape {r.shape}")
                elif s.shape != r.shape:
                    problems.append(f"{where} {key} has shape {s.shape}, expected {r.shape}")
                elif s.dtype != r.dtype:
                    problems.append(f"{where} {key} has dtype {s.dtype}, expected {r.dtype} "
                                    f"(the dtype of the inputs)")
            elif not isinstance(s, (float, int, np.floating, np.integer)) and not (
                    isinstance(s, np.ndarray) and s.ndim == 0):
                problems.append(f"{where} {key} is {_describe(s)}, expected a number")
        for name, before in case.inputs.items():
            if (name in exercise.in_place or name in exercise.restores or changed
                    or not isinstance(before, np.ndarray)):
                continue
            if not np.array_equal(before, after[name], equal_nan=True):
                problems.append(f"{where} your code modified its input {name!r}: leave "
                                f"inputs unchanged (work on new arrays)")
    return problems


def _compare_values(exercise, cases, ref_outs, stu_outs):
    """{key: [(case index, difference)]} for every output that is wrong."""
    wrong = {}
    for i, (case, ref, stu) in enumerate(zip(cases, ref_outs, stu_outs)):
        for key, r in ref.items():
            d = difference(stu.get(key), r)
            if d > exercise.rtol[case.dtype]:
                wrong.setdefault(key, []).append((i, d))
    return wrong


def _explains(exercise, key, cases, ref_outs, var_outs, stu_outs):
    """Does the variant explain the student's output ``key``? It must
    differ from the reference in some case and, in every case, the
    student's output must lie nearer the variant's than ``KIND`` times the
    variant's distance from the reference (or within the value tolerance)."""
    touched = False
    for case, ref, var, stu in zip(cases, ref_outs, var_outs, stu_outs):
        tol = exercise.rtol[case.dtype]
        off = difference(ref[key], var.get(key))
        fits = max(tol, KIND * off) if np.isfinite(off) else tol
        if difference(stu.get(key), var.get(key)) > fits:
            return False
        touched = touched or off > tol
    return touched


def _unexplained(key, hits, cases, ref_outs, stu_outs):
    i, d = max(hits, key=lambda h: h[1])
    case, stu, ref = cases[i], stu_outs[i].get(key), ref_outs[i][key]
    text = f"{key} differs from the reference in {len(hits)} of {len(cases)} cases"
    if isinstance(stu, Raised):
        return text + f"; [{case.label}] your code raised {stu.text}"
    if isinstance(stu, np.ndarray) and isinstance(ref, np.ndarray) and stu.dtype != ref.dtype:
        return text + f"; [{case.label}] your {key} has dtype {stu.dtype}, the reference {ref.dtype}"
    if np.shape(stu) != np.shape(ref):
        return text + (f"; [{case.label}] your {key} has shape {np.shape(stu)}, the "
                       f"reference {np.shape(ref)}")
    try:
        idx, s, r = _worst_entry(stu, ref)
    except (TypeError, ValueError):
        return text + f"; [{case.label}] yours is {_describe(stu)}"
    at = f"at entry {list(int(j) for j in idx)} " if idx else ""
    digits = 6 if not d < 1e-5 else 12          # enough to show a float64-sized difference
    return text + (f"; worst [{case.label}]: relative difference {d:.3g}, {at}yours is "
                   f"{s:.{digits}g}, the reference {r:.{digits}g}")


def _diagnose(exercise, cases, ref_outs, stu_outs, wrong):
    """Mistakes whose variant explains wrong outputs, and a description of
    the differences no mistake of the catalogue explains."""
    found, explained = [], set()
    for mistake in exercise.mistakes:
        keys = []
        for variant in mistake.variants:
            var_outs = _variant_outputs(exercise, variant, cases)
            keys += [k for k in wrong if k not in keys
                     and _explains(exercise, k, cases, ref_outs, var_outs, stu_outs)]
        if keys:
            found.append({"mistake": mistake.key, "outputs": keys, "message": mistake.message})
            explained.update(keys)
    unexplained = [_unexplained(k, hits, cases, ref_outs, stu_outs)
                   for k, hits in wrong.items() if k not in explained]
    return found, unexplained


def _gradients(exercise, funcs, rng):
    if exercise.fd is None:
        return None
    errors, changed = {}, []
    watched = {name: _Watched(exercise, name, fn, changed) for name, fn in funcs.items()}
    with np.errstate(all="ignore"):
        for label, (f, arrays, analytic) in exercise.fd(watched, rng).items():
            for k, a in analytic.items():
                if np.shape(a) != arrays[k].shape:
                    raise ValueError(f"{label}: d{k} has shape {np.shape(a)}, expected "
                                     f"{arrays[k].shape}")
            report = check_arrays(f, arrays, analytic, name=label)
            for k, e in report.errors.items():
                errors[f"{label}, d{k}"] = e if np.isfinite(e) else np.inf
    worst = max(errors, key=errors.get)
    passed = errors[worst] < DEFAULT_TOL
    return {"passed": passed, "errors": errors,
            "text": (f"your backward agrees with central differences of your forward "
                     f"(worst relative error {errors[worst]:.1e}, {worst})" if passed else
                     f"your backward disagrees with central differences of your own "
                     f"forward: relative error {errors[worst]:.2e} in {worst} (tolerance "
                     f"{DEFAULT_TOL:g}): the two are not a derivative pair")}


def check_functions(exercise, funcs, *, seed=None, integration=True):
    """Check the student's ``funcs`` (name -> function) for ``exercise``.

    ``seed`` seeds the random cases (None: fresh entropy, reported in the
    result so a run can be repeated). Returns the result dict: ``status``
    ("pass", "fail", "not done" or "error"), ``score`` in [0, 1] (the
    fraction of the parts that passed), each part (``{"passed", "text",
    ...}``, or None when it does not apply), ``diagnosis`` (named mistakes)
    and ``differences`` (what no catalogued mistake explains).
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    result = {"number": exercise.number, "name": exercise.stem, "title": exercise.title,
              "seed": seed, "status": None, "score": 0.0, "message": "",
              "diagnosis": [], "differences": [], **{p: None for p in PARTS}}
    missing = [name for name in exercise.functions if not callable(funcs.get(name))]
    if missing:
        result.update(status="error", message=f"function(s) {', '.join(missing)} not "
                      f"found: keep the names and signatures of the exercise file")
        return result
    rng = np.random.default_rng(seed)
    cases = exercise.cases(rng)
    ref_outs = [run_program(exercise, exercise.reference, c)[0] for c in cases]
    stu_outs, inputs_after, modified = [], [], []
    try:
        for case in cases:
            out, after, changed = run_program(exercise, funcs, case)
            stu_outs.append(out)
            inputs_after.append(after)
            modified.append(changed)
    except NotDone as e:
        what = f"{e} still raises" if str(e) else "a function still raises"
        result.update(status="not done", message=f"not done yet: {what} NotImplementedError")
        return result
    if all(isinstance(o, _all_raised) for o in stu_outs):
        result.update(status="error", message="your code raised "
                      + stu_outs[0].raised.where)
        return result

    problems = _contract(exercise, cases, ref_outs, stu_outs, inputs_after, modified)
    kept = (f"{', '.join(exercise.restores)} given back as found, the other inputs unchanged"
            if exercise.restores else "inputs left unchanged")
    result["contract"] = {
        "passed": not problems, "problems": problems,
        "text": (f"{len(cases)} cases: output shapes and dtypes right, {kept}"
                 if not problems else f"{len(problems)} problem(s): "
                 + "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else ""))}
    wrong = _compare_values(exercise, cases, ref_outs, stu_outs)
    labels = sorted({c.label.rsplit(", float", 1)[0] for c in cases})
    dtypes = sorted({c.dtype.name for c in cases})
    result["values"] = {
        "passed": not wrong, "wrong": sorted(wrong),
        "text": (f"every output matches the reference on {len(cases)} cases "
                 f"({'; '.join(labels)}; {' and '.join(dtypes)})" if not wrong else
                 "wrong: " + ", ".join(f"{k} (in {len(v)} of {len(cases)} cases)"
                                       for k, v in wrong.items()))}
    if wrong:
        result["diagnosis"], result["differences"] = _diagnose(
            exercise, cases, ref_outs, stu_outs, wrong)
    try:
        result["gradients"] = _gradients(exercise, funcs, np.random.default_rng([seed, 1]))
    except NotDone:
        result["gradients"] = {"passed": False, "text": "not run: NotImplementedError"}
    except NondeterministicLossError:
        result["gradients"] = {"passed": False, "text": (
            "your forward gave two different values for the same inputs, so finite "
            "differences measure that noise, not its slope: it must be a function of its "
            "inputs alone (no random draws of its own, no state kept from call to call)")}
    except Exception as exc:                           # noqa: BLE001  (student code)
        result["gradients"] = {"passed": False, "text": "your code raised during the "
                               "finite-difference check: " + _student_traceback(exc)}
    if integration and exercise.integration is not None:
        try:
            runs = exercise.integration(funcs)
            result["integration"] = {"passed": all(r["passed"] for r in runs), "runs": runs,
                                     "text": "; ".join(r["text"] for r in runs)}
        except Exception as exc:                       # noqa: BLE001  (student code)
            result["integration"] = {"passed": False, "text": "your code raised in the "
                                     "training run: " + _student_traceback(exc)}
    parts = [result[p] for p in PARTS if result[p] is not None]
    result["score"] = round(sum(bool(p["passed"]) for p in parts) / len(parts), 3)
    result["status"] = "pass" if all(p["passed"] for p in parts) else "fail"
    return result
