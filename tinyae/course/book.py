"""The course book: lessons, exercises, syllabus, instructor's guide, API
reference and references as one static HTML site, built offline.

    tinyae book site/                       # the whole course
    tinyae book site/ --lessons 00 06 11    # a quick subset
    tinyae book site/ --execute             # re-run every lesson notebook

How it is built, and why this way:

* **Sphinx with MyST-NB** (the engine of Jupyter Book 1) and the
  sphinx-book-theme: every piece installs from PyPI and builds with no
  network; the theme ships its own fonts and icons, and Sphinx's search is a
  JavaScript index written next to the pages.
* **Lessons are executed here, not by MyST-NB.** Each lesson script becomes a
  notebook (``notebooks.to_notebook``) that nbclient runs in a fresh kernel;
  ``Lesson.save`` puts each figure inline as a PNG. The executed notebook is
  kept in ``.book-cache/`` (in the repository) under a key made of the lesson's source and
  every source file of the ``tinyae`` package, so an unchanged lesson on an
  unchanged library is never run twice (``--execute`` forces it). A table of
  the lesson's claims (read from its ``CLAIM`` lines) closes each page.
* **Mathematics is typeset by a copy of MathJax 3** (the ``tex-svg-full``
  component of the django-static-mathjax wheel, which ships MathJax's own
  build) placed in the site's ``_static``: no CDN, no web font.
* Exercises appear in their student version (solutions stripped), with the
  hints behind a click once an exercise has them; the instructor's guide
  gathers ``docs/instructor/``, the grading workflow and every exercise's
  catalogue of named mistakes; the API reference is autodoc over the
  library's modules.

Everything the site shows comes from the repository: ``lessons/``,
``docs/book/`` (the hand-written pages: landing page, syllabus, grading),
``docs/instructor/`` and the package itself.
"""

import argparse
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]          # the repository
PACKAGE = ROOT / "tinyae"

#: Modules whose docstrings make the API reference, by part of the library.
API_MODULES = {
    "Reference ops (NumPy)": ["tinyae.functional", "tinyae.functional.dense", "tinyae.functional.conv",
                              "tinyae.functional.transformer", "tinyae.functional.vq",
                              "tinyae.functional.tsne", "tinyae.functional.hashing",
                              "tinyae.functional.sparse_coding"],
    "Layers": ["tinyae.layers"],
    "Losses, penalties, bounds": ["tinyae.losses", "tinyae.penalties", "tinyae.bounds",
                                  "tinyae.distributions", "tinyae.corruption"],
    "Models": ["tinyae.models"],
    "Training": ["tinyae.optim", "tinyae.train", "tinyae.checkpoint", "tinyae.data"],
    "Gradient checking": ["tinyae.gradcheck"],
}

_CLAIM = re.compile(r"^CLAIM (PASS|FAIL)\s+(.*): measured (\S+) \(expected (.*)\)\s*$", re.M)


_INLINE_MATH = re.compile(r"(?<![\\$`])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![$\w])")


def dollar_math_to_rst(lines):
    """Docstring lines with maths written as in the lessons (``$...$`` inline,
    ``$$`` on a line of its own around a display) -> reST, in place: inline
    maths becomes ``:math:`...```, a display a ``.. math::`` block. So a
    derivation reads as LaTeX in a terminal and as mathematics in the book."""
    out, block, indent = [], None, ""
    for line in lines:
        stripped = line.strip()
        if block is not None:
            if stripped.endswith("$$"):
                body = stripped[:-2].strip()
                if body:
                    block.append(body)
                out += [f"{indent}.. math::", ""] + [f"{indent}   {b}" for b in block] + [""]
                block = None
            else:
                block.append(stripped)
            continue
        if stripped.startswith("$$"):
            indent = line[:len(line) - len(line.lstrip())]
            rest = stripped[2:]
            if rest.rstrip().endswith("$$") and rest.strip() != "":
                out += ["", f"{indent}.. math::", "", f"{indent}   {rest.rstrip()[:-2].strip()}", ""]
            else:
                block = [rest.strip()] if rest.strip() else []
                if out and out[-1].strip():
                    out.append("")
            continue
        out.append(_INLINE_MATH.sub(lambda m: f":math:`{m.group(1)}`", line))
    if block is not None:                               # an unclosed display: keep it
        out += [f"{indent}$$"] + block
    lines[:] = out
    return lines


def _need_sphinx():
    try:
        import myst_nb  # noqa: F401
        import sphinx  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as e:
        raise ImportError(f"building the book needs the optional dependencies of "
                          f"tinyae[book] ({e.name} is missing): pip install -e \".[book]\"") \
            from None


def mathjax_file():
    """The single-file MathJax 3 build (TeX input, SVG output) the site ships."""
    try:
        import mathjax
    except ImportError:
        raise ImportError("building the book needs MathJax from the django-static-mathjax "
                          "package: pip install -e \".[book]\"") from None
    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    if not path.exists():
        raise FileNotFoundError(f"MathJax's tex-svg-full.js is not at {path}")
    return path


# --------------------------------------------------------------------------
# Executing lessons, with a cache
# --------------------------------------------------------------------------

def library_digest():
    """A digest of every source file of the package: a changed op, layer or
    plotting function changes it, so cached lessons are executed again."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _local_kernel(folder):
    """nbclient's configuration for a kernel that talks over Unix sockets in
    ``folder`` (ZeroMQ's ipc transport) rather than TCP ports on the loopback
    address: no port is opened, and ipykernel has no unencrypted-TCP warning
    to print for every lesson. nbclient still starts and shuts the kernel."""
    from traitlets.config import Config
    return Config({"KernelManager": {"transport": "ipc", "ip": str(Path(folder) / "kernel")}})


def execute_lesson(script, cache_dir, *, library, force=False, timeout=900, log=print):
    """The executed notebook of the lesson ``script``: from the cache when its
    source and the library are unchanged (and not ``force``), else run with
    nbclient in a fresh kernel and cached. Returns (notebook, was_cached)."""
    import nbformat
    from nbclient import NotebookClient

    from .notebooks import to_notebook

    source = Path(script).read_text()
    key = hashlib.sha256((library + "\n" + source).encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"{Path(script).stem}-{key}.ipynb"
    if cached.exists() and not force:
        return nbformat.read(str(cached), as_version=4), True
    nb = to_notebook(source)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tinyae-book-") as figures:
        env = {"TINYAE_FIGURES": figures, "MPLBACKEND": "Agg",
               "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [
                   os.environ.get("PYTHONPATH")] if p])}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)                       # the kernel inherits them
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           config=_local_kernel(figures),
                           resources={"metadata": {"path": str(Path(script).parent)}}).execute()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    log(f"   executed {Path(script).stem} in {time.perf_counter() - start:.1f} s")
    cached.parent.mkdir(parents=True, exist_ok=True)
    for stale in cached.parent.glob(f"{Path(script).stem}-*.ipynb"):
        stale.unlink()
    tmp = cached.with_suffix(".tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, cached)
    return nb, False


def claims_of(nb):
    """[(passed, text, measured, expected)] from the CLAIM lines a notebook printed."""
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream")
    return [(m.group(1) == "PASS", m.group(2), m.group(3), m.group(4))
            for m in _CLAIM.finditer(text)]


def claims_table(claims):
    """A GFM table of a lesson's claims, as markdown."""
    rows = ["| | claim | measured | expected |", "| --- | --- | ---: | --- |"]
    for passed, text, measured, expected in claims:
        cell = text.replace("|", "\\|")
        rows.append(f"| {'✓' if passed else '✗ failed'} | {cell} | {measured} | "
                    f"{expected.replace('|', chr(92) + '|')} |")
    return "\n".join(rows)


# --------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------

def _lesson_page(nb, script):
    """The executed notebook with a closing section: its claims as a table."""
    from nbformat.v4 import new_markdown_cell

    claims = claims_of(nb)
    held = sum(c[0] for c in claims)
    nb.cells.append(new_markdown_cell(
        f"## The claims of this run\n\n{held} of {len(claims)} claims held in the run "
        f"that built this page (`python lessons/{script.name}` prints the same lines).\n\n"
        + claims_table(claims)))
    for cell in nb.cells:                            # no run counters in a book
        if cell.cell_type == "code":
            cell.execution_count = None
    return nb


def _exercise_page(number):
    """The student version of exercise ``number``, its hints behind clicks."""
    from .exercises import EXERCISES, hints, student_source
    from .notebooks import to_notebook
    from nbformat.v4 import new_markdown_cell

    nb = to_notebook(student_source(number))
    ex = EXERCISES[number]
    nb.cells.insert(1, new_markdown_cell(
        f"Get the file with `tinyae exercises start my-work` (it writes `{ex.stem}.py`), "
        f"or download this page as a notebook; check your work with `tinyae exercises "
        f"check {number}`, and open a hint with `tinyae exercises hint {number}`."))
    body = "\n\n".join(f"<details><summary>Hint, level {i}</summary>\n\n{text}\n\n</details>"
                       for i, text in enumerate(hints(number), 1))
    nb.cells.append(new_markdown_cell("## Hints\n\nOpen one level at a time (each exercise "
                                      "has three).\n\n" + body))
    return nb


def _exercise_map():
    from .exercises import EXERCISES
    from .syllabus import LESSON_EXERCISES

    rows = ["| lesson | exercises |", "| --- | --- |"]
    for lesson, numbers in LESSON_EXERCISES.items():
        names = ", ".join(f"[{n}. {EXERCISES[n].title}]({EXERCISES[n].stem}.ipynb)"
                          for n in numbers) or "—"
        rows.append(f"| {lesson} | {names} |")
    return "\n".join(rows)


def _mistakes_page():
    from .exercises import EXERCISES

    parts = ["# Common mistakes, by exercise\n",
             "Each exercise's checker knows these mistakes by name: when a student's "
             "outputs match one, the report says which and why. They are also the "
             "mistakes students make most, so they are worth a minute in class.\n"]
    for n, ex in EXERCISES.items():
        parts.append(f"## Exercise {n}: {ex.title}\n")
        for m in ex.mistakes:
            parts.append(f"- **{m.key}**: {m.message}")
        parts.append("")
    return "\n".join(parts)


def _references_page(lesson_sources):
    parts = ["# References\n", "Every source the lessons draw on, lesson by lesson.\n"]
    for stem, text in lesson_sources:
        m = re.search(r"^## References\s*\n(.*?)(?=^#{1,2} |\Z)", text, re.M | re.S)
        if m:
            parts.append(f"## Lesson {stem[:2]}: {stem[3:].replace('_', ' ')}\n")
            parts.append(m.group(1).strip() + "\n")
    return "\n".join(parts)


def _api_pages(src):
    pages = []
    for part, modules in API_MODULES.items():
        slug = re.sub(r"[^a-z]+", "-", part.lower()).strip("-")
        lines = [f"# {part}\n"]
        for mod in modules:
            lines += [f"## `{mod}`\n", "```{eval-rst}",
                      f".. automodule:: {mod}\n   :members:\n   :imported-members:"
                      if mod in ("tinyae.layers", "tinyae.models", "tinyae.data") else
                      f".. automodule:: {mod}\n   :members:", "```\n"]
        (src / "api" / f"{slug}.md").write_text("\n".join(lines))
        pages.append(f"api/{slug}")
    index = ["# API reference\n",
             "Generated from the docstrings. Every op's gradient is derived in the "
             "docstring of its reference function in `tinyae.functional`; the Numba "
             "twins in `tinyae.kernels` have the same names and signatures.\n",
             "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(p.split("/")[1] for p in pages)
             + "\n```\n"]
    (src / "api" / "index.md").write_text("\n".join(index))


def _toctree(caption, entries, hidden=True):
    return ("```{toctree}\n" + f":caption: {caption}\n:maxdepth: 1\n"
            + (":hidden:\n" if hidden else "") + "\n" + "\n".join(entries) + "\n```\n")


#: The site's icon (a browser asks for one; without it the server answers 404).
FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
           '<rect width="32" height="32" rx="6" fill="#1f4e79"/><text x="16" y="22" '
           'font-family="sans-serif" font-size="15" fill="#fff" text-anchor="middle">ae</text>'
           '</svg>')

CONF = '''# Generated by tinyae.course.book: do not edit; edit the builder instead.
project = "tinyae: autoencoders from scratch"
author = "the tinyae authors"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax"]
myst_enable_extensions = ["dollarmath", "amsmath", "html_admonition"]
myst_dmath_double_inline = True
nb_execution_mode = "off"              # the builder executed the lessons already
nb_merge_streams = True
html_theme = "sphinx_book_theme"
html_title = "tinyae: autoencoders from scratch"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_theme_options = {{"use_download_button": True, "use_fullscreen_button": False,
                      "home_page_in_toc": True, "show_toc_level": 2,
                      "use_repository_button": False, "use_issues_button": False}}
html_last_updated_fmt = None
html_context = {{"default_mode": "light"}}      # the theme logs an error without one
mathjax_path = "mathjax/tex-svg-full.js"
mathjax3_config = {{"loader": {{"load": []}},
                   "options": {{"enableMenu": False}},
                   "svg": {{"fontCache": "global"}}}}
autodoc_default_options = {{"undoc-members": False}}
autodoc_mock_imports = []
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "autodoc", "ref.python",
                     "toc.not_included", "misc.highlighting_failure"]
exclude_patterns = ["_build"]
sys_path = {root!r}
import sys
sys.path.insert(0, sys_path)


def setup(app):
    from tinyae.course.book import dollar_math_to_rst
    app.connect("autodoc-process-docstring",
                lambda app, what, name, obj, options, lines: dollar_math_to_rst(lines))
'''


def write_sources(src, *, lessons, cache_dir, execute=False, log=print):
    """Write the Sphinx source tree of the book into ``src``; returns the
    lesson stems built."""
    import nbformat

    from .exercises import EXERCISES
    from .lesson import find_lessons, select_lessons

    if src.exists():
        shutil.rmtree(src)
    for sub in ("lessons", "exercises", "instructor", "api", "_static/mathjax"):
        (src / sub).mkdir(parents=True, exist_ok=True)
    (src / "conf.py").write_text(CONF.format(root=str(ROOT)))
    shutil.copy(mathjax_file(), src / "_static" / "mathjax" / "tex-svg-full.js")
    (src / "_static" / "favicon.svg").write_text(FAVICON)

    scripts = find_lessons(ROOT / "lessons")
    if lessons:
        scripts = select_lessons(scripts, lessons)
    library = library_digest()
    lesson_entries, sources = [], []
    for script in scripts:
        nb, cached = execute_lesson(script, cache_dir, library=library, force=execute,
                                    log=log)
        if cached:
            log(f"   {script.stem}: executed notebook reused (lesson and library unchanged)")
        nbformat.write(_lesson_page(nb, script), str(src / "lessons" / f"{script.stem}.ipynb"))
        lesson_entries.append(f"lessons/{script.stem}")
        sources.append((script.stem, "\n".join(c.source for c in nb.cells
                                               if c.cell_type == "markdown")))

    for n, ex in EXERCISES.items():
        nbformat.write(_exercise_page(n), str(src / "exercises" / f"{ex.stem}.ipynb"))
    (src / "exercises" / "index.md").write_text(
        "# Exercises\n\nIn each exercise you write one piece of the library yourself "
        "(a backward pass, a bound, an optimiser step) from its forward pass and shapes; "
        "`tinyae exercises check` tells you whether it is right and, if not, which "
        "mistake you made. Which exercise goes with which lesson:\n\n" + _exercise_map()
        + "\n\n" + _toctree("Exercises", [ex.stem for ex in EXERCISES.values()], False))

    docs = ROOT / "docs"
    guides = sorted((docs / "instructor").glob("[0-9][0-9]_*.md"))
    for g in guides:
        shutil.copy(g, src / "instructor" / g.name)
    (src / "instructor" / "mistakes.md").write_text(_mistakes_page())
    shutil.copy(docs / "book" / "grading.md", src / "instructor" / "grading.md")
    (src / "instructor" / "index.md").write_text(
        "# Instructor's guide\n\nHow to hand out and grade the exercises, the mistakes "
        "students make in each, and the answers to every lesson's *Check your "
        "understanding* questions (which the student's pages do not have).\n\n"
        + _toctree("Instructor's guide", ["grading", "mistakes"]
                   + [g.stem for g in guides], False))

    _api_pages(src)
    (src / "references.md").write_text(_references_page(sources))
    for page in ("syllabus.md",):
        shutil.copy(docs / "book" / page, src / page)
    index = (docs / "book" / "index.md").read_text()
    index += "\n" + _toctree("Course", ["syllabus"]) \
        + _toctree("Lessons", lesson_entries) \
        + _toctree("Exercises", ["exercises/index"]) \
        + _toctree("For instructors", ["instructor/index"]) \
        + _toctree("Reference", ["api/index", "references"])
    (src / "index.md").write_text(index)
    return [s.stem for s in scripts]


#: Where executed lesson notebooks are kept between builds (git ignores it).
DEFAULT_CACHE = ROOT / ".book-cache"


def build(out, *, lessons=None, execute=False, cache_dir=None, log=print):
    """Build the book into the folder ``out`` (``out/index.html``); executed
    lessons are kept in ``cache_dir`` (default ``.book-cache/`` in the
    repository). Returns the path of the landing page."""
    _need_sphinx()
    from sphinx.application import Sphinx

    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out: {out} exists and is not a folder")
    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tinyae-book-src-") as tmp:
        src = Path(tmp) / "src"
        built = write_sources(src, lessons=lessons, cache_dir=cache_dir, execute=execute,
                              log=log)
        log(f"   sources written for {len(built)} lesson(s) in "
            f"{time.perf_counter() - start:.1f} s; running Sphinx")
        app = Sphinx(str(src), str(src), str(out), str(Path(tmp) / "doctrees"), "html",
                     status=None, warning=sys.stderr, freshenv=True, verbosity=0)
        app.build()
    if app.statuscode:
        raise RuntimeError(f"Sphinx failed (status {app.statuscode})")
    (out / ".nojekyll").write_text("")
    log(f"== book written to {out / 'index.html'} in {time.perf_counter() - start:.1f} s")
    return out / "index.html"


def main(argv=None, prog="tinyae book"):
    parser = argparse.ArgumentParser(
        prog=prog, description="Build the course book (a static HTML site, offline): "
        "syllabus, every lesson executed with its figures and claims, the exercises, the "
        "instructor's guide, the API reference. Needs pip install -e \".[book]\".")
    parser.add_argument("out", help="folder for the site (index.html goes there)")
    parser.add_argument("--lessons", nargs="+", metavar="NN", default=None,
                        help="build only these lessons (a quick check), e.g. 00 06 11")
    parser.add_argument("--execute", action="store_true",
                        help="run every lesson again, even where the cached run is current")
    args = parser.parse_args(argv)
    try:
        build(args.out, lessons=args.lessons, execute=args.execute)
    except (ImportError, ValueError, NotADirectoryError, FileNotFoundError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
