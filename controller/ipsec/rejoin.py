"""A restarted node rejoins the peers that leave initiating to it (e.g. an RR's clients).

C-PEs initiate to their RRs and an RR waits for them; between RRs the lower black
address initiates. After a node restarted and lost every SA (kill -9 of its daemon,
switch and engine), the peers that wait for it still hold the dead node's IKE SA and
CHILD_SAs and notice only by IKE liveness (30 s idle, then retransmissions 2, 4, ...
64 s) or BGP's hold time: an RR's clients came back after about 155 s.

So a restarted node initiates to each peer that waits for it, and with which it holds
no SA in any state, when either tells it the peer holds SAs of its previous life:
  * it knows it lost its SAs: the previous daemon's ESP engine is gone and did not stop
    cleanly (its PID file is left, controller/app/enginelink.py): at once, at start;
  * the peer sends an IKE request on an IKE SA whose SPI we do not know (RFC 7296
    2.21.4: "this may be the result of a recent crash of the node"), from its
    configured black address: its liveness check, within a minute or so.
Holding no SA with it, our IKE_AUTH carries INITIAL_CONTACT (2.4): the peer drops the
dead IKE SA and keeps its ESP SAs in service until our new CHILD_SAs replace them
(``SaDatabase.orphan``), exactly as after a peer's daemon restart.

Choices worth knowing:
  * The stray request is a hint, never a verdict: it is unauthenticated, so it changes
    no state of ours; it only makes us do what the peer would have to do anyway, with
    a peer of our configuration, authenticated as usual. At most once per
    ``COOLDOWN`` per peer.
  * Never at start on a mere timer: at a common start the peers initiate as they should,
    and a node that initiated to peers still starting (slower under load) made duplicate
    IKE SAs and reset BGP sessions. What tells a restart from a start is the engine's
    PID file left behind, or a peer sending on an SA we do not know.
  * To the peer's configured address only, and a stray request only from there: a
    peer behind a NAT (its requests come from the NAT's) must initiate itself, as its
    Security Handle says. Nothing in an RR's configuration says which client is behind
    a NAT, so after lost SAs such a client costs one unanswered IKE_SA_INIT (and its
    retransmissions). A C-PE admitted by certificate (draft 3.2) is not known after our
    restart until it initiates.
  * Both ends at once: if the peer's liveness check fails while our IKE_SA_INIT is
    unanswered and it initiates itself, ours is dropped when its IKE SA comes up (the
    peer holds at most a half-open SA for it, which times out). Past that point two
    IKE SAs are settled like any pair's (collisions.py).
"""

from __future__ import annotations

import ipaddress

from controller.ipsec.ike.sa import IkeSa, IkeState
from controller.ipsec.tunnel import Manager, Tunnel

COOLDOWN = 30.0  # seconds between two attempts to the same peer


class Rejoin:
    def __init__(self, mgr: Manager, cooldown: float = COOLDOWN) -> None:
        self.mgr, self.cooldown = mgr, cooldown
        self.peers: set[str] = set()  # peers that wait for us to be there
        self.tried: dict[str, float] = {}  # peer -> when we last initiated on a hint
        self.ours: dict[str, IkeSa] = {}  # our attempt per peer, while it connects

    def watch(self, peer: str) -> None:
        """``peer`` leaves initiating to us: rejoin it if it shows it holds dead SAs."""
        self.peers.add(str(ipaddress.ip_address(peer)))

    def stale(self, src: str, now: float) -> bool:
        """``src`` sent on an SA we do not know; True if we initiated to it."""
        peer = str(ipaddress.ip_address(src))
        if peer not in self.peers or now < self.tried.get(peer, -self.cooldown) + self.cooldown:
            return False
        return self._initiate(peer, now, "sends on an SA we do not know (we restarted)")

    def lost(self, peer: str, now: float) -> bool:
        """We restarted and know we lost our SAs (our engine died with them): the peer
        still holds its own, so initiate now; True if we did."""
        return self._initiate(str(ipaddress.ip_address(peer)), now, "we lost our SAs with it")

    def _initiate(self, peer: str, now: float, why: str) -> bool:
        if self._any_sa(peer) is not None or any(t.peer == peer for t in self.mgr.tunnels.values()):
            return False  # we are setting up with it already, or a tunnel of ours sees to it
        self.tried[peer] = now
        self.mgr.log(f"peer {peer}: {why}: initiating")
        self.mgr.start(Tunnel(peer, None), now)  # logs why if it cannot (e.g. no key)
        sa = self._any_sa(peer)
        if sa is not None:
            self.ours[peer] = sa
        return sa is not None

    def peer_up(self, sa: IkeSa) -> None:
        """An IKE SA the peer initiated came up: our attempt, if still unanswered, goes."""
        peer = self.mgr.peer_of(sa)
        ours = self.ours.pop(peer, None)
        if ours is None or ours.state != IkeState.CONNECTING:
            return
        if ours.spi_r == bytes(8):  # no IKE_SA_INIT response: the peer knows no SA of ours
            self.mgr.log(f"peer {peer} initiated itself: dropping our unanswered IKE SA")
            self.mgr.daemon.abandon(ours, "the peer initiated itself")

    def _any_sa(self, peer: str) -> IkeSa | None:
        """An IKE SA with the peer in any state but deleted (half-open ones too)."""
        for sa in self.mgr.daemon.sas.values():
            if sa.state != IkeState.DELETED and peer in (sa.remote[0], self.mgr.peer_of(sa)):
                return sa
        return None
