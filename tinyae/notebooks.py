"""Lessons and exercises as Jupyter notebooks.

Both are written in jupytext's percent format (``# %%`` starts a code cell,
``# %% [markdown]`` a markdown cell), so they run as scripts and convert to
notebooks without losing anything. ``write_notebooks(folder)`` --
``tinyae notebooks DIR`` -- writes one ``.ipynb`` per lesson and per
exercise (the student version, or the solution with ``solutions=True``).
A lesson's module docstring, its first cell, becomes a markdown cell.

jupytext is an optional dependency (``pip install "tinyae[notebooks]"``);
nothing else in tinyae needs it.
"""

import ast
from pathlib import Path

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _jupytext():
    try:
        import jupytext
    except ImportError:
        raise ImportError(
            "writing notebooks needs jupytext, an optional dependency: "
            "pip install \"tinyae[notebooks]\" (or pip install jupytext)") from None
    return jupytext


def to_notebook(source):
    """A percent-format script -> a nbformat notebook (v4) with the Python 3
    kernel; a leading docstring cell becomes markdown."""
    jupytext = _jupytext()
    nb = jupytext.reads(source, fmt="py:percent")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    if nb.cells and nb.cells[0].cell_type == "code":
        try:
            body = ast.parse(nb.cells[0].source).body
        except SyntaxError:
            body = []
        if len(body) == 1 and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            from nbformat.v4 import new_markdown_cell
            nb.cells[0] = new_markdown_cell(body[0].value.value.strip())
    return nb


def write_notebook(source, path):
    """Convert ``source`` and write it to ``path`` (.ipynb)."""
    import nbformat

    nb = to_notebook(source)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_notebooks(folder, *, lessons=True, exercises=True, solutions=False,
                    lessons_dir=None):
    """Write ``NN_topic.ipynb`` for every lesson and ``exNN_slug.ipynb`` for
    every exercise (student versions unless ``solutions``) into ``folder``.
    Returns the paths written."""
    _jupytext()
    folder = Path(folder)
    written = []
    if lessons:
        from .lesson import find_lessons
        for script in find_lessons(lessons_dir):
            written.append(write_notebook(script.read_text(), folder / f"{script.stem}.ipynb"))
    if exercises:
        from .exercises import EXERCISES, solution_source, student_source
        for n, ex in EXERCISES.items():
            source = solution_source(n) if solutions else student_source(n)
            written.append(write_notebook(source, folder / f"{ex.stem}.ipynb"))
    return written
