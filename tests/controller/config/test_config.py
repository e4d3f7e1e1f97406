"""Loading and validating daemon configuration files."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from config_sample import LAB_PSK, NO_NEIGHBORS
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.cli import main
from controller.config import ConfigError, load_config, parse

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
# Daemon configurations; lab-*.yml files are lab topologies (controller/lab), not daemon configs.
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.yml") if not p.name.startswith("lab-"))

BASE: dict[str, Any] = {
    **NO_NEIGHBORS,
    "bgp": {"neighbors": [{"address": "10.255.0.1", "as": 65000, "type": "red"}]},
}


@pytest.fixture(autouse=True)
def lab_psk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SL3VPN_PSK", LAB_PSK)


def line_of(data: dict[str, Any], needle: str) -> int:
    """The line of the first YAML line containing ``needle`` as problems() dumps ``data``."""
    text = yaml.safe_dump(data, sort_keys=False)
    return next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)


def problems(data: Any, tmp_path: Path | None = None) -> list[str]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    try:
        parse(text, "t.yml", tmp_path)
    except ConfigError as exc:
        lines = exc.lines()
        assert all("\n" not in line for line in lines)
        return lines
    return []


def variant(**changes: Any) -> dict[str, Any]:
    """BASE with dotted paths replaced (None deletes)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        keys = [int(k) if k.isdigit() else k for k in dotted.split("__")]
        target = data
        for key in keys[:-1]:
            target = target[key]
        if value is None:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return data


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_config_validates(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.node.name == path.stem
    assert cfg.ike is not None and cfg.ike.auth.psk is not None
    assert cfg.ike.auth.psk.reveal() == LAB_PSK.encode()


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"cpe1.yml", "rr1.yml"}
    cpe2 = load_config(ROOT / "examples" / "cpe2.yml")
    assert cpe2.loopbacks.security_handle("blue") == bytes.fromhex("0c0201")


def test_base_is_valid_and_defaults_are_filled() -> None:
    cfg = parse(yaml.safe_dump(BASE), "t.yml")
    assert cfg.switch.p4sim is not None and cfg.switch.p4sim.grpc_address == "127.0.0.1:9559"
    assert cfg.tunnel_encapsulation.mpls_in_ipsec_tunnel_type == 0xFFFE
    assert cfg.tunnel_encapsulation.security_handle_subtlv == 126
    assert cfg.bgp.neighbors[0].families == ["ipv4-unicast", "ipv6-unicast", "vpnv4", "vpnv6"]
    assert cfg.control_socket_path == "/run/sl3vpn/cpe9.sock"
    assert [p.port for p in cfg.switch.by_role("red")] == [1]
    gr = cfg.bgp.graceful_restart
    assert (gr.enabled, gr.restart_time, gr.stale_time, gr.deferral_time) == (True, 120, 360, 60)


def test_control_sa_mode_is_configured() -> None:
    """Draft 3.2 RECOMMENDS transport mode for the red BGP sessions' SAs: the default."""
    default = parse(yaml.safe_dump(BASE), "t.yml")
    assert default.ike is not None and default.ike.control_sa.mode == "transport"
    for mode in ("transport", "tunnel"):
        cfg = parse(yaml.safe_dump(variant(ike__control_sa={"mode": mode})), "t.yml")
        assert cfg.ike is not None and cfg.ike.control_sa.mode == mode


def test_graceful_restart_settings_reach_the_speaker() -> None:
    from controller.bgp.config import GracefulRestartConfig
    from controller.config.adapters import speaker_config

    data = variant(bgp__graceful_restart={"enabled": False, "restart_time": 30})
    cfg = parse(yaml.safe_dump(data), "t.yml")
    assert speaker_config(cfg).graceful_restart == GracefulRestartConfig(False, 30, 360, 60)


def test_black_loopback_advertisement_is_off_unless_configured() -> None:
    from controller.config.adapters import speaker_config

    off = parse(yaml.safe_dump(variant()), "t.yml")
    on = parse(yaml.safe_dump(variant(bgp__advertise_black_loopback=True)), "t.yml")
    assert not speaker_config(off).advertise_black_loopback
    assert speaker_config(on).advertise_black_loopback


CASES = [
    ({"node__rol": "cpe"}, "node.rol: unknown field (check the spelling)"),
    ({"node__role": None}, "node.role: is required"),
    ({"node__role": "pe"}, "node.role: Input should be 'cpe' or 'rr'"),
    ({"node__router_id": "1.2.3"}, "node.router_id: Input is not a valid IPv4 address"),
    ({"node__as": 0}, "node.as: Input should be greater than or equal to 1"),
    ({"switch__ports__0__vrf": "green"}, "switch.ports[0].vrf: VRF 'green' is not defined"),
    ({"switch__ports__0__vrf": None}, "switch.ports[0]: a red port needs a vrf"),
    ({"switch__ports__1__port": 1}, "switch.ports[1].port: port number 1 is already used at"),
    ({"switch__ports__1__vlan": 5}, "switch.ports[1]: vrf/vlan only apply to red ports"),
    (
        {"switch__ports__0__vlan": 5, "switch__ports__1__port": 1},
        "switch.ports[1].role: port 1 is already red at switch.ports[0] (one role per port)",
    ),
    ({"switch__ports__0__port": 600}, "switch.ports[0].port: Input should be less than or"),
    (
        {"switch__ports__0__address": "10.1.0.300/24"},
        "switch.ports[0].address: is not a valid IPv4 or IPv6 interface",
    ),
    ({"switch__ports__3": None}, "switch.ports: a C-PE needs a crypto port"),
    ({"switch__p4runtime": {"address": "nohostport"}}, "'nohostport' is not HOST:PORT"),
    ({"loopbacks__black": None}, "loopbacks.black: a C-PE needs a black loopback"),
    ({"loopbacks__red": "198.51.100.9"}, "loopbacks.red: must differ from the black loopback"),
    ({"loopbacks__tenants": {"green": "10.255.1.9"}}, "loopbacks.tenants.green: VRF 'green'"),
    (
        {"loopbacks__security_handles": {"red": "0x123"}},
        "loopbacks.security_handles: '0x123' is not an even number of hex digits",
    ),
    ({"loopbacks__security_handles": {"red": "x" * 256}}, "red: a Security Handle has 1 to 255"),
    (
        {"loopbacks__security_handles": {"blue": "0x01"}},
        "loopbacks.security_handles.blue: there is no loopbacks.tenants.blue",
    ),
    (
        {
            "loopbacks__tenants": {"blue": "10.255.1.9"},
            "loopbacks__security_handles": {"red": "0x01", "blue": "\x01"},
        },
        "loopbacks.security_handles.blue: equals the handle of red (draft section 4",
    ),
    ({"vrfs__0__rd": "65000"}, "vrfs[0].rd: '65000' is not ASN:NN or IPv4:NN"),
    ({"vrfs__0__rd": "300.1.1.1:5"}, "'300.1.1.1' is not an IPv4 address"),
    ({"vrfs__0__rd": "70000:70000"}, "assigned number 70000 is above 65535"),
    ({"vrfs__0__label_mode": "per-ce"}, "vrfs[0].label_mode: Input should be 'per-vrf' or"),
    ({"vrfs__0__label": 150}, "vrfs[0].label: static label 150 lies in the dynamic range"),
    ({"vrfs__0__import": [], "vrfs__0__export": []}, "at least one import or export"),
    ({"vrfs__0__interfaces": ["wan0"]}, "vrfs[0].interfaces[0]: no red port named 'wan0'"),
    (
        {"bgp__neighbors__0__families": ["vpnv4"], "bgp__neighbors__0__type": "black"},
        "bgp.neighbors[0]: vpnv4 on a black neighbour",
    ),
    ({"ike": None}, "bgp.neighbors[0]: a red neighbour needs the ike section"),
    ({"bgp__neighbors__0__address": "10.255.0.9"}, "bgp.neighbors[0].address: is one of our own"),
    ({"bgp__neighbors__0__route_reflector_client": True}, "only a route reflector has clients"),
    ({"ike__per_tenant_sas": True}, "vrfs[0]: ike.per_tenant_sas needs loopbacks.tenants.blue"),
    ({"ike__auth": {}}, "ike.auth: give exactly one of psk or certificates"),
    ({"ike__lifetimes": {"child_rekey": 4000}}, "child_life must exceed child_rekey"),
    (
        {"ike__esp_proposals": ["aes128gcm16", "chacha"]},
        "ike.esp_proposals: proposal 'chacha': unknown algorithm 'chacha'",
    ),
    ({"ike__ike_proposals": ["aes128gcm16-prfsha256"]}, "an IKE proposal needs a DH group"),
    ({"metrics": {"listen": "9100"}}, "metrics.listen: '9100' is not HOST:PORT"),
    ({"control_socket": "run/x.sock"}, "control_socket: must be an absolute path"),
    ({"ike__sa_mode": "sometimes"}, "ike.sa_mode: Input should be 'eager' or 'lazy'"),
    (
        {"ike__control_sa": {"mode": "both"}},
        "ike.control_sa.mode: Input should be 'transport' or 'tunnel'",
    ),
    ({"ike__control_sa": {"mod": "tunnel"}}, "ike.control_sa.mod: unknown field"),
    ({"ike__control_sa": "tunnel"}, "ike.control_sa: "),
    (
        {"tunnel_encapsulation": {"security_handle_subtlv": 200}},
        "tunnel_encapsulation.security_handle_subtlv: Input should be less than or equal to 127",
    ),
    (
        {"bgp__graceful_restart": {"restart_time": 5000}},
        "bgp.graceful_restart.restart_time: Input should be less than or equal to 4095",
    ),
    (
        {"bgp__graceful_restart": {"deferral_time": 0}},
        "bgp.graceful_restart.deferral_time: Input should be greater than 0",
    ),
    ({"bgp__graceful_restart": {"enable": True}}, "bgp.graceful_restart.enable: unknown field"),
    (
        {"tunnel_encapsulation": {"mpls_in_ipsec_tunnel_type": 65535}},
        "tunnel_encapsulation.mpls_in_ipsec_tunnel_type: Input should be less than or equal",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), CASES)
def test_one_line_errors_name_file_line_field(changes: dict[str, Any], expected: str) -> None:
    lines = problems(variant(**changes))
    assert any(expected in line for line in lines), lines
    assert all(re.match(r"^t\.yml:\d+: ", line) for line in lines), lines


def test_rr_has_no_red_ports_or_vrfs() -> None:
    data = variant(node__role="rr")
    lines = problems(data)
    assert any("switch.ports[0].role: a route reflector has no red ports" in x for x in lines)
    assert any("vrfs: a route reflector has no VRFs" in x for x in lines)


def test_line_numbers_point_at_the_field() -> None:
    text = yaml.safe_dump(variant(switch__ports__0__vrf="green"), sort_keys=False)
    line_no = next(i for i, t in enumerate(text.splitlines(), 1) if "vrf: green" in t)
    assert problems(text) == [
        f"t.yml:{line_no}: switch.ports[0].vrf: VRF 'green' is not defined under vrfs"
    ]


def test_yaml_syntax_duplicates_and_shape() -> None:
    assert problems("node: [1, 2\n")[0].startswith("t.yml:2: YAML syntax:")
    assert problems("- 1\n- 2\n") == ["t.yml:1: expected a mapping of sections (node, switch, ...)"]
    dup = yaml.safe_dump(BASE, sort_keys=False) + "node: {name: x}\n"
    assert any(": node: given twice" in line for line in problems(dup))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.yml")
    assert str(info.value) == f"{tmp_path / 'missing.yml'}: cannot read: No such file or directory"


def test_secrets_from_env_and_file_are_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "psk").write_text("s3cret-from-file\n")
    cfg = parse(yaml.safe_dump(variant(ike__auth={"psk": {"file": "psk"}})), "t.yml", tmp_path)
    assert cfg.ike is not None and cfg.ike.auth.psk is not None
    assert cfg.ike.auth.psk.reveal() == b"s3cret-from-file"
    for shown in (repr(cfg), str(cfg), cfg.model_dump_json(), repr(cfg.ike.auth.psk)):
        assert "s3cret" not in shown
    inline = parse(yaml.safe_dump(BASE), "t.yml")
    assert LAB_PSK not in repr(inline) and LAB_PSK not in inline.model_dump_json()

    monkeypatch.delenv("SL3VPN_PSK")
    data = variant(ike__auth={"psk": {"env": "SL3VPN_PSK"}})
    line = line_of(data, "psk:")
    assert problems(data) == [
        f"t.yml:{line}: ike.auth.psk: environment variable SL3VPN_PSK is not set"
    ]
    data = variant(ike__auth={"psk": {"file": "nope"}})
    assert problems(data, tmp_path) == [
        f"t.yml:{line}: ike.auth.psk: secret file {tmp_path / 'nope'}: No such file or directory"
    ]
    # A malformed secret mapping is reported without echoing the value given.
    lines = problems(variant(ike__auth={"psk": {"value": "topsecret", "env": "X"}}))
    assert len(lines) == 1 and "give exactly one of" in lines[0] and "topsecret" not in lines[0]
    lines = problems(variant(ike__auth={"psk": {"vlaue": "topsecret"}}))
    assert "topsecret" not in " ".join(lines)


def test_certificate_files_are_checked(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("ca")
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    certs = {"ca": ["ca.pem"], "cert": "cpe9.pem", "key": {"file": "key.pem"}}
    lines = problems(variant(ike__auth={"certificates": certs}), tmp_path)
    assert len(lines) == 1
    assert lines[0].endswith(
        f"ike.auth.certificates.cert: file {tmp_path / 'cpe9.pem'} does not exist"
    )


def test_cli_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = [str(p) for p in EXAMPLES]
    assert main(["config", "check", *good]) == 0
    out = capsys.readouterr().out
    assert all(f"{p}: ok" in out for p in good)
    bad = tmp_path / "bad.yml"
    data = variant(node__role="pe")
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    line = line_of(data, "role: pe")
    assert err == [f"{bad}:{line}: node.role: Input should be 'cpe' or 'rr'"]
    assert "Traceback" not in " ".join(err)


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(max_size=12),
    st.sampled_from(["10.0.0.1", "::1", "65000:1"]),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None)
@given(section=st.sampled_from(sorted(BASE)), value=yaml_values)
def test_any_section_value_gives_config_error_not_traceback(section: str, value: Any) -> None:
    data = copy.deepcopy(BASE)
    data[section] = value
    try:
        parse(yaml.safe_dump(data), "t.yml")
    except ConfigError as exc:
        assert exc.problems and all(str(p).startswith("t.yml") for p in exc.problems)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80))
def test_arbitrary_text_gives_config_error_not_traceback(text: str) -> None:
    try:
        parse(text, "t.yml")
    except ConfigError as exc:
        assert all("\n" not in line for line in exc.lines())


def test_p4sim_command_follows_port_roles() -> None:
    data = variant(switch__ports__0__interface="veth-blue0")
    data["switch"]["p4sim"] = {
        "program": "p4src/cpe.p4",
        "grpc_address": "127.0.0.1:9600",
        "pcap": "/tmp/pcaps",
    }
    cfg = parse(yaml.safe_dump(data), "t.yml")
    assert cfg.switch.p4sim_command(Path("/repo")) == [
        "p4sim", "run", "--device-id", "1", "--grpc-server-addr", "127.0.0.1:9600",
        "--cpu-port", "255", "-i", "1@veth-blue0", "--pcap", "/tmp/pcaps",
        "-D", "CPU_PORT=255", "-D", "CRYPTO_PORT=254", "/repo/p4src/cpe.p4",
    ]  # fmt: skip
    remote = variant()
    remote["switch"]["p4runtime"] = {"address": "10.0.0.1:9559", "device_id": 3}
    cfg = parse(yaml.safe_dump(remote), "t.yml")
    assert cfg.switch.p4runtime is not None and cfg.switch.p4runtime.device_id == 3
    with pytest.raises(ValueError, match="remote P4Runtime target"):
        cfg.switch.p4sim_command()
    both = variant()
    both["switch"]["p4runtime"] = {"address": "10.0.0.1:9559"}
    both["switch"]["p4sim"] = {}
    assert any("switch: give one of p4sim, bmv2 or p4runtime, not p4sim and p4runtime" in x
               for x in problems(both))  # fmt: skip


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_build_a_bgp_speaker_config(path: Path) -> None:
    from controller.bgp.config import Color
    from controller.bgp.path import FAMILY_NAMES
    from controller.config.adapters import speaker_config

    cfg = load_config(path)
    speaker = speaker_config(cfg)
    assert speaker.local_as == cfg.node.asn and speaker.router_id == cfg.node.router_id
    assert [str(n.address) for n in speaker.neighbors] == [
        str(n.address) for n in cfg.bgp.neighbors
    ]
    for ours, theirs in zip(cfg.bgp.neighbors, speaker.neighbors, strict=True):
        assert theirs.color is (Color.RED if ours.type == "red" else Color.BLACK)
        assert [FAMILY_NAMES[f] for f in theirs.families] == ours.families
        assert theirs.rr_client == ours.route_reflector_client
    assert [v.name for v in speaker.vrfs] == [v.name for v in cfg.vrfs]
    for vrf in speaker.vrfs:
        assert vrf.red_loopback == cfg.loopbacks.tenants.get(vrf.name, cfg.loopbacks.red)
    for lo in speaker.red_loopbacks:
        assert lo.security_handle == cfg.loopbacks.security_handle(lo.tenant or "red")
    assert speaker.mpls_in_ipsec_tunnel_type == cfg.tunnel_encapsulation.mpls_in_ipsec_tunnel_type
