"""SIGHUP reload: what the daemon applies (a new black loopback) and what it refuses."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from controller.app.mobility import Mobility
from controller.bgp.path import Attrs, Color, Nlri, Source, Tunnel
from controller.bgp.path import Path as BgpPath
from controller.bgp.rib import Rib
from controller.bgp.wire.constants import IPV4_UNICAST
from controller.config import load_config

from .conftest import CPE

pytestmark = pytest.mark.unit


def mobility(tmp_path: Path, text: str = CPE) -> tuple[Mobility, Path, list[object]]:
    path = tmp_path / "cpe1.yml"
    path.write_text(text)
    cfg = load_config(path)
    state = SimpleNamespace(black=cfg.loopbacks.black)
    mob = Mobility(cfg, state, SimpleNamespace(), SimpleNamespace())  # type: ignore[arg-type]
    moves: list[object] = []

    async def move(new: object) -> None:
        moves.append(new)

    mob.move = move  # type: ignore[method-assign]
    return mob, path, moves


async def test_a_new_black_loopback_is_applied(tmp_path: Path) -> None:
    mob, path, moves = mobility(tmp_path)
    path.write_text(CPE.replace("black: 198.51.100.11", "black: 198.51.100.111"))
    await mob.reload()
    assert moves == [ipaddress.ip_address("198.51.100.111")]


async def test_other_changes_are_named_and_not_applied(tmp_path: Path, caplog) -> None:
    mob, path, moves = mobility(tmp_path)
    changed = CPE.replace("black: 198.51.100.11", "black: 198.51.100.111")
    path.write_text(changed.replace("as: 64500", "as: 64501"))
    with caplog.at_level(logging.WARNING, "sl3vpn.mobility"):
        await mob.reload()
    assert "changes to bgp need a restart" in caplog.text
    assert moves == [ipaddress.ip_address("198.51.100.111")]


async def test_an_unchanged_or_broken_file_moves_nothing(tmp_path: Path, caplog) -> None:
    mob, path, moves = mobility(tmp_path)
    await mob.reload()
    path.write_text(CPE.replace("black: 198.51.100.11", "black: not-an-address"))
    with caplog.at_level(logging.ERROR, "sl3vpn.mobility"):
        await mob.reload()  # logged, not raised: the daemon keeps running
    assert moves == []
    assert "loopbacks.black" in caplog.text and "not reloaded" in caplog.text


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def peer_moved(self, old: str, new: str) -> None:
        self.calls.append(("ipsec", old, new))


def test_a_moved_rr_is_found_by_its_red_loopback_route() -> None:
    rr_red, rr_old, rr_new = "10.255.0.1", "198.51.100.1", "198.51.100.101"
    rib = Rib()

    def advertise(endpoint: str) -> None:
        tun = Tunnel(0xFFFF, ipaddress.ip_address(endpoint))
        attrs = Attrs(next_hop=ipaddress.ip_address(endpoint), tunnels=(tun,))
        src = Source(Color.RED, ipaddress.ip_address(rr_red))
        rib.update(BgpPath(Nlri(IPV4_UNICAST, ipaddress.ip_network(rr_red)), attrs, src))

    ipsec, composer = _Recorder(), SimpleNamespace(calls=[])
    composer.peer_moved = lambda old, new: ipsec.calls.append(("composer", old, new))
    plane = SimpleNamespace(
        bgp=SimpleNamespace(core=SimpleNamespace(red=rib)),
        ipsec=ipsec,
        composer=composer,
        control_peers={rr_old: ipaddress.ip_address(rr_red)},
        wake=lambda: None,
        sync_red_sessions=lambda: ipsec.calls.append(("bgp", "", "")),
    )
    cfg, state, host = SimpleNamespace(), SimpleNamespace(), SimpleNamespace()
    mob = Mobility(cfg, state, host, plane)  # type: ignore[arg-type]
    assert mob.control_peer_moves() == []  # no route yet
    advertise(rr_old)
    assert mob.control_peer_moves() == []  # where we know it to be
    advertise(rr_new)
    assert mob.control_peer_moves() == [(rr_old, rr_new)]
    # the composer re-keys first (so BGP never hears "unprotected"), then IPsec moves,
    # then (transport mode) the red session is pointed at the new address
    assert ipsec.calls == [
        ("composer", rr_old, rr_new),
        ("ipsec", rr_old, rr_new),
        ("bgp", "", ""),
    ]


async def test_transport_mode_move_announces_over_the_old_sessions_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Red sessions between black loopbacks cannot follow a move: the new endpoint is
    re-advertised over them, they are pointed at the new address, and only then does
    the pipeline stop naming the old one (state.black) and IKE move."""
    import controller.app.mobility as mobility_mod

    monkeypatch.setattr(mobility_mod, "ANNOUNCE_GRACE", 0.0)
    calls: list[tuple[str, object]] = []
    cfg = load_config(_written(tmp_path))
    old, new = cfg.loopbacks.black, ipaddress.ip_address("198.51.100.111")

    class State:
        control_transport = True

        def __init__(self) -> None:
            self._black = old

        @property
        def black(self) -> object:
            return self._black

        @black.setter
        def black(self, addr: object) -> None:
            calls.append(("state.black", addr))
            self._black = addr

    async def move_local(addr: str) -> None:
        calls.append(("ike", addr))

    host = SimpleNamespace(
        add_loopback=lambda a: calls.append(("lo+", a)),
        remove_loopback=lambda a: calls.append(("lo-", a)),
    )
    plane = SimpleNamespace(
        bgp=SimpleNamespace(set_black_loopback=lambda a: calls.append(("announce", a))),
        ipsec=SimpleNamespace(move_local=move_local),
        composer=SimpleNamespace(dirty=False),
        wake=lambda: None,
        sync_red_sessions=lambda black=None: calls.append(("sessions", black)),
    )
    await Mobility(cfg, State(), host, plane).move(new)  # type: ignore[arg-type]
    assert calls == [
        ("lo+", new),
        ("announce", new),
        ("sessions", new),
        ("state.black", new),
        ("ike", str(new)),
        ("lo-", old),
    ]


def _written(tmp_path: Path) -> Path:
    path = tmp_path / "cpe1.yml"
    path.write_text(CPE)
    return path
