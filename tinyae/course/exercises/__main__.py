"""``python -m tinyae.course.exercises ...`` is ``tinyae exercises ...``."""

import sys

from ..cli import main

sys.exit(main(["exercises", *sys.argv[1:]]))
