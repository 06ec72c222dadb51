"""The ``tinyae`` command: help at every level, errors for unknown names,
flags passed through to lessons, and a Lesson inside a notebook kernel."""

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

from tinyae.course import cli
from tinyae.course.exercises import EXERCISES
from tinyae.course.lesson import ClaimsFailed, Lesson, select_lessons

ROOT = Path(__file__).resolve().parent.parent

HELP = [["--help"], ["lessons", "--help"], ["gradcheck", "--help"], ["bench", "--help"],
        ["exercises", "--help"], ["exercises", "start", "--help"],
        ["exercises", "check", "--help"], ["exercises", "solution", "--help"],
        ["exercises", "grade", "--help"], ["exercises", "list", "--help"],
        ["exercises", "hint", "--help"],
        ["notebooks", "--help"]]


@pytest.mark.parametrize("argv", HELP, ids=[" ".join(a) for a in HELP])
def test_help_at_every_level(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tinyae")
    assert " ".join(argv[:-1]) in out.splitlines()[0]


BAD = [[], ["nope"], ["lessons", "99"], ["lessons", "1", "--lessons", str(ROOT / "lessons"),
                                          "--no-such-flag"],
       ["gradcheck", "-k", "no_case_has_this_name"], ["exercises"],
       ["exercises", "solution", "99"], ["exercises", "check", "42"],
       ["exercises", "hint", "99"], ["exercises", "hint", "1", "--level", "4"],
       ["exercises", "start", "somewhere", "0"]]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) or "(nothing)" for a in BAD])
def test_unknown_names_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert "error" in capsys.readouterr().err


def test_check_in_a_folder_without_exercises_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["exercises", "check", "--dir", str(tmp_path)])
    assert e.value.code == 2
    assert "tinyae exercises start" in capsys.readouterr().err


def test_python_dash_m_tinyae_is_the_command():
    proc = subprocess.run([sys.executable, "-m", "tinyae", "exercises", "solution", "3"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "def bce_with_logits_loss" in proc.stdout and "SOLUTION" not in proc.stdout


def test_solution_and_list(capsys):
    assert cli.main(["exercises", "solution", "09", "--markers"]) == 0
    assert "### BEGIN SOLUTION" in capsys.readouterr().out
    assert cli.main(["exercises", "list"]) == 0
    out = capsys.readouterr().out
    for ex in EXERCISES.values():
        assert ex.stem in out
        assert all(m.key in out and m.message not in out for m in ex.mistakes)
    assert cli.main(["exercises", "list", "--messages"]) == 0
    out = capsys.readouterr().out
    for ex in EXERCISES.values():
        assert all(f"- {m.key}: {m.message}" in out for m in ex.mistakes)


def test_console_script_and_extras_in_setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "tinyae = tinyae.course.cli:main" in cfg["options.entry_points"]["console_scripts"]
    extras = cfg["options.extras_require"]
    assert "jupytext" in extras["notebooks"]
    for package in ("jupytext", "nbclient", "ipykernel", "nbformat"):
        assert package in extras["test"]


# --------------------------------------------------------------------------
# tinyae lessons: selection and flags passed through
# --------------------------------------------------------------------------

FAKE = 'import sys\nprint("ARGV", sys.argv[1:])\nprint("CLAIM PASS  fake: measured 1")\n'


@pytest.fixture
def fake_lessons(tmp_path):
    for stem in ("00_intro", "01_first", "10_tenth"):
        (tmp_path / f"{stem}.py").write_text(FAKE)
    return tmp_path


def test_lessons_pass_flags_through(fake_lessons, capsys):
    code = cli.main(["lessons", "1", "--lessons", str(fake_lessons), "--full", "--seed", "3",
                     "--", "--k", "50"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("ARGV") == 1
    assert "ARGV ['--full', '--seed', '3', '--k', '50']" in out
    assert "01_first" in out and "10_tenth" not in out


def test_lesson_selection_is_exact(fake_lessons):
    scripts = sorted(fake_lessons.glob("*.py"))
    assert [s.stem for s in select_lessons(scripts, ["10", "0", "first"])] == \
        ["10_tenth", "00_intro", "01_first"]
    with pytest.raises(ValueError, match="no lesson matches '2', 'x'; the lessons are 00_intro"):
        select_lessons(scripts, ["2", "first", "x"])


# --------------------------------------------------------------------------
# Lesson inside a notebook kernel
# --------------------------------------------------------------------------

def test_lesson_in_a_kernel_ignores_argv_and_does_not_exit(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "argv", ["/x/ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.setenv("TINYAE_LESSON_ARGS", "--seed 5 --figures " + str(tmp_path))
    lesson = Lesson("99_test", "doc", epochs=2)
    assert lesson.seed == 5 and lesson.epochs == 2 and lesson.notebook
    lesson.claim("holds", 1.0, lt=2.0)
    assert lesson.finish() is None                     # no SystemExit in a kernel
    lesson.claim("fails", 3.0, lt=2.0)
    with pytest.raises(ClaimsFailed, match="1 of 2 claims failed"):
        lesson.finish()
    monkeypatch.delenv("TINYAE_LESSON_ARGS")
    assert Lesson("99_test", "doc", epochs=2).seed == 0          # defaults


def test_lesson_without_epochs_accepts_and_names_the_uniform_flags(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["lesson.py", "--full", "--epochs", "3"])
    Lesson("99_test", "doc")
    assert "--full and --epochs change nothing" in capsys.readouterr().out


def test_lesson_as_script_still_reads_its_argv_and_exits(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["lesson.py", "--seed", "4"])
    lesson = Lesson("99_test", "doc")
    assert lesson.seed == 4 and not lesson.notebook
    lesson.claim("holds", 1.0, lt=2.0)
    with pytest.raises(SystemExit) as e:
        lesson.finish()
    assert e.value.code == 0


def test_version(capsys):
    from tinyae import __version__
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"tinyae {__version__}"


def test_notebooks_never_overwrite_a_students_edits(tmp_path, capsys):
    pytest.importorskip("jupytext")
    assert cli.main(["notebooks", str(tmp_path), "--exercises-only"]) == 0
    edited = tmp_path / "ex01_linear.ipynb"
    edited.write_text(edited.read_text().replace("Exercise 1", "Exercise 1 (my notes)"))
    with pytest.raises(SystemExit) as e:
        cli.main(["notebooks", str(tmp_path), "--exercises-only"])
    assert e.value.code == 2
    assert "already exist" in capsys.readouterr().err and "my notes" in edited.read_text()
    assert cli.main(["notebooks", str(tmp_path), "--exercises-only", "--force"]) == 0
    assert "my notes" not in edited.read_text()


def test_notebooks_into_a_file_is_a_usage_error(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("")
    with pytest.raises(SystemExit) as e:
        cli.main(["notebooks", str(target)])
    assert e.value.code == 2 and "is a file; expected a folder" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly():
    import os
    read, write = os.pipe()
    os.close(read)                                  # the reader is gone before we write
    try:
        proc = subprocess.run([sys.executable, "-m", "tinyae", "exercises", "list"],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
