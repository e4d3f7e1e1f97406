"""Where each red BGP session runs, kept in step with IPsec and mobility (draft 3.2).

Tunnel mode (``ike.control_sa.mode: tunnel``): between the red loopbacks, the
neighbour's configured address; nothing to do here. Transport mode (the
default): between our black loopback and the address where the neighbour's
control SA ends -- its black loopback, or its NAT's public address when it is
behind one (RFC 7296 2.23.1). Both change at runtime (our move, the peer's
move, a NAT rebinding); the BGP adapter then re-establishes the session from
the new addresses, with graceful restart keeping the routes meanwhile
(``BgpSpeaker.set_transport``).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.app.desired import ControlPeer
    from controller.bgp.aio import BgpSpeaker

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def session_ends(
    control_peers: dict[str, IPAddress],
    control: dict[IPAddress, ControlPeer],
    black: IPAddress | None,
) -> dict[IPAddress, tuple[IPAddress, IPAddress | None]]:
    """Each red neighbour -> (the address its session runs to, ours), transport mode."""
    ends: dict[IPAddress, tuple[IPAddress, IPAddress | None]] = {}
    for peer_black, red in control_peers.items():
        cp = control.get(red)
        remote = cp.peer_transport if cp is not None and cp.peer_transport else None
        ends[red] = (remote or ipaddress.ip_address(peer_black), black)
    return ends


def sync(
    bgp: BgpSpeaker | None,
    control_peers: dict[str, IPAddress],
    control: dict[IPAddress, ControlPeer],
    black: IPAddress | None,
    transport: bool,
) -> None:
    """Point every red session at its current addresses (no-op in tunnel mode)."""
    if bgp is None or not transport:
        return
    for red, (remote, local) in session_ends(control_peers, control, black).items():
        bgp.set_transport(red, remote, local)
