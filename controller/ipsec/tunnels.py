"""Tunnels between C-PEs: when to start IKE, and keeping the SA database in step.

The app (which knows BGP) calls :meth:`TunnelManager.ensure_tunnel` when a red
loopback route for a peer arrives (draft section 4: eager setup), or
:meth:`TunnelManager.packet_needs_tunnel` when traffic first needs an SA (lazy
setup); both are keyed by the peer's black address. IKE knows no BGP.

One IKE SA per C-PE pair carries a CHILD_SA for MPLS-in-IP (IP protocol 137,
RFC 4023) between the black loopbacks in transport mode, and towards a red BGP
neighbour one for BGP (``bgp``): by default TCP between the black loopbacks in
transport mode (draft 3.2), or, with ``ike.control_sa.mode: tunnel``, TCP between
the red loopbacks in tunnel mode (controller/app/ikeconf.py). With
``per_tenant``, each tenant gets its own MPLS CHILD_SA (``mpls-<tenant>``) on
the same IKE SA.

Choices worth knowing:
  * Per-tenant MPLS CHILD_SAs all have the same selectors; our initiator names the
    SA set the peer's Security Handle gave (else the CHILD_SA config) in a
    private-use status NOTIFY (type 40960) so our responder files it under the
    right tenant, and refuses an SA set it never advertised. A third-party peer
    ignores it and gets the first matching config.
  * The BGP CHILD_SA's selectors are TCP between the session's addresses (any
    port): "port 179 in either direction" is not one selector pair; the pipeline's
    SPD table steers only port 179 into it.
  * Eager set-up between two C-PEs is started by the lower black address. The
    higher one waits ``initiate_grace`` seconds for the peer's IKE SA (or
    CHILD_SA) before it creates its own, and waits again after each IKE SA or
    CHILD_SA the peer brings up (a loaded peer is slow, not absent): when both
    started at once, the duplicate was closed seconds later, after the lab had
    converged, and the CHILD_SA in use was replaced (counters restarted). A peer
    that never initiates (a third-party one, a lazy one) only costs that delay.
    Lazy triggers (a packet waiting) start at once.
  * Whether a CHILD_SA is already there or asked for is the IKE daemon's to say
    (:meth:`IkeDaemon.has_child`), never our own notes: a tenant's CHILD_SA
    queued with another tenant's new IKE SA was once asked for a second time.
  * If both C-PEs still start an IKE SA, or the same CHILD_SA, at once, the one
    the lower black address asked for survives at both ends
    (controller/ipsec/collisions.py).
  * A peer's INITIAL_CONTACT (RFC 7296 2.4) drops its old IKE SA, but the ESP SAs
    of its CHILD_SAs stay in service until its new CHILD_SAs replace them: the
    peer's ESP engine may well have outlived its IKE daemon (ours does). The other
    way round, a peer that leaves initiating to us but sends on an IKE SA we do not
    know (we restarted) gets our IKE SA at once (controller/ipsec/rejoin.py).
  * A peer is its black loopback (its IKE identity and config), never the address
    its IKE SA comes from: behind a NAT that is the NAT's public address and port,
    where its SAs then send UDP-encapsulated ESP (RFC 3948).
  * The peer's Security Handle (controller/ipsec/handle.py) says whether we may
    initiate to it (not when it is behind NAT: we wait for its IKE SA and add our
    CHILD_SAs to that), on which IKE port, and which SA set to ask for.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable

from controller.ipsec import collisions, moves
from controller.ipsec.handle import read_handle
from controller.ipsec.ike.config import ChildConfig, IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import PEER_RESTARTED, IkeDaemon
from controller.ipsec.ike.events import ChildDown, ChildUp, Event, IkeDown, IkeUp, PeerMoved
from controller.ipsec.ike.sa import IkeSa, IkeState
from controller.ipsec.ike.wire.ts import TrafficSelector
from controller.ipsec.installer import ExpiryEvent, ExpiryKind, Lifetime
from controller.ipsec.rejoin import Rejoin
from controller.ipsec.sad import SaDatabase
from controller.ipsec.tunnel import Tunnel

PROTO_MPLS_IN_IP = 137  # RFC 4023
PROTO_TCP = 6
INITIATE_GRACE = 3.0  # seconds the higher black address leaves the lower one to initiate
# How long SAs stay in service without an IKE SA (inherited after our restart, or the
# peer's after it restarted) while IKE negotiates their replacements.
ORPHAN_HOLD = 60.0
# A tunnel we still want whose IKE SA failed or went away is set up again after
# this long, doubling up to RETRY_MAX (e.g. the peer did not know us yet).
RETRY_FIRST, RETRY_MAX = 2.0, 30.0


def mpls_child(
    local: str, peer: str, tenant: str | None = None, lifetimes: Lifetimes | None = None
) -> ChildConfig:
    name = f"mpls-{tenant}" if tenant else "mpls"
    return ChildConfig(
        name,
        [TrafficSelector.host(local, PROTO_MPLS_IN_IP)],
        [TrafficSelector.host(peer, PROTO_MPLS_IN_IP)],
        lifetimes=lifetimes or Lifetimes(),
    )


def bgp_child(
    local: str,
    peer: str,
    lifetimes: Lifetimes | None = None,
    *,
    transport: bool = True,
    esp_proposals: list[str] | None = None,
) -> ChildConfig:
    """The control CHILD_SA of a red BGP session: TCP between the session's two addresses.

    Transport mode: the addresses are the black loopbacks (draft 3.2). Tunnel mode:
    the red loopbacks, carried between the black loopbacks. The pipeline's SPD steers
    only port 179 into it.
    """
    return ChildConfig(
        "bgp",
        [TrafficSelector.host(local, PROTO_TCP)],
        [TrafficSelector.host(peer, PROTO_TCP)],
        esp_proposals=list(esp_proposals) if esp_proposals else ["aes128gcm16"],
        transport=transport,
        lifetimes=lifetimes or Lifetimes(),
    )


def engine_lifetimes(cfg: IkeConfig, child: str) -> tuple[Lifetime, Lifetime]:
    """Byte/packet limits for the engine: soft ones trigger a rekey, hard ones a delete.

    Time limits stay with IKE (its own timers); the engine counts traffic.
    """
    try:
        life = cfg.child(child).lifetimes
    except KeyError:
        return Lifetime(), Lifetime()
    soft = Lifetime(packets=life.rekey_packets, bytes=life.rekey_bytes)
    hard = Lifetime(packets=life.life_packets, bytes=life.life_bytes)
    return soft, hard


class TunnelManager:
    def __init__(
        self,
        daemon: IkeDaemon,
        sad: SaDatabase,
        local_black: str,
        make_config: Callable[[str], IkeConfig],
        per_tenant: bool = False,
        lazy: bool = False,
        log: Callable[[str], None] = lambda line: None,
        orphan_hold: float = ORPHAN_HOLD,
        local_sets: dict[str | None, int] | None = None,
    ) -> None:
        """``local_sets``: the SA-set ids our own Security Handles advertise, by tenant
        (None: the shared set); a peer's CHILD_SA request naming another is refused."""
        self.daemon, self.sad = daemon, sad
        self.orphan_hold = orphan_hold
        self.local = local_black
        self.make_config = make_config
        self.per_tenant, self.lazy = per_tenant, lazy
        self.log = log
        self.initiate_grace = INITIATE_GRACE
        self.tunnels: dict[tuple[str, str | None], Tunnel] = {}
        # mobility (controller/ipsec/moves.py): IKE SAs a fresh one to a moved peer
        # replaces, and the app's hook for a move IKE reported (old, new black address)
        self.replacing: dict[int, tuple[IkeSa, str]] = {}
        self.on_moved: Callable[[str, str], None] = lambda old, new: None
        daemon.on_readdressed = lambda sa, old: moves.readdressed(self, sa, old)
        self.local_sets = local_sets if local_sets is not None else {None: 0}
        self._said: set[tuple[str, str]] = set()  # (peer, message) logged once
        self._retry_at: dict[tuple[str, str | None], float] = {}
        self._backoff: dict[tuple[str, str | None], float] = {}
        self.rejoin = Rejoin(self)  # after our restart, to peers that wait for us (rejoin.py)
        daemon.on_unknown_sa = self.rejoin.stale

    # -- app calls ----------------------------------------------------------------------

    def ensure_tunnel(
        self,
        peer_black_addr: str,
        security_handle: bytes | None = None,
        tenant: str | None = None,
        *,
        now: float,
    ) -> None:
        """A red loopback route for this peer arrived: set up SAs now (lazy: on first packet)."""
        key = self._key(peer_black_addr, tenant)
        tun = self.tunnels.setdefault(key, Tunnel(key[0], key[1]))
        tun.security_handle = security_handle
        tun.reading = read_handle(security_handle)
        if tun.reading.problem is not None:
            self._once(tun.peer, f"Security Handle {tun.reading.problem}: using the defaults")
        if not self.lazy:
            self.start(tun, now, defer=True)

    def packet_needs_tunnel(
        self, peer_black_addr: str, tenant: str | None = None, *, now: float
    ) -> None:
        key = self._key(peer_black_addr, tenant)
        self.start(self.tunnels.setdefault(key, Tunnel(key[0], key[1])), now)

    def withdraw(self, peer_black_addr: str, tenant: str | None = None, *, now: float) -> None:
        """The peer's red loopback route is gone: delete its IKE SA (and so its CHILD_SAs)."""
        tun = self.tunnels.pop(self._key(peer_black_addr, tenant), None)
        if tun is not None and tun.ike is not None and tun.ike.state == IkeState.ESTABLISHED:
            self.daemon.delete_ike(tun.ike, now)

    def peer_moved(self, old: str, new: str, *, now: float) -> None:
        """Mobility: the peer's black address changed (new red loopback route)."""
        moves.peer_moved(self, old, new, now)

    def local_moved(self, new: str, *, now: float) -> None:
        """Mobility: our own black address changed."""
        moves.local_moved(self, new, now)

    # -- inputs from IKE and the engine ----------------------------------------------------

    def on_events(self, events: list[tuple[IkeSa, Event]], now: float) -> None:
        for sa, ev in events:
            if isinstance(ev, ChildUp):
                tenant = self._tenant_of(ev.child.name)
                port = sa.remote[1] if sa.encap else 4500
                soft, hard = engine_lifetimes(sa.cfg, ev.child.name)
                spare = ev.replaces is None and collisions.duplicate_child(self, sa, ev.child, now)
                self.sad.child_up(
                    ev.child, self.peer_of(sa), now, ev.replaces, tenant, port, soft, hard,
                    remote=sa.remote[0], spare=spare,
                )  # fmt: skip
                if not ev.child.we_initiated:
                    self._peer_progress(self.peer_of(sa), now)
            elif isinstance(ev, ChildDown) and ev.reason == PEER_RESTARTED:
                # the peer lost its IKE SA but its ESP engine still runs these SAs: keep
                # them until its new CHILD_SA replaces them (no gap in either direction)
                self.sad.orphan(ev.child, now, self.orphan_hold)
            elif isinstance(ev, ChildDown):
                self.sad.child_down(ev.child, now)
            elif isinstance(ev, IkeUp):
                collisions.duplicate_ike(self, sa, now)
                peer = self.peer_of(sa)
                if not sa.initiator:
                    self._peer_progress(peer, now)
                    self.rejoin.peer_up(sa)
                for tun in self.tunnels.values():
                    if tun.peer == peer and tun.ike is None:
                        tun.ike = sa  # the peer initiated while we waited
                for key in [k for k in self._backoff if k[0] == peer]:
                    del self._backoff[key]
                self._peer_is_up(sa, now)
                if self.replacing:
                    moves.replaced(self, sa, now)
            elif isinstance(ev, PeerMoved) and ev.mobike:
                moves.peer_moved_by_ike(self, sa, ev.old, ev.new)
            elif isinstance(ev, PeerMoved):
                # the NAT mapping moved: same peer, new transport address
                self.sad.remote_moved(self.peer_of(sa), ev.new[0], ev.new[1])
            elif isinstance(ev, IkeDown) and sa.successor is None:
                for key, tun in self.tunnels.items():
                    if tun.ike is sa:
                        tun.ike = None  # the next trigger, or the retry, starts over
                        if not self.lazy:
                            delay = min(self._backoff.get(key, RETRY_FIRST / 2) * 2, RETRY_MAX)
                            self._backoff[key], self._retry_at[key] = delay, now + delay

    def tick(self, now: float) -> bool:
        """Start what waited in vain for the peer to initiate, and retry tunnels whose
        IKE SA failed; True if IKE has something to send."""
        due = [
            t for t in self.tunnels.values() if t.initiate_at is not None and now >= t.initiate_at
        ]
        for tun in due:
            self.start(tun, now, defer=True)
        started = bool(due)
        for key, when in list(self._retry_at.items()):
            retry = self.tunnels.get(key)
            if retry is None:
                del self._retry_at[key]
            elif when <= now:
                del self._retry_at[key]
                if retry.ike is None:
                    self.log(f"peer {retry.peer}: setting up its tunnel again")
                    self.start(retry, now)
                    started = True
        return started

    def on_expiry(self, event: ExpiryEvent, now: float) -> None:
        """Engine lifetimes: soft → rekey the CHILD_SA, hard → delete it."""
        found = self.sad.expiry(event)
        if found is None:
            return
        kind, spi_in = found
        if kind is ExpiryKind.SOFT:
            self.daemon.rekey_child(spi_in, now)
        else:
            self.daemon.delete_child(spi_in, now)

    # -- internals --------------------------------------------------------------------------

    def _peer_progress(self, peer: str, now: float) -> None:
        """The peer brought up an IKE SA or CHILD_SA: it is setting up, so the tunnels we
        leave to it get the whole grace again from now."""
        for tun in self.tunnels.values():
            if tun.peer == peer and tun.initiate_at is not None:
                tun.initiate_at = max(tun.initiate_at, now + self.initiate_grace)

    def peer_of(self, sa: IkeSa) -> str:
        """The peer's black loopback: its config's, not the address the SA comes from."""
        return sa.cfg.remote_addr or sa.remote[0]

    def _peer_is_up(self, sa: IkeSa, now: float) -> None:
        """A peer we wait for (it initiates) brought its IKE SA: add the CHILD_SAs we need."""
        peer = self.peer_of(sa)
        for tun in self.tunnels.values():
            if tun.peer == peer and tun.reading.effective.initiates and not self.lazy:
                self.start(tun, now)

    def _once(self, peer: str, message: str) -> None:
        if (peer, message) not in self._said:
            self._said.add((peer, message))
            self.log(f"peer {peer}: {message}")

    def _key(self, peer: str, tenant: str | None) -> tuple[str, str | None]:
        return (str(ipaddress.ip_address(peer)), tenant if self.per_tenant else None)

    def _tenant_of(self, child_name: str) -> str | None:
        return child_name[5:] if child_name.startswith("mpls-") else None

    def accept(self, peer_black_addr: str) -> IkeConfig:
        """Make sure the daemon has a config for this peer, so it may initiate to us."""
        peer = str(ipaddress.ip_address(peer_black_addr))
        name = f"cpe-{peer}"
        try:
            return self.daemon.config(name)
        except KeyError:
            cfg = self.make_config(peer)
            cfg.name, cfg.remote_addr = name, peer
            if all(c.name != "mpls" for c in cfg.children):
                cfg.children.insert(0, mpls_child(self.local, peer))
            # our SA sets, so a peer's request names one we know (or is refused)
            for tenant, set_id in self.local_sets.items():
                if tenant is None or self.per_tenant:
                    self._child_config(cfg, peer, tenant).own_set = set_id
            self.daemon.configs.append(cfg)
            return cfg

    def _waits_for(self, peer: str) -> bool:
        """Eager set-up is the lower black address's to start (see the module docstring)."""
        ours, theirs = ipaddress.ip_address(self.local), ipaddress.ip_address(peer)
        return (ours.version, int(ours)) > (theirs.version, int(theirs))

    def _child_config(self, cfg: IkeConfig, peer: str, tenant: str | None) -> ChildConfig:
        child = f"mpls-{tenant}" if tenant else "mpls"
        found = next((c for c in cfg.children if c.name == child), None)
        if found is None:
            base = next((c for c in cfg.children if c.name == "mpls"), None)
            life = dataclasses.replace(base.lifetimes) if base is not None else None
            found = mpls_child(self.local, peer, tenant, life)
            cfg.children.append(found)
        return found

    def start(self, tun: Tunnel, now: float, defer: bool = False) -> None:
        name = f"cpe-{tun.peer}"
        try:
            cfg = self.accept(tun.peer)
        except ValueError as exc:  # no credentials for this peer (e.g. no per-peer key)
            self._once(tun.peer, f"no SA possible: {exc}")
            return
        handle = tun.reading.effective
        child_cfg = self._child_config(cfg, tun.peer, tun.tenant)
        child = child_cfg.name
        if tun.reading.handle is not None:
            child_cfg.request_set = handle.set_id
        live = self._ike_for(tun.peer)
        if live is None and handle.initiates:
            self._once(tun.peer, "initiates IKE itself (Security Handle): waiting for its IKE SA")
            return
        have = live is not None and self.daemon.has_child(live, child)
        if defer and not have and self._waits_for(tun.peer):
            if tun.initiate_at is None:
                tun.initiate_at = now + self.initiate_grace
            if now < tun.initiate_at:
                tun.ike = live or tun.ike
                return
        tun.initiate_at = None
        if live is None:
            remote = (tun.peer, handle.ike_port)
            tun.ike = self.daemon.initiate(name, (self.local, 500), remote, now, child)
            for extra in cfg.children:
                if extra.name != child and self._wanted(tun.peer, extra.name):
                    self.daemon.add_child(tun.ike, extra.name, now)
            return
        tun.ike = live
        if not have:
            self.daemon.add_child(live, child, now)

    def _wanted(self, peer: str, child: str) -> bool:
        """Create this CHILD_SA with a new IKE SA? The shared ones, and a tenant's we need."""
        tenant = self._tenant_of(child)
        return tenant is None or (peer, tenant) in self.tunnels

    def _ike_for(self, peer: str) -> IkeSa | None:
        for sa in self.daemon.sas.values():
            live = sa.state in (IkeState.CONNECTING, IkeState.ESTABLISHED)
            # Not an SA still being answered for an unlisted address: until IKE_AUTH names
            # the peer it has a stand-in config, maybe another peer's (controller/ipsec/moves.py).
            # Nor one a fresh SA to a moved peer replaces (moves.peer_moved).
            settled = sa.initiator or sa.state == IkeState.ESTABLISHED or sa.remote[0] == peer
            if live and settled and id(sa) not in self.replacing and self.peer_of(sa) == peer:
                return sa
        return None
