"""Fixtures for every test under tests/."""

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """A daemon run in-process (``sl3vpn cpe`` through the CLI) points the root logger at
    the stderr of the test that ran it; later tests must not log into that closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
