"""The BGP listener under fuzz: a C-PE speaker on real sockets, and its seeds.

Neighbours of the target (all passive, red ones told their transport is
protected so that hostile bytes reach the full FSM and UPDATE handling):

* ``127.0.0.2``: the good peer (a route reflector run by the driver);
* ``127.0.1.1``-``127.0.1.16``: red fuzz neighbours; ``127.0.2.1``-``.16``: black;
* anything else (``127.0.3.x``): unknown, refused at connect.
"""

from __future__ import annotations

import ipaddress

from controller.bgp.aio import BgpSpeaker
from controller.bgp.config import NeighborConfig, RedLoopback, SpeakerConfig
from controller.bgp.negotiate import local_open
from controller.bgp.path import Color
from controller.bgp.vrf import VrfConfig
from controller.bgp.wire import CodecContext, Keepalive, RouteRefreshMessage, Update
from controller.bgp.wire.attributes.as_path import AsPath
from controller.bgp.wire.attributes.basic import LocalPref, Origin
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.attributes.mp import MpReachNlri, MpUnreachNlri
from controller.bgp.wire.nlri.nexthop import NextHop
from controller.bgp.wire.nlri.rtc import RtMembership
from controller.bgp.wire.notification import Notification
from tests.interop.peers.routes import red_loopback_update, vpn_update

ip = ipaddress.ip_address
TARGET, GOOD = "127.0.0.1", "127.0.0.2"
RED_FUZZ = [f"127.0.1.{i}" for i in range(1, 17)]
BLACK_FUZZ = [f"127.0.2.{i}" for i in range(1, 17)]
UNKNOWN_FUZZ = [f"127.0.3.{i}" for i in range(1, 5)]
HOLD = 9  # the good session's hold time: a starved target would lose it in 9 s


def target_config() -> SpeakerConfig:
    def n(addr: str, color: Color, hold: int = 90) -> NeighborConfig:
        return NeighborConfig(
            ip(addr), 65000, color, passive=True, hold_time=hold, idle_hold_time=0.05
        )

    return SpeakerConfig(
        65000,
        ipaddress.IPv4Address("10.255.0.1"),
        black_loopback=ip("198.51.100.1"),
        red_loopbacks=(RedLoopback(ip("10.255.0.1"), b"\x01\x02"),),
        neighbors=(
            n(GOOD, Color.RED, HOLD),
            *(n(a, Color.RED) for a in RED_FUZZ),
            *(n(a, Color.BLACK) for a in BLACK_FUZZ),
        ),
        vrfs=(VrfConfig("blue", "10.255.0.1:1", ("65000:1",), ("65000:1",)),),
    )


def make_target(port: int) -> BgpSpeaker:
    sp = BgpSpeaker(target_config(), listen_host=TARGET, listen_port=port)
    return sp


def protect(sp: BgpSpeaker) -> None:
    for n in sp.core.cfg.neighbors:
        if n.color is Color.RED:
            sp.set_transport_protected(n.address, True)


def good_peer_config(port: int) -> SpeakerConfig:
    """The good peer: a route reflector with the target as client, 3 s keepalives."""
    n = NeighborConfig(
        ip(TARGET),
        65000,
        Color.RED,
        rr_client=True,
        port=port,
        local_address=ip(GOOD),
        hold_time=HOLD,
        connect_retry_time=1,
    )
    return SpeakerConfig(65000, ipaddress.IPv4Address("10.255.255.1"), neighbors=(n,))


def open_for(src: str) -> bytes:
    """A valid OPEN from ``src`` as the target expects it (AS 65000, all families)."""
    me = SpeakerConfig(65000, ipaddress.IPv4Address(src))
    return local_open(NeighborConfig(ip(TARGET), 65000, Color.RED), me).encode(CodecContext())


# RT memberships (RFC 4684): default, one full route target, one cut to its type octets.
MEMBERSHIPS = (
    RtMembership(),
    RtMembership.create(65000, ExtCommunity.route_target("65000:1").encode()),
    RtMembership(48, 65000 << 64 | 0x0002 << 48),
)


def rtc_update() -> Update:
    """RT membership routes as a client or a route reflector sends them."""
    base = (Origin(0), AsPath(()), LocalPref(100))
    reach = MpReachNlri(1, 132, NextHop(ipaddress.IPv4Address("10.255.0.7")), MEMBERSHIPS)
    return Update(attributes=(*base, reach))


def seeds() -> list[tuple[str, bytes]]:
    ctx = CodecContext()
    gone = Update(withdrawn=(ipaddress.IPv4Network("10.255.0.7/32"),))
    out = [
        ("open", open_for("127.0.1.1")),
        ("keepalive", Keepalive().encode(ctx)),
        ("update-loopback", red_loopback_update("10.255.0.7", "198.51.100.7").encode(ctx)),
        ("update-vpnv4", vpn_update("10.7.0.0/24", "10.255.0.7", 107).encode(ctx)),
        ("update-vpnv6", vpn_update("2001:db8:7::/48", "::ffff:10.255.0.7", 108).encode(ctx)),
        ("update-withdraw", gone.encode(ctx)),
        ("update-rtc", rtc_update().encode(ctx)),
        ("withdraw-rtc", Update(attributes=(MpUnreachNlri(1, 132, MEMBERSHIPS[1:]),)).encode(ctx)),
        ("route-refresh", RouteRefreshMessage(1, 128).encode(ctx)),
        ("notification", Notification(6, 2).encode(ctx)),
    ]
    return out


def fix_length(data: bytes) -> bytes:
    """Repair the BGP header's length (and marker) so the body parsers are reached."""
    if len(data) < 19:
        return data
    return b"\xff" * 16 + min(len(data), 0xFFFF).to_bytes(2, "big") + data[18:]
