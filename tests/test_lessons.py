"""Every lesson runs with its default arguments and every claim it makes holds.

Lessons are discovered from lessons/NN_topic.py, so a new lesson is tested as
soon as it exists. Each runs in a fresh interpreter, as a student would run it,
with its figures written to a temporary folder.

A lesson uses ``tinyae.course.lesson.threads_from_env()`` threads (1 unless
$TINYAE_THREADS says otherwise), so the selected lessons run side by side,
as many at once as there are cores for them (``_workers``), started when the
first lesson test runs; each test waits for its own lesson. Run one by one
they took about 500 of the suite's 715 s on the project's 2-core machine.
The lessons whose claims compare timings (``TIMED``) run first, one at a
time, with no other lesson beside them.
"""

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from tinyae.course.lesson import threads_from_env

LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]_*.py"))


def _workers():
    """Lessons at once: the cores this process may use over each lesson's threads."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:                      # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // threads_from_env())


#: Lessons whose claims compare timings (lesson 09: the kernels against
#: NumPy and the GEMM ladder against OpenBLAS; lesson 12: Barnes-Hut against
#: the exact gradient). Each runs while no other lesson does, before the
#: rest: beside another lesson, which shares the memory and on two cores
#: every cycle, lesson 09's register micro-kernel ran at half its speed
#: (29.5 and 32.2 GFLOP/s against 52-66 alone) and its claims failed in two
#: CI runs in a row, while they held in every run alone.
TIMED = ("09_kernels", "12_capacity_and_manifolds")


def _after(gate, script, figures):
    """``_run`` once every future of ``gate`` is done."""
    wait(gate)
    return _run(script, figures)


def _run(script, figures):
    env = dict(os.environ, TINYAE_FIGURES=str(figures), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def lesson_runs(request, tmp_path_factory):
    """script -> (future of its finished process, its figure folder), for the
    lessons this session selected (``-k`` and ``-m`` are applied before)."""
    selected = [item.callspec.params["script"] for item in request.session.items
                if item.originalname == "test_lesson_claims_hold"]
    alone, pool = ThreadPoolExecutor(1), ThreadPoolExecutor(_workers())
    runs = {}
    for script in sorted(selected, key=lambda s: s.stem not in TIMED):   # TIMED first
        figures = tmp_path_factory.mktemp(script.stem)
        if script.stem in TIMED:
            runs[script] = alone.submit(_run, script, figures), figures
        else:              # side by side, once the timed lessons are done
            gate = [f for s, (f, _) in runs.items() if s.stem in TIMED]
            runs[script] = pool.submit(_after, gate, script, figures), figures
    yield runs
    for p in (alone, pool):
        p.shutdown(wait=True, cancel_futures=True)


@pytest.mark.lesson
@pytest.mark.parametrize("script", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_claims_hold(script, lesson_runs):
    future, figures = lesson_runs[script]
    proc = future.result()
    out = proc.stdout + proc.stderr
    claims = re.findall(r"^CLAIM (PASS|FAIL)", proc.stdout, flags=re.M)
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{out[-4000:]}"
    assert claims and "FAIL" not in claims, out[-4000:]
    assert list((figures / script.stem).glob("*.png")), f"{script.name} saved no figure"
    # every number the prose quotes in bold is one the default run printed
    pytest.importorskip("jupytext", reason="reading a lesson's prose needs jupytext")
    from tinyae.course.notebooks import BOLD_NUMBER, bold_numbers, quoted_number_found
    stale = [q for q in bold_numbers(script) if not quoted_number_found(q, proc.stdout)]
    assert not stale, (f"{script.name} quotes {stale} in bold, but its default run "
                       f"printed no such number:\n{proc.stdout[-3000:]}")
    # and so is every number the README's lesson table quotes in bold for it
    row = _readme_row(script)
    assert row is not None, f"the README's lesson table has no row for {script.name}"
    stale = [q for q in re.findall(BOLD_NUMBER, row)
             if not quoted_number_found(q, proc.stdout)]
    assert not stale, (f"the README's row for {script.name} quotes {stale} in bold, but "
                       f"the default run printed no such number")


def test_the_arithmetic_is_pinned_on_x86():
    """The numbers the lessons quote hold on any x86-64 host because
    ``tests/conftest.py`` pins OpenBLAS's kernels and Numba's target to AVX2
    ("Haswell") before either loads; a pin set after NumPy had loaded
    OpenBLAS would leave it on the host's kernels, and this test fails."""
    import ctypes
    import platform

    import numba

    from tinyae.threads import _numpy_openblas
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the pins are for x86-64 hosts")
    lib = _numpy_openblas()
    names = ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
             "openblas_get_corename64_", "openblas_get_corename")
    corename = next(getattr(lib, n) for n in names if hasattr(lib, n))
    corename.restype = ctypes.c_char_p
    assert corename().decode().lower() == "haswell"
    assert (numba.config.CPU_NAME, numba.config.CPU_FEATURES) == ("haswell", "")
    from numpy._core._multiarray_umath import __cpu_features__
    assert not any(__cpu_features__.get(f) for f in ("X86_V4", "AVX512_ICL", "AVX512_SPR"))


def _readme_row(script):
    """The README lesson table's row for ``script`` (its text), or None."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    m = re.search(rf"^\| `{re.escape(script.name)}` \|(.*)$", readme, re.M)
    return m.group(1) if m else None


def test_the_readme_lesson_table_matches_the_lessons():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    rows = re.findall(r"^\| `(\d\d_\w+\.py)` \|", readme, re.M)
    assert rows == [p.name for p in LESSONS]
