"""A route reflector admits C-PEs it was never told about, by certificate (draft 3.2).

Configuration: ``bgp.auto_discovery`` (controller/config/discovery.py). The IKE
daemon holds one catch-all config (no remote identity, the identity patterns,
the discovery CAs). A C-PE that authenticates against it is checked here, in
the IKE responder's ``on_authenticated`` hook, before its CHILD_SAs are chosen:

1. its certificate must bind at least one red loopback (URI subjectAltName
   ``sl3vpn:red-loopback:ADDR``, controller/ipsec/ike/peerid.py); the first names
   its red BGP neighbour (and in tunnel mode is where the session runs from), all
   of them are what it may originate;
2. none of those may belong to another peer (a configured neighbour, or a
   discovered C-PE of another identity): refused with AUTHENTICATION_FAILED;
3. it then gets a config of its own (the same as a configured red neighbour's:
   the MPLS and BGP CHILD_SAs, the BGP one as ``ike.control_sa.mode`` says: between
   the black loopbacks in transport mode, the red loopbacks in tunnel mode), and the
   app adds a passive red BGP neighbour bound to those red loopbacks and, unless
   the C-PE is behind a NAT, to its black address as tunnel endpoint.

When its last IKE SA goes away (deleted, DPD, expired; not a rekey), the app
removes the neighbour again, with its routes. When it moves (MOBIKE), its
binding follows it to the new black address; when it comes back under the same
identity from elsewhere, its old entry leaves first.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from controller.app.ikeconf import der_file
from controller.bgp.config import NeighborConfig
from controller.bgp.path import FAMILIES_BY_NAME, Color
from controller.config import Config
from controller.ipsec.ike import peerid
from controller.ipsec.ike.config import Credentials, IkeConfig
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.events import Event, IkeDown, PeerMoved
from controller.ipsec.ike.sa import IkeSa, IkeState
from controller.ipsec.ike.wire.consts import Notify
from controller.ipsec.ike.wire.errors import IkeError

log = logging.getLogger("sl3vpn.discovery")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
CATCH_ALL = "discovery"


@dataclass(frozen=True)
class Discovered:
    """A C-PE admitted by its certificate."""

    identity: str
    black: str  # where its IKE SA comes from (a NAT's address if behind one)
    reds: tuple[IPAddress, ...]  # bound by its certificate; reds[0] runs the session
    behind_nat: bool

    @property
    def red(self) -> IPAddress:
        return self.reds[0]


def discovery_credentials(cfg: Config, base: Path, ours: Credentials) -> Credentials:
    """Our certificate and key, trusting ``bgp.auto_discovery.ca`` (default: our CAs)."""
    auto = cfg.bgp.auto_discovery
    assert auto is not None
    if not auto.ca:
        return ours
    cas = [der_file(Path(f) if Path(f).is_absolute() else base / f) for f in auto.ca]
    return Credentials(ours.cert_der, ours.key_pem, cas)


def neighbor_config(cfg: Config, peer: Discovered) -> NeighborConfig:
    """The passive red BGP neighbour of a discovered C-PE, bound to what its certificate
    names (controller/bgp/claims.py) and, unless behind a NAT, to its black address."""
    auto = cfg.bgp.auto_discovery
    assert auto is not None
    return NeighborConfig(
        peer.red,
        cfg.node.asn,
        Color.RED,
        families=tuple(FAMILIES_BY_NAME[f] for f in auto.families),
        rr_client=auto.route_reflector_client,
        passive=True,
        hold_time=auto.hold_time,
        local_address=cfg.loopbacks.red,
        description=f"discovered {peer.identity}",
        originates=peer.reds,
        endpoints=() if peer.behind_nat else (ipaddress.ip_address(peer.black),),
    )


def _refuse(detail: str) -> IkeError:
    log.warning("discovery: %s", detail)
    return IkeError(Notify.AUTHENTICATION_FAILED, detail)


class Discovery:
    def __init__(
        self,
        cfg: Config,
        creds: Credentials,
        control_peers: dict[str, IPAddress],
        accept: Callable[[str], IkeConfig],
        on_join: Callable[[Discovered], None],
        on_leave: Callable[[Discovered], None],
        on_moved: Callable[[Discovered], None] = lambda peer: None,
    ) -> None:
        """``creds``: ours, with the discovery CAs; ``control_peers`` (black → red) is
        the app's, updated in place; ``accept(black)`` makes the IKE daemon's config for
        a peer (TunnelManager.accept)."""
        auto = cfg.bgp.auto_discovery
        assert auto is not None
        self.cfg = cfg
        self.patterns = tuple(auto.identities)
        self.creds = creds
        self.control_peers = control_peers
        self.accept = accept
        self.on_join, self.on_leave, self.on_moved = on_join, on_leave, on_moved
        self.peers: dict[str, Discovered] = {}  # by black address
        self.refused = 0
        self.daemon: IkeDaemon | None = None  # attach()

    def catch_all(self, template: IkeConfig) -> IkeConfig:
        """The daemon's config for any peer not listed (from a listed peer's ``template``)."""
        template.name = CATCH_ALL
        template.remote_id = template.remote_addr = None
        template.remote_patterns = self.patterns
        template.creds = self.creds
        template.children = []  # a discovered peer gets its own config, with CHILD_SAs
        template.any_address = True
        return template

    def attach(self, daemon: IkeDaemon, listeners: list[Callable[[IkeSa, Event], None]]) -> None:
        daemon.on_authenticated = self.authenticated
        listeners.append(self.event)
        self.daemon = daemon

    # -- IKE hooks ----------------------------------------------------------------------------

    def authenticated(self, sa: IkeSa) -> None:
        """Responder hook: a peer proved its identity; admit it or refuse it (see above)."""
        # the daemon finds a discovered peer's own config by its identity, wherever it
        # comes from now; any other config but the catch-all is a configured peer's
        known = any(p.identity == sa.remote_id for p in self.peers.values())
        if sa.cfg.name != CATCH_ALL and not known:
            return
        if not isinstance(sa.peer_cert, x509.Certificate):
            raise _refuse(f"{sa.remote_id}: no certificate")  # a PSK cannot discover
        reds = tuple(peerid.red_loopbacks(sa.peer_cert))
        if not reds:
            self.refused += 1
            raise _refuse(
                f"{sa.remote_id} from {sa.remote[0]}: its certificate binds no red loopback "
                f"(subjectAltName URI {peerid.RED_LOOPBACK_URI}ADDR)"
            )
        peer = Discovered(sa.remote_id, sa.remote[0], reds, sa.nat_there)
        clash = self._clash(peer)
        if clash is not None:
            self.refused += 1
            raise _refuse(clash)
        # the same C-PE again (it restarted, or comes from a new address), or another
        # one at this address: what was there leaves first
        old = next((p for p in self.peers.values() if p.identity == peer.identity), None)
        old = old or self.peers.get(peer.black)
        if old is not None and old != peer:
            self._leave(old)
        self.control_peers[peer.black] = peer.red
        cfg = self.accept(peer.black)
        cfg.remote_id, cfg.creds = peer.identity, self.creds
        sa.cfg = cfg
        if old != peer:
            self._join(peer)

    def _join(self, peer: Discovered) -> None:
        self.peers[peer.black] = peer
        try:
            self.on_join(peer)
        except ValueError as exc:  # e.g. BGP already has a neighbour at that address
            self._forget(peer)  # ours only: that neighbour is someone else's
            self.refused += 1
            raise _refuse(f"{peer.identity}: {exc}") from None
        reds = ", ".join(map(str, peer.reds))
        log.info("discovered %s at %s: red loopback %s", peer.identity, peer.black, reds)

    def _clash(self, peer: Discovered) -> str | None:
        """Why ``peer`` may not have its red loopbacks, if it may not."""
        for addr in peer.reds:
            for n in self.cfg.bgp.neighbors:
                if addr in (n.address, *(n.originates or ())):
                    return (
                        f"{peer.identity}: red loopback {addr} belongs to configured "
                        f"neighbour {n.address}"
                    )
            other = next(
                (o for o in self.peers.values() if addr in o.reds and o.identity != peer.identity),
                None,
            )
            if other is not None:
                return f"{peer.identity}: red loopback {addr} is already bound to {other.identity}"
        if any(str(n.black_address) == peer.black for n in self.cfg.bgp.neighbors):
            return f"{peer.identity}: {peer.black} is a configured neighbour's black address"
        return None

    def event(self, sa: IkeSa, ev: Event) -> None:
        """A discovered peer whose last IKE SA went (not replaced by a rekey) leaves; one
        that moved (MOBIKE, RFC 4555) is bound to its new black address."""
        if isinstance(ev, PeerMoved) and ev.mobike:
            self._moved(ev.old[0], ev.new[0])
            return
        if not isinstance(ev, IkeDown) or sa.successor is not None:
            return
        peer = self.peers.get(sa.cfg.remote_addr or "")
        if peer is None or peer.identity != sa.remote_id:
            return
        live = (IkeState.CONNECTING, IkeState.ESTABLISHED)
        assert self.daemon is not None
        if any(
            o is not sa and o.cfg is sa.cfg and o.state in live for o in self.daemon.sas.values()
        ):
            return  # e.g. it restarted: the new IKE SA is up already
        self._leave(peer)

    def _moved(self, old: str, new: str) -> None:
        peer = self.peers.pop(old, None)
        if peer is None or old == new:
            if peer is not None:
                self.peers[old] = peer
            return
        moved = dataclasses.replace(peer, black=new)
        self.peers[new] = moved
        self.control_peers.setdefault(new, moved.red)  # the composer moved it already
        self.control_peers.pop(old, None)
        log.info("%s moved from %s to %s", peer.identity, old, new)
        self.on_moved(moved)

    def _leave(self, peer: Discovered) -> None:
        self._forget(peer)
        log.info("%s at %s is gone: its red session and routes go too", peer.identity, peer.black)
        self.on_leave(peer)

    def _forget(self, peer: Discovered) -> None:
        self.peers.pop(peer.black, None)
        self.control_peers.pop(peer.black, None)
        name = f"cpe-{peer.black}"
        if self.daemon is not None:
            self.daemon.configs[:] = [c for c in self.daemon.configs if c.name != name]

    def status(self) -> list[dict[str, object]]:
        return [
            {"identity": p.identity, "black": p.black, "red": [str(a) for a in p.reds],
             "behind_nat": p.behind_nat}
            for p in self.peers.values()
        ]  # fmt: skip
