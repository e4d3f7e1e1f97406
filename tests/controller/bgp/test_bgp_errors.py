"""RFC 7606 handling of malformed UPDATEs as the speaker applies it, and attribute pass-through."""

import pytest
from bgp_pump import RR, A, B, inject, ip, net_, notifications, states, vpn_trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.bgp import convert
from controller.bgp.path import VPNV4, Attrs, Nlri, Tunnel
from controller.bgp.wire.attributes.base import PARTIAL, UnknownAttribute
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.nlri.rd import RouteDistinguisher
from controller.bgp.wire.update import Update

pytestmark = pytest.mark.unit
RD = RouteDistinguisher.parse("10.255.0.2:1")
PREFIX = net_("172.16.2.0/24")
RT = ExtCommunity.route_target("65000:100")


def _update(net, extra: tuple = (), drop: type | None = None) -> list:
    """A's view of B's route, rebuilt by hand with extra/missing attributes."""
    a = net.node(A)
    neg = a.sessions[ip(RR)].negotiated
    attrs = Attrs(
        next_hop=ip("10.255.0.2"),
        local_pref=100,
        ext_communities=(RT,),
        tunnels=(Tunnel(0xFFFE, ip("10.255.0.2")),),  # draft 2: VPN routes carry one
    )
    (msg,) = convert.encode_updates([(Nlri(VPNV4, PREFIX, RD), attrs, (100,))], [], neg)
    kept = tuple(x for x in msg.attributes if drop is None or not isinstance(x, drop))
    return [Update(attributes=kept + extra)]


@pytest.fixture
def net():
    net = vpn_trio()
    net.node(B).add_vrf_route("blue", PREFIX, net.now)
    net.settle()
    assert [e.prefix for e in net.node(A).route_events()] == [PREFIX]
    return net


def test_malformed_origin_is_treat_as_withdraw(net) -> None:
    bad_origin = UnknownAttribute(code=1, value=b"\x00\x00", flags=0x40)  # ORIGIN of 2 octets
    msgs = _update(net)
    msgs = [Update(attributes=(bad_origin, *msgs[0].attributes[1:]))]
    inject(net, RR, A, msgs)
    a = net.node(A)
    assert [(e.prefix, e.withdrawn) for e in a.route_events()] == [(PREFIX, True)]
    assert states(a)[RR] == "Established"
    assert any("treat-as-withdraw" in reason for (_, reason) in a.rejects)


def test_missing_mandatory_attribute_is_treat_as_withdraw(net) -> None:
    from controller.bgp.wire.attributes.basic import Origin

    inject(net, RR, A, _update(net, drop=Origin))
    a = net.node(A)
    assert [(e.prefix, e.withdrawn) for e in a.route_events()] == [(PREFIX, True)]
    assert states(a)[RR] == "Established"


def test_malformed_atomic_aggregate_is_discarded_route_kept(net) -> None:
    bad = UnknownAttribute(code=6, value=b"\x01", flags=0x40)  # ATOMIC_AGGREGATE must be empty
    inject(net, RR, A, _update(net, extra=(bad,)))
    a = net.node(A)
    assert a.route_events() == []  # same route, still there
    assert [e.prefix for e in a.vrf_routes("blue")] == [PREFIX]
    assert states(a)[RR] == "Established"


def test_malformed_mp_reach_resets_the_session(net) -> None:
    a = net.node(A)
    ctx = a.sessions[ip(RR)]._ctx[next(iter(a.sessions[ip(RR)]._ctx))]
    body = Update().encode(ctx)[19:]
    # Total path attribute length 6: MP_REACH_NLRI (flags 0x80, type 14, length 3) truncated.
    raw_attrs = bytes([0x80, 14, 3, 0, 1, 128])
    body = b"\x00\x00" + len(raw_attrs).to_bytes(2, "big") + raw_attrs
    data = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    conn = next(c for (n, c), (p, _) in net.links.items() if n == ip(A) and p == ip(RR))
    a.data_received(ip(RR), conn, data, net.now)
    net.settle()
    assert any(code == 3 for code, _ in notifications(net, A))
    assert [(e.prefix, e.withdrawn) for e in a.route_events()] == [(PREFIX, True)]
    net.advance(10)  # idle hold, then the session comes back with the routes
    assert states(a)[RR] == "Established"
    assert [e.prefix for e in a.vrf_routes("blue")] == [PREFIX]


def test_unknown_optional_transitive_passes_with_partial_bit(net) -> None:
    odd = UnknownAttribute(code=99, value=b"xyz", flags=0xC0)
    a_neg = net.node(B).sessions[ip(RR)].negotiated
    attrs = Attrs(
        next_hop=ip("10.255.0.1"),
        local_pref=100,
        ext_communities=(RT,),
        tunnels=(Tunnel(0xFFFE, ip("10.255.0.1")),),
    )
    (msg,) = convert.encode_updates(
        [
            (
                Nlri(VPNV4, net_("172.16.7.0/24"), RouteDistinguisher.parse("10.255.0.1:1")),
                attrs,
                (55,),
            )
        ],
        [],
        a_neg,
    )
    inject(net, A, RR, [Update(attributes=(*msg.attributes, odd))])
    b = net.node(B)
    (p,) = [x for x in b.red.best_paths(VPNV4) if x.nlri.prefix == net_("172.16.7.0/24")]
    (got,) = [x for x in p.attrs.extra if isinstance(x, UnknownAttribute)]
    assert (got.code, got.value) == (99, b"xyz")
    assert got.wire_flags(3) & PARTIAL
    # An unknown non-transitive attribute is not passed on.
    nontrans = UnknownAttribute(code=98, value=b"q", flags=0x80)
    inject(net, A, RR, [Update(attributes=(*msg.attributes, nontrans))])
    (p,) = [x for x in b.red.best_paths(VPNV4) if x.nlri.prefix == net_("172.16.7.0/24")]
    assert not [x for x in p.attrs.extra if isinstance(x, UnknownAttribute)]


def _attr(draw_flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return bytes([draw_flags | 0x10, code]) + len(value).to_bytes(2, "big") + value
    return bytes([draw_flags & 0xEF, code, len(value)]) + value


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    attrs=st.lists(
        st.tuples(
            st.sampled_from([0x40, 0x80, 0xC0, 0xE0, 0x50]),
            st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 23, 32, 99]),
            st.binary(max_size=40),
        ),
        max_size=6,
    ),
    nlri=st.one_of(st.binary(max_size=12), st.just(b"\x18\xac\x10\x05")),
    base=st.booleans(),
)
def test_fuzzed_update_never_breaks_the_speaker(net, attrs, nlri, base) -> None:
    a = net.node(A)
    # With ``base``, well-formed ORIGIN, AS_PATH and NEXT_HOP come first, so the odd
    # attributes reach the route handling rather than stopping at a missing attribute.
    valid = _attr(0x40, 1, b"\x00") + _attr(0x40, 2, b"") + _attr(0x40, 3, bytes([10, 255, 0, 2]))
    body_attrs = (valid if base else b"") + b"".join(_attr(f, c, v) for f, c, v in attrs)
    body = b"\x00\x00" + len(body_attrs).to_bytes(2, "big") + body_attrs + nlri
    data = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    links = [c for (n, c), (p, _) in net.links.items() if n == ip(A) and p == ip(RR)]
    if not links:
        net.advance(5)
        links = [c for (n, c), (p, _) in net.links.items() if n == ip(A) and p == ip(RR)]
    a.data_received(ip(RR), links[0], data, net.now)
    net.settle()
    # Either the UPDATE was handled (session up) or it reset the session with a NOTIFICATION.
    assert states(a)[RR] in ("Established", "Idle")
    assert show_ok(a)


def show_ok(core) -> bool:
    from controller.bgp import show

    show.sessions_text(core)
    show.routes_text(core, "vpnv4")
    show.routes_text(core, "ipv4-unicast")
    show.vrf_text(core, "blue")
    return True


# ---- found by fuzzing the listener over real sockets (tests/fuzz) -------------------------


def _raw(net, sender: str, receiver: str, data: bytes) -> None:
    x, y = ip(sender), ip(receiver)
    conn = next(c for (n, c), (p, _) in net.links.items() if n == y and p == x)
    net.node(receiver).data_received(x, conn, data, net.now)
    net.settle()


def test_notification_echoing_a_huge_message_is_cut_to_fit(net) -> None:
    # A ROUTE-REFRESH as long as extended messages allow: the NOTIFICATION (7/1) echoes
    # it in its data, which must be cut, not make the encoder fail.
    body = b"\x00\x01\x00\x80" + bytes(65535 - 23)
    bad = b"\xff" * 16 + (65535).to_bytes(2, "big") + b"\x05" + body
    _raw(net, RR, A, bad)
    sent = [d for src, _, d in net.captured if src == ip(A) and len(d) > 18 and d[18] == 3]
    assert [(d[19], d[20]) for d in sent] == [(7, 1)]
    assert 60000 < len(sent[0]) <= 65535 and int.from_bytes(sent[0][16:18]) == len(sent[0])
    assert states(net.node(A))[RR] != "Established"


def test_update_followed_by_an_error_in_the_same_read(net) -> None:
    a = net.node(A)
    (upd,) = _update(net)
    neg = a.sessions[ip(RR)].negotiated
    garbage = b"\x00" * 19  # bad marker: session reset
    _raw(net, RR, A, upd.encode(neg.codec) + garbage)
    assert (1, 1) in notifications(net, A)
    assert a.counters["update-after-session-end"] == 1
    assert a.vrf_routes("blue") == []  # the session's routes went with it


def test_updates_repeating_attributes_keep_their_own_next_hop_and_notes(net) -> None:
    """convert.py remembers the Attrs of a repeated attribute set: each UPDATE still gets
    its own MP_REACH next hop, and the notes on the attributes come with every one."""
    from controller.bgp.path import Color, Source
    from controller.bgp.wire.attributes.tunnel_encap import TunnelEncapsulation, TunnelTlv
    from controller.bgp.wire.message import decode_message

    neg = net.node(A).sessions[ip(RR)].negotiated
    bad = TunnelEncapsulation((TunnelTlv(0xFFFE, ()),))  # no endpoint sub-TLV: noted
    paths, notes = [], []
    for hop in ("10.255.0.2", "10.255.0.3", "10.255.0.2"):
        attrs = Attrs(next_hop=ip(hop), local_pref=100, ext_communities=(RT,))
        (msg,) = convert.encode_updates([(Nlri(VPNV4, PREFIX, RD), attrs, (100,))], [], neg)
        msg = Update(attributes=(*msg.attributes, bad))
        got = convert.decode_update(
            decode_message(msg.encode(neg.codec), neg.codec), Source(Color.RED, ip(RR)), neg
        )
        paths += got.announced
        notes.append(got.notes)
    assert [str(p.attrs.next_hop) for p in paths] == ["10.255.0.2", "10.255.0.3", "10.255.0.2"]
    assert paths[0].attrs is paths[2].attrs  # one decode served both
    assert paths[0].attrs.with_(next_hop=ip("10.255.0.3")) == paths[1].attrs
    assert all(n and n == notes[0] for n in notes), notes
