"""``python -m htag_sse``: see :mod:`htag_sse.cli`."""

import sys

from .cli import main

sys.exit(main())
