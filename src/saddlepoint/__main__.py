"""``python -m saddlepoint``."""

import sys

from saddlepoint.cli import main

sys.exit(main())
