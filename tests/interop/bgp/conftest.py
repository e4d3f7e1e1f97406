"""BGP interop fixtures: the real-peer harness lives in tests/interop/peers."""

import sys
from pathlib import Path

# tests/interop holds the harness package `peers`; test modules here are rootdir-style.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peers.fixtures import bgp_lab  # noqa: F401
