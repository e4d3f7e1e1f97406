"""Run the importing benchmark under the checkout's .venv Python.

The benchmarks start with ``#!/usr/bin/env python3`` so that ``benchmarks/NAME.py`` and
``sudo benchmarks/NAME.py`` work from the repo root; the Python found that way usually
lacks the project's packages. Importing this module first re-executes the script with
``.venv/bin/python`` (made by ``scripts/setup.sh``), the same arguments and environment,
and puts the checkout on ``sys.path`` for the benchmarks that import test helpers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"


def _in_venv() -> bool:
    try:
        return Path(sys.prefix).resolve() == VENV.resolve()
    except OSError:
        return False


if not _in_venv():
    python = VENV / "bin" / "python"
    if not python.exists():
        sys.exit(f"{sys.argv[0]}: {python} is missing: run scripts/setup.sh (or make test) first")
    os.execv(python, [str(python), *sys.argv])

if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))
