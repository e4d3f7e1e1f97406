"""A C-PE met by name must hold the red loopbacks its tunnel is for (issue 14, identity binding).

C-PEs that meet each other without configuration (``ike.auth.certificates.
peer_identities``: any identity the CAs vouch for that matches a pattern) are
tied to what they may stand for by their certificates: when the IKE SA with
the C-PE at black address X authenticates (either role), every red loopback
that our VPN routes resolve through to tunnel endpoint X (their BGP next
hops) must be bound by that certificate (URI subjectAltName
``sl3vpn:red-loopback:ADDR``, controller/ipsec/ike/peerid.py). Otherwise the
SA is refused (AUTHENTICATION_FAILED, one log line): whoever answers at X
with another C-PE's certificate does not get that C-PE's traffic.

Routes that arrive after the SA is up are not checked against it here; the
route reflector that admitted the originator already held it to its
certificate (controller/app/discovery.py).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable

from cryptography import x509

from controller.bgp.vpnview import RouteEvent
from controller.ipsec.ike import peerid
from controller.ipsec.ike.sa import IkeSa
from controller.ipsec.ike.wire.consts import Notify
from controller.ipsec.ike.wire.errors import IkeError

log = logging.getLogger("sl3vpn.ike")


def _plain(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> object:
    """An IPv6 route's IPv4 next hop comes IPv4-mapped (::ffff:a.b.c.d): the IPv4 address."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def endpoint_binding(routes: Callable[[], Iterable[RouteEvent]]) -> Callable[[IkeSa], None]:
    """The IKE daemon's ``on_authenticated`` hook for C-PEs met by name."""

    def check(sa: IkeSa) -> None:
        if sa.cfg.remote_id is not None or not isinstance(sa.peer_cert, x509.Certificate):
            return  # a configured identity (or a PSK): pinned already
        peer = ipaddress.ip_address(sa.cfg.remote_addr or sa.remote[0])
        needed = {
            _plain(ev.next_hop) for ev in routes() if ev.tunnel_endpoint == peer and ev.next_hop
        }
        missing = needed - set(peerid.red_loopbacks(sa.peer_cert))
        if missing:
            reds = ", ".join(sorted(map(str, missing)))
            why = (
                f"{sa.remote_id} at {peer}: its certificate does not bind red loopback "
                f"{reds} whose routes name {peer} as tunnel endpoint"
            )
            log.warning("%s", why)
            raise IkeError(Notify.AUTHENTICATION_FAILED, why)

    return check
