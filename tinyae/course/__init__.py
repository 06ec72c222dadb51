"""The course tooling: what turns the library into a course.

* ``lesson`` — what every lesson script shares (flags, seed, figures,
  claims) and the lesson runner (``tinyae lessons``);
* ``notebooks`` — lessons and exercises as Jupyter notebooks;
* ``exercises`` — the exercises, their checker and grader;
* ``plotting`` — every figure (the only place matplotlib is imported);
* ``cli`` — the ``tinyae`` command.
"""
