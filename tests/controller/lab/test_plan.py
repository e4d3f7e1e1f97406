from pathlib import Path

import pytest

from controller.lab.plan import make_plan
from controller.lab.topology import load_topology

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_names_are_prefixed_unique_and_short() -> None:
    plan = make_plan(load_topology(EXAMPLES / "lab-default.yml"), "t42")
    assert all(ns.startswith("t42-") for ns in plan.namespaces)
    assert len(set(plan.namespaces)) == len(plan.namespaces) == 12
    ends = [e for link in plan.links for e in (link.a, link.b)]
    assert all(len(e.ifname) <= 15 for e in ends)
    assert len({(e.ns, e.ifname) for e in ends}) == len(ends)
    assert len({e.mac for e in ends}) == len(ends)


def test_two_prefixes_share_nothing() -> None:
    topo = load_topology(EXAMPLES / "lab-default.yml")
    assert not set(make_plan(topo, "a1").namespaces) & set(make_plan(topo, "a2").namespaces)


def test_nat_cpe_gets_a_nat_namespace_and_private_link() -> None:
    plan = make_plan(load_topology(EXAMPLES / "lab-nat.yml"), "n")
    c3 = plan.cpe("cpe3")
    assert c3.nat_ns == "n-cpe3nat" and c3.nat_ns in plan.namespaces
    assert str(c3.black_if_addr) == "10.254.3.2/30" and str(c3.black_gw) == "10.254.3.1"
    assert plan.cpe("cpe1").nat_ns is None


@pytest.mark.parametrize("prefix", ["", "x" * 21, "a b", "a/b"])
def test_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError, match="lab prefix"):
        make_plan(load_topology(EXAMPLES / "lab-default.yml"), prefix)
