"""``python -m tinyae`` is the ``tinyae`` command (see ``tinyae.cli``)."""

import sys

from .cli import main

sys.exit(main())
