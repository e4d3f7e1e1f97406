"""Our BGP codecs against real peers: raw sessions driven by the test, no FSM.

Each peer is started in its own namespace (tests/interop/peers). Two test-side
speakers A and B are route-reflector clients of the peer: A sends a VPN-IPv4
route, a VPN-IPv6 route and a red loopback route (IPv4 unicast host route with
the Tunnel Encapsulation attribute: MPLS-in-IPsec tunnel type, Tunnel Egress
Endpoint, Security Handle 126); B decodes what the peer reflects, and the bytes
of attribute 23 are compared with what A sent.
"""

from __future__ import annotations

import ipaddress

import pytest
from peers.fixtures import BgpLab, RunningPeer
from peers.routes import (
    BLACK_LOOPBACK,
    RD,
    RT,
    raw_attribute,
    red_loopback_update,
    tunnel_attribute,
    vpn_update,
)

from controller.bgp.wire import (
    AS_TRANS,
    VPNV4,
    VPNV6,
    BgpError,
    EnhancedRouteRefresh,
    ErrorAction,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    MultiProtocol,
    NextHop,
    Notification,
    RefreshSubtype,
    RouteRefreshMessage,
    Update,
    VpnPrefix,
    label_stack,
    validate_update,
)
from controller.bgp.wire.attributes import (
    PARTIAL,
    Aggregator,
    As4Aggregator,
    As4Path,
    AsPath,
    ClusterList,
    ExtendedCommunities,
    MpReachNlri,
    OriginatorId,
    TunnelEgressEndpoint,
    TunnelEncapsulation,
    TunnelTlv,
    reconstruct_as_path,
)

pytestmark = [pytest.mark.interop, pytest.mark.slow]
FAMILIES = ("ipv4", "ipv6", "vpnv4", "vpnv6")
RED_LOOPBACK = "192.0.2.10"
TEA_TYPE = TunnelEncapsulation.TYPE_CODE


def _has_prefix(prefix: str):  # type: ignore[no-untyped-def]
    net = ipaddress.ip_network(prefix)
    return lambda u: net in u.nlri


def _has_vpn(prefix: str):  # type: ignore[no-untyped-def]
    net = ipaddress.ip_network(prefix)

    def match(u: Update) -> bool:
        mp = u.get(MpReachNlri)
        return mp is not None and any(isinstance(n, VpnPrefix) and n.prefix == net for n in mp.nlri)

    return match


def _reflect(peer: RunningPeer) -> dict[str, tuple[Update, bytes, bytes]]:
    """A sends the three routes; returns per route (B's UPDATE, B's raw bytes, A's raw bytes)."""
    a, b = peer.connect(0), peer.connect(1)
    sent = {
        "loopback": red_loopback_update(RED_LOOPBACK, peer.client_ip(0)),
        "vpnv4": vpn_update("10.1.1.0/24", peer.client_ip(0), 100),
        "vpnv6": vpn_update("2001:db8:1::/48", peer.lab.us_ip6s[0], 101),
    }
    raw_sent = {k: a.send(u) for k, u in sent.items()}
    got = {
        "loopback": b.wait_update(_has_prefix(f"{RED_LOOPBACK}/32")),
        "vpnv4": b.wait_update(_has_vpn("10.1.1.0/24")),
        "vpnv6": b.wait_update(_has_vpn("2001:db8:1::/48")),
    }
    out = {}
    for k, u in got.items():
        assert u.errors == (), f"{k}: decode errors {u.errors}"
        assert validate_update(u, ibgp=True) == []
        # Every reflector adds RFC 4456 attributes naming A and its cluster.
        assert u.get(OriginatorId) == OriginatorId(ipaddress.IPv4Address(peer.client_ip(0)))
        assert u.get(ClusterList) == ClusterList((ipaddress.IPv4Address(peer.address),))
        out[k] = (u, b.raw_of(u), raw_sent[k])
    vpn = got["vpnv4"].get(MpReachNlri)
    assert vpn is not None and vpn.family == VPNV4
    (route,) = vpn.nlri
    assert isinstance(route, VpnPrefix) and route.rd == RD and route.labels[0].value == 100
    ext = got["vpnv4"].get(ExtendedCommunities)
    assert ext is not None and ext.route_targets == (RT,)
    vpn6 = got["vpnv6"].get(MpReachNlri)
    assert vpn6 is not None and vpn6.family == VPNV6
    return out


def _check_open(peer: RunningPeer) -> None:
    """Our OPEN offers all four families; the peer's OPEN must offer both VPN families."""
    speaker = peer.connect(0, FAMILIES)
    their = speaker.peer_open
    assert their is not None
    their.validate()
    assert their.asn == peer.asn and their.find(FourOctetAs) is not None
    offered = {c.family for c in their.capabilities if isinstance(c, MultiProtocol)}
    assert {VPNV4, VPNV6} <= offered


# --- GoBGP -----------------------------------------------------------------------------


def test_gobgp_open_negotiates_vpn_families(bgp_lab: BgpLab) -> None:
    _check_open(bgp_lab.start("gobgp", families=FAMILIES, clients=1))


def test_gobgp_reflects_tunnel_attribute_byte_for_byte(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("gobgp", families=FAMILIES)
    routes = _reflect(peer)
    for kind, (update, raw_b, raw_a) in routes.items():
        assert raw_attribute(raw_b, TEA_TYPE) == raw_attribute(raw_a, TEA_TYPE), kind
        assert update.get(TunnelEncapsulation) == tunnel_attribute()
    rib = peer.daemon.rib("ipv4")  # type: ignore[attr-defined]
    (path,) = rib[f"{RED_LOOPBACK}/32"]
    (tea,) = [a for a in path["attrs"] if a["type"] == TEA_TYPE]
    assert tea["value"][0]["type"] == 0xFFFE


def test_gobgp_injected_vpn_route_decodes(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("gobgp", families=FAMILIES, clients=1)
    b = peer.connect(0)
    # A type 2 RD. The gobgp 3.10 CLI turns plain "4200000000:7" into type 0 with the AS
    # saturated to 65535; its asdot form 64086.59904 (= 4200000000) gives type 2.
    peer.daemon.add_route(  # type: ignore[attr-defined]
        "vpnv4", "10.2.0.0/24", "label", "200", "rd", "64086.59904:7", "rt", "192.0.2.1:5",
        "nexthop", "10.0.0.2",
    )  # fmt: skip
    update = b.wait_update(_has_vpn("10.2.0.0/24"))
    mp = update.get(MpReachNlri)
    assert mp is not None and mp.next_hop is not None
    (route,) = mp.nlri
    assert isinstance(route, VpnPrefix)
    assert (route.rd.type, str(route.rd)) == (2, "4200000000:7")
    assert (route.labels[0].value, str(mp.next_hop)) == (200, "10.0.0.2")
    ext = update.get(ExtendedCommunities)
    assert ext is not None and [str(c) for c in ext.route_targets] == ["rt 192.0.2.1:5"]
    assert update.encode(b.ctx) == b.raw_of(update)


# --- BIRD ------------------------------------------------------------------------------


def test_bird_open_negotiates_vpn_families(bgp_lab: BgpLab) -> None:
    _check_open(bgp_lab.start("bird", families=FAMILIES, clients=1))


def test_bird_reflects_tunnel_value_with_partial_bit(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("bird", families=FAMILIES)
    for kind, (update, raw_b, raw_a) in _reflect(peer).items():
        sent, got = raw_attribute(raw_a, TEA_TYPE), raw_attribute(raw_b, TEA_TYPE)
        assert sent is not None and got is not None, kind
        # BIRD treats 23 as unknown optional transitive: value identical, Partial bit set.
        assert (sent[0], got[0]) == (0xC0, 0xC0 | PARTIAL), kind
        assert got[1:] == sent[1:], kind
        tea = update.get(TunnelEncapsulation)
        assert tea is not None and tea.tunnels == tunnel_attribute().tunnels
        assert update.encode(peer.speakers[1].ctx) == raw_b  # byte-exact, flags kept


# --- FRR -------------------------------------------------------------------------------


def test_frr_open_negotiates_vpn_families(bgp_lab: BgpLab) -> None:
    _check_open(bgp_lab.start("frr", families=FAMILIES, clients=1))


def test_frr_keeps_tunnel_attribute_on_vpn_but_drops_it_on_ipv4_unicast(bgp_lab: BgpLab) -> None:
    """FRR 8.4 re-emits attribute 23 only for some SAFIs: an FRR route reflector cannot
    carry red loopback routes sent as IPv4 unicast (they arrive without their tunnel),
    while VPN-IPv4/VPN-IPv6 routes keep the attribute byte for byte."""
    peer = bgp_lab.start("frr", families=FAMILIES)
    routes = _reflect(peer)
    loop_update, loop_raw, _ = routes["loopback"]
    assert raw_attribute(loop_raw, TEA_TYPE) is None
    assert loop_update.get(TunnelEncapsulation) is None
    for kind in ("vpnv4", "vpnv6"):
        _, raw_b, raw_a = routes[kind]
        assert raw_attribute(raw_b, TEA_TYPE) == raw_attribute(raw_a, TEA_TYPE), kind
    # FRR also rewrites the VPN label's TC bits (docs/peers.md): the label value survives.
    mp = routes["vpnv4"][0].get(MpReachNlri)
    assert mp is not None and isinstance(mp.nlri[0], VpnPrefix)
    assert mp.nlri[0].labels[0].value == 100


# --- ExaBGP ----------------------------------------------------------------------------


def test_exabgp_open_negotiates_vpn_families(bgp_lab: BgpLab) -> None:
    _check_open(bgp_lab.start("exabgp", families=FAMILIES, clients=1, rr=False))


def test_exabgp_receives_our_tunnel_attribute_and_sends_one(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("exabgp", families=FAMILIES, clients=1, rr=False)
    a = peer.connect(0)
    a.send(red_loopback_update(RED_LOOPBACK, peer.client_ip(0)))
    exa = peer.daemon
    value = tunnel_attribute().encode_value(a.ctx).hex()

    def seen() -> bool:
        for ev in exa.received_updates():  # type: ignore[attr-defined]
            attrs = ev["neighbor"]["message"]["update"].get("attribute", {})
            if any(k.startswith("attribute-0x17") and v == f"0x{value}" for k, v in attrs.items()):
                return True
        return False

    from peers.daemon import wait_until

    wait_until("ExaBGP to report our attribute 23", seen)
    exa.api(  # type: ignore[attr-defined]
        f"announce route 10.9.0.0/16 next-hop 10.0.0.9 attribute [0x17 0xc0 0x{value}]"
    )
    update = a.wait_update(_has_prefix("10.9.0.0/16"))
    assert update.get(TunnelEncapsulation) == tunnel_attribute()
    exa.api(  # type: ignore[attr-defined]
        "announce route 10.10.0.0/16 rd 4200000000:9 label [ 909 ] next-hop 10.0.0.9 "
        "extended-community [ target:65000:1 ]"
    )
    vpn = a.wait_update(_has_vpn("10.10.0.0/16"))
    mp = vpn.get(MpReachNlri)
    assert mp is not None and mp.family == VPNV4
    (route,) = mp.nlri
    assert isinstance(route, VpnPrefix)
    assert (str(route.rd), [lb.value for lb in route.labels]) == ("4200000000:9", [909])
    ext = vpn.get(ExtendedCommunities)
    assert ext is not None and ext.route_targets == (RT,)


@pytest.mark.parametrize(
    ("attribute", "action", "subcode"),
    [
        ("[0x04 0x80 0x000001]", ErrorAction.TREAT_AS_WITHDRAW, 5),  # MED of 3 octets
        ("[0x06 0x40 0x00]", ErrorAction.ATTRIBUTE_DISCARD, 5),  # ATOMIC_AGGREGATE with a value
        ("[0x17 0xc0 0xfffe0020]", ErrorAction.TREAT_AS_WITHDRAW, 5),  # tunnel TLV overruns
        ("[0x08 0xc0 0x0001]", ErrorAction.TREAT_AS_WITHDRAW, 5),  # COMMUNITIES of 2 octets
        ("[0x05 0x80 0x00000064]", ErrorAction.TREAT_AS_WITHDRAW, 4),  # LOCAL_PREF as optional
    ],
)
def test_exabgp_malformed_attributes_classified_per_rfc7606(
    bgp_lab: BgpLab, attribute: str, action: ErrorAction, subcode: int
) -> None:
    peer = bgp_lab.start("exabgp", families=("ipv4",), clients=1, rr=False)
    a = peer.connect(0)
    peer.daemon.api(  # type: ignore[attr-defined]
        f"announce route 10.77.0.0/16 next-hop 10.0.0.9 attribute {attribute}"
    )
    update = a.wait_update(_has_prefix("10.77.0.0/16"))
    assert update.action is action
    assert [(e.code, e.subcode) for e in update.errors] == [(3, subcode)]


def test_exabgp_unrecognized_well_known_attribute_resets_session(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("exabgp", families=("ipv4",), clients=1, rr=False)
    a = peer.connect(0)
    peer.daemon.api(  # type: ignore[attr-defined]
        "announce route 10.78.0.0/16 next-hop 10.0.0.9 attribute [0x63 0x40 0x0102]"
    )
    with pytest.raises(BgpError) as exc:
        a.wait_update(_has_prefix("10.78.0.0/16"))
    assert (exc.value.code, exc.value.subcode, exc.value.data) == (3, 2, b"\x40\x63\x02\x01\x02")
    assert Notification.from_error(exc.value).encode()[19:21] == b"\x03\x02"


def test_bird_static_vpn_route_decodes(bgp_lab: BgpLab) -> None:
    gateway = ""

    def static_route(daemon, lab) -> None:  # type: ignore[no-untyped-def]
        nonlocal gateway
        # A gateway on the connected subnet that is not the receiving neighbor itself:
        # BIRD does not send a route to the neighbor its next hop points at.
        gateway = lab.peer_ip.rsplit(".", 1)[0] + ".99"
        daemon.extra_config += [
            "protocol static s4 {",
            "  vpn4 { table vpntab4; };",
            f"  route 65000:3 10.3.0.0/24 via {gateway} mpls 300;",
            "}",
        ]

    peer = bgp_lab.start("bird", families=("vpnv4",), clients=1, configure=static_route)
    b = peer.connect(0)
    update = b.wait_update(_has_vpn("10.3.0.0/24"))
    mp = update.get(MpReachNlri)
    assert mp is not None and mp.next_hop is not None
    (route,) = mp.nlri
    assert isinstance(route, VpnPrefix)
    assert (str(route.rd), [lb.value for lb in route.labels]) == ("65000:3", [300])
    assert str(mp.next_hop) == gateway
    assert update.encode(b.ctx) == b.raw_of(update)


def test_frr_vpn_network_with_type1_rd_decodes(bgp_lab: BgpLab) -> None:
    def network(daemon, lab) -> None:  # type: ignore[no-untyped-def]
        daemon.af_config["vpnv4"] = ["network 10.4.0.0/24 rd 1.2.3.4:4 label 400"]

    peer = bgp_lab.start("frr", families=("vpnv4",), clients=1, configure=network)
    b = peer.connect(0)
    update = b.wait_update(_has_vpn("10.4.0.0/24"))
    mp = update.get(MpReachNlri)
    assert mp is not None
    (route,) = mp.nlri
    assert isinstance(route, VpnPrefix)
    assert (route.rd.type, str(route.rd), route.labels[0].value) == (1, "1.2.3.4:4", 400)
    assert update.encode(b.ctx) == b.raw_of(update)


def test_exabgp_sends_as4_path_to_a_two_octet_speaker(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("exabgp", families=("ipv4",), clients=1, rr=False)
    a = peer.connect(0, four_octet=False)
    assert not a.ctx.four_octet_as
    peer.daemon.api(  # type: ignore[attr-defined]
        "announce route 10.79.0.0/16 next-hop 10.0.0.9 as-path [ 65001 4200000000 ] "
        "aggregator ( 4200000001:192.0.2.1 )"
    )
    update = a.wait_update(_has_prefix("10.79.0.0/16"))
    assert update.errors == ()
    as_path, as4_path = update.get(AsPath), update.get(As4Path)
    assert as_path is not None and as4_path is not None
    # ExaBGP sends the whole path in AS4_PATH (RFC 6793 allows any suffix).
    assert (as_path.asns, as4_path.asns) == ((65001, AS_TRANS), (65001, 4200000000))
    assert str(reconstruct_as_path(as_path, as4_path)) == "65001 4200000000"
    agg, agg4 = update.get(Aggregator), update.get(As4Aggregator)
    assert agg is not None and agg4 is not None
    assert (agg.asn, agg4.asn) == (AS_TRANS, 4200000001)
    assert update.encode(a.ctx) == a.raw_of(update)


@pytest.mark.parametrize(("kind", "kept"), [("gobgp", False), ("bird", True)])
def test_gobgp_and_bird_egress_endpoint_reserved_field(
    bgp_lab: BgpLab, kind: str, kept: bool
) -> None:
    """GoBGP rebuilds attribute 23 and zeroes the reserved field of sub-TLV 6; BIRD passes
    it through untouched. Our encoder always sends zero there, so both reflect us exactly."""
    peer = bgp_lab.start(kind, families=("ipv4",))
    a, b = peer.connect(0), peer.connect(1)
    tlv = tunnel_attribute().tunnels[0]
    odd = TunnelEncapsulation(
        (TunnelTlv(tlv.tunnel_type, (TunnelEgressEndpoint(BLACK_LOOPBACK, 0xDEADBEEF),)),)
    )
    update = red_loopback_update(RED_LOOPBACK, peer.client_ip(0))
    attrs = tuple(odd if isinstance(x, TunnelEncapsulation) else x for x in update.attributes)
    a.send(Update(attributes=attrs, nlri=update.nlri))
    got = b.wait_update(_has_prefix(f"{RED_LOOPBACK}/32"))
    tea = got.get(TunnelEncapsulation)
    assert tea is not None
    endpoint = tea.tunnels[0].egress_endpoint
    assert endpoint is not None and endpoint.address == BLACK_LOOPBACK
    assert endpoint.reserved == (0xDEADBEEF if kept else 0)


@pytest.mark.parametrize("kind", ["bird", "frr", "gobgp"])
def test_bird_frr_gobgp_answer_route_refresh(bgp_lab: BgpLab, kind: str) -> None:
    """B asks for VPN-IPv4 again. BIRD and FRR offered Enhanced Route Refresh, so the routes
    come back between a BoRR and an EoRR (RFC 7313 4); GoBGP just sends them again.

    FRR ignores a refresh until it has sent its own End-of-RIB for the family ("rcvd
    route-refresh before EoR" in its log), and it sends End-of-RIB only to peers that
    offered Graceful Restart: so B offers it (helper mode, nothing preserved) and waits
    for FRR's End-of-RIB first."""
    peer = bgp_lab.start(kind, families=("vpnv4",))
    a = peer.connect(0)
    b = peer.connect(1, extra=(GracefulRestart(120),))
    a.send(vpn_update("10.1.1.0/24", peer.client_ip(0), 100))
    b.wait_update(_has_vpn("10.1.1.0/24"))
    assert b.peer_open is not None
    enhanced = b.peer_open.find(EnhancedRouteRefresh) is not None
    assert enhanced == (kind != "gobgp")
    b.send_end_of_rib()
    if kind == "frr":
        b.wait_update(lambda u: u.end_of_rib == VPNV4)
    start = len(b.received)
    b.send(RouteRefreshMessage(VPNV4.afi, VPNV4.safi, RefreshSubtype.REQUEST))

    def events() -> list[str]:
        out = []
        for rec in b.received[start:]:
            m = rec.message
            if isinstance(m, RouteRefreshMessage):
                assert m.family == VPNV4
                out.append(RefreshSubtype(m.subtype).name)
            elif isinstance(m, Update) and _has_vpn("10.1.1.0/24")(m):
                out.append("ROUTE")
        return out

    if enhanced:
        b.collect(lambda: events()[-1:] == ["EORR"])
        assert events() == ["BORR", "ROUTE", "EORR"]
    else:
        b.collect(lambda: "ROUTE" in events())
        assert events() == ["ROUTE"]


@pytest.mark.parametrize("kind", ["gobgp", "bird", "frr", "exabgp"])
def test_gobgp_bird_frr_exabgp_vpn_session_over_ipv6_transport(bgp_lab: BgpLab, kind: str) -> None:
    """The same OPEN negotiation, and a VPN-IPv6 route, on a session between IPv6 addresses."""
    rr = kind != "exabgp"
    peer = bgp_lab.start(
        kind, families=FAMILIES, clients=2 if rr else 1, rr=rr, ipv6_transport=True
    )
    _check_open(peer)
    if not rr:
        return
    a, b = peer.speakers[0], peer.connect(1)
    a.send(vpn_update("2001:db8:7::/48", peer.client_ip(0), 107))
    update = b.wait_update(_has_vpn("2001:db8:7::/48"))
    mp = update.get(MpReachNlri)
    assert mp is not None and mp.family == VPNV6 and mp.next_hop is not None
    (route,) = mp.nlri
    assert isinstance(route, VpnPrefix) and route.labels[0].value == 107


def test_frr_extended_message_update_over_4096_octets(bgp_lab: BgpLab) -> None:
    """RFC 8654: with Extended Message on both sides, one UPDATE of about 6,000 octets
    (400 VPN-IPv4 routes) is accepted, and every route reaches the other client."""
    peer = bgp_lab.start("frr", families=("vpnv4",))
    a = peer.connect(0, extra=(ExtendedMessage(),))
    b = peer.connect(1, extra=(ExtendedMessage(),))
    assert a.ctx.extended_message and b.ctx.extended_message  # FRR offers it too
    routes = tuple(
        VpnPrefix(RD, ipaddress.IPv4Network((0x0A400000 + (i << 8), 24)), label_stack(1000 + i))
        for i in range(400)
    )
    big = Update(
        attributes=(
            MpReachNlri(1, 128, NextHop.of(peer.client_ip(0)), routes),
            *vpn_update("10.0.0.0/24", peer.client_ip(0)).attributes[1:],
        )
    )
    assert len(a.send(big)) > 4096
    wanted = {r.prefix for r in routes}
    got: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()

    def all_arrived() -> bool:
        for u in b.updates():
            mp = u.get(MpReachNlri)
            if mp is not None:
                got.update(n.prefix for n in mp.nlri if isinstance(n, VpnPrefix))
        return wanted <= got

    b.collect(all_arrived)
    assert wanted <= got
