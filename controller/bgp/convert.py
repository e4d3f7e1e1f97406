"""UPDATE messages ↔ the core's route model (``path.py``).

Decoding turns one UPDATE into announced paths, withdrawn NLRIs, an End-of-RIB
marker (RFC 4724 2) and notes about RFC 7606 handling that happened
(treat-as-withdraw turns the announcements into withdrawals; attribute-discard
drops the attribute). Encoding groups announcements that share attributes and
packs as many NLRIs per UPDATE as the negotiated message size allows.

Attributes the core does not interpret travel as their decoded wire objects;
an unknown optional transitive one goes on with the Partial bit (RFC 4271 5),
an unknown non-transitive one is dropped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from controller.bgp.negotiate import Negotiated
from controller.bgp.path import (
    AS_SEQUENCE as AS_SEQ,
)
from controller.bgp.path import (
    IPV4_UNICAST,
    RTC,
    Attrs,
    Family,
    IPAddress,
    Nlri,
    Origin,
    Path,
    Source,
    Tunnel,
)
from controller.bgp.rtc import membership_nlri, wire_membership
from controller.bgp.wire.attributes.as_path import As4Path, AsPath, AsSegment
from controller.bgp.wire.attributes.base import PathAttribute, UnknownAttribute
from controller.bgp.wire.attributes.basic import LocalPref, Med, NextHopAttr
from controller.bgp.wire.attributes.basic import Origin as OriginAttr
from controller.bgp.wire.attributes.communities import Communities
from controller.bgp.wire.attributes.ext_communities import ExtendedCommunities
from controller.bgp.wire.attributes.mp import MpReachNlri, MpUnreachNlri
from controller.bgp.wire.attributes.mp import Nlri as WireNlri
from controller.bgp.wire.attributes.reflection import ClusterList, OriginatorId
from controller.bgp.wire.attributes.tunnel_encap import (
    TunnelEncapsulation,
    tunnel_problems,
    tunnel_tlv,
)
from controller.bgp.wire.constants import AS_TRANS, SAFI_UNICAST
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError, ErrorAction
from controller.bgp.wire.message import BgpMessage
from controller.bgp.wire.nlri.labels import label_stack
from controller.bgp.wire.nlri.nexthop import NextHop
from controller.bgp.wire.nlri.prefix import encode_prefix
from controller.bgp.wire.nlri.rtc import RtMembership
from controller.bgp.wire.nlri.vpn import VpnPrefix
from controller.bgp.wire.update import Update

# Room for the header, the two length fields and the fixed part of MP_REACH_NLRI.
_OVERHEAD = 19 + 4 + 4 + 5 + 2 * 24 + 1


class SessionReset(Exception):
    """The UPDATE must end the session (RFC 7606 session reset); ``error`` is the NOTIFICATION."""

    def __init__(self, error: BgpError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class RouteUpdate:
    announced: list[Path] = field(default_factory=list)
    withdrawn: list[Nlri] = field(default_factory=list)
    eor: Family | None = None
    notes: list[str] = field(default_factory=list)


def end_of_rib(family: Family) -> BgpMessage:
    """RFC 4724 2: an empty UPDATE for IPv4 unicast, an empty MP_UNREACH_NLRI otherwise."""
    if family == IPV4_UNICAST:
        return Update()
    return Update(attributes=(MpUnreachNlri(family.afi, family.safi),))


# ---- decoding ---------------------------------------------------------------------


# One-label stacks as the core keeps them, shared by every path with that label
# (a label value is often used by many routes): ~76 octets less per route.
_ONE_LABEL: dict[int, tuple[int]] = {}


def _one_label(value: int) -> tuple[int]:
    stack = _ONE_LABEL.get(value)
    if stack is None:
        if len(_ONE_LABEL) >= 1 << 16:
            _ONE_LABEL.clear()
        stack = _ONE_LABEL[value] = (value,)
    return stack


def _to_key(family: Family, n: WireNlri) -> tuple[Nlri, tuple[int, ...]]:
    if isinstance(n, VpnPrefix):
        labels = n.labels
        if len(labels) == 1:  # the usual stack: one label
            return Nlri(family, n.prefix, n.rd), _one_label(labels[0].value)
        return Nlri(family, n.prefix, n.rd), tuple(lb.value for lb in labels)
    if isinstance(n, RtMembership):
        return membership_nlri(n), ()
    return Nlri(family, n), ()


def _tunnels(attr: TunnelEncapsulation, notes: list[str]) -> tuple[Tunnel, ...]:
    out = []
    for tlv in attr.tunnels:
        problems = tunnel_problems(tlv)
        if problems:
            notes.append(f"tunnel type {tlv.tunnel_type} unusable: {'; '.join(problems)}")
            continue
        end = tlv.egress_endpoint
        handle = tlv.security_handle
        out.append(
            Tunnel(
                tlv.tunnel_type,
                end.address if end is not None else None,
                handle.handle if handle is not None else None,
            )
        )
    return tuple(out)


def attrs_from_wire(
    attributes: Iterable[PathAttribute], notes: list[str], four_octet: bool = True
) -> Attrs:
    kw: dict[str, object] = {}
    extra: list[object] = []
    as4: As4Path | None = None
    for a in attributes:
        if isinstance(a, OriginAttr):
            kw["origin"] = Origin(a.origin) if a.origin in (0, 1, 2) else Origin.INCOMPLETE
        elif isinstance(a, AsPath):
            kw["as_path"] = tuple((seg.type, seg.asns) for seg in a.segments)
        elif isinstance(a, As4Path):
            as4 = a
        elif isinstance(a, NextHopAttr):
            kw.setdefault("next_hop", a.address)
        elif isinstance(a, Med):
            kw["med"] = a.med
        elif isinstance(a, LocalPref):
            kw["local_pref"] = a.local_pref
        elif isinstance(a, Communities):
            kw["communities"] = a.communities
        elif isinstance(a, ExtendedCommunities):
            kw["ext_communities"] = a.communities
        elif isinstance(a, OriginatorId):
            kw["originator_id"] = a.originator
        elif isinstance(a, ClusterList):
            kw["cluster_list"] = a.clusters
        elif isinstance(a, TunnelEncapsulation):
            kw["tunnels"] = _tunnels(a, notes)
            kw["tunnel_wire"] = a
        elif isinstance(a, MpReachNlri | MpUnreachNlri):
            continue
        elif isinstance(a, UnknownAttribute):
            if a.transitive:
                extra.append(a.with_partial())
        else:
            extra.append(a)
    if as4 is not None and not four_octet:
        kw["as_path"] = _merge_as4(kw.get("as_path", ()), as4, notes)  # type: ignore[arg-type]
    return Attrs(extra=tuple(extra), **kw)  # type: ignore[arg-type]


Segments = tuple[tuple[int, tuple[int, ...]], ...]


def _plen(segs: Segments) -> int:
    return sum(1 if t == 1 else len(a) for t, a in segs)


def _merge_as4(as_path: Segments, as4: As4Path, notes: list[str]) -> Segments:
    """RFC 6793 4.2.3: rebuild the 4-octet path from AS_PATH (with AS_TRANS) and AS4_PATH."""
    segs4 = tuple((seg.type, seg.asns) for seg in as4.segments)
    n2, n4 = _plen(as_path), _plen(segs4)
    if n2 < n4:
        notes.append("AS4_PATH longer than AS_PATH: AS4_PATH ignored (RFC 6793 4.2.3)")
        return as_path
    lead = [a for t, asns in as_path if t == AS_SEQ for a in asns][: n2 - n4]
    return (((AS_SEQ, tuple(lead)),) if lead else ()) + segs4


def decode_update(msg: object, source: Source, neg: Negotiated) -> RouteUpdate:
    """The routes an UPDATE carries, after RFC 7606 handling of its errors."""
    assert isinstance(msg, Update)
    out = RouteUpdate()
    worst = msg.action
    if worst is not None and worst >= ErrorAction.AFI_SAFI_DISABLE:
        raise SessionReset(max(msg.errors, key=lambda e: e.action))
    out.notes += [str(e) for e in msg.errors]
    out.eor = msg.end_of_rib
    if out.eor is not None:
        return out
    out.withdrawn = [_to_key(fam, n)[0] for fam, n in msg.withdrawals()]
    announced = msg.announced()
    if not announced:
        return out
    if worst is ErrorAction.TREAT_AS_WITHDRAW:
        out.notes.append(f"treat-as-withdraw: {len(announced)} routes withdrawn")
        out.withdrawn += [_to_key(fam, n)[0] for fam, n in announced]
        return out
    missing = _missing_mandatory(msg)
    if missing:
        # RFC 7606 3.d: a missing well-known mandatory attribute means treat-as-withdraw.
        out.notes.append(f"missing {missing}: treat-as-withdraw of {len(announced)} routes")
        out.withdrawn += [_to_key(fam, n)[0] for fam, n in announced]
        return out
    mp = msg.get(MpReachNlri)
    mp_hop = mp.next_hop.address if mp is not None and mp.next_hop is not None else None
    attrs, mp_attrs = _path_attrs(msg.attributes, mp_hop, out.notes, neg.four_octet_as)
    mp_fam = None if mp is None else mp.family
    for fam, n in announced:
        key, labels = _to_key(fam, n)
        a = mp_attrs if fam == mp_fam else attrs
        out.announced.append(Path(key, a, source, labels))
    return out


def _path_attrs(
    attributes: tuple[PathAttribute, ...],
    mp_hop: IPAddress | None,
    notes: list[str],
    four_octet: bool,
) -> tuple[Attrs, Attrs]:
    """``attrs_from_wire`` of the attributes, and the same with the MP_REACH next hop.

    Remembered by the identity of the attribute objects: the wire layer hands out
    one object per distinct attribute (update.py), so UPDATEs that differ only in
    their routes give the same objects. An entry holds those objects, so no other
    object can take one of their ids while it is here.
    """
    plain = tuple(a for a in attributes if not isinstance(a, MpReachNlri | MpUnreachNlri))
    key = (four_octet, mp_hop, *map(id, plain))
    known = _ATTRS.get(key)
    if known is None:
        mine: list[str] = []
        attrs = attrs_from_wire(plain, mine, four_octet)
        mp_attrs = attrs if mp_hop is None else attrs.with_(next_hop=mp_hop)
        if len(_ATTRS) >= 4096:
            _ATTRS.clear()
        known = _ATTRS[key] = (plain, attrs, mp_attrs, tuple(mine))
    notes += known[3]
    return known[1], known[2]


_ATTRS: dict[tuple[object, ...], tuple[tuple[PathAttribute, ...], Attrs, Attrs, tuple[str, ...]]]
_ATTRS = {}


def _missing_mandatory(msg: Update) -> str:
    names = []
    if msg.get(OriginAttr) is None:
        names.append("ORIGIN")
    if msg.get(AsPath) is None:
        names.append("AS_PATH")
    if msg.nlri and msg.get(NextHopAttr) is None:
        names.append("NEXT_HOP")
    return ", ".join(names)


# ---- encoding ---------------------------------------------------------------------


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
