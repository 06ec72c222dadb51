"""``python -m tinyae`` is the ``tinyae`` command (see ``tinyae.course.cli``)."""

import sys

from .course.cli import main

sys.exit(main())
