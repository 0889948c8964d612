"""``python -m iobs``: see :mod:`iobs.cli`."""

import sys

from iobs.cli import main

sys.exit(main())
