"""Mobility of the daemon's own black loopback (issue #6), and moves of its peers.

Operator interface: edit ``loopbacks.black`` in the configuration file and
send the daemon SIGHUP (``sl3vpn lab move`` does both in the lab). The daemon
re-reads the file; a new black loopback is taken at runtime, in this order:

1. the new address goes on ``lo`` (the old one stays until the end, so
   nothing in flight to it is refused by the kernel);
2. IKE rebinds UDP 500/4500 to it; every ESP SA gets it as its local address
   (tunnel-mode SAs, e.g. the control SA carrying red BGP, leave from it at
   once); IKE SAs we initiated move with MOBIKE (RFC 4555), so the control SAs
   to the RRs, which C-PEs always initiate, move first and the red BGP
   sessions inside them never see a gap longer than one IKE round trip;
3. the pipeline's ``my_black`` entry and every tunnel's source address are
   rewritten (the writer diffs them);
4. BGP re-advertises the red loopback route(s) with the new Tunnel Egress
   Endpoint (draft 3.2); peers re-point their SAs when it reaches them
   (``Composer.route_event`` -> ``MoveTunnel`` -> ``IpsecRuntime.peer_moved``);
5. the old address leaves ``lo``.

With the control SAs in transport mode (the default, draft 3.2) the red BGP
sessions run between black loopbacks, and a TCP connection cannot change its
address: step 4 comes first, over the old sessions (while the pipeline still
protects the old address, ``ANNOUNCE_GRACE``), and those sessions are closed
and re-established from the new address without a NOTIFICATION and with the
F bit (``BgpSpeaker.set_transport``), so graceful restart keeps every route on
both ends. Peers re-point their end when IKE (MOBIKE) or the red loopback route
tells them (``ControlPlane.sync_red_sessions``).

Other changes in the reloaded file are not applied (a restart applies them);
the daemon says which sections differ. A file that does not load is reported
in one line and changes nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Protocol

from controller.app.controlplane import ControlPlane
from controller.app.desired import DesiredState
from controller.bgp.path import Nlri
from controller.bgp.wire.constants import IPV4_UNICAST, IPV6_UNICAST
from controller.config import Config
from controller.config.errors import ConfigError
from controller.config.loader import load_config

log = logging.getLogger("sl3vpn.mobility")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RUNTIME_SECTIONS = ("node", "switch", "vrfs", "bgp", "ike")
# Transport mode: how long the re-advertisement and the closing of the old sessions
# have to leave (TAP -> packet-out) before the pipeline stops protecting the old address.
ANNOUNCE_GRACE = 0.2


class Loopbacks(Protocol):
    """The namespace's ``lo`` (``HostPorts``): where our own addresses live."""

    def add_loopback(self, addr: IPAddress) -> None: ...

    def remove_loopback(self, addr: IPAddress) -> None: ...


class Mobility:
    def __init__(
        self, cfg: Config, state: DesiredState, host: Loopbacks, plane: ControlPlane
    ) -> None:
        self.cfg, self.state, self.host, self.plane = cfg, state, host, plane
        self.moves = 0

    async def reload(self) -> None:
        """SIGHUP: re-read the configuration; apply a new black loopback."""
        try:
            await self._reload()
        except Exception as exc:  # a failed reload must not stop the daemon
            log.error("SIGHUP: reload failed: %s: %s", type(exc).__name__, exc)

    async def _reload(self) -> None:
        try:
            new = load_config(self.cfg.source)
        except ConfigError as exc:
            log.error("SIGHUP: %s: not reloaded", str(exc).splitlines()[0])
            return
        ignored = [s for s in RUNTIME_SECTIONS if _differs(self.cfg, new, s)]
        if ignored:
            log.warning(
                "SIGHUP: changes to %s need a restart; only loopbacks.black is applied now",
                ", ".join(ignored),
            )
        black = new.loopbacks.black
        if black is None or black == self.state.black:
            log.info("SIGHUP: black loopback unchanged (%s)", self.state.black)
            return
        await self.move(black)

    async def move(self, new: IPAddress) -> None:
        plane, host, state = self.plane, self.host, self.state
        old = state.black
        if old is None or new.version != old.version:
            log.error(
                "black loopback %s -> %s: only a move within one family is supported", old, new
            )
            return
        log.info("black loopback moves %s -> %s", old, new)
        host.add_loopback(new)
        transport = state.control_transport and plane.bgp is not None
        if transport and plane.bgp is not None:
            # Red sessions run from the old address and cannot follow: re-advertise the
            # red loopback route(s) over them first, so the peers learn the new endpoint
            # at once (an RR's clients have no other way), and close them (re-established
            # from `new` only, never again from the old address). The pipeline keeps
            # protecting the old address for ANNOUNCE_GRACE, while these leave.
            plane.bgp.set_black_loopback(new)
            plane.sync_red_sessions(new)
            await asyncio.sleep(ANNOUNCE_GRACE)
        state.black = new
        if plane.ipsec is not None:
            try:
                await plane.ipsec.move_local(str(new))
            except OSError as exc:
                log.error("black loopback %s: IKE cannot bind it (%s): move undone", new, exc)
                state.black = old
                if transport and plane.bgp is not None:
                    plane.bgp.set_black_loopback(old)
                    plane.sync_red_sessions(old)
                host.remove_loopback(new)
                return
        plane.composer.dirty = True
        plane.wake()
        if plane.bgp is not None and not transport:
            plane.bgp.set_black_loopback(new)
        host.remove_loopback(old)
        self.moves += 1
        log.info("black loopback is now %s (red loopback routes re-advertised)", new)

    async def watch_control_peers(self) -> None:
        """Every second: has a red BGP neighbour (an RR) re-advertised its red loopback
        route with another tunnel endpoint? Then it moved (see ``control_peer_moves``)."""
        while True:
            await asyncio.sleep(1.0)
            self.control_peer_moves()

    def control_peer_moves(self) -> list[tuple[str, str]]:
        """An RR cannot move the IKE SAs its clients initiated (RFC 4555), and no VPN
        route resolves through an RR, so its clients learn its new black address from
        its red loopback route (draft 3.3, re-advertised by the moved RR; it reaches
        us even before our SA follows, since inbound ESP is not checked against the
        outer source) and move the control SA themselves with MOBIKE."""
        plane = self.plane
        if plane.bgp is None or plane.ipsec is None:
            return []
        moved = []
        for black, red in list(plane.control_peers.items()):
            fam = IPV4_UNICAST if red.version == 4 else IPV6_UNICAST
            path = plane.bgp.core.red.best(Nlri(fam, ipaddress.ip_network(red)))
            ends = [t.endpoint for t in path.attrs.tunnels if t.endpoint] if path else []
            if not ends or str(ends[0]) == black or str(ends[0]) in plane.control_peers:
                continue
            new = str(ends[0])
            log.info("red neighbour %s re-advertised its red loopback at %s: moved", red, new)
            plane.composer.peer_moved(black, new)
            plane.ipsec.peer_moved(black, new)
            plane.sync_red_sessions()  # transport mode: the session follows too
            plane.wake()
            moved.append((black, new))
        return moved


def _differs(old: Config, new: Config, section: str) -> bool:
    return bool(getattr(old, section, None) != getattr(new, section, None))
