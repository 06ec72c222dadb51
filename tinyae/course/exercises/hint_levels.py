"""Graded hints: three levels per exercise, and a record of the levels a
student opened.

The hints live with the exercise, as the ``HINTS`` tuple of its catalogue
module ``catalogue/exNN_slug.py``: level 1 says where to start (what to write
out, what to differentiate), level 2 the key step or the shape reasoning,
level 3 may give the formula. ``tinyae exercises hint N --level L`` shows one
level and, in a student's folder, records it in ``.tinyae-hints.json``:
exercise number -> the highest level opened (``{"9": 2}``), so a student
(or an instructor reading the folder) can see how much help an exercise took.
"""

import importlib
import json
import os
import tempfile
from pathlib import Path

HINT_FILE = ".tinyae-hints.json"

#: Hint levels per exercise: where to start, the key step, the formula.
LEVELS = 3


def hints(number):
    """The hint levels of exercise ``number``, level 1 first (a tuple of
    Markdown strings); an unknown number is an error."""
    from . import exercise

    stem = exercise(number).stem
    return tuple(importlib.import_module(f"{__package__}.catalogue.{stem}").HINTS)


def opened(folder="."):
    """Exercise number -> highest hint level opened, as recorded in ``folder``
    ({} when nothing is recorded). A file that is not such a record is an
    error naming it."""
    path = Path(folder) / HINT_FILE
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text())
        return {int(k): int(v) for k, v in record.items()}
    except (ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"{path} is not a record of opened hints "
                         f"(expected a JSON object such as {{\"9\": 2}}): {e}") from None


def record_opened(folder, number, level):
    """Record that exercise ``number``'s hint ``level`` was opened in
    ``folder``, keeping the highest level per exercise; the file is replaced
    atomically (written beside it, then renamed). Returns the record."""
    record = opened(folder)
    record[number] = max(level, record.get(number, 0))
    text = json.dumps({str(k): v for k, v in sorted(record.items())}, indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=HINT_FILE + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, Path(folder) / HINT_FILE)
    except BaseException:
        os.unlink(tmp)
        raise
    return record
