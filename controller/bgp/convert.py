"""UPDATE messages ↔ the core's route model (``path.py``).

Decoding turns one UPDATE into announced paths, withdrawn NLRIs, an End-of-RIB
marker (RFC 4724 2) and notes about RFC 7606 handling that happened
(treat-as-withdraw turns the announcements into withdrawals; attribute-discard
drops the attribute). Encoding (grouping announcements that share attributes,
packing NLRIs per UPDATE) is in ``encode.py``.

Attributes the core does not interpret travel as their decoded wire objects;
an unknown optional transitive one goes on with the Partial bit (RFC 4271 5),
an unknown non-transitive one is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.bgp.encode import attrs_to_wire, encode_updates
from controller.bgp.negotiate import Negotiated
from controller.bgp.path import (
    AS_SEQUENCE as AS_SEQ,
)
from controller.bgp.path import (
    IPV4_UNICAST,
    Attrs,
    Family,
    IPAddress,
    Nlri,
    Origin,
    Path,
    Source,
    Tunnel,
)
from controller.bgp.rtc import membership_nlri
from controller.bgp.wire.attributes.as_path import As4Path, AsPath
from controller.bgp.wire.attributes.base import PathAttribute, UnknownAttribute
from controller.bgp.wire.attributes.basic import LocalPref, Med, NextHopAttr
from controller.bgp.wire.attributes.basic import Origin as OriginAttr
from controller.bgp.wire.attributes.communities import Communities
from controller.bgp.wire.attributes.ext_communities import ExtendedCommunities
from controller.bgp.wire.attributes.mp import MpReachNlri, MpUnreachNlri
from controller.bgp.wire.attributes.mp import Nlri as WireNlri
from controller.bgp.wire.attributes.reflection import ClusterList, OriginatorId
from controller.bgp.wire.attributes.tunnel_encap import TunnelEncapsulation, tunnel_problems
from controller.bgp.wire.errors import BgpError, ErrorAction
from controller.bgp.wire.message import BgpMessage
from controller.bgp.wire.nlri.rtc import RtMembership
from controller.bgp.wire.nlri.vpn import VpnPrefix
from controller.bgp.wire.update import Update

# The encoding half lives in encode.py; callers reach it through this module too.
__all__ = [
    "RouteUpdate",
    "SessionReset",
    "attrs_to_wire",
    "decode_update",
    "encode_updates",
    "end_of_rib",
]


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
        nlri = Nlri.of_parts(family, *n.parts, n.rd)  # no ipaddress network on the way
        if len(labels) == 1:  # the usual stack: one label
            return nlri, _one_label(labels[0].value)
        return nlri, tuple(lb.value for lb in labels)
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
