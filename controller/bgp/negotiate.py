"""OPEN capabilities: what we offer and what both sides end up with.

RFC 5492 capability advertisement; families (RFC 4760), 4-octet AS (RFC 6793),
route refresh (RFC 2918) and enhanced route refresh (RFC 7313), graceful
restart (RFC 4724: every family we offer, F bit set after a restart that kept
the forwarding state, R bit while we wait for our peers' End-of-RIB after it),
extended messages (RFC 8654), RT membership (RFC 4684, see ``offered_families``).
Unknown capabilities are ignored (RFC 5492 3).

A black session never offers a VPN-IP family (draft section 2): the neighbour
config refuses it, and ``local_open`` filters again for defence in depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.path import RTC, Color, Family, is_vpn_family
from controller.bgp.wire.capabilities import (
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAs,
    GracefulRestart,
    GracefulRestartFamily,
    MultiProtocol,
    RouteRefresh,
)
from controller.bgp.wire.constants import ErrorCode, OpenSubcode
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.open import Open


def offered_families(neighbor: NeighborConfig, cfg: SpeakerConfig) -> tuple[Family, ...]:
    """The families of the neighbour's config, and RT membership (RFC 4684) with VPN-IP
    on a red session unless ``rt_constrain`` is off; never VPN-IP nor RT membership on
    a black one (route targets are tenant information)."""
    fams = neighbor.families
    if neighbor.color is Color.BLACK:
        return tuple(f for f in fams if not is_vpn_family(f) and f != RTC)
    if cfg.rt_constrain and RTC not in fams and any(is_vpn_family(f) for f in fams):
        fams = (*fams, RTC)
    return fams


def local_graceful_restart(
    neighbor: NeighborConfig, cfg: SpeakerConfig, restarting: bool, preserved: bool
) -> GracefulRestart | None:
    """Our Graceful Restart capability (RFC 4724 3), or None when disabled."""
    gr = cfg.graceful_restart
    if not gr.enabled:
        return None
    fams = tuple(
        GracefulRestartFamily(f.afi, f.safi, preserved) for f in offered_families(neighbor, cfg)
    )
    return GracefulRestart(restart_time=gr.restart_time, restarting=restarting, families=fams)


def local_open(
    neighbor: NeighborConfig, cfg: SpeakerConfig, restarting: bool = False, preserved: bool = False
) -> Open:
    """Our OPEN; ``restarting``/``preserved`` set the R and F bits after our own restart."""
    fams = offered_families(neighbor, cfg)
    caps: list[Capability] = [MultiProtocol(f.afi, f.safi) for f in fams]
    caps += [RouteRefresh(), EnhancedRouteRefresh()]
    gr = local_graceful_restart(neighbor, cfg, restarting, preserved)
    if gr is not None:
        caps.append(gr)
    caps += [FourOctetAs(cfg.local_as), ExtendedMessage()]
    return Open.create(cfg.local_as, neighbor.hold_time, cfg.router_id, caps)


@dataclass(frozen=True)
class Negotiated:
    """What both OPENs agree on; ``codec`` is the context for the rest of the session."""

    families: frozenset[Family]
    four_octet_as: bool
    route_refresh: bool
    enhanced_route_refresh: bool
    extended_message: bool
    # The peer's Graceful Restart capability when both sides sent one (RFC 4724):
    # we keep its routes of the listed families when the session drops.
    graceful_restart: GracefulRestart | None
    peer_families: frozenset[Family]
    codec: CodecContext


def negotiate(ours: Open, theirs: Open, cfg: SpeakerConfig) -> Negotiated:
    """Intersect capabilities; raises Unsupported Capability when no family is shared."""
    peer_fams = frozenset(theirs.families) if theirs.families else frozenset({Family(1, 1)})
    shared = frozenset(ours.families) & peer_fams
    if not shared:
        data = b"".join(c.encode() for c in ours.capabilities if isinstance(c, MultiProtocol))
        raise BgpError(
            ErrorCode.OPEN_MESSAGE,
            OpenSubcode.UNSUPPORTED_CAPABILITY,
            "no address family in common "
            f"(we offer {', '.join(map(str, ours.families))}; "
            f"peer offers {', '.join(map(str, peer_fams))})",
            where="OPEN capabilities",
            data=data,
        )

    def both(kind: type[Capability]) -> bool:
        return ours.find(kind) is not None and theirs.find(kind) is not None

    four = both(FourOctetAs)
    ext = both(ExtendedMessage)
    return Negotiated(
        families=shared,
        four_octet_as=four,
        route_refresh=both(RouteRefresh),
        enhanced_route_refresh=both(EnhancedRouteRefresh),
        extended_message=ext,
        graceful_restart=theirs.find(GracefulRestart) if both(GracefulRestart) else None,
        peer_families=peer_fams,
        codec=CodecContext(
            four_octet_as=four,
            extended_message=ext,
            security_handle_subtlv=cfg.security_handle_subtlv,
            mpls_in_ipsec_tunnel_type=cfg.mpls_in_ipsec_tunnel_type,
        ),
    )
