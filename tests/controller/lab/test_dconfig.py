import stat
from pathlib import Path

import pytest

from controller.config import load_config
from controller.lab.dconfig import write_configs
from controller.lab.plan import make_plan
from controller.lab.topology import load_topology

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize("name", ["lab-default.yml", "lab-per-tenant-sa.yml", "lab-nat.yml"])
def test_generated_configs_load_with_the_daemon_model(tmp_path: Path, name: str) -> None:
    topo = load_topology(EXAMPLES / name)
    files = write_configs(make_plan(topo, "t"), tmp_path / "configs")
    assert sorted(files) == ["cpe1", "cpe2", "cpe3", "rr1", "rr2"]
    psk = tmp_path / "configs" / "psk"
    assert stat.S_IMODE(psk.stat().st_mode) == 0o600
    secret = psk.read_text()
    for node, path in files.items():
        assert secret not in path.read_text()  # referenced by file, never inline
        cfg = load_config(path)
        assert cfg.node.name == node
        assert cfg.ike.per_tenant_sas == topo.sa.per_tenant
        assert cfg.ike.control_sa.mode == "transport"  # the default (draft 3.2)
    cpe1 = load_config(files["cpe1"])
    assert [v.name for v in cpe1.vrfs] == ["blue", "green"]
    assert {str(n.address) for n in cpe1.bgp.neighbors} == {"10.255.0.1", "10.255.0.2"}
    rr1 = load_config(files["rr1"])
    assert sum(n.route_reflector_client for n in rr1.bgp.neighbors) == 3


def test_each_lab_gets_a_fresh_psk(tmp_path: Path) -> None:
    plan = make_plan(load_topology(EXAMPLES / "lab-default.yml"), "t")
    write_configs(plan, tmp_path / "a")
    write_configs(plan, tmp_path / "b")
    assert (tmp_path / "a" / "psk").read_text() != (tmp_path / "b" / "psk").read_text()


def test_black_session_rekey_and_hold_time_options(tmp_path: Path) -> None:
    text = (EXAMPLES / "lab-default.yml").read_text()
    text = text.replace(
        "    red_loopback: 10.255.0.11\n", "    red_loopback: 10.255.0.11\n    black_bgp: true\n"
    )
    text = text.replace(
        "sa: {per_tenant: false}", "sa: {per_tenant: false, rekey_seconds: 40, rekey_packets: 500}"
    )
    text += "bgp_hold_time: 9\n"
    from controller.lab.topology import parse_topology

    plan = make_plan(parse_topology(text, "t.yml"), "t")
    files = write_configs(plan, tmp_path / "configs")
    cpe1, cpe2 = load_config(files["cpe1"]), load_config(files["cpe2"])
    black = [n for n in cpe1.bgp.neighbors if n.type == "black"]
    assert [(str(n.address), n.asn, n.families) for n in black] == [
        ("203.0.113.1", 64500, ["ipv4-unicast"])
    ]
    assert not [n for n in cpe2.bgp.neighbors if n.type == "black"]
    assert {n.hold_time for n in cpe1.bgp.neighbors} == {9}
    life = cpe1.ike.lifetimes
    assert (life.child_rekey, life.child_life, life.child_rekey_packets) == (40, 50, 500)


def test_tunnel_mode_control_sa_option(tmp_path: Path) -> None:
    from controller.lab.topology import TopologyError, parse_topology

    text = (EXAMPLES / "lab-default.yml").read_text()
    tunnel = text.replace("sa: {per_tenant: false}", "sa: {per_tenant: false, control: tunnel}")
    files = write_configs(make_plan(parse_topology(tunnel, "t.yml"), "t"), tmp_path / "c")
    assert {load_config(p).ike.control_sa.mode for p in files.values()} == {"tunnel"}
    bad = text.replace("sa: {per_tenant: false}", "sa: {per_tenant: false, control: both}")
    with pytest.raises(TopologyError, match=r"sa\.control"):
        parse_topology(bad, "t.yml")


def test_bmv2_target_gives_bmv2_switches(tmp_path: Path) -> None:
    plan = make_plan(load_topology(EXAMPLES / "lab-default.yml"), "t")
    files = write_configs(plan, tmp_path / "configs", target="bmv2")
    for node, path in files.items():
        cfg = load_config(path)
        assert cfg.switch.kind == "bmv2", node
        assert cfg.switch.bmv2 is not None and cfg.switch.bmv2.program.endswith("p4src/cpe.p4")
        assert cfg.switch.interfaces()[1] == "wan0"


def test_tna_program_gives_p4sim_switches_running_cpe_tna(tmp_path: Path) -> None:
    from controller.lab.dconfig import PROGRAMS

    plan = make_plan(load_topology(EXAMPLES / "lab-default.yml"), "t")
    files = write_configs(plan, tmp_path / "configs", program=PROGRAMS["tna"])
    for node, path in files.items():
        cfg = load_config(path)
        assert cfg.switch.p4sim is not None, node
        assert cfg.switch.p4sim.program.endswith("p4src/cpe_tna.p4"), node


@pytest.mark.parametrize(
    ("target", "daemons", "error"),
    [("bmv2", True, "BMv2 has no TNA"), ("p4sim", False, "static data plane is v1model")],
)
def test_tna_program_refused_where_it_cannot_run(target: str, daemons: bool, error: str) -> None:
    from controller.lab.lab import LabError, _check_program

    _check_program("tna", "p4sim", daemons=True)  # the supported combination
    with pytest.raises(LabError, match=error):
        _check_program("tna", target, daemons)


def test_discovery_lab_uses_certificates_and_tells_the_rr_no_cpe(tmp_path: Path) -> None:
    from cryptography import x509

    from controller.ipsec.ike.peerid import red_loopbacks

    topo = load_topology(EXAMPLES / "lab-discovery.yml")
    files = write_configs(make_plan(topo, "t"), tmp_path / "configs")
    pki = tmp_path / "configs" / "pki"
    assert not (pki / "ca.key.pem").exists()  # every certificate is issued at once
    for node in files:
        assert stat.S_IMODE((pki / f"{node}.key.pem").stat().st_mode) == 0o600
    rr1 = load_config(files["rr1"])
    assert rr1.bgp.neighbors == []  # not one C-PE configured
    assert rr1.bgp.auto_discovery is not None
    assert rr1.bgp.auto_discovery.identities == ["*.cpe.example"]
    cpe1 = load_config(files["cpe1"])
    assert cpe1.ike is not None and cpe1.ike.local_id == "cpe1.cpe.example"
    certs = cpe1.ike.auth.certificates
    assert certs is not None and certs.peer_identities == ["*.cpe.example"]
    cert = x509.load_pem_x509_certificate((pki / "cpe1.pem").read_bytes())
    assert [str(a) for a in red_loopbacks(cert)] == ["10.255.0.11"]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["cpe1.cpe.example"]
