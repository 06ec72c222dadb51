"""Student versions from solution sources, the way nbgrader makes them.

A solution region is the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (markers included); ``strip_solutions`` replaces each
with two lines at the marker's indentation,

    # YOUR CODE HERE
    raise NotImplementedError()

as nbgrader's ClearSolutions does, so an instructor who uses nbgrader can
take the sources as they are. Unbalanced or nested markers are an error.
"""

import re

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")

_MARKER = re.compile(r"^(\s*)(### (?:BEGIN|END) SOLUTION)\s*$")


def solution_regions(source):
    """[(begin line, end line)] (0-based, inclusive) of every solution region."""
    regions, begin = [], None
    for i, line in enumerate(source.splitlines()):
        m = _MARKER.match(line)
        if not m:
            continue
        if m.group(2) == BEGIN:
            if begin is not None:
                raise ValueError(f"line {i + 1}: {BEGIN} inside another solution region "
                                 f"(opened on line {begin + 1})")
            begin = i
        else:
            if begin is None:
                raise ValueError(f"line {i + 1}: {END} without a {BEGIN}")
            regions.append((begin, i))
            begin = None
    if begin is not None:
        raise ValueError(f"line {begin + 1}: {BEGIN} is never closed by {END}")
    return regions


def strip_solutions(source):
    """The student version of ``source``: every solution region replaced by
    the stub at the region's indentation."""
    lines = source.splitlines(keepends=True)
    out, last = [], 0
    for begin, end in solution_regions(source):
        out.extend(lines[last:begin])
        indent = _MARKER.match(lines[begin]).group(1)
        out.extend(f"{indent}{s}\n" for s in STUB)
        last = end + 1
    out.extend(lines[last:])
    return "".join(out)


def remove_markers(source):
    """The solution without its marker lines (what ``exercises solution``
    shows)."""
    regions = solution_regions(source)
    marker_lines = {i for r in regions for i in r}
    return "".join(line for i, line in enumerate(source.splitlines(keepends=True))
                   if i not in marker_lines)
