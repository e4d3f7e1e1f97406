"""bgp.neighbors[].black_address: a red neighbour's IKE peer, in the configuration.

The model accepts it on red neighbours only; the daemon (`sl3vpn cpe|rr`) takes it
from the file, `--peer-black RED=BLACK` overrides it; the lab writes it into the
configurations it generates instead of passing flags; the examples use it.
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from config_sample import LAB_PSK, NO_NEIGHBORS

from controller.app.cli import missing_black, peer_blacks
from controller.cli import main
from controller.config import ConfigError, load_config, parse
from controller.lab.dconfig import write_configs
from controller.lab.lab import daemon_argvs
from controller.lab.plan import make_plan
from controller.lab.topology import load_topology

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
ip = ipaddress.ip_address
BASE = NO_NEIGHBORS


def line_of(data: dict[str, Any], needle: str) -> int:
    text = yaml.safe_dump(data, sort_keys=False)
    return next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)


def with_neighbors(*nbrs: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["bgp"] = {"neighbors": list(nbrs)}
    return data


def red(addr: str, black: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"address": addr, "as": 65000, "type": "red"}
    if black is not None:
        out["black_address"] = black
    return out


def errors(data: dict[str, Any]) -> list[str]:
    try:
        parse(yaml.safe_dump(data, sort_keys=False), "t.yml")
    except ConfigError as exc:
        return exc.lines()
    return []


def test_red_neighbour_black_address_is_optional_and_parsed() -> None:
    cfg = parse(
        yaml.safe_dump(with_neighbors(red("10.255.0.1", "198.51.100.1"), red("10.255.0.2")))
    )
    assert [n.black_address for n in cfg.bgp.neighbors] == [ip("198.51.100.1"), None]
    v6 = parse(yaml.safe_dump(with_neighbors(red("10.255.0.1", "2001:db8::1"))))
    assert v6.bgp.neighbors[0].black_address == ip("2001:db8::1")


def test_black_address_on_a_black_neighbour_is_refused_at_its_line() -> None:
    black = {"address": "203.0.113.1", "as": 64500, "type": "black"}
    data = with_neighbors(red("10.255.0.1", "198.51.100.1"), {**black, "black_address": "1.2.3.4"})
    line = line_of(data, "black_address: 1.2.3.4")
    assert errors(data) == [
        f"t.yml:{line}: bgp.neighbors[1].black_address: only a red neighbour has one "
        "(its IKE peer); a black session goes to its own address"
    ]


@pytest.mark.parametrize(
    ("nbrs", "path", "message"),
    [
        (
            [red("10.255.0.1", "198.51.100.7"), red("10.255.0.2", "198.51.100.7")],
            "bgp.neighbors[1].black_address",
            "black address 198.51.100.7 is already used at bgp.neighbors[0].black_address",
        ),
        (
            [red("10.255.0.1", "198.51.100.9")],  # BASE's black loopback
            "bgp.neighbors[0].black_address",
            "is one of our own loopbacks",
        ),
        (
            [red("10.255.0.1", "10.255.0.9")],  # BASE's red loopback
            "bgp.neighbors[0].black_address",
            "is one of our own loopbacks",
        ),
        (
            [red("10.255.0.1", "10.255.0.1")],
            "bgp.neighbors[0].black_address",
            "equals the red address: the red and black networks are separate (draft section 2)",
        ),
        (
            [red("10.255.0.1", "not-an-ip")],
            "bgp.neighbors[0].black_address",
            "is not a valid IPv4 or IPv6 address",
        ),
    ],
    ids=["shared", "our-black", "our-red", "own-red", "garbage"],
)
def test_bad_black_addresses(nbrs: list[dict[str, Any]], path: str, message: str) -> None:
    errs = errors(with_neighbors(*nbrs))
    assert len(errs) == 1 and errs[0].startswith("t.yml:")
    assert errs[0].split(": ", 1)[1] == f"{path}: {message}"


def test_daemon_takes_the_config_field_and_the_flag_overrides() -> None:
    cfg = parse(
        yaml.safe_dump(with_neighbors(red("10.255.0.1", "198.51.100.1"), red("10.255.0.2")))
    )
    assert peer_blacks(cfg, {}) == {ip("10.255.0.1"): ip("198.51.100.1")}
    assert missing_black(cfg, peer_blacks(cfg, {})) == (
        "<config>: bgp.neighbors: no black address known for red neighbour(s) 10.255.0.2 "
        "(set bgp.neighbors[].black_address, its IKE peer, or give --peer-black RED=BLACK)"
    )
    flags = {ip("10.255.0.1"): ip("192.0.2.1"), ip("10.255.0.2"): ip("192.0.2.2")}
    assert peer_blacks(cfg, flags) == flags  # the command line wins
    assert missing_black(cfg, peer_blacks(cfg, flags)) is None


def _cpe_file(tmp_path: Path, nbr: dict[str, Any]) -> Path:
    data = with_neighbors(nbr)
    # With p4sim, an `interface` on the crypto port is the first thing the daemon
    # refuses after the black addresses: reaching it proves they were accepted,
    # without starting a switch.
    data["switch"]["ports"][3]["interface"] = "c0"
    path = tmp_path / "cpe.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_sl3vpn_cpe_uses_black_address_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SL3VPN_PSK", LAB_PSK)
    with_field = _cpe_file(tmp_path, red("10.255.0.1", "198.51.100.1"))
    assert main(["cpe", "--config", str(with_field)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "leave out `interface`" in err[0], err
    without = _cpe_file(tmp_path, red("10.255.0.1"))
    assert main(["cpe", "--config", str(without)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"{without}: bgp.neighbors: no black address known for red neighbour(s) 10.255.0.1 "
        "(set bgp.neighbors[].black_address, its IKE peer, or give --peer-black RED=BLACK)"
    ]
    # The flag still supplies it, and a bad flag is still a usage error.
    argv = ["cpe", "--config", str(without), "--peer-black", "10.255.0.1=198.51.100.1"]
    assert main(argv) == 2
    assert "leave out `interface`" in capsys.readouterr().err
    assert main(["cpe", "--config", str(with_field), "--peer-black", "10.255.0.1=x"]) == 2
    assert "--peer-black '10.255.0.1=x'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["lab-default.yml", "lab-nat.yml", "lab-per-tenant-sa.yml"])
def test_lab_configs_carry_black_addresses_and_argvs_no_flags(tmp_path: Path, name: str) -> None:
    topo = load_topology(ROOT / "examples" / name)
    plan = make_plan(topo, "t")
    files = write_configs(plan, tmp_path / "configs")
    black_of = {n.red_loopback: n.black_loopback for n in (*topo.rrs, *topo.cpes)}
    for node, path in files.items():
        cfg = load_config(path)
        reds = [n for n in cfg.bgp.neighbors if n.type == "red"]
        assert reds, node
        assert {n.address: n.black_address for n in reds} == {
            n.address: black_of[n.address] for n in reds
        }
        assert missing_black(cfg, peer_blacks(cfg, {})) is None
    for node, argv in daemon_argvs(plan, files, tmp_path).items():
        assert "--peer-black" not in argv, node


def test_example_configs_give_every_red_neighbour_its_black_address() -> None:
    for name in ("cpe1.yml", "cpe2.yml", "rr1.yml"):
        cfg = load_config(ROOT / "examples" / name, resolve_secrets=False)
        reds = [n for n in cfg.bgp.neighbors if n.type == "red"]
        assert reds and all(n.black_address is not None for n in reds), name
