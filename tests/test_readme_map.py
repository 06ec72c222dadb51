"""The README's lesson-exercise table is the course map of tinyae.course.syllabus."""

import re
from pathlib import Path

from tinyae.course.syllabus import LESSON_EXERCISES


def test_the_readme_map_is_the_syllabus_map():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme[readme.index("| lesson | exercises |"):]
    rows = re.findall(r"^\| (\d\d) [^|]*\| ([^|]*)\|", table.split("\n\n")[0], re.M)
    shown = {lesson: tuple(int(n) for n in re.findall(r"(?:^|, )(\d+) ", cells))
             for lesson, cells in rows}
    assert shown == {k: v for k, v in LESSON_EXERCISES.items() if v}
