"""Run `sl3vpn` in-process and capture what a user would see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from controller.cli import main


@dataclass
class Outcome:
    rc: int
    out: str
    err: str

    def one_error_line(self, *needles: str) -> str:
        """The failure is one stderr line naming what (and where): no traceback, no noise."""
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        for needle in needles:
            assert needle in lines[0], lines[0]
        return lines[0]


Run = Callable[..., Outcome]


@pytest.fixture
def sl3vpn(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> Outcome:
        try:
            rc = main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            rc = exc.code if isinstance(exc.code, int) else 1
        cap = capsys.readouterr()
        return Outcome(rc, cap.out, cap.err)

    return run
