"""Transform matrix, ESN, PFS, tunnel mode, NAT traversal and per-tenant CHILD_SAs."""

from __future__ import annotations

import pytest

from controller.ipsec.ike.config import ChildConfig, Lifetimes
from controller.ipsec.ike.sa import Datagram
from controller.ipsec.ike.wire.ts import TrafficSelector

from .harness import A_ADDR, B_ADDR, connect, pair, transport_child

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "proposal",
    [
        "aes128gcm16-prfsha256-x25519",
        "aes256gcm16-prfsha384-ecp384",
        "aes256gcm16-prfsha512-ecp256",
        "aes128-sha256-modp2048",
        "aes256-sha512-prfsha384-x25519",
    ],
)
def test_ike_transforms(proposal: str) -> None:
    net, a, _b = pair(a_kw={"ike_proposals": [proposal]}, b_kw={"ike_proposals": [proposal]})
    sa = connect(net, a)
    assert sa.state.value == "established" and sa.children
    a.rekey_ike(sa, net.now)  # the rekeyed SA derives keys through the same suite
    net.pump()
    (new,) = a.established()
    assert new.spis != sa.spis and new.children


def _child(esp: str, transport: bool = True) -> ChildConfig:
    c = transport_child(A_ADDR, B_ADDR)
    c.esp_proposals = [esp]
    c.transport = transport
    return c


def _mirror(c: ChildConfig) -> ChildConfig:
    return ChildConfig(c.name, c.remote_ts, c.local_ts, c.esp_proposals, c.transport, c.lifetimes)


@pytest.mark.parametrize(
    ("esp", "esn"), [("aes128gcm16-esn", True), ("aes256-sha256-noesn", False)]
)
def test_esp_transforms_and_esn(esp: str, esn: bool) -> None:
    c = _child(esp)
    net, a, _b = pair(a_kw={"children": [c]}, b_kw={"children": [_mirror(c)]})
    sa = connect(net, a)
    (child,) = sa.children
    assert child.esn is esn
    assert len(child.key_out[0]) == (20 if "gcm" in esp else 32)  # GCM: key + 4-octet salt


def test_esn_offered_with_fallback_picks_what_the_responder_has() -> None:
    c = _child("aes128gcm16-esn-noesn")
    net, a, _b = pair(
        a_kw={"children": [c]}, b_kw={"children": [_mirror(_child("aes128gcm16-noesn"))]}
    )
    sa = connect(net, a)
    assert sa.children[0].esn is False


def test_pfs_rekey_carries_a_key_exchange() -> None:
    c = _child("aes128gcm16-x25519")
    net, a, b = pair(a_kw={"children": [c]}, b_kw={"children": [_mirror(c)]})
    sa = connect(net, a)
    assert sa.children[0].dh_group == 0  # IKE_AUTH's CHILD_SA has no KE of its own
    a.rekey_child(sa.children[0].spi_in, net.now)
    net.pump()
    (child,) = sa.children
    (peer,) = b.established()
    assert child.dh_group == 31 and child.key_out == peer.children[0].key_in


def test_tunnel_mode_child() -> None:
    c = ChildConfig(
        "net",
        [TrafficSelector.subnet("10.1.0.0/16")],
        [TrafficSelector.subnet("10.2.0.0/16")],
        transport=False,
        lifetimes=Lifetimes(None, None),
    )
    net, a, _b = pair(a_kw={"children": [c]}, b_kw={"children": [_mirror(c)]})
    sa = connect(net, a)
    (child,) = sa.children
    assert not child.transport and str(child.remote_ts[0]) == "10.2.0.0-10.2.255.255[0]"


def test_traffic_selectors_are_narrowed_to_the_responders_policy() -> None:
    wide = ChildConfig(
        "net",
        [TrafficSelector.subnet("10.1.0.0/16")],
        [TrafficSelector.subnet("10.0.0.0/8")],
        transport=False,
    )
    narrow = ChildConfig(
        "net",
        [TrafficSelector.subnet("10.2.0.0/16")],
        [TrafficSelector.subnet("10.1.0.0/24")],
        transport=False,
    )
    net, a, _b = pair(a_kw={"children": [wide]}, b_kw={"children": [narrow]})
    sa = connect(net, a)
    (child,) = sa.children
    assert str(child.local_ts[0]) == "10.1.0.0-10.1.0.255[0]"
    assert str(child.remote_ts[0]) == "10.2.0.0-10.2.255.255[0]"


def test_disjoint_selectors_fail_the_child_but_not_the_ike_sa() -> None:
    c = _child("aes128gcm16")
    other = ChildConfig(
        "mpls", [TrafficSelector.host(B_ADDR, 6)], [TrafficSelector.host(A_ADDR, 6)]
    )
    net, a, _b = pair(a_kw={"children": [c]}, b_kw={"children": [other]})
    sa = connect(net, a)
    assert sa.state.value == "established" and not sa.children


def test_nat_detected_floats_to_4500_and_marks_the_child_encapsulated() -> None:
    public = "203.0.113.9"
    net, a, b = pair()
    net.nodes[public] = a

    def nat(dg: Datagram) -> Datagram:
        if dg.src[0] == A_ADDR:  # outbound through the NAT: new source address and port
            return Datagram(dg.data, (public, 40000 + dg.src[1]), dg.dst)
        if dg.dst[0] == public:
            return Datagram(dg.data, dg.src, (A_ADDR, dg.dst[1] - 40000))
        return dg

    net.nat = nat
    sa = connect(net, a)
    (peer,) = b.established()
    assert sa.nat_here and not sa.nat_there and peer.nat_there
    assert sa.local[1] == 4500 and peer.remote == (public, 44500)
    assert sa.children[0].encap and peer.children[0].encap
    # the NAT mapping changes: the responder follows the authenticated peer
    net.nat = lambda dg: (
        Datagram(dg.data, (public, 50000), dg.dst)
        if dg.src[0] == A_ADDR
        else (Datagram(dg.data, dg.src, (A_ADDR, 4500)) if dg.dst[0] == public else dg)
    )
    a.rekey_child(sa.children[0].spi_in, net.now)
    net.pump()
    assert peer.remote == (public, 50000)
    assert "PeerMoved" in net.kinds(B_ADDR)


def test_no_nat_no_encapsulation() -> None:
    net, a, _b = pair()
    sa = connect(net, a)
    assert not sa.encap and sa.local[1] == 500 and not sa.children[0].encap


def test_per_tenant_children_on_one_ike_sa() -> None:
    red = transport_child(A_ADDR, B_ADDR, "mpls-red")
    blue = transport_child(A_ADDR, B_ADDR, "mpls-blue")
    net, a, _b = pair(
        a_kw={"children": [red, blue]}, b_kw={"children": [_mirror(red), _mirror(blue)]}
    )
    sa = connect(net, a)
    a.add_child(sa, "mpls-blue", net.now)
    net.pump()
    assert [c.name for c in sa.children] == ["mpls-red", "mpls-blue"]
    assert len({c.spi_in for c in sa.children}) == 2


def test_pfs_group_mismatch_is_recovered_with_invalid_ke() -> None:
    c = _child("aes128gcm16-x25519-ecp256")
    net, a, b = pair(
        a_kw={"children": [c]}, b_kw={"children": [_mirror(_child("aes128gcm16-ecp256"))]}
    )
    sa = connect(net, a)
    a.rekey_child(sa.children[0].spi_in, net.now)
    net.pump()
    (child,) = sa.children
    (peer,) = b.established()
    assert child.dh_group == 19 and child.key_out == peer.children[0].key_in
    assert sa.mid_out == peer.mid_in == 5  # INIT, AUTH, refused rekey, retried rekey, delete


def test_ipv6_black_addresses() -> None:
    from controller.ipsec.ike.daemon import IkeDaemon

    from .harness import Net, psk_config

    a6, b6 = "2001:db8::1", "2001:db8:2::2"
    a, b = IkeDaemon([psk_config(a6, b6)]), IkeDaemon([psk_config(b6, a6)])
    net = Net({a6: a, b6: b})
    sa = a.initiate(f"to-{b6}", (a6, 500), (b6, 500), net.now)
    net.pump()
    (child,) = sa.children
    assert sa.state.value == "established" and str(child.remote_ts[0]) == f"{b6}[137]"
    (peer,) = b.established()
    assert peer.remote_id == a6 and child.key_out == peer.children[0].key_in


def test_behind_a_nat_we_send_keepalives_when_idle() -> None:
    public = "203.0.113.9"
    net, a, _ = pair(a_kw={"dpd_seconds": None}, b_kw={"dpd_seconds": None})  # idle both ways
    net.nodes[public] = a
    net.nat = lambda dg: (
        Datagram(dg.data, (public, 40000 + dg.src[1]), dg.dst, dg.keepalive)
        if dg.src[0] == A_ADDR
        else Datagram(dg.data, dg.src, (A_ADDR, dg.dst[1] - 40000), dg.keepalive)
        if dg.dst[0] == public
        else dg
    )
    sa = connect(net, a)
    before = len(net.sent)
    net.advance(45)
    keepalives = [d for d in net.sent[before:] if d.keepalive]
    assert len(keepalives) == 2 and all(
        d.data == b"\xff" and d.src == (A_ADDR, 4500) for d in keepalives
    )
    assert sa.state.value == "established"
    # the interval is configured (ike.nat_traversal.keepalive): 5 s gives 9 in 45 s
    sa.cfg.nat_keepalive = 5.0
    before = len(net.sent)
    net.advance(45)
    assert len([d for d in net.sent[before:] if d.keepalive]) == 9


def test_responder_files_same_selector_children_by_the_initiators_name() -> None:
    red = transport_child(A_ADDR, B_ADDR, "mpls-red")
    blue = transport_child(A_ADDR, B_ADDR, "mpls-blue")
    net, a, b = pair(
        a_kw={"children": [red, blue]}, b_kw={"children": [_mirror(red), _mirror(blue)]}
    )
    sa = connect(net, a)
    a.add_child(sa, "mpls-blue", net.now)
    net.pump()
    (peer,) = b.established()
    names = {c.spi_out: c.name for c in peer.children}
    assert {names[c.spi_in] for c in sa.children} == {"mpls-red", "mpls-blue"}
    for c in sa.children:
        assert names[c.spi_in] == c.name  # blue on A is blue on B, not the first match


def test_remembered_selection_keeps_each_offers_number_and_spi() -> None:
    """select() remembers its choice per (offers, ours); the answer still carries the
    number and SPI of the offer at hand (every CHILD_SA offer has its own SPI)."""
    from controller.ipsec.ike.proposals import parse_proposals, select
    from controller.ipsec.ike.wire.consts import Protocol
    from controller.ipsec.ike.wire.sa import SaPayload

    ours = parse_proposals(["aes128gcm16", "aes256gcm16"], Protocol.ESP)
    for spi in (b"\x00\x00\x10\x01", b"\x00\x00\x10\x02"):
        offered = parse_proposals(["aes256gcm16", "aes128gcm16"], Protocol.ESP, spi)
        chosen = select(offered, ours)
        assert chosen is not None and (chosen.num, chosen.spi) == (1, spi)
        assert chosen.transforms == offered[0].transforms
        assert chosen.transforms is not offered[0].transforms  # a list of its own
        again = SaPayload.decode_body(SaPayload(offered).encode_body())
        assert [p.spi for p in again.proposals] == [spi, spi]
        assert again.proposals[0].transforms == offered[0].transforms
    assert select(parse_proposals(["aes256gcm16"], Protocol.ESP), ours[:1]) is None
