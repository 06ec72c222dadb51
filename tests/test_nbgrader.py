"""nbgrader for real: the instructor's notebooks (``tinyae notebooks DIR
--solutions``) go through nbgrader's own ``generate_assignment``,
``autograde`` and ``export``, and the points it gives equal what ``tinyae
exercises grade`` says, reading nbgrader's own ``submitted/`` layout: a point
for a passing exercise, none for one not done. The check cell is a locked, graded test cell worth one point that
fails when the check fails (``check_here`` raises in a kernel); a student
who overwrites it gets nbgrader's copy back at autograding.

Skipped, saying how to install it, where nbgrader is missing; the test extra
installs it, so CI runs it."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _nbgrader(course, *args):
    env = dict(os.environ, MPLBACKEND="Agg", TINYAE_BACKEND="numpy",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [
                   os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_nbgrader_round_trip(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader is not installed "
                                           "(pip install -e '.[test]' brings it)")
    from tinyae.course import cli
    course = tmp_path / "course"
    source = course / "source" / "ps1"
    source.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "tinyae"\n'
        'c.ExecutePreprocessor.timeout = 600\n')
    assert cli.main(["notebooks", str(tmp_path / "all"), "--exercises-only",
                     "--solutions"]) == 0
    shutil.copy(tmp_path / "all" / "ex06_corruption.ipynb", source)
    cells = json.loads((source / "ex06_corruption.ipynb").read_text())["cells"]
    checks = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
    assert len(checks) == 1 and checks[0]["metadata"]["nbgrader"]["locked"] \
        and checks[0]["metadata"]["nbgrader"]["points"] == 1

    _nbgrader(course, "generate_assignment", "ps1", "--force", "--create")
    released = course / "release" / "ps1" / "ex06_corruption.ipynb"
    assert "raise NotImplementedError()" in released.read_text()
    assert "### BEGIN SOLUTION" not in released.read_text()

    for student, notebook in (("ada", source / "ex06_corruption.ipynb"), ("bob", released),
                              ("eve", released)):
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder)
    # eve overwrites the check cell with a fake pass; nbgrader restores it
    eve = course / "submitted" / "eve" / "ps1" / "ex06_corruption.ipynb"
    nb = json.loads(eve.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["source"] = "print('PASS')"
    eve.write_text(json.dumps(nb))

    _nbgrader(course, "autograde", "ps1", "--force", "--create")
    _nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
    scores = {row["student_id"]: float(row["score"])
              for row in csv.DictReader((tmp_path / "grades.csv").open())}
    assert scores == {"ada": 1.0, "bob": 0.0, "eve": 0.0}
    # tinyae's grader reads nbgrader's submitted/<student>/<assignment>/ layout,
    # and passes exactly the students nbgrader gives the point to
    grades = tmp_path / "tinyae-grades.csv"
    assert cli.main(["exercises", "grade", str(course / "submitted"), "6", "--csv",
                     str(grades), "--assignment", "ps1", "--seed", "0",
                     "--no-integration"]) == 0
    rows = {row["student"]: row for row in csv.DictReader(grades.open())}
    assert {s: float(rows[s]["ex06_status"] == "pass") for s in rows} == scores
    assert float(rows["ada"]["ex06"]) == 1.0 and float(rows["bob"]["ex06"]) == 0.0
