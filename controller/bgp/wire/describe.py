"""Human-readable one-line-per-item text for decoded messages (show output, tooling)."""

from __future__ import annotations

from controller.bgp.wire.attributes.aggregator import _AggregatorBase
from controller.bgp.wire.attributes.as_path import _PathBase
from controller.bgp.wire.attributes.base import PARTIAL, PathAttribute, UnknownAttribute
from controller.bgp.wire.attributes.basic import (
    AtomicAggregate,
    LocalPref,
    Med,
    NextHopAttr,
    Origin,
    OriginCode,
)
from controller.bgp.wire.attributes.communities import Communities, LargeCommunities
from controller.bgp.wire.attributes.ext_communities import ExtendedCommunities
from controller.bgp.wire.attributes.mp import MpReachNlri, MpUnreachNlri
from controller.bgp.wire.attributes.reflection import ClusterList, OriginatorId
from controller.bgp.wire.attributes.tunnel_encap import (
    SecurityHandle,
    TunnelEgressEndpoint,
    TunnelEncapsulation,
    UnknownSubTlv,
)
from controller.bgp.wire.capabilities import (
    AddPath,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    ExtendedNextHop,
    FourOctetAs,
    GracefulRestart,
    MultiProtocol,
    RouteRefresh,
    UnknownCapability,
)
from controller.bgp.wire.constants import Family
from controller.bgp.wire.keepalive import Keepalive
from controller.bgp.wire.message import BgpMessage
from controller.bgp.wire.notification import Notification
from controller.bgp.wire.open import Open
from controller.bgp.wire.route_refresh import RefreshSubtype, RouteRefreshMessage
from controller.bgp.wire.update import Update

_SIMPLE: dict[type[Capability], str] = {
    RouteRefresh: "route refresh",
    EnhancedRouteRefresh: "enhanced route refresh",
    ExtendedMessage: "extended message",
}


def _capability(c: Capability) -> str:
    if isinstance(c, MultiProtocol):
        return f"multiprotocol {c.family}"
    if isinstance(c, FourOctetAs):
        return f"4-octet AS {c.asn}"
    if isinstance(c, GracefulRestart):
        fams = ", ".join(str(Family(f.afi, f.safi)) for f in c.families) or "no families"
        return f"graceful restart {c.restart_time}s ({fams})"
    if isinstance(c, AddPath):
        modes = {1: "receive", 2: "send", 3: "send/receive"}
        fams = ", ".join(
            f"{Family(f.afi, f.safi)} {modes.get(f.mode, f'mode {f.mode}')}" for f in c.families
        )
        return f"add-path ({fams})"
    if isinstance(c, ExtendedNextHop):
        ents = ", ".join(f"{Family(e.afi, e.safi)} via afi {e.next_hop_afi}" for e in c.entries)
        return f"extended next hop ({ents})"
    if isinstance(c, UnknownCapability):
        return f"capability {c.code} ({c.value.hex() or 'empty'})"
    return _SIMPLE.get(type(c), type(c).__name__)


def _tunnels(attr: TunnelEncapsulation) -> str:
    parts = []
    for t in attr.tunnels:
        subs = []
        for s in t.sub_tlvs:
            if isinstance(s, TunnelEgressEndpoint):
                subs.append(f"endpoint {s.address or 'none'}")
            elif isinstance(s, SecurityHandle):
                subs.append(f"security-handle[{s.type}] {s.handle.hex()}")
            elif isinstance(s, UnknownSubTlv):
                subs.append(f"sub-tlv {s.type} {s.value.hex()}")
        parts.append(f"tunnel type {t.tunnel_type}: " + ", ".join(subs))
    return "; ".join(parts)


def attribute_text(a: PathAttribute) -> str:
    """``NAME value`` for one attribute, e.g. ``LOCAL_PREF 100``."""
    if isinstance(a, Origin):
        value = OriginCode(a.origin).name.lower() if a.origin <= 2 else str(a.origin)
    elif isinstance(a, _PathBase | Communities | LargeCommunities | ExtendedCommunities):
        value = str(a) or "(empty)"
    elif isinstance(a, NextHopAttr):
        value = str(a.address)
    elif isinstance(a, Med):
        value = str(a.med)
    elif isinstance(a, LocalPref):
        value = str(a.local_pref)
    elif isinstance(a, AtomicAggregate):
        value = ""
    elif isinstance(a, _AggregatorBase):
        value = f"{a.asn} {a.address}"
    elif isinstance(a, OriginatorId):
        value = str(a.originator)
    elif isinstance(a, ClusterList):
        value = " ".join(str(c) for c in a.clusters)
    elif isinstance(a, TunnelEncapsulation):
        value = _tunnels(a)
    elif isinstance(a, MpReachNlri):
        value = f"{a.family} next-hop {a.next_hop}, {len(a.nlri)} routes"
    elif isinstance(a, MpUnreachNlri):
        value = f"{a.family}, {len(a.nlri)} routes"
    elif isinstance(a, UnknownAttribute):
        value = f"flags 0x{a.wire_flags(len(a.value)):02x} {a.value.hex()}"
    else:
        value = repr(a)
    partial = " (partial)" if a.flags is not None and a.flags & PARTIAL else ""
    return f"{a.name} {value}".rstrip() + partial


def describe(msg: BgpMessage) -> list[str]:
    """Lines describing a message: a headline, then indented details."""
    if isinstance(msg, Open):
        head = f"OPEN version {msg.version} AS {msg.asn} hold {msg.hold_time} id {msg.bgp_id}"
        return [head, *(f"  {_capability(c)}" for c in msg.capabilities)]
    if isinstance(msg, Update):
        eor = msg.end_of_rib
        if eor is not None:
            return [f"UPDATE End-of-RIB {eor}"]
        lines = ["UPDATE"]
        lines += [f"  {attribute_text(a)}" for a in msg.attributes]
        lines += [f"  announce {fam} {n}" for fam, n in msg.announced()]
        lines += [f"  withdraw {fam} {n}" for fam, n in msg.withdrawals()]
        lines += [f"  error: {e}" for e in msg.errors]
        return lines
    if isinstance(msg, RouteRefreshMessage):
        try:
            sub = RefreshSubtype(msg.subtype).name.lower()
        except ValueError:
            sub = f"subtype {msg.subtype}"
        return [f"ROUTE-REFRESH {msg.family} {sub}"]
    if isinstance(msg, Notification):
        return [str(msg)]
    if isinstance(msg, Keepalive):
        return ["KEEPALIVE"]
    return [repr(msg)]
