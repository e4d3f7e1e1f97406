"""A lab on BMv2: which links lose TX checksum offload, and a missing tool."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.lab import bmv2 as bmv2_lab
from controller.lab.netns import Netns
from controller.lab.plan import make_plan
from controller.lab.topology import load_topology

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize("name", ["lab-default.yml", "lab-nat.yml"])
def test_offload_goes_off_on_the_far_end_of_every_switch_port(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan(load_topology(EXAMPLES / name), "t")
    calls: list[tuple[str, str, bool | None]] = []

    def record(self: Netns, ifname: str, on: bool | None = None) -> bool:
        calls.append((self.name, ifname, on))
        return False

    monkeypatch.setattr(Netns, "tx_checksum", record)
    assert bmv2_lab.offload_off(plan) == len(calls)
    switches = bmv2_lab.switch_namespaces(plan)
    hosts = {(r.host_ns, "eth0") for c in plan.cpes for r in c.red}
    # every tenant host's NIC, and the underlay's (or NAT box's) end of each black link
    assert hosts <= {(ns, i) for ns, i, _ in calls}
    black_far = {(ns, i) for ns, i, _ in calls} - hosts
    assert len(black_far) == len(plan.cpes) + len(plan.rr_ns)
    assert all(on is False and ns not in switches for ns, _, on in calls)


def test_missing_tool_stops_before_anything_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SL3VPN_P4_PREFIX", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    with pytest.raises(bmv2_lab.Bmv2LabError) as err:
        bmv2_lab.prepare("p4src/cpe.p4", print)
    assert str(err.value) == (
        f"--target bmv2: p4c-bm2-ss not found (looked in SL3VPN_P4_PREFIX/bin = {tmp_path}/bin, "
        f"then PATH); simple_switch_grpc not found (looked in SL3VPN_P4_PREFIX/bin = "
        f"{tmp_path}/bin, then PATH)"
    )
