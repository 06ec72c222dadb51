"""The course book builds offline and reads well in a real browser.

A small book (lesson 00 and the pages every build has: syllabus, exercises,
instructor's guide, API reference, references) is built once for the module,
then opened page by page in headless Chromium (Debian's ``chromium``, driven
by Playwright): every page loads with no console error and no request leaving
the machine, every image it shows has loaded, no raw TeX is left in the text
MathJax rendered, and every internal link points at a file of the site.

Skipped, saying how to get it, where the book's packages or Chromium are
missing; ``.ci/run`` installs Chromium so that CI runs it.
"""

import contextlib
import http.server
import io
import re
import shutil
import threading
from functools import partial
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parent.parent


def _need_book():
    for module in ("sphinx", "myst_nb", "sphinx_book_theme", "mathjax"):
        pytest.importorskip(module, reason=f"{module} is missing: pip install -e '.[book]'")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _need_book()
    from tinyae.course.book import build
    out = tmp_path_factory.mktemp("book")
    warnings = io.StringIO()                    # Sphinx writes its warnings to stderr
    with contextlib.redirect_stderr(warnings):
        build(out, lessons=["00"], cache_dir=out.parent / "book-cache", log=lambda *a: None)
    (out.parent / "sphinx-warnings.txt").write_text(warnings.getvalue())
    return out


@pytest.fixture(scope="module")
def served(site):
    """The site served on the loopback address, as a student's browser meets it."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_the_book_has_every_part(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for page in ("index.html", "syllabus.html", "references.html",
                 "lessons/00_gradient_checking.html", "exercises/index.html",
                 "exercises/ex04_gradcheck.html", "instructor/index.html",
                 "instructor/grading.html", "instructor/mistakes.html", "api/index.html",
                 "search.html"):
        assert page in pages, f"{page} missing from the book"
    assert (site / "_static" / "mathjax" / "tex-svg-full.js").stat().st_size > 1_000_000
    lesson = (site / "lessons" / "00_gradient_checking.html").read_text()
    assert "The claims of this run" in lesson and "✓" in lesson
    assert re.search(r'<img[^>]+src="[^"]+\.png"', lesson), "lesson 00 shows no figure"
    # the lesson's notebook is offered for download
    assert list(site.glob("_sources/lessons/00_gradient_checking.ipynb"))
    # nothing is fetched from outside: no http(s) URL in a script, style or font
    for page in site.rglob("*.html"):
        text = page.read_text()
        outside = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        assert not outside, f"{page.name} loads {outside[:3]}"


def test_every_docstring_in_the_api_reference_is_valid_rest(site):
    """The API pages are the library's docstrings through autodoc: a stray
    ``*`` or ``|``, a name ending in ``_`` or an indented line after a
    paragraph is a reST error, which the page shows as red text or a broken
    link. None is allowed, and no page has a "problematic" node."""
    log = (site.parent / "sphinx-warnings.txt").read_text()
    bad = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in log.splitlines()
           if "docstring of tinyae" in line]
    assert not bad, f"{len(bad)} reST problems in docstrings, e.g.\n" + "\n".join(bad[:8])
    for page in site.rglob("*.html"):
        assert 'class="problematic"' not in page.read_text(), f"{page.name} shows a reST error"


def test_lessons_run_in_a_kernel_on_unix_sockets_not_tcp(tmp_path):
    """The book's kernels open no port: nbclient's kernel manager is set to
    ZeroMQ's ipc transport, its sockets in the build's temporary folder."""
    _need_book()
    from jupyter_client import KernelManager

    from tinyae.course.book import _local_kernel
    km = KernelManager(kernel_name="python3", config=_local_kernel(tmp_path))
    assert km.transport == "ipc" and km.ip == str(tmp_path / "kernel")
    assert KernelManager(kernel_name="python3").transport == "tcp"   # what it would be


def test_an_unchanged_lesson_is_not_executed_again(site, monkeypatch):
    import nbclient

    from tinyae.course.book import execute_lesson, library_digest
    script = ROOT / "lessons" / "00_gradient_checking.py"
    cache = site.parent / "book-cache"
    nb, cached = execute_lesson(script, cache, library=library_digest())
    assert cached and nb.cells

    class Ran(Exception):
        pass

    def refuse(*args, **kwargs):
        raise Ran()

    monkeypatch.setattr(nbclient, "NotebookClient", refuse)
    for kwargs in (dict(library="a changed library"),          # the library changed
                   dict(library=library_digest(), force=True)):  # --execute
        with pytest.raises(Ran):
            execute_lesson(script, cache, **kwargs)


def _pages(site):
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).as_posix().startswith("_"))


def test_every_page_in_a_real_browser(site, served):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium "
                    "(.ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api",
                                     reason="pip install -e '.[test]' brings playwright")
    problems = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        errors, outside = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        page.on("request", lambda r: outside.append(r.url)
                if not r.url.startswith((served, "data:", "blob:")) else None)
        for name in _pages(site):
            errors.clear()
            outside.clear()
            page.goto(served + name, wait_until="load")
            # MathJax typesets after the load event: wait for its promise
            try:
                page.wait_for_function("() => window.MathJax === undefined || "
                                       "(MathJax.startup && MathJax.startup.promise)",
                                       timeout=20000)
                page.evaluate("() => window.MathJax ? MathJax.startup.promise.then(() => 1)"
                              " : 1")
            except playwright.Error:
                problems.append(f"{name}: MathJax never started (not shipped with the site?)")
            broken = page.evaluate("() => [...document.images].filter(i => !i.complete || "
                                   "i.naturalWidth === 0).map(i => i.src)")
            text = page.evaluate("() => document.querySelector('main, article, body')"
                                 ".innerText")
            raw = [t for t in ("$$", "\\frac", "\\mathbb", "\\begin{") if t in text]
            links = page.evaluate("() => [...document.querySelectorAll('a[href]')]"
                                  ".map(a => a.href)")
            dead = []
            for href in links:
                url, _ = urldefrag(href)
                if url.startswith(served):
                    target = site / urlparse(url).path.lstrip("/")
                    if target.is_dir():
                        target = target / "index.html"
                    if not target.exists():
                        dead.append(href)
            for kind, found in (("console errors", errors), ("outside requests", outside),
                                ("broken images", broken), ("raw TeX", raw),
                                ("dead links", dead)):
                if found:
                    problems.append(f"{name}: {kind}: {list(found)[:3]}")
        browser.close()
    assert not problems, "\n".join(problems)


def test_the_syllabus_covers_every_lesson_and_exercise():
    from tinyae.course.exercises import EXERCISES
    from tinyae.course.syllabus import LESSON_EXERCISES, lesson_of_exercise
    text = (ROOT / "docs" / "book" / "syllabus.md").read_text()
    plan = text[text.index("## The 12-week plan"):text.index("## The 4-week module")]
    rows = [line for line in plan.splitlines() if line.startswith("| ") and "---" not in line]
    lessons = {n for row in rows for n in re.findall(r"\b(\d\d) [a-zA-Z]", row.split("|")[2])}
    assert lessons == set(LESSON_EXERCISES), sorted(set(LESSON_EXERCISES) ^ lessons)
    exercises = {int(n) for row in rows for n in re.findall(r"\d+", row.split("|")[3])}
    assert exercises == set(EXERCISES), sorted(set(EXERCISES) ^ exercises)
    assert "optional" in plan and "09" in plan
    # each exercise sits in the week of its lesson
    for row in rows:
        cells = row.split("|")
        for n in re.findall(r"\d+", cells[3]):
            assert lesson_of_exercise(int(n)) in re.findall(r"\b(\d\d) ", cells[2]), row
