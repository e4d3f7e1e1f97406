"""Draft 3.2 auto-discovery in the app (controller/app/discovery.py), over real IKE daemons:
a route reflector told nothing but a CA and ``*.cpe.example`` admits a C-PE by its
certificate, gives it the control CHILD_SA to the red loopback the certificate binds,
and lets it go with its IKE SA."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.app.discovery import Discovered, Discovery
from controller.app.ikeconf import make_ike_config
from controller.config import Config, parse
from controller.ipsec.esp import EspEngine
from controller.ipsec.ike.config import Credentials, IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.events import Event, PeerMoved
from controller.ipsec.ike.pki import Issued, issue, make_ca
from controller.ipsec.ike.sa import Datagram, IkeSa, IkeState
from controller.ipsec.sad import SaDatabase
from controller.ipsec.tunnels import TunnelManager, bgp_child, mpls_child
from tests.controller.ipsec.ike.harness import A_ADDR, B_ADDR, Net

pytestmark = pytest.mark.unit
RR_RED, A_RED = "10.255.0.1", "10.255.0.11"
RR_ID, A_ID = B_ADDR, "cpe1.cpe.example"
RR_YAML: dict[str, Any] = {
    "node": {"name": "rr1", "role": "rr", "as": 65000, "router_id": "192.0.2.1"},
    "loopbacks": {"black": B_ADDR, "red": RR_RED},
    "switch": {
        "ports": [
            {"port": 1, "name": "wan0", "role": "black", "address": "203.0.113.6/30"},
            {"port": 255, "role": "cpu"},
            {"port": 254, "role": "crypto"},
        ]
    },
    "bgp": {"auto_discovery": {"identities": ["*.cpe.example"]}, "neighbors": []},
    "ike": {"auth": {"certificates": {"ca": ["ca.pem"], "cert": "rr.pem", "key": "k"}}},
}


class Listening(IkeDaemon):
    """An IKE daemon that hands its events to listeners, as the asyncio service does."""

    listeners: list[Any]

    def drain(self) -> tuple[list[Datagram], list[tuple[IkeSa, Event]]]:
        out, events = super().drain()
        for sa, ev in events:
            for cb in self.listeners:
                cb(sa, ev)
        return out, events


class Rr:
    def __init__(
        self,
        ca: Issued,
        tmp: Path,
        neighbors: list[dict[str, Any]] = (),
        mode: str = "transport",  # type: ignore[assignment]
    ) -> None:
        data = copy.deepcopy(RR_YAML)
        data["bgp"]["neighbors"] = list(neighbors)
        data["ike"]["control_sa"] = {"mode": mode}
        for name in ("ca.pem", "rr.pem"):
            (tmp / name).write_text("x")
        self.cfg: Config = parse(yaml.safe_dump(data), "rr.yml", tmp)
        mine = issue(ca, RR_ID)
        creds = Credentials(mine.cert_der, mine.key_pem, [ca.cert_der])
        self.control: dict[str, Any] = {}
        self.joined: list[Discovered] = []
        self.left: list[Discovered] = []
        self.moved: list[Discovered] = []
        self.daemon = Listening([])
        self.daemon.listeners = []
        engine = EspEngine()
        sad = SaDatabase(engine, ipaddress.ip_address(B_ADDR), 2.0, lambda change: None)
        make = lambda peer: make_ike_config(self.cfg, peer, self.control, creds)  # noqa: E731
        self.tunnels = TunnelManager(self.daemon, sad, B_ADDR, make)
        self.daemon.listeners.append(lambda sa, ev: self.tunnels.on_events([(sa, ev)], 0.0))
        self.disc = Discovery(
            self.cfg, creds, self.control, self.tunnels.accept, self.joined.append,
            self.left.append, self.moved.append,
        )  # fmt: skip
        self.daemon.configs.append(self.disc.catch_all(make("0.0.0.0")))
        self.disc.attach(self.daemon, self.daemon.listeners)


def cpe(
    ca: Issued, ident: str = A_ID, reds: tuple[str, ...] = (A_RED,), mode: str = "transport"
) -> IkeDaemon:
    mine = issue(ca, ident, red_loopbacks=reds)
    # the control CHILD_SA as the app makes it (ikeconf.control_child): TCP between the
    # black loopbacks in transport mode, between the red ones in tunnel mode
    bgp = bgp_child(A_ADDR, B_ADDR) if mode == "transport" else bgp_child(A_RED, RR_RED)
    bgp.transport = mode == "transport"
    cfg = IkeConfig(
        "rr", ident, RR_ID, creds=Credentials(mine.cert_der, mine.key_pem, [ca.cert_der]),
        children=[mpls_child(A_ADDR, B_ADDR), bgp], lifetimes=Lifetimes(None, None),
    )  # fmt: skip
    return IkeDaemon([cfg])


def connect(a: IkeDaemon, rr: Rr) -> tuple[Net, IkeSa]:
    net = Net({A_ADDR: a, B_ADDR: rr.daemon})
    sa = a.initiate("rr", (A_ADDR, 500), (B_ADDR, 500), net.now, "mpls")
    net.pump()
    if sa.state == IkeState.ESTABLISHED:
        a.add_child(sa, "bgp", net.now)
        net.pump()
    return net, sa


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca()


@pytest.mark.parametrize("mode", ["transport", "tunnel"])
def test_cpe_is_discovered_gets_its_control_sa_and_leaves(
    ca: Issued, tmp_path: Path, mode: str
) -> None:
    rr = Rr(ca, tmp_path, mode=mode)
    a = cpe(ca, mode=mode)
    net, sa = connect(a, rr)
    peer = Discovered(A_ID, A_ADDR, (ipaddress.ip_address(A_RED),), False)
    assert rr.joined == [peer] and rr.control == {A_ADDR: ipaddress.ip_address(A_RED)}
    (theirs,) = rr.daemon.established()
    assert theirs.cfg.name == f"cpe-{A_ADDR}" and theirs.cfg.remote_id == A_ID
    bgp = next(c for c in theirs.children if c.name == "bgp")
    # tunnel mode: the session's red end comes from A's certificate (no configuration)
    want = bgp_child(A_ADDR, B_ADDR) if mode == "transport" else bgp_child(A_RED, RR_RED)
    assert [str(t) for t in bgp.remote_ts] == [str(t) for t in want.local_ts]
    assert bgp.transport is (mode == "transport")
    assert {c.name for c in theirs.children} == {"mpls", "bgp"}
    a.delete_ike(sa, net.now)
    net.pump()
    assert rr.left == [peer] and rr.control == {} and rr.disc.peers == {}
    assert [c.name for c in rr.daemon.configs] == ["discovery"]


@pytest.mark.parametrize(
    ("reds", "neighbors", "why"),
    [
        ((), [], "its certificate binds no red loopback"),
        (
            (A_RED,),
            [{"address": A_RED, "black_address": "198.51.100.77", "as": 65000, "type": "red"}],
            f"red loopback {A_RED} belongs to configured neighbour {A_RED}",
        ),
    ],
    ids=["no-binding", "configured-neighbours-loopback"],
)
def test_refused(
    ca: Issued, tmp_path: Path, reds: tuple[str, ...], neighbors: list[Any], why: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    rr = Rr(ca, tmp_path, neighbors)
    a = cpe(ca, reds=reds)
    net, sa = connect(a, rr)
    assert sa.state != IkeState.ESTABLISHED and not rr.daemon.established()
    assert "AUTHENTICATION_FAILED" in net.events[A_ADDR][-1][1].reason  # type: ignore[union-attr]
    assert rr.joined == [] and rr.control == {}
    assert any(why in r.getMessage() for r in caplog.records), caplog.text


def test_second_identity_with_the_same_red_loopback_is_refused(
    ca: Issued, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rr = Rr(ca, tmp_path)
    _net, first = connect(cpe(ca), rr)
    assert first.state == IkeState.ESTABLISHED
    # another C-PE (another address, another name) whose certificate claims A's loopback
    intruder = cpe(ca, "cpe2.cpe.example")
    intruder.configs[0].children[0] = mpls_child("192.0.2.99", B_ADDR)
    net = Net({"192.0.2.99": intruder, B_ADDR: rr.daemon})
    sa = intruder.initiate("rr", ("192.0.2.99", 500), (B_ADDR, 500), 0.0, "mpls")
    net.pump()
    assert sa.state != IkeState.ESTABLISHED
    assert f"red loopback {A_RED} is already bound to {A_ID}" in caplog.text
    assert [p.identity for p in rr.joined] == [A_ID]


def _from(ca: Issued, rr: Rr, addr: str) -> IkeSa:
    """A C-PE with A's identity and certificate binding, at ``addr``."""
    a = cpe(ca)
    a.configs[0].children[0] = mpls_child(addr, B_ADDR)
    net = Net({addr: a, B_ADDR: rr.daemon})
    sa = a.initiate("rr", (addr, 500), (B_ADDR, 500), net.now, "mpls")
    net.pump()
    return sa


def test_same_identity_from_elsewhere_replaces_its_old_entry(ca: Issued, tmp_path: Path) -> None:
    rr = Rr(ca, tmp_path)
    assert _from(ca, rr, A_ADDR).state == IkeState.ESTABLISHED
    assert _from(ca, rr, "192.0.2.99").state == IkeState.ESTABLISHED  # it came back elsewhere
    assert [p.black for p in rr.joined] == [A_ADDR, "192.0.2.99"]
    assert [p.black for p in rr.left] == [A_ADDR]
    assert list(rr.disc.peers) == ["192.0.2.99"]
    assert rr.control == {"192.0.2.99": ipaddress.ip_address(A_RED)}


def test_a_mobike_move_rebinds_the_peer(ca: Issued, tmp_path: Path) -> None:
    rr = Rr(ca, tmp_path)
    _from(ca, rr, A_ADDR)
    (theirs,) = rr.daemon.established()
    rr.disc.event(theirs, PeerMoved(theirs.cfg.name, (A_ADDR, 4500), ("192.0.2.77", 4500), True))
    assert [p.black for p in rr.moved] == ["192.0.2.77"] and rr.left == []
    assert list(rr.disc.peers) == ["192.0.2.77"] and list(rr.control) == ["192.0.2.77"]
