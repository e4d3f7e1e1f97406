"""A restarted node rejoins the peers that leave initiating to it (e.g. an RR's clients).

C-PEs initiate to their RRs and an RR waits for them; between RRs the lower black
address initiates. That is right at a common start, but not after a node restarted
and lost every SA (kill -9 of its daemon, switch and engine): its peers still hold the
dead node's IKE SA and CHILD_SAs, send into the void on them, and notice only by IKE
liveness (30 s idle, then retransmissions 2, 4, ... 64 s) or BGP's hold time; an RR's
clients came back after about 155 s. So a node that starts gives each such peer
``grace`` seconds to initiate as it should; to each one that has not, and with which
it holds no SA at all, it then initiates itself, once. It holds no IKE SA with the
peer, so IKE_AUTH carries INITIAL_CONTACT (RFC 7296 2.4): the peer drops the dead IKE
SA at once and keeps its ESP SAs in service until the new CHILD_SAs replace them
(``SaDatabase.orphan``), exactly as after a peer's daemon restart.

Choices worth knowing:
  * Once, not a tunnel with retries: a peer that does not answer (down, or behind a
    NAT, where its black address cannot be reached) initiates itself when it comes
    back or its liveness check fails. Nothing in an RR's configuration says which
    client is behind a NAT, and the client's Security Handle ("I initiate") arrives
    only with its routes, after the session is up: such a client costs the one
    unanswered IKE_SA_INIT and its retransmissions.
  * Only peers configured by address (the app's list); C-PEs admitted by certificate
    (draft 3.2) are not known after a restart until they initiate.
  * Both ends at once: at a common start the peer normally initiates within the
    grace, and the node does nothing. A peer slower than that may initiate while our
    IKE_SA_INIT is still unanswered: when its IKE SA comes up, ours is dropped where
    it stands (the peer holds at most a half-open SA for it, which times out). Past
    that point two IKE SAs are settled like any pair's (collisions.py).
"""

from __future__ import annotations

from controller.ipsec.ike.sa import IkeSa, IkeState
from controller.ipsec.tunnel import Manager, Tunnel

REJOIN_GRACE = 5.0  # seconds a starting node leaves its peers to initiate to it


class Rejoin:
    def __init__(self, mgr: Manager, grace: float = REJOIN_GRACE) -> None:
        self.mgr, self.grace = mgr, grace
        self.due: dict[str, float] = {}  # peer -> when we initiate if it has not
        self.ours: dict[str, IkeSa] = {}  # our one attempt per peer, while it connects

    def plan(self, peer: str, now: float) -> None:
        """We started: initiate to ``peer`` after the grace unless it has come by then."""
        self.due.setdefault(peer, now + self.grace)

    def tick(self, now: float) -> bool:
        """Initiate to the peers whose grace ran out; True if IKE has something to send."""
        started = False
        for peer, when in list(self.due.items()):
            if when > now:
                continue
            del self.due[peer]
            if self._any_sa(peer) or any(t.peer == peer for t in self.mgr.tunnels.values()):
                continue  # it came, or a tunnel of ours (inherited SAs) sees to it
            self.mgr.log(f"peer {peer}: no IKE SA {self.grace:g} s after our start: initiating")
            self.mgr.start(Tunnel(peer, None), now)
            started = True
            sa = self._any_sa(peer)
            if sa is not None:
                self.ours[peer] = sa
        return started

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
