import argparse
import os

import pytest

from controller import demo
from controller.lab import lab

pytestmark = pytest.mark.unit


def test_lab_up_without_root_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(lab.LabError, match=r"needs root \(CAP_NET_ADMIN"):
        lab.up("examples/lab-default.yml", "never")


def test_demo_without_root_is_one_line_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    args = argparse.Namespace(topology=str(demo.TOPOLOGY), keep=False, static=False)
    assert demo.run(args) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("sl3vpn demo: the lab creates network namespaces")
