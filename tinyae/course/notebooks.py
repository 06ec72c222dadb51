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
import re
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
            doc = body[0].value.value.strip()
            titled = len(nb.cells) > 1 and nb.cells[1].cell_type == "markdown" \
                and nb.cells[1].source.lstrip().startswith("# ")
            if titled and "\n" not in doc:
                del nb.cells[0]          # a one-line docstring under a title cell: the
            else:                        # argparse description, not a second title
                nb.cells[0] = new_markdown_cell(doc)
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
                    lessons_dir=None, force=False):
    """Write ``NN_topic.ipynb`` for every lesson and ``exNN_slug.ipynb`` for
    every exercise (student versions unless ``solutions``) into ``folder``.
    Returns the paths written. A notebook already there (a student's edits,
    perhaps) is never overwritten unless ``force``: nothing is written then."""
    _jupytext()
    folder = Path(folder)
    sources = []                                        # (source text, target)
    if lessons:
        from .lesson import find_lessons
        sources += [(script.read_text(), folder / f"{script.stem}.ipynb")
                    for script in find_lessons(lessons_dir)]
    if exercises:
        from .exercises import EXERCISES, solution_source, student_source
        sources += [(solution_source(n) if solutions else student_source(n),
                     folder / f"{ex.stem}.ipynb") for n, ex in EXERCISES.items()]
    existing = [str(target) for _, target in sources if target.exists()]
    if existing and not force:
        raise FileExistsError(f"{len(existing)} notebook(s) already exist in {str(folder)!r}, "
                              f"e.g. {existing[0]}; pass --force (force=True) to overwrite "
                              f"them (edits made in them are lost)")
    return [write_notebook(source, target) for source, target in sources]


# --------------------------------------------------------------------------
# The lesson format (docs/writing_a_lesson.md), checked without running
# --------------------------------------------------------------------------

#: The longest code cell a lesson may have (non-blank lines).
MAX_CODE_LINES = 40

_HEADING = re.compile(r"^(#{1,3}) +(.+?)\s*$", re.M)
_QUESTION = re.compile(r"^\s*\d+\.\s+\S", re.M)
_EXERCISE_NAME = re.compile(r"\bExercises? +(\d+)")


def _sections(markdown_cells):
    """``##`` heading -> the text under it (up to the next heading of level
    1 or 2), over all markdown cells in order."""
    text = "\n\n".join(markdown_cells)
    heads = [(m.start(), m.end(), len(m.group(1)), m.group(2))
             for m in _HEADING.finditer(text)]
    out = {}
    for i, (start, end, level, title) in enumerate(heads):
        if level != 2:
            continue
        stop = next((h[0] for h in heads[i + 1:] if h[2] <= 2), len(text))
        out[title] = text[end:stop]
    return out


def lesson_problems(path, exercises=None):
    """What keeps the lesson at ``path`` from the lesson format, as a list of
    sentences (empty: it conforms). ``exercises``: the exercise numbers that
    go with it (default: ``syllabus.LESSON_EXERCISES``)."""
    from .syllabus import LESSON_EXERCISES

    path = Path(path)
    nb = to_notebook(path.read_text())
    number = path.stem[:2]
    wanted = LESSON_EXERCISES.get(number, ()) if exercises is None else exercises
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    problems = []
    titles = [m for m in markdown if m.lstrip().startswith(f"# Lesson {number}")]
    if not titles:
        problems.append(f"no markdown cell opens with the title '# Lesson {number}: ...'")
    elif not re.search(r"You will learn", titles[0]) or not re.search(r"It assumes",
                                                                      titles[0]):
        problems.append("the title cell does not say what the student will learn "
                        "('You will learn') and what it assumes ('It assumes')")
    headed = [m for m in markdown if re.search(r"^## ", m, re.M)]
    if len(headed) < 4:
        problems.append(f"{len(headed)} markdown cells with a '##' heading; a lesson "
                        f"has at least 4")
    maths = "\n".join(markdown)
    if not re.search(r"\$\$.+?\$\$", maths, re.S) and not re.search(r"\$[^$\n]+\$", maths):
        problems.append("no LaTeX maths ($...$ or $$...$$) in the markdown")
    for src in code:
        if re.search(r"^def main\(", src, re.M):
            problems.append("a lesson-wide main(): the work belongs in top-level cells")
        lines = [ln for ln in src.splitlines() if ln.strip()]
        if len(lines) > MAX_CODE_LINES:
            problems.append(f"a code cell of {len(lines)} lines (at most "
                            f"{MAX_CODE_LINES}), starting {lines[0][:60]!r}")
    if not code or "lesson.finish()" not in code[-1]:
        problems.append("the last code cell does not call lesson.finish()")
    sections = _sections(markdown)
    questions = sections.get("Check your understanding")
    if questions is None:
        problems.append("no '## Check your understanding' section")
    elif not 3 <= len(_QUESTION.findall(questions)) <= 5:
        problems.append(f"'Check your understanding' has {len(_QUESTION.findall(questions))}"
                        f" numbered questions; it needs 3 to 5")
    ex_text = sections.get("Exercises")
    if ex_text is None:
        problems.append("no '## Exercises' section")
    else:
        named = {int(n) for n in _EXERCISE_NAME.findall(ex_text)}
        missing = [n for n in wanted if n not in named]
        if missing:
            problems.append(f"the Exercises section does not name exercise(s) "
                            f"{', '.join(map(str, missing))}")
    if "References" not in sections:
        problems.append("no '## References' section")
    return problems


#: A number set in bold in Markdown: ``**13.87**``, ``**0.66**``, ``**12x**``, ``**95%**``.
BOLD_NUMBER = r"\*\*\s*[~≈]?\s*(-?\d[\d,]*(?:\.\d+)?)\s*(?:%|x|×)?\s*\*\*"


def bold_numbers(path):
    """The numbers set in bold (``**13.87**``, ``**0.66**``, ``**12x**``) in the
    markdown of the lesson at ``path``: the measured numbers its prose quotes,
    as strings."""
    nb = to_notebook(Path(path).read_text())
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return re.findall(BOLD_NUMBER, text)


def quoted_number_found(quoted, output):
    """Whether ``quoted`` (a bold number of the prose, e.g. ``"13.87"``) is
    among the numbers printed in ``output`` at its own rounding: some printed
    number, shown with as many decimals as ``quoted`` has, reads the same."""
    q = quoted.replace(",", "")
    decimals = len(q.split(".")[1]) if "." in q else 0
    want = f"{float(q):.{decimals}f}"
    for token in re.findall(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?", output):
        if f"{float(token.replace(',', '')):.{decimals}f}" == want:
            return True
    return False
