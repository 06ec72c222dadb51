"""Gradescope's results.json: one submission, one test per exercise, the
same scores as ``tinyae exercises grade``'s CSV, in Gradescope's schema."""

import csv
import json

import pytest

from tinyae.course import cli
from tinyae.course.exercises import EXERCISES, solution_source, student_source

SCHEMA_TOP = {"score": float, "execution_time": float, "output": str, "visibility": str,
              "stdout_visibility": str, "tests": list}
SCHEMA_TEST = {"name": str, "number": str, "score": float, "max_score": float, "status": str,
               "output": str, "visibility": str}


def _submission(folder, solved, unsolved):
    folder.mkdir(parents=True)
    for n in solved:
        (folder / f"{EXERCISES[n].stem}.py").write_text(solution_source(n))
    for n in unsolved:
        (folder / f"{EXERCISES[n].stem}.py").write_text(student_source(n))
    return folder


def test_results_json_follows_the_schema_and_matches_the_csv(tmp_path, capsys):
    sub = _submission(tmp_path / "subs" / "ada", solved=[6], unsolved=[8])
    results = tmp_path / "results" / "results.json"
    args = ["exercises", "gradescope", str(sub), "6", "8", "--results", str(results),
            "--seed", "3", "--no-integration"]
    assert cli.main(args) == 0
    out = json.loads(results.read_text())
    for key, kind in SCHEMA_TOP.items():
        assert isinstance(out[key], kind), key
    assert [t["number"] for t in out["tests"]] == ["6", "8"]
    for t in out["tests"]:
        for key, kind in SCHEMA_TEST.items():
            assert isinstance(t[key], kind), key
        assert t["status"] in ("passed", "failed") and 0 <= t["score"] <= t["max_score"]
    solved, unsolved = out["tests"]
    assert solved["status"] == "passed" and solved["score"] == 1.0
    assert unsolved["status"] == "failed" and unsolved["score"] < 1.0
    assert "not done" in unsolved["output"].lower() or "NotImplementedError" in \
        unsolved["output"]
    assert out["score"] == pytest.approx(solved["score"] + unsolved["score"])
    assert "seed 3" in out["output"]
    # the CSV of `grade` gives the same scores
    grades = tmp_path / "grades.csv"
    assert cli.main(["exercises", "grade", str(tmp_path / "subs"), "6", "8", "--csv",
                     str(grades), "--seed", "3", "--no-integration"]) == 0
    row = next(csv.DictReader(grades.open()))
    assert float(row["ex06"]) == solved["score"] and float(row["ex08"]) == unsolved["score"]


def test_gradescope_refuses_a_folder_as_results(tmp_path, capsys):
    sub = _submission(tmp_path / "s", solved=[6], unsolved=[])
    with pytest.raises(SystemExit) as e:
        cli.main(["exercises", "gradescope", str(sub), "--results", str(tmp_path)])
    assert e.value.code == 2 and "is a folder" in capsys.readouterr().err


def test_grade_finds_each_students_work_in_an_assignment_folder(tmp_path):
    from tinyae.course.exercises.checker import student_work
    flat = _submission(tmp_path / "flat" / "ada", solved=[6], unsolved=[])
    nested = _submission(tmp_path / "nested" / "bob" / "ps1", solved=[6], unsolved=[])
    assert student_work(flat) == flat
    assert student_work(nested.parent) == nested                     # found by itself
    assert student_work(nested.parent, "ps1") == nested
    assert student_work(nested.parent, "ps2") == nested.parent       # nothing submitted
