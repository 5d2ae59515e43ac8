"""``python -m bench``: same as ``python bench/run.py``."""
from __future__ import annotations

import sys

from bench.run import main

sys.exit(main())
