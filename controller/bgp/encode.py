"""The core's routes (``path.py``) → UPDATE messages: the encoding half of ``convert.py``.

Announcements that share attributes are grouped, and as many NLRIs go into each
UPDATE as the negotiated message size allows; the order of the messages spares
receivers transient states (plain IP routes that VPN-IP routes resolve through
are announced first and withdrawn last).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from controller.bgp.negotiate import Negotiated
from controller.bgp.path import IPV4_UNICAST, RTC, Attrs, Family, Nlri
from controller.bgp.rtc import wire_membership
from controller.bgp.wire.attributes.as_path import As4Path, AsPath, AsSegment
from controller.bgp.wire.attributes.base import PathAttribute
from controller.bgp.wire.attributes.basic import LocalPref, Med, NextHopAttr
from controller.bgp.wire.attributes.basic import Origin as OriginAttr
from controller.bgp.wire.attributes.communities import Communities
from controller.bgp.wire.attributes.ext_communities import ExtendedCommunities
from controller.bgp.wire.attributes.mp import MpReachNlri, MpUnreachNlri
from controller.bgp.wire.attributes.mp import Nlri as WireNlri
from controller.bgp.wire.attributes.reflection import ClusterList, OriginatorId
from controller.bgp.wire.attributes.tunnel_encap import TunnelEncapsulation, tunnel_tlv
from controller.bgp.wire.constants import AS_TRANS, SAFI_UNICAST
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.message import BgpMessage
from controller.bgp.wire.nlri.labels import label_stack
from controller.bgp.wire.nlri.nexthop import NextHop
from controller.bgp.wire.nlri.prefix import encode_prefix
from controller.bgp.wire.nlri.rtc import RtMembership
from controller.bgp.wire.nlri.vpn import VpnPrefix
from controller.bgp.wire.update import Update

# Room for the header, the two length fields and the fixed part of MP_REACH_NLRI.
_OVERHEAD = 19 + 4 + 4 + 5 + 2 * 24 + 1


def attrs_to_wire(attrs: Attrs, ctx: CodecContext) -> list[PathAttribute]:
    segs = tuple(AsSegment(t, asns) for t, asns in attrs.as_path)
    out: list[PathAttribute] = [OriginAttr(int(attrs.origin))]
    if not ctx.four_octet_as and any(a > 0xFFFF for _, asns in attrs.as_path for a in asns):
        # RFC 6793 4.2.2: a 2-octet peer gets AS_TRANS in AS_PATH and the real path in AS4_PATH.
        two = tuple(
            AsSegment(t, tuple(a if a <= 0xFFFF else AS_TRANS for a in asns))
            for t, asns in attrs.as_path
        )
        out += [AsPath(two), As4Path(segs)]
    else:
        out.append(AsPath(segs))
    if attrs.med is not None:
        out.append(Med(attrs.med))
    if attrs.local_pref is not None:
        out.append(LocalPref(attrs.local_pref))
    if attrs.communities:
        out.append(Communities(attrs.communities))
    if attrs.originator_id is not None:
        out.append(OriginatorId(attrs.originator_id))
    if attrs.cluster_list:
        out.append(ClusterList(attrs.cluster_list))
    if attrs.ext_communities:
        out.append(ExtendedCommunities(attrs.ext_communities))
    if isinstance(attrs.tunnel_wire, TunnelEncapsulation):
        out.append(attrs.tunnel_wire)  # as received: reflection keeps it byte for byte
    elif attrs.tunnels:
        # One attribute with a TLV per tunnel (RFC 4271 5: an attribute appears at most once).
        tlvs = [
            tunnel_tlv(t.tunnel_type, t.endpoint, t.security_handle, ctx) for t in attrs.tunnels
        ]
        out.append(TunnelEncapsulation(tuple(tlvs)))
    out += [a for a in attrs.extra if isinstance(a, PathAttribute)]
    return out


def _chunks(items: list[bytes], room: int) -> Iterator[int]:
    """Yield how many of ``items`` fit in successive messages of ``room`` octets."""
    i = 0
    while i < len(items):
        size, n = 0, 0
        while i + n < len(items) and size + len(items[i + n]) <= room:
            size += len(items[i + n])
            n += 1
        n = max(n, 1)
        yield n
        i += n


def _wire_nlri(nlri: Nlri, labels: tuple[int, ...]) -> WireNlri:
    if nlri.family == RTC:
        return wire_membership(nlri)
    if nlri.rd is not None:
        return VpnPrefix(nlri.rd, nlri.prefix, label_stack(*labels))
    return nlri.prefix


def encode_updates(
    announce: list[tuple[Nlri, Attrs, tuple[int, ...]]],
    withdraw: list[Nlri],
    neg: Negotiated,
) -> list[BgpMessage]:
    """UPDATEs for a batch of changes, in an order that spares receivers transient states.

    Plain IP announcements (red loopback routes) go before VPN-IP routes that may
    resolve through them, and plain IP withdrawals after the VPN-IP withdrawals.
    """
    ctx = neg.codec
    limit = ctx.max_message_len - _OVERHEAD
    by_fam: dict[Family, list[Nlri]] = {}
    for n in withdraw:
        by_fam.setdefault(n.family, []).append(n)
    withdrawals: list[tuple[bool, BgpMessage]] = []
    for fam, nlris in by_fam.items():
        objs = [_wire_nlri(n, ()) for n in nlris]
        sizes = [_nlri_bytes(fam, o) for o in objs]
        i = 0
        for k in _chunks(sizes, limit):
            part = tuple(objs[i : i + k])
            i += k
            msg: BgpMessage
            if fam == IPV4_UNICAST:
                v4 = tuple(n for n in part if isinstance(n, ipaddress.IPv4Network))
                msg = Update(withdrawn=v4)
            else:
                msg = Update(attributes=(MpUnreachNlri(fam.afi, fam.safi, part),))
            withdrawals.append((fam.safi == SAFI_UNICAST, msg))
    groups: dict[tuple[Family, Attrs], list[WireNlri]] = {}
    for nlri, attrs, labels in announce:
        groups.setdefault((nlri.family, attrs), []).append(_wire_nlri(nlri, labels))
    announcements: list[tuple[bool, BgpMessage]] = []
    for (fam, attrs), objs in groups.items():
        base = attrs_to_wire(attrs, ctx)
        room = limit - sum(len(a.encode(ctx)) for a in base)
        sizes = [_nlri_bytes(fam, o) for o in objs]
        i = 0
        for k in _chunks(sizes, max(room, 64)):
            part = tuple(objs[i : i + k])
            i += k
            announcements.append((fam.safi == SAFI_UNICAST, _announce(fam, attrs, base, part)))
    return (
        [m for plain, m in announcements if plain]
        + [m for plain, m in withdrawals if not plain]
        + [m for plain, m in announcements if not plain]
        + [m for plain, m in withdrawals if plain]
    )


def _nlri_bytes(fam: Family, obj: WireNlri) -> bytes:
    if isinstance(obj, VpnPrefix | RtMembership):
        return obj.encode()
    return encode_prefix(obj)


def _announce(
    fam: Family, attrs: Attrs, base: list[PathAttribute], part: tuple[WireNlri, ...]
) -> Update:
    nh = attrs.next_hop
    assert nh is not None
    if fam == IPV4_UNICAST and nh.version == 4:
        v4 = tuple(n for n in part if isinstance(n, ipaddress.IPv4Network))
        return Update(attributes=(*base, NextHopAttr(nh)), nlri=v4)
    mp_nh = NextHop(nh)
    if fam.afi == 2 and nh.version == 4:
        # RFC 4659 3.2.1.2 / RFC 4798: an IPv4 next hop in an IPv6 family is IPv4-mapped.
        mp_nh = NextHop(ipaddress.IPv6Address("::ffff:" + str(nh)))
    return Update(attributes=(*base, MpReachNlri(fam.afi, fam.safi, mp_nh, part)))
