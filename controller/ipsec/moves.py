"""Mobility: a black address changes, ours or a peer's (issue #6).

Three ways a move reaches the IPsec layer:

* **ours** (:func:`local_moved`): the daemon took a new black loopback. Every
  IKE SA gets the new local address; those we originally initiated are moved
  with MOBIKE (RFC 4555, UPDATE_SA_ADDRESSES), the others wait for their
  initiator to re-point them once BGP told it our new address (below). The
  SA database rewrites the local address of every installed ESP SA, so
  tunnel-mode SAs (the control SA carrying red BGP) leave from the new address
  at once.
* **a peer's, said by BGP** (:func:`peer_moved`): the red loopback route of a
  peer came back with a new Tunnel Egress Endpoint. Our IKE SAs with it are
  re-pointed; for those we initiated MOBIKE tells the peer (and proves the new
  address answers); an SA we initiated to a peer without MOBIKE is replaced by
  a fresh one to the new address (the old one is deleted once the new one is
  up, make-before-break). An SA the peer initiated is the peer's to move.
* **a peer's, said by IKE** (:func:`peer_moved_by_ike`): an authenticated
  UPDATE_SA_ADDRESSES arrived (we are the responder). Same bookkeeping, and
  the app is told (``TunnelManager.on_moved``) before the SA database
  announces the tunnel under its new address, so the app re-keys its own
  per-peer state (e.g. which red BGP neighbour a control SA protects) first.
* **a peer that sets up a new IKE SA from a new address** (:func:`readdressed`:
  it could not use MOBIKE, e.g. it restarted after moving): our IKE daemon
  accepts an IKE_SA_INIT from an unknown address when some config is bound to
  an identity, and IKE_AUTH picks the config by the authenticated IDi (an RR
  lists its clients by their original black address, which stays their
  identity). Once authenticated, the move is handled as above, before the
  CHILD_SAs are chosen, so the selectors already name the new address.

Identities do not move: a C-PE's IKE identity stays the address it was
configured with (its certificate's subjectAltName), so IKE_AUTH keeps
working from any address; traffic selectors naming a black address are
rewritten so rekeys after the move negotiate the new one.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from controller.ipsec.ike.config import IkeConfig
from controller.ipsec.ike.sa import IkeSa, IkeState
from controller.ipsec.ike.wire.ts import TrafficSelector
from controller.ipsec.tunnel import Manager


def _norm(addr: str) -> str:
    return str(ipaddress.ip_address(addr))


def _swap(tss: list[TrafficSelector], old: str, new: str) -> list[TrafficSelector]:
    out = []
    o, n = ipaddress.ip_address(old), ipaddress.ip_address(new)
    for ts in tss:
        if ts.start == ts.end == o:
            ts = dataclasses.replace(ts, start=n, end=n)
        out.append(ts)
    return out


def retarget(cfg: IkeConfig, old: str, new: str) -> None:
    """Rewrite the traffic selectors of ``cfg`` that name ``old`` (host selectors only)."""
    cfg.children[:] = [
        dataclasses.replace(
            c, local_ts=_swap(c.local_ts, old, new), remote_ts=_swap(c.remote_ts, old, new)
        )
        for c in cfg.children
    ]


def _live(mgr: Manager) -> list[IkeSa]:
    return [
        sa
        for sa in list(mgr.daemon.sas.values())
        if sa.state in (IkeState.CONNECTING, IkeState.ESTABLISHED) and sa.successor is None
    ]


def local_moved(mgr: Manager, new: str, now: float) -> list[IkeSa]:
    """Our black address is now ``new``; returns the IKE SAs MOBIKE moves."""
    old, new = mgr.local, _norm(new)
    if old == new:
        return []
    mgr.local = new
    for cfg in mgr.daemon.configs:
        retarget(cfg, old, new)
    told = [sa for sa in _live(mgr) if mgr.daemon.move(sa, now, local_ip=new)]
    mgr.sad.local_moved(new)
    mgr.log(f"mobility: our black address {old} -> {new}; MOBIKE moves {len(told)} IKE SA(s)")
    return told


def _rekey_tunnels(mgr: Manager, old: str, new: str) -> None:
    for key in [k for k in mgr.tunnels if k[0] == old]:
        tun = mgr.tunnels.pop(key)
        tun.peer = new
        mgr.tunnels[(new, key[1])] = tun
    for cfg in mgr.daemon.configs:
        if cfg.name == f"cpe-{old}":
            cfg.name, cfg.remote_addr = f"cpe-{new}", new
            retarget(cfg, old, new)


def peer_moved(mgr: Manager, old: str, new: str, now: float) -> None:
    """BGP says the peer at ``old`` is now at ``new``."""
    old, new = _norm(old), _norm(new)
    if old == new:
        return
    _rekey_tunnels(mgr, old, new)
    replace: list[IkeSa] = []
    for sa in _live(mgr):
        if sa.remote[0] != old:
            continue
        if sa.initiator and not sa.peer_mobike:
            replace.append(sa)  # no MOBIKE: a fresh SA to the new address replaces it
        else:
            mgr.daemon.move(sa, now, remote_ip=new)  # ours: MOBIKE; the peer's: its to move
    mgr.sad.peer_moved(old, new)
    for sa in replace:
        mgr.replacing[id(sa)] = (sa, new)
        for tun in mgr.tunnels.values():
            if tun.ike is sa:
                tun.ike = None
    for tun in [t for t in mgr.tunnels.values() if t.peer == new and t.ike is None]:
        mgr.start(tun, now)
    mgr.log(f"mobility: peer {old} -> {new} (BGP); {len(replace)} IKE SA(s) re-established")


def replaced(mgr: Manager, sa: IkeSa, now: float) -> None:
    """A new IKE SA to a moved peer is up: delete the ones it replaces."""
    for old_id, (old, addr) in list(mgr.replacing.items()):
        if addr == sa.remote[0] and old is not sa:
            del mgr.replacing[old_id]
            if old.state == IkeState.ESTABLISHED:
                mgr.daemon.delete_ike(old, now)


def peer_moved_by_ike(mgr: Manager, sa: IkeSa, old: tuple[str, int], new: tuple[str, int]) -> None:
    """An authenticated UPDATE_SA_ADDRESSES moved ``sa``'s peer (we are the responder)."""
    if old[0] != new[0]:
        _rekey_tunnels(mgr, _norm(old[0]), _norm(new[0]))
        mgr.on_moved(_norm(old[0]), _norm(new[0]))
    mgr.sad.peer_moved(old[0], new[0], new[1] if sa.encap else None)


def readdressed(mgr: Manager, sa: IkeSa, old: str) -> None:
    """``sa``'s peer authenticated from a new address; its config said ``old``."""
    old, new = _norm(old), _norm(sa.remote[0])
    _rekey_tunnels(mgr, old, new)
    mgr.on_moved(old, new)
    mgr.sad.peer_moved(old, new)
    mgr.log(f"mobility: peer {old} authenticated from {new}: its tunnels follow")
