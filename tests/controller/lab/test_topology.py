from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.lab.topology import TopologyError, load_topology, parse_topology

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DEFAULT = (EXAMPLES / "lab-default.yml").read_text()


@pytest.mark.parametrize("name", ["lab-default.yml", "lab-per-tenant-sa.yml", "lab-nat.yml"])
def test_examples_load(name: str) -> None:
    topo = load_topology(EXAMPLES / name)
    assert len(topo.cpes) == 3 and len(topo.rrs) == 2 and len(topo.tenants) == 2


def test_default_tenants_overlap_and_variants_differ() -> None:
    topo = load_topology(EXAMPLES / "lab-default.yml")
    for cpe in topo.cpes:
        blue, green = cpe.sites
        assert blue.subnet == green.subnet and blue.subnet6 == green.subnet6
    assert load_topology(EXAMPLES / "lab-per-tenant-sa.yml").sa.per_tenant
    assert [c.behind_nat for c in load_topology(EXAMPLES / "lab-nat.yml").cpes] == [
        False,
        False,
        True,
    ]


def _error(text: str) -> str:
    with pytest.raises(TopologyError) as exc:
        parse_topology(text, "lab.yml")
    return str(exc.value)


def test_error_names_file_and_field() -> None:
    msg = _error(DEFAULT.replace("host: 10.1.2.10,", "host: 10.1.9.10,"))
    assert msg.startswith("lab.yml: cpes[1].sites[0]: ")
    assert "10.1.9.10 must be in 10.1.2.0/24" in msg


def test_unknown_field_and_missing_field() -> None:
    assert "lab.yml: cpes[0].colour: unknown field" in _error(
        DEFAULT.replace("  - name: cpe1\n", "  - name: cpe1\n    colour: red\n")
    )
    assert "lab.yml: tenants: Field required" in _error(DEFAULT.replace("tenants:\n", "tenantz:\n"))


def test_addresses_outside_documentation_ranges_refused() -> None:
    msg = _error(DEFAULT.replace("black_loopback: 198.51.100.11", "black_loopback: 8.8.8.8"))
    assert "cpes[0]" in msg and "8.8.8.8 is outside the lab's ranges" in msg


def test_unknown_tenant_and_duplicate_names() -> None:
    assert "unknown tenant 'red'" in _error(DEFAULT.replace("{tenant: green", "{tenant: red", 1))
    assert "node names must be unique: cpe1" in _error(DEFAULT.replace("name: cpe2", "name: cpe1"))


def test_yaml_syntax_error_names_line() -> None:
    assert _error("name: [x\n").startswith("lab.yml:2: YAML syntax")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match=r"nope\.yml: cannot read"):
        load_topology(tmp_path / "nope.yml")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_text_gives_topology_or_one_clear_error(text: str) -> None:
    try:
        parse_topology(text, "fuzz.yml")
    except TopologyError as exc:
        assert str(exc).startswith("fuzz.yml")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(DEFAULT) - 1), st.characters(codec="ascii"))
def test_fuzz_mutated_default_never_crashes(pos: int, ch: str) -> None:
    try:
        parse_topology(DEFAULT[:pos] + ch + DEFAULT[pos + 1 :], "m.yml")
    except TopologyError as exc:
        assert str(exc).startswith("m.yml")


def test_discovery_needs_certificates() -> None:
    assert load_topology(EXAMPLES / "lab-discovery.yml").discovery
    assert "discovery: needs ike_auth: certificates" in _error(DEFAULT + "discovery: true\n")
    assert "ike_auth: Input should be 'psk' or 'certificates'" in _error(DEFAULT + "ike_auth: x\n")
