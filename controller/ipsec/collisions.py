"""Both C-PEs set the same thing up at once: keep one, the same one at both ends.

Eager set-up between two C-PEs is the lower black address's to start; the higher one
waits (``TunnelManager.initiate_grace``) while the peer makes progress. A daemon slowed
down enough (CPU load) can still outlast that wait, and then both ends ask at once:

* Two IKE SAs between the pair, each initiated before either end saw the other's.
  The one the lower address initiated survives; the initiator of each other one
  deletes it, and its CHILD_SAs hand their tunnels over in the SA database.
* Two CHILD_SAs of one config (one tenant) on the same IKE SA, neither a rekey of the
  other: both requests crossed. The one the lower address asked for survives (of two
  asked for by the same end, the older one), and the end that asked for each other one
  deletes it. A loser that comes up after the winner is installed as a *spare*: its
  inbound SA decrypts what the peer sends on it until the delete reaches the peer, but
  it never carries the tunnel, so the CHILD_SA in use is not replaced.

RFC 7296 2.8.1 settles simultaneous rekeys (by nonces) but says nothing of simultaneous
creation; any rule both ends compute alike would do, and this one matches the IKE SA's.
"""

from __future__ import annotations

import ipaddress

from controller.ipsec.ike.child import ChildSa, ChildState
from controller.ipsec.ike.sa import IkeSa
from controller.ipsec.tunnel import Manager


def _addr_rank(addr: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(addr)
    return (ip.version, int(ip))


def duplicate_ike(mgr: Manager, sa: IkeSa, now: float) -> None:
    """``sa`` just came up: if another IKE SA to the same peer is up too, keep one."""
    peer = mgr.peer_of(sa)
    same = [
        o
        for o in mgr.daemon.established()
        if mgr.peer_of(o) == peer and o.successor is None and id(o) not in mgr.replacing
    ]
    if len(same) < 2:
        return

    def rank(o: IkeSa) -> tuple[tuple[int, int], bytes]:
        return (_addr_rank(mgr.local if o.initiator else peer), o.spi_i)

    keep = min(same, key=rank)
    for o in same:
        if o is not keep and o.initiator:
            mgr.log(f"duplicate IKE SA to {peer}: deleting {o.spi_i.hex()}")
            mgr.daemon.delete_ike(o, now)


def duplicate_child(mgr: Manager, sa: IkeSa, child: ChildSa, now: float) -> bool:
    """``child`` (not a rekey) just came up on ``sa``: if another CHILD_SA of its config is
    up there too, keep one and delete ours among the others. True if ``child`` lost (it is
    to be installed as a spare, never to carry the tunnel)."""
    gone = (ChildState.DELETING, ChildState.DELETED)
    same = [c for c in sa.children if c.name == child.name and c.state not in gone]
    if len(same) < 2:
        return False
    if any(c.from_rekey or c.state != ChildState.INSTALLED for c in same):
        return False  # a rekey is under way: RFC 7296 2.8.1 and the SA database handle it
    peer = mgr.peer_of(sa)

    def rank(c: ChildSa) -> tuple[tuple[int, int], int]:
        # of two by the same end, the older: its requests are answered in order, so
        # both ends list them in the same order
        return (_addr_rank(mgr.local if c.we_initiated else peer), same.index(c))

    keep = min(same, key=rank)
    for c in same:
        if c is not keep and c.we_initiated:
            mgr.log(f"duplicate CHILD_SA {c.name} with {peer}: deleting 0x{c.spi_in:08x}")
            mgr.daemon.delete_child(c.spi_in, now)
    return child is not keep
