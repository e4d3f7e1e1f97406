"""Import and export policy: RFC 4271/4456 rules plus the draft's red/black rules.

Every function here is pure: it looks at a path, where it came from and where
it would go, and says whether it may pass and with which attributes. A refused
import returns the reason, which the speaker logs and counts.

Draft rules enforced here (section numbers of draft-rosen-bess-secure-l3vpn-00):
  2, 3.3   VPN-IP routes are never accepted from, nor sent to, a black session.
  3.1, 3.3 red loopback routes are never sent to, and are ignored from, black sessions.
  3.4      no route crosses between red and black sessions, whatever its route targets;
           on red propagation the next hop is left unchanged, also on EBGP sessions.
"""

from __future__ import annotations

from collections.abc import Container

from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.path import (
    AS_SEQUENCE,
    Attrs,
    Color,
    IPAddress,
    IPNetwork,
    Path,
    is_vpn_family,
)
from controller.bgp.rtc import DEFAULT_MEMBERSHIP


def import_reject(
    path: Path,
    peer: NeighborConfig,
    cfg: SpeakerConfig,
    red_loopbacks: Container[IPAddress],
) -> str | None:
    """Why a received path must not enter the RIB, or None to accept it."""
    a = path.attrs
    if peer.color is Color.BLACK:
        if is_vpn_family(path.nlri.family):
            return "VPN-IP route received on a black session (draft 2, 3.3)"
        if _is_red_loopback_route(path, cfg, red_loopbacks):
            return "red loopback route received on a black session ignored (draft 3.1)"
    else:
        if path.nlri.rd is None and _is_own_loopback(path.nlri.prefix, cfg):
            # Ours reflected back, or a plain route to it: dropped. Another originator's red
            # loopback route for it goes in, to be refused and reported as a duplicate
            # (draft 3.1, controller/bgp/claims.py).
            tt = cfg.mpls_in_ipsec_tunnel_type
            theirs = any(t.tunnel_type == tt for t in a.tunnels)
            if not theirs or (a.originator_id or path.source.router_id) == cfg.router_id:
                return "route to our own red loopback from a peer"
    if peer.remote_as != cfg.local_as and a.contains_as(cfg.local_as):
        return f"AS_PATH contains our AS {cfg.local_as} (loop)"
    if a.originator_id is not None and a.originator_id == cfg.router_id:
        return "ORIGINATOR_ID is our router id (RFC 4456 8 loop)"
    if cfg.effective_cluster_id in a.cluster_list:
        return "CLUSTER_LIST contains our cluster id (RFC 4456 8 loop)"
    if a.next_hop is None:
        return "no next hop"
    return None


def _is_own_loopback(net: IPNetwork, cfg: SpeakerConfig) -> bool:
    addr = net.network_address
    return net.num_addresses == 1 and any(lo.address == addr for lo in cfg.red_loopbacks)


def _is_red_loopback_route(
    path: Path, cfg: SpeakerConfig, red_loopbacks: Container[IPAddress]
) -> bool:
    if any(t.tunnel_type == cfg.mpls_in_ipsec_tunnel_type for t in path.attrs.tunnels):
        return True
    net = path.nlri.prefix
    return net.num_addresses == 1 and net.network_address in red_loopbacks


def export_attrs(
    path: Path,
    src: NeighborConfig | None,
    dst: NeighborConfig,
    cfg: SpeakerConfig,
    dst_router_id: IPAddress | None = None,
    session_address: IPAddress | None = None,
) -> Attrs | None:
    """The attributes to send ``path`` to ``dst`` with, or None if it must not go there.

    ``session_address`` is our end of the TCP connection: the next hop we set when
    a black EBGP route must point at ourselves (RFC 4271 5.1.3).
    """
    if not peer_may_get(path, src.address if src else None, dst.address, dst_router_id):
        return None
    return group_export(path, src, dst, cfg, session_address)


def peer_may_get(
    path: Path, src: IPAddress | None, dst: IPAddress, dst_router_id: IPAddress | None
) -> bool:
    """The per-peer part of export: not back to the neighbour ``src`` it came from (split
    horizon), not to the router that originated it (it would only drop it as a loop, RFC
    4456 8)."""
    if src is not None and src == dst:
        return False
    return dst_router_id is None or path.attrs.originator_id != dst_router_id


def group_export(
    path: Path,
    src: NeighborConfig | None,
    dst: NeighborConfig,
    cfg: SpeakerConfig,
    session_address: IPAddress | None = None,
) -> Attrs | None:
    """Export policy without the per-peer checks of ``peer_may_get``: the same for every
    peer with the same ``update_group_key`` (adjribout.py), so computed once for them all."""
    if path.source.color is not dst.color:
        return None  # draft 3.3/3.4: nothing crosses between red and black
    if dst.color is Color.BLACK and is_vpn_family(path.nlri.family):
        return None
    if path.source.local and path.nlri == DEFAULT_MEMBERSHIP and not dst.rr_client:
        return None  # RFC 4684 3.2: an RR asks its clients for everything, no one else
    a = path.attrs
    ibgp_src = src is not None and src.remote_as == cfg.local_as
    ibgp_dst = dst.remote_as == cfg.local_as
    if ibgp_src and ibgp_dst:
        assert src is not None
        if not src.rr_client and not dst.rr_client:
            return None  # RFC 4271 9.2: no IBGP to IBGP unless we reflect (RFC 4456 6)
        a = a.with_(
            originator_id=a.originator_id or path.source.router_id,
            cluster_list=(cfg.effective_cluster_id, *a.cluster_list),
        )
    if ibgp_dst:
        if a.local_pref is None:
            a = a.with_(local_pref=100)
        return a
    # EBGP: prepend our AS, drop IBGP-only attributes (RFC 4271 5.1.5, RFC 4456 8).
    segs = a.as_path
    if segs and segs[0][0] == AS_SEQUENCE and len(segs[0][1]) < 255:
        segs = ((AS_SEQUENCE, (cfg.local_as, *segs[0][1])), *segs[1:])
    else:
        segs = ((AS_SEQUENCE, (cfg.local_as,)), *segs)
    a = a.with_(
        as_path=segs,
        local_pref=None,
        originator_id=None,
        cluster_list=(),
        med=a.med if path.source.local else None,
    )
    if dst.color is Color.BLACK:
        a = a.with_(next_hop=session_address or dst.local_address or cfg.router_id)
    # Red: next hop unchanged even on EBGP (draft 3.4), so the SA ends at the egress C-PE.
    return a
