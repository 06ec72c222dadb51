"""The course kit: exercises, their checks and diagnoses, the student
folder workflow (start, check, grade) and the child processes that keep a
hanging or crashing exercise from stopping the run.

The diagnosis tests run in this process (no training); the folder tests go
through ``tinyae exercises ...`` and its child processes, as a student's
run would.
"""

import csv
import json

import numpy as np
import pytest

from tinyae.course import cli
from tinyae.course.exercises import (EXERCISES, check_here, exercise, remove_markers,
                              solution_source, start, strip_solutions, student_source)
from tinyae.course.exercises import harness
from tinyae.course.exercises.checker import check_file, format_result
from tinyae.course.exercises.specs import check_functions, difference, Raised
from tinyae.course.exercises.strip import solution_regions
from tinyae import functional as F


def _functions(source, names):
    namespace = {"__name__": "planted"}
    exec(compile(source, "planted.py", "exec"), namespace)
    return {n: namespace.get(n) for n in names}


def _planted(number, mistake):
    source = solution_source(number)
    for old, new in mistake.plant:
        assert old in source, f"plant of {mistake.key} does not apply: {old!r}"
        source = source.replace(old, new)
    return source


# --------------------------------------------------------------------------
# Sources and the generator
# --------------------------------------------------------------------------

def test_exercises_in_course_order_with_catalogues():
    assert list(EXERCISES) == list(range(1, len(EXERCISES) + 1))
    assert len(EXERCISES) >= 20
    for ex in EXERCISES.values():
        assert len(ex.mistakes) >= 4, ex.stem
        assert len({m.key for m in ex.mistakes}) == len(ex.mistakes)


def test_strip_replaces_regions_the_nbgrader_way():
    source = ("def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    y = x + 1\n"
              "    ### END SOLUTION\n    return y\n")
    assert strip_solutions(source) == ("def f(x):\n    y = 1\n    # YOUR CODE HERE\n"
                                       "    raise NotImplementedError()\n    return y\n")
    assert remove_markers(source) == "def f(x):\n    y = 1\n    y = x + 1\n    return y\n"
    for bad in ("### BEGIN SOLUTION\n", "### END SOLUTION\n",
                "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n"):
        with pytest.raises(ValueError, match="SOLUTION"):
            strip_solutions(bad)


@pytest.mark.parametrize("number", list(EXERCISES))
def test_student_version_has_no_solution_and_every_function_raises(number):
    ex = exercise(number)
    assert solution_regions(solution_source(number))
    student = student_source(number)
    assert "SOLUTION" not in student and "raise NotImplementedError()" in student
    assert "nbgrader=" in student and "# %% [markdown]" in student
    result = check_functions(ex, _functions(student, ex.functions), seed=0)
    assert result["status"] == "not done"


def test_unknown_exercise_is_an_error():
    with pytest.raises(ValueError, match="unknown exercise"):
        exercise(99)


# --------------------------------------------------------------------------
# Diagnosis: every catalogued mistake, planted in the solution, is named
# --------------------------------------------------------------------------

MISTAKES = [(n, m) for n, ex in EXERCISES.items() for m in ex.mistakes]


@pytest.mark.parametrize("number, mistake", MISTAKES,
                         ids=[f"{EXERCISES[n].stem}-{m.key}" for n, m in MISTAKES])
def test_planted_mistake_is_named(number, mistake):
    ex = exercise(number)
    result = check_functions(ex, _functions(_planted(number, mistake), ex.functions),
                             seed=3, integration=False)
    assert result["status"] == "fail"
    assert not result["values"]["passed"]
    assert [d["mistake"] for d in result["diagnosis"]] == [mistake.key], format_result(result)
    assert result["differences"] == [], format_result(result)


def _planted_form(number, edits):
    source = solution_source(number)
    for old, new in edits:
        assert old in source, f"form does not apply: {old!r}"
        source = source.replace(old, new)
    return source


FORMS = [(n, m, i) for n, ex in EXERCISES.items() for m in ex.mistakes
         for i in range(len(m.forms))]


def test_every_mistake_is_planted_in_more_than_one_written_form():
    """A catalogue entry stands for a kind of mistake: besides ``plant``,
    each has at least one other written form in ``forms`` (issue 24)."""
    one_form = [f"{EXERCISES[n].stem}-{m.key}" for n, ex in EXERCISES.items()
                for m in ex.mistakes if not m.forms]
    assert one_form == []


@pytest.mark.parametrize("number, mistake, i", FORMS,
                         ids=[f"{EXERCISES[n].stem}-{m.key}-{i}" for n, m, i in FORMS])
def test_another_written_form_of_a_mistake_is_named(number, mistake, i):
    ex = exercise(number)
    source = _planted_form(number, mistake.forms[i])
    assert source != _planted(number, mistake), "the form is the planted one"
    result = check_functions(ex, _functions(source, ex.functions), seed=5, integration=False)
    assert result["status"] == "fail" and not result["values"]["passed"]
    named = [d["mistake"] for d in result["diagnosis"]]
    assert mistake.key in named, format_result(result)


def test_diagnosis_by_kind_accepts_a_near_form_and_not_a_far_one():
    """db averaged over the batch (ex01's db_mean) divided by N ** 1.02
    instead of N (4% off the mean at N = 8, exact at batch 1, where the
    mistake does not show) is the same kind of mistake and is named; halfway between the
    sum and the mean, it is as far from the mistake as from the reference
    (farther than KIND) and is not."""
    ex = exercise(1)
    for form, named in (("db = dout.sum(axis=0) / dout.shape[0] ** 1.02", True),
                        ("db = 0.5 * (dout.sum(axis=0) + dout.mean(axis=0))", False)):
        source = solution_source(1).replace("db = dout.sum(axis=0)", form)
        result = check_functions(ex, _functions(source, ex.functions), seed=0,
                                 integration=False)
        assert not result["values"]["passed"]
        assert ("db_mean" in [d["mistake"] for d in result["diagnosis"]]) is named, form


def test_a_mistake_outside_the_catalogue_says_where_and_by_how_much():
    ex = exercise(1)
    source = solution_source(1).replace("db = dout.sum(axis=0)", "db = 3 * dout.sum(axis=0)")
    result = check_functions(ex, _functions(source, ex.functions), seed=0, integration=False)
    assert result["diagnosis"] == []
    [text] = result["differences"]
    assert text.startswith("db differs from the reference in 8 of 8 cases")
    assert "relative difference 2" in text and "yours is" in text and "the reference" in text


def test_two_mistakes_at_once_are_both_named():
    ex = exercise(1)
    source = (solution_source(1).replace("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")
              .replace("dW = x.T @ dout", "dW = dout.T @ x"))
    result = check_functions(ex, _functions(source, ex.functions), seed=0, integration=False)
    assert sorted(d["mistake"] for d in result["diagnosis"]) == ["dW_transposed", "db_mean"]
    assert any("shape" in p for p in result["contract"]["problems"])


def test_value_tolerance_fails_a_near_miss():
    ex = exercise(1)
    for factor, ok in ((1 + 1e-9, True), (1 + 1e-4, False)):
        source = solution_source(1).replace("db = dout.sum(axis=0)",
                                            f"db = {factor!r} * dout.sum(axis=0)")
        result = check_functions(ex, _functions(source, ex.functions), seed=0,
                                 integration=False)
        assert result["values"]["passed"] is ok


def test_difference_compares_dtypes_nonfinite_and_raised():
    a = np.array([1.0, np.inf])
    assert difference(a, a.copy()) == 0.0
    assert difference(a, np.array([1.0, 2.0])) == np.inf
    assert difference(a.astype(np.float32), a) == np.inf
    assert difference(np.ones(2), np.ones(3)) == np.inf
    assert difference(Raised(ValueError()), Raised(ValueError("x"))) == 0.0
    assert difference(Raised(ValueError()), Raised(KeyError())) == np.inf
    assert difference(Raised(ValueError()), 1.0) == np.inf


def test_contract_catches_a_modified_input():
    ex = exercise(3)
    source = solution_source(3).replace("n = logits.shape[0]\n",
                                        "n = logits.shape[0]\n    logits *= 1.0\n    target[...] = 0\n")
    result = check_functions(ex, _functions(source, ex.functions), seed=0, integration=False)
    assert not result["contract"]["passed"]
    assert any("modified its input 'target'" in p for p in result["contract"]["problems"])


def test_consistent_but_wrong_vae_passes_finite_differences_and_fails_the_rest():
    """The STYLE pitfall: exp(logvar) as the standard deviation keeps forward
    and backward consistent, so only the comparison with the reference (and
    training) can catch it."""
    ex = exercise(9)
    mistake = next(m for m in ex.mistakes if m.key == "exp_logvar_as_std")
    result = check_functions(ex, _functions(_planted(9, mistake), ex.functions), seed=0)
    assert result["gradients"]["passed"]
    assert not result["values"]["passed"]
    assert not result["integration"]["passed"]


def test_integration_tolerance_fails_a_near_miss():
    def no_bias(dout, cache):
        dx, dW, db = F.linear_backward(dout, cache)
        return dx, dW, 0 * db

    def rounding(dout, cache):
        dx, dW, db = F.linear_backward(dout, cache)
        return dx, dW, db * (1 + 1e-9)

    miss = harness.compare_training("autoencoder", {"linear_backward": no_bias}, what="x")
    hit = harness.compare_training("autoencoder", {"linear_backward": rounding}, what="x")
    assert not miss["passed"] and abs(miss["student"] / miss["reference"] - 1) < 0.02
    assert hit["passed"] and abs(hit["student"] / hit["reference"] - 1) < 1e-6


def test_check_here_prints_the_report(capsys):
    ex = exercise(1)
    result = check_here(1, _functions(solution_source(1), ex.functions), seed=0)
    out = capsys.readouterr().out
    assert result["status"] == "pass" and result["score"] == 1.0
    assert "ex01_linear" in out and "PASS" in out and "integration" in out


# --------------------------------------------------------------------------
# The student folder, through the command line and its child processes
# --------------------------------------------------------------------------

def _check_json(capsys, *argv):
    code = cli.main(["exercises", "check", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_start_then_check_reports_every_exercise_not_done(tmp_path, capsys):
    assert cli.main(["exercises", "start", str(tmp_path)]) == 0
    capsys.readouterr()
    code, report = _check_json(capsys, "--dir", str(tmp_path), "--no-integration")
    assert code == 1
    assert [r["number"] for r in report["results"]] == list(EXERCISES)
    assert {r["status"] for r in report["results"]} == {"not done"}
    with pytest.raises(SystemExit) as e:                   # never clobber a student's work
        cli.main(["exercises", "start", str(tmp_path)])
    assert e.value.code == 2


def test_filling_in_the_solutions_passes_every_exercise(tmp_path, capsys):
    start(tmp_path)
    for n, ex in EXERCISES.items():
        (tmp_path / f"{ex.stem}.py").write_text(solution_source(n))
    code, report = _check_json(capsys, "--dir", str(tmp_path), "--seed", "7")
    failed = [format_result(r) for r in report["results"] if r["status"] != "pass"]
    assert not failed, "\n".join(failed)
    assert code == 0 and report["seed"] == 7
    assert all(r["integration"]["passed"] for r in report["results"]       # where there is one
               if EXERCISES[r["number"]].integration is not None)
    assert all(r["integration"] is None for r in report["results"]
               if EXERCISES[r["number"]].integration is None)


def test_hang_crash_and_exceptions_are_reported_and_the_run_goes_on(tmp_path, capsys):
    start(tmp_path)
    hang = solution_source(1).replace("out = x @ W + b", "while True:\n        pass")
    crash = solution_source(2).replace("out = cache\n    ### BEGIN SOLUTION\n    return dout * out * (1 - out)",
                                       "import os\n    os._exit(3)")
    broken = solution_source(3) + "\nundefined_name\n"
    (tmp_path / "ex01_linear.py").write_text(hang)
    (tmp_path / "ex02_activations.py").write_text(crash)
    (tmp_path / "ex03_bce_logits.py").write_text(broken)
    code, report = _check_json(capsys, "1", "2", "3", "4", "--dir", str(tmp_path),
                               "--timeout", "2", "--no-integration")
    status = {r["number"]: r for r in report["results"]}
    assert code == 1
    assert status[1]["status"] == "timeout" and "time limit 2 s" in status[1]["message"]
    assert status[2]["status"] == "crash" and "exit code 3" in status[2]["message"]
    assert status[3]["status"] == "error" and "NameError" in status[3]["message"]
    assert status[4]["status"] == "not done"


def test_an_exercise_raising_in_every_case_is_an_error_with_its_line(tmp_path):
    start(tmp_path, numbers=[8])
    source = solution_source(8).replace("rho_hat = h.mean(axis=0)", "rho_hat = h.mean(axis=5)")
    (tmp_path / "ex08_kl_sparsity.py").write_text(source)
    result = check_file(tmp_path, 8, seed=0, integration=False)
    assert result["status"] == "error"
    assert "AxisError" in result["message"] and "ex08_kl_sparsity.py" in result["message"]


def test_grade_writes_one_row_per_student(tmp_path, capsys):
    subs = tmp_path / "submissions"
    start(subs / "alice", numbers=[1, 3])
    start(subs / "bob", numbers=[1, 3])
    for n, ex in ((1, EXERCISES[1]), (3, EXERCISES[3])):
        (subs / "alice" / f"{ex.stem}.py").write_text(solution_source(n))
    (subs / "bob" / "ex01_linear.py").write_text(
        solution_source(1).replace("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    out = tmp_path / "grades.csv"
    assert cli.main(["exercises", "grade", str(subs), "1", "3", "--csv", str(out)]) == 0
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"alice", "bob"}
    assert float(rows["alice"]["total"]) == 2.0
    assert rows["alice"]["ex01_status"] == rows["alice"]["ex03_status"] == "pass"
    assert rows["bob"]["ex01_status"] == "fail" and "db_mean" in rows["bob"]["ex01_notes"]
    assert 0 < float(rows["bob"]["ex01"]) < 1
    assert rows["bob"]["ex03_status"] == "not done" and float(rows["bob"]["ex03"]) == 0


def test_check_here_fails_the_cell_when_the_check_fails(capsys):
    from tinyae.course.exercises import ExerciseNotPassed
    ex = exercise(6)
    broken = _functions(student_source(6), ex.functions)
    with pytest.raises(ExerciseNotPassed, match="exercise 6 does not pass yet"):
        check_here(6, broken, seed=0, integration=False, strict=True)
    assert check_here(6, broken, seed=0, integration=False, strict=False)["status"] != "pass"
    with pytest.raises(SystemExit) as e:                    # python ex06_corruption.py
        check_here(6, dict(broken, __name__="__main__"), seed=0, integration=False)
    assert e.value.code == 1
    passing = _functions(solution_source(6), ex.functions)
    assert check_here(6, passing, seed=0, integration=False, strict=True)["status"] == "pass"
