"""Mobility in the SA database: the SAs follow a peer, or us, to a new address.

Three kinds of move, each a batch of ``update_sa`` calls on the installer (SA
indexes and keys stay, so no packet in flight is lost to a re-install):

* the peer's black loopback moved (BGP or MOBIKE, RFC 4555): its tunnels are
  keyed anew by the new address, and the app is told;
* our own black address moved: every installed SA gets the new local address;
* the peer's NAT mapping changed (RFC 7296 2.23): its SAs send to the new
  transport address and port; the tunnel keys stay.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Protocol

from controller.ipsec.installer import IPAddress, SaInstaller, SaUpdate, UdpEncap
from controller.ipsec.sa_pairs import Installed, TunnelChange, TunnelKey


class SaDatabase(Protocol):
    """What a move needs of ``sad.SaDatabase`` (which imports this module)."""

    local: IPAddress
    installer: SaInstaller
    tunnels: dict[TunnelKey, Installed]
    on_change: Callable[[TunnelChange], None]

    def announce(self, key: TunnelKey) -> None: ...

    def installed(self) -> list[Installed]: ...

    def draining(self) -> list[Installed]: ...


def peer_moved(
    db: SaDatabase, old: IPAddress | str, new: IPAddress | str, remote_port: int | None = None
) -> int:
    old, new = ipaddress.ip_address(old), ipaddress.ip_address(new)
    moved = 0
    for inst in db.installed():
        if inst.peer != old:
            continue
        port = remote_port or inst.remote_port
        encap = UdpEncap(4500, port) if inst.child.encap else None
        for index in (inst.in_index, inst.out_index):
            db.installer.update_sa(index, SaUpdate(remote=new, udp_encap=encap))
        key = inst.key
        inst.peer, inst.remote, inst.remote_port = new, new, port
        if db.tunnels.get(key) is inst:
            del db.tunnels[key]
            db.tunnels[inst.key] = inst
            db.on_change(TunnelChange(key, None, None))
            db.announce(inst.key)
        moved += 1
    return moved


def local_moved(db: SaDatabase, new: IPAddress | str) -> int:
    db.local = ipaddress.ip_address(new)
    pairs = {id(i): i for i in (*db.installed(), *db.draining())}
    for inst in pairs.values():
        for index in (inst.in_index, inst.out_index):
            db.installer.update_sa(index, SaUpdate(local=db.local))
    return len(pairs)


def remote_moved(
    db: SaDatabase, peer: IPAddress | str, new: IPAddress | str, remote_port: int
) -> int:
    peer, new = ipaddress.ip_address(peer), ipaddress.ip_address(new)
    moved = 0
    for inst in db.installed():
        if inst.peer != peer or (inst.remote, inst.remote_port) == (new, remote_port):
            continue
        encap = UdpEncap(4500, remote_port) if inst.child.encap else None
        for index in (inst.in_index, inst.out_index):
            db.installer.update_sa(index, SaUpdate(remote=new, udp_encap=encap))
        inst.remote, inst.remote_port = new, remote_port
        if db.tunnels.get(inst.key) is inst:
            db.announce(inst.key)
        moved += 1
    return moved
