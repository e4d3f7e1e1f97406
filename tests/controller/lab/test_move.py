"""`sl3vpn lab move`: what it refuses before touching any namespace or process."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.lab.lab import LabError
from controller.lab.move import move
from controller.lab.state import LabState

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LabState:
    monkeypatch.setenv("SL3VPN_LAB_RUN", str(tmp_path))
    state = LabState("t1", str(EXAMPLES / "lab-default.yml"), "daemon", [], {"cpe2": 1})
    (state.run_dir / "configs").mkdir(parents=True)
    state.save()
    doc = {"loopbacks": {"black": "198.51.100.12", "red": "10.255.0.12"}}
    (state.run_dir / "configs" / "cpe2.yml").write_text(yaml.safe_dump(doc))
    return state


@pytest.mark.parametrize(
    ("node", "address", "error"),
    [
        ("cpe2", "not-an-ip", "is not an IPv4 address"),
        ("cpe2", "8.8.8.8", "outside the lab's ranges"),
        ("cpe9", "198.51.100.112", "no node 'cpe9'"),
        ("cpe2", "198.51.100.12", "already 198.51.100.12"),
        ("cpe2", "198.51.100.13", "already used in the lab"),  # cpe3's black loopback
        ("cpe2", "198.51.100.112", "daemon is not running"),  # pid 1 is not the lab's
    ],
)
def test_move_refuses_with_a_reason(lab: LabState, node: str, address: str, error: str) -> None:
    with pytest.raises(LabError, match=error):
        move("t1", node, address)
    doc = yaml.safe_load((lab.run_dir / "configs" / "cpe2.yml").read_text())
    assert doc["loopbacks"]["black"] == "198.51.100.12"  # nothing rewritten


def test_move_needs_a_daemon_lab(lab: LabState) -> None:
    lab.mode = "static"
    lab.save()
    with pytest.raises(LabError, match="needs a daemon lab"):
        move("t1", "cpe2", "198.51.100.112")


def test_moving_back_home_is_not_a_clash(lab: LabState) -> None:
    path = lab.run_dir / "configs" / "cpe2.yml"
    path.write_text(yaml.safe_dump({"loopbacks": {"black": "198.51.100.112"}}))
    # its own original address passes the clash check; only the dead daemon stops it
    with pytest.raises(LabError, match="daemon is not running"):
        move("t1", "cpe2", "198.51.100.12")
