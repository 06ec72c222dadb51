"""Exercise sources with their solutions (jupytext percent format).

Each ``exNN_slug.py`` is a script, a notebook (``tinyae notebooks``) and an
nbgrader source at once: the solution regions sit between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` in cells carrying nbgrader's
metadata. ``tinyae exercises start DIR`` writes the student versions, with
each region replaced by ``raise NotImplementedError()``.
"""
