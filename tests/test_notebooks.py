"""Lessons and exercises open as notebooks: one lesson (00, the fastest)
and one exercise are converted with jupytext and executed with nbclient in
a real kernel. Skipped (with the reason) only if the test extra's notebook
packages are missing; CI installs them."""

import json
import os
import re
from pathlib import Path

import pytest

from tinyae.course import cli
from tinyae.course.exercises import EXERCISES, solution_source
from tinyae.course.exercises.checker import check_file

ROOT = Path(__file__).resolve().parent.parent


def _need(module):
    return pytest.importorskip(module, reason=f"{module} is not installed "
                                              f"(pip install -e '.[test]')")


def test_notebooks_without_jupytext_is_a_clear_error(monkeypatch, tmp_path, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "jupytext", None)     # import jupytext -> ImportError
    assert cli.main(["notebooks", str(tmp_path)]) == 1
    assert 'pip install "tinyae[notebooks]"' in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_notebooks_command_writes_every_lesson_and_exercise(tmp_path, capsys):
    _need("jupytext")
    assert cli.main(["notebooks", str(tmp_path), "--lessons", str(ROOT / "lessons")]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    lessons = sorted(p.stem for p in (ROOT / "lessons").glob("[0-9][0-9]_*.py"))
    assert names == sorted([f"{s}.ipynb" for s in lessons]
                           + [f"{ex.stem}.ipynb" for ex in EXERCISES.values()])
    nb = json.loads((tmp_path / "ex07_contractive.ipynb").read_text())
    kinds = [c["cell_type"] for c in nb["cells"]]
    assert kinds[0] == "markdown" and "code" in kinds
    graded = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader")]
    solution_cells = [c for c in graded if c["metadata"]["nbgrader"]["solution"]]
    check_cells = [c for c in graded if c["metadata"]["nbgrader"]["grade"]]
    assert solution_cells and len(solution_cells) + len(check_cells) == len(graded)
    assert len(check_cells) == 1 and check_cells[0]["metadata"]["nbgrader"]["locked"]
    assert "check_here(7, globals())" in "".join(check_cells[0]["source"])
    assert "raise NotImplementedError()" in "".join(solution_cells[0]["source"])
    lesson = json.loads((tmp_path / "00_gradient_checking.ipynb").read_text())
    assert lesson["cells"][0]["cell_type"] == "markdown"      # the docstring
    assert len(lesson["cells"]) > 5


def test_checker_reads_a_notebook(tmp_path):
    _need("jupytext")
    from tinyae.course.notebooks import write_notebook
    write_notebook(solution_source(6), tmp_path / "ex06_corruption.ipynb")
    result = check_file(tmp_path, 6, seed=0, integration=False)
    assert result["status"] == "pass" and result["file"] == "ex06_corruption.ipynb"


def _run_notebook(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _execute(path, tmp_path):
    nb = _run_notebook(path, tmp_path)
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []))


@pytest.mark.parametrize("stem", ["00_gradient_checking", "01_linear_ae_vs_pca"])
def test_a_literate_lesson_shows_every_figure_inline(stem, tmp_path, monkeypatch):
    """Executed as a notebook, a lesson shows each figure it saves inline, in
    the output of the cell that saved it, and holds every claim."""
    for module in ("nbclient", "ipykernel", "jupytext"):
        _need(module)
    from tinyae.course.notebooks import write_notebook
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("TINYAE_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("TINYAE_LESSON_ARGS", raising=False)
    nb = _run_notebook(write_notebook((ROOT / "lessons" / f"{stem}.py").read_text(),
                                      tmp_path / f"{stem}.ipynb"), tmp_path)
    saved = sorted((tmp_path / "figures" / stem).glob("*.png"))
    shown = [out for cell in nb.cells if cell.cell_type == "code"
             for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert saved and len(shown) == len(saved), (len(shown), [p.name for p in saved])
    for cell in nb.cells:                           # the image sits under its own cell
        if cell.cell_type == "code" and any("image/png" in o.get("data", {})
                                            for o in cell.get("outputs", [])):
            assert "lesson.save(" in cell.source or "lesson.show(" in cell.source
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []))
    assert "CLAIM PASS" in text and "CLAIM FAIL" not in text
    assert re.search(rf"== {stem}: (\d+)/\1 claims hold", text)
    assert "IProgress not found" not in text and "Traceback" not in text


def test_a_lesson_and_an_exercise_run_as_notebooks(tmp_path, monkeypatch):
    _need("nbclient")
    _need("ipykernel")
    _need("jupytext")
    from tinyae.course.notebooks import write_notebook
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("TINYAE_BACKEND", "numpy")        # no JIT compilation in the kernel
    monkeypatch.setenv("TINYAE_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("TINYAE_LESSON_ARGS", raising=False)

    lesson = write_notebook((ROOT / "lessons" / "00_gradient_checking.py").read_text(),
                            tmp_path / "00_gradient_checking.ipynb")
    out = _execute(lesson, tmp_path)
    assert "CLAIM FAIL" not in out and "CLAIM PASS" in out
    assert "== 00_gradient_checking: 12/12 claims hold" in out
    assert list((tmp_path / "figures" / "00_gradient_checking").glob("*.png"))

    exercise = write_notebook(solution_source(1), tmp_path / "ex01_linear.ipynb")
    out = _execute(exercise, tmp_path)
    assert "ex01_linear" in out and "PASS" in out and "FAIL" not in out
