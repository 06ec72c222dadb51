"""Every lesson runs with its default arguments and every claim it makes holds.

Lessons are discovered from lessons/NN_topic.py, so a new lesson is tested as
soon as it exists. Each runs in a fresh interpreter, as a student would run it,
with its figures written to a temporary folder.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]_*.py"))


@pytest.mark.lesson
@pytest.mark.parametrize("script", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_claims_hold(script, tmp_path):
    env = dict(os.environ, TINYAE_FIGURES=str(tmp_path), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=600)
    out = proc.stdout + proc.stderr
    claims = re.findall(r"^CLAIM (PASS|FAIL)", proc.stdout, flags=re.M)
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{out[-4000:]}"
    assert claims and "FAIL" not in claims, out[-4000:]
    assert list((tmp_path / script.stem).glob("*.png")), f"{script.name} saved no figure"
