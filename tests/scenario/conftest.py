"""Scenario tests: whole labs in network namespaces (root only).

Each lab gets a prefix carrying this test process's pid and a private run
directory, and is taken down (processes by PID, namespaces by name) however
the test ends.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.lab.lab import down, plan_of, up

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session", autouse=True)
def lab_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    old = os.environ.get("SL3VPN_LAB_RUN")
    path = tmp_path_factory.mktemp("labrun")
    os.environ["SL3VPN_LAB_RUN"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SL3VPN_LAB_RUN", None)
    else:
        os.environ["SL3VPN_LAB_RUN"] = old


class Lab:
    def __init__(self, topology: str | Path, tag: str, daemons: bool = False) -> None:
        self.prefix = f"s{os.getpid()}{tag}"
        path = EXAMPLES / topology  # an absolute path stays as it is
        self.state = up(path, self.prefix, progress=lambda _m: None, daemons=daemons, timeout=120)
        _, self.topo, self.plan = plan_of(self.prefix)

    def down(self) -> None:
        down(self.prefix, progress=lambda _m: None)


def lab_fixture(topology: str, tag: str, daemons: bool = False):
    @pytest.fixture(scope="module")
    def fixture() -> Iterator[Lab]:
        lab = Lab(topology, tag, daemons)
        try:
            yield lab
        finally:
            lab.down()

    return fixture


@pytest.fixture
def make_lab() -> Iterator[type[Lab]]:
    """The Lab class itself, for tests that bring a lab up and down themselves."""
    yield Lab


default_lab = lab_fixture("lab-default.yml", "d")
per_tenant_lab = lab_fixture("lab-per-tenant-sa.yml", "t")
nat_lab = lab_fixture("lab-nat.yml", "n")
nat_daemon_lab = lab_fixture("lab-nat.yml", "N", daemons=True)
fault_lab = lab_fixture("lab-default.yml", "flt", daemons=True)  # test_faults.py


@pytest.fixture(scope="module", params=["transport", "tunnel"])
def discovery_lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """examples/lab-discovery.yml (test_lab_discovery.py), with the control SAs in each mode."""
    text = (EXAMPLES / "lab-discovery.yml").read_text()
    text = text.replace(
        "sa: {per_tenant: false}", f"sa: {{per_tenant: false, control: {request.param}}}"
    )
    topo = tmp_path_factory.mktemp("topo") / f"lab-discovery-{request.param}.yml"
    topo.write_text(text)
    lab = Lab(topo, f"disc{request.param[:2]}", daemons=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def daemon_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The default lab on the daemons, with a 9 s red hold time so that a crashed RR
    is noticed within this suite's time budget."""
    topo = tmp_path_factory.mktemp("topo") / "lab-default-hold9.yml"
    topo.write_text((EXAMPLES / "lab-default.yml").read_text() + "bgp_hold_time: 9\n")
    lab = Lab(topo, "D", daemons=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def per_tenant_daemon_lab() -> Iterator[Lab]:
    lab = Lab("lab-per-tenant-sa.yml", "P", daemons=True)
    try:
        yield lab
    finally:
        lab.down()
