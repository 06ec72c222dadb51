"""Gradescope's autograder format: one submission checked, ``results.json``
written in Gradescope's documented schema.

Gradescope runs an autograder once per submission in a container: the
student's files are in ``/autograder/submission/`` and the autograder writes
``/autograder/results/results.json``. With tinyae installed in the
container's set-up script, the autograder's ``run_autograder`` is one line:

    tinyae exercises gradescope /autograder/submission \\
        --results /autograder/results/results.json [N ...]

Each exercise becomes one Gradescope test whose ``max_score`` is 1 and whose
``score`` is the share of the check's parts that passed (the number the CSV
of ``tinyae exercises grade`` gives), with the report a student reads as its
output. The check is the same as ``check_folder``'s: a child process per
exercise, the verdict computed outside it.
"""

import json
import os
import time
from pathlib import Path

from .checker import DEFAULT_TIMEOUT, check_folder, format_result


def results_json(results, *, seed, execution_time):
    """The results.json dict for ``check_folder``'s results."""
    tests = []
    for r in results:
        tests.append({
            "name": f"Exercise {r['number']}: {r['title']}",
            "number": str(r["number"]),
            "score": round(float(r["score"]), 4),
            "max_score": 1.0,
            "status": "passed" if r["status"] == "pass" else "failed",
            "output": format_result(r),
            "visibility": "visible",
        })
    score = round(sum(t["score"] for t in tests), 4)
    return {"score": score, "execution_time": round(float(execution_time), 1),
            "output": f"{score:g} of {len(tests)} exercise(s); inputs drawn with seed "
                      f"{seed} (`tinyae exercises check --seed {seed}` repeats them)",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def gradescope(submission, results_path, numbers=None, *, timeout=DEFAULT_TIMEOUT,
               seed=None, integration=True):
    """Check the submission folder and write Gradescope's ``results_path``
    atomically. Returns the results dict."""
    results_path = Path(results_path)
    if results_path.is_dir():
        raise IsADirectoryError(f"--results {str(results_path)!r} is a folder; expected "
                                f"the path of results.json")
    start = time.perf_counter()
    seed, results = check_folder(submission, numbers, timeout=timeout, seed=seed,
                                 integration=integration)
    out = results_json(results, seed=seed, execution_time=time.perf_counter() - start)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = results_path.with_name(results_path.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, results_path)
    return out
