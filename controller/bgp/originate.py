"""The plain IP routes a speaker originates itself: its loopbacks (draft 3.1, 3.3).

* Red loopback routes, on the red side: a host route per red loopback, next hop
  the black loopback, with one MPLS-in-IPsec tunnel whose Tunnel Egress Endpoint
  is the black loopback and, when configured, the Security Handle (draft 3.3).
* Optionally (draft 3.1 MAY, ``advertise_black_loopback``) the black loopback's
  host route on the black side; export sets its next hop to our end of each
  black session (``policy.export_attrs``).
* A tenant's local route as the VPN-IP path its VRF exports (draft 2).
"""

from __future__ import annotations

import ipaddress

from controller.bgp.config import SpeakerConfig
from controller.bgp.path import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Attrs,
    Color,
    IPAddress,
    IPNetwork,
    Nlri,
    Path,
    Source,
    Tunnel,
)
from controller.bgp.rib import Change, Rib
from controller.bgp.vrf import Vrf


def host_nlri(addr: IPAddress) -> Nlri:
    return Nlri(IPV4_UNICAST if addr.version == 4 else IPV6_UNICAST, ipaddress.ip_network(addr))


def red_loopback_paths(cfg: SpeakerConfig, black: IPAddress | None) -> list[Path]:
    if black is None:
        return []
    out = []
    for lo in cfg.red_loopbacks:
        tun = Tunnel(cfg.mpls_in_ipsec_tunnel_type, black, lo.security_handle)
        attrs = Attrs(next_hop=black, local_pref=100, tunnels=(tun,))
        out.append(Path(host_nlri(lo.address), attrs, Source(Color.RED)))
    return out


def black_loopback_path(cfg: SpeakerConfig, black: IPAddress | None) -> Path | None:
    if not cfg.advertise_black_loopback or black is None:
        return None
    return Path(host_nlri(black), Attrs(next_hop=black, local_pref=100), Source(Color.BLACK))


def black_loopback_changes(
    cfg: SpeakerConfig, rib: Rib, black: IPAddress | None, old: IPAddress | None
) -> list[Change | None]:
    """Draft 3.1 MAY: the black loopback on black sessions; ``old`` goes after a move."""
    path = black_loopback_path(cfg, black)
    changes: list[Change | None] = [] if path is None else [rib.update(path)]
    if path is not None and old is not None and old != black:
        changes.append(rib.withdraw(host_nlri(old), None))
    return changes


def vrf_route_path(cfg: SpeakerConfig, v: Vrf, prefix: IPNetwork) -> Path:
    """A tenant's local route as the VPN-IP path we export; next hop: the VRF's red loopback."""
    nh = v.config.red_loopback
    if nh is None:
        lo = cfg.red_loopback_for(v.config.name)
        assert lo is not None  # SpeakerConfig guarantees a red loopback when there are VRFs
        nh = lo.address
    return v.export_path(prefix, nh, cfg.mpls_in_ipsec_tunnel_type)
