"""The SA database: negotiated CHILD_SAs in, SA-installer calls out.

IKE reports :class:`~controller.ipsec.ike.events.ChildUp`/``ChildDown``; this
module picks SA indexes, installs both directions through the
:class:`~controller.ipsec.installer.SaInstaller` seam, and does a rekey
hitlessly (RFC 7296 2.8): new inbound first, then new outbound, then
``switch_outbound(old, new)``; the old pair stays installed for
``drain_seconds`` so packets already in flight under it still decrypt.

With ``switch_delay`` the outbound switch of a rekey waits that long: the new
inbound SA is announced at once (the app writes its P4 ``inbound_sa`` entry),
and both ends keep sending under the old SA until the other end's pipeline
surely accepts the new one. Without it the peer may send under the new SA
before our switch has the entry for it, and the pipeline drops those packets.
Every announcement lists all inbound indexes still accepted (current, new
and draining), so old inbound entries leave the switch only after the drain.

SA pairs with no IKE SA behind them are *orphans*: those a restarted daemon
inherits from a surviving engine (:meth:`SaDatabase.inherit`), and those of
a peer that restarted and sent INITIAL_CONTACT (:meth:`SaDatabase.orphan`;
its engine still runs them). An orphan keeps carrying its tunnel until the
first new CHILD_SA for that tunnel replaces it like a rekey, or until its
hold time ends.

It also remembers which SA currently carries each tunnel (peer black address,
tenant, CHILD_SA name), which is what the app writes into the P4 tables
(``on_change``), and maps the engine's expiry events back to CHILD_SAs.

A tunnel is keyed by the peer's black loopback (its identity, what BGP names as
tunnel endpoint); the SAs' remote address is where the peer's IKE SA actually
is, which differs when the peer is behind a NAT (its NAT's public address). The
announcement carries that address: it is the outer destination of transport-mode
ESP and the outer source the pipeline must accept.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from controller.ipsec.ike.child import ChildSa
from controller.ipsec.ike.wire.consts import Encr, Integ
from controller.ipsec.inherit import InheritedChild, InheritedPair, label_for
from controller.ipsec.installer import (
    SA_INDEX_MAX,
    SA_INDEX_MIN,
    CipherSuite,
    Direction,
    ExpiryEvent,
    ExpiryKind,
    IPAddress,
    Lifetime,
    Mode,
    SaInstaller,
    SaKeys,
    SaLabelling,
    SaParams,
    SaUpdate,
    UdpEncap,
)

TunnelKey = tuple[IPAddress, str | None, str]  # (peer black address, tenant, CHILD_SA name)


class SadError(ValueError):
    """A CHILD_SA the data path cannot carry (one-line reason)."""


_SUITES: dict[tuple[int, int, int], CipherSuite] = {
    (Encr.AES_GCM_16, 128, Integ.NONE): CipherSuite.AES_GCM_16_128,
    (Encr.AES_GCM_16, 256, Integ.NONE): CipherSuite.AES_GCM_16_256,
    (Encr.AES_CBC, 128, Integ.HMAC_SHA2_256_128): CipherSuite.AES_CBC_128_HMAC_SHA2_256_128,
    (Encr.AES_CBC, 256, Integ.HMAC_SHA2_256_128): CipherSuite.AES_CBC_256_HMAC_SHA2_256_128,
}


def suite_of(child: ChildSa) -> CipherSuite:
    suite = _SUITES.get((child.encr, child.key_bits, child.integ))
    if suite is None:
        what = f"{child.encr}/{child.key_bits}/{child.integ}"
        raise SadError(f"CHILD_SA {child.name}: ESP transform {what} is not in the engine")
    return suite


def keys_of(suite: CipherSuite, keymat: tuple[bytes, bytes]) -> SaKeys:
    encr, integ = keymat
    if suite.is_aead:
        return SaKeys(encr[: -suite.salt_len], encr[-suite.salt_len :])  # RFC 4106 8.1
    return SaKeys(encr, b"", integ)


@dataclass
class Installed:
    child: ChildSa | InheritedChild
    peer: IPAddress
    tenant: str | None
    in_index: int
    out_index: int
    remote_port: int
    remote: IPAddress  # the peer's transport address (its NAT's, when behind one)

    @property
    def key(self) -> TunnelKey:
        return (self.peer, self.tenant, self.child.name)


@dataclass(frozen=True)
class TunnelChange:
    """The SA index the pipeline should use for a tunnel (None: no SA any more)."""

    key: TunnelKey
    out_index: int | None
    in_index: int | None
    # every inbound index the pipeline should still accept (in_index first); empty: none
    inbound: tuple[int, ...] = ()
    remote: IPAddress | None = None  # the peer's transport address, when it has an SA


class SaDatabase:
    def __init__(
        self,
        installer: SaInstaller,
        local: IPAddress,
        drain_seconds: float = 2.0,
        on_change: Callable[[TunnelChange], None] = lambda change: None,
        log: Callable[[str], None] = lambda line: None,
        switch_delay: float = 0.0,
    ) -> None:
        self.installer = installer
        self.local = local
        self.drain_seconds = drain_seconds
        self.switch_delay = switch_delay
        self._pending: list[tuple[float, Installed, Installed]] = []  # (when, old, new)
        self._down: set[int] = set()  # id() of SAs IKE deleted while their switch was pending
        self._retired: set[int] = set()  # outbound indexes switched away from
        self.on_change = on_change
        self.log = log
        self._by_spi: dict[int, Installed] = {}  # by inbound SPI
        self._by_index: dict[int, Installed] = {}
        self.tunnels: dict[TunnelKey, Installed] = {}
        self._draining: list[tuple[float, Installed]] = []
        self._next_index = SA_INDEX_MIN
        # SA pairs with no IKE SA behind them (inherited from a previous daemon, or the
        # peer restarted and sent INITIAL_CONTACT): they keep carrying their tunnel
        # until IKE sets up a CHILD_SA for it, or until the deadline.
        self._orphans: dict[int, tuple[float, Installed]] = {}  # id(inst) ->

    # -- IKE events in -------------------------------------------------------------------

    def child_up(
        self,
        child: ChildSa,
        peer: IPAddress | str,
        now: float,
        replaces: ChildSa | None = None,
        tenant: str | None = None,
        remote_port: int = 4500,
        soft: Lifetime | None = None,
        hard: Lifetime | None = None,
        remote: IPAddress | str | None = None,
        spare: bool = False,
    ) -> Installed:
        """Install a CHILD_SA for the tunnel to ``peer`` (black loopback); its ESP goes to
        ``remote`` (default: the peer itself; behind NAT: the NAT's public address).

        A ``spare`` (the losing duplicate of a CHILD_SA both ends created at once, see
        controller/ipsec/collisions.py) only decrypts until it is deleted: the tunnel
        keeps the SA it has."""
        peer = ipaddress.ip_address(peer)
        where = ipaddress.ip_address(remote) if remote is not None else peer
        suite = suite_of(child)
        inst = Installed(child, peer, tenant, self._alloc(), 0, remote_port, where)
        inst.out_index = self._alloc()
        inbound = SaParams(
            Direction.INBOUND,
            child.spi_in,
            inst.in_index,
            self.local,
            where,
            suite,
            keys_of(suite, child.key_in),
            mode=Mode.TRANSPORT if child.transport else Mode.TUNNEL,
            udp_encap=UdpEncap(4500, remote_port) if child.encap else None,
            esn=child.esn,
            soft=soft or Lifetime(),
            hard=hard or Lifetime(),
        )
        outbound = dataclasses.replace(
            inbound,
            direction=Direction.OUTBOUND,
            spi=child.spi_out,
            sa_index=inst.out_index,
            keys=keys_of(suite, child.key_out),
        )
        self._add(inbound, label_for(peer, tenant, child.name, inst.out_index))
        try:  # inbound first: the peer may use the new SA at once
            self._add(outbound, label_for(peer, tenant, child.name, inst.in_index))
        except Exception:
            self.installer.delete_sa(inst.in_index)
            raise
        self._by_spi[child.spi_in] = inst
        self._by_index[inst.in_index] = self._by_index[inst.out_index] = inst
        old = self._by_spi.get(replaces.spi_in) if replaces is not None else None
        current = self.tunnels.get(inst.key)
        if spare and current is not None and old is None:
            self._announce(inst.key)  # its inbound index is accepted too
            self.log(f"SAD: {child} installed as in={inst.in_index} out={inst.out_index} (spare)")
            return inst
        if old is None and current is not None and id(current) in self._orphans:
            # the first CHILD_SA for an orphaned tunnel replaces it like a rekey would
            old = current
            self._orphans.pop(id(current))
            self._down.add(id(old))  # no IKE will delete it: drain once replaced
            if self.switch_delay <= 0:
                self._draining.append((now + self.drain_seconds, old))
                self._down.discard(id(old))
        if old is not None and current is old and self.switch_delay > 0:
            self._pending.append((now + self.switch_delay, old, inst))
            self._announce(inst.key)  # the new inbound entry, before anyone sends on it
        elif old is not None and current is old:
            self.installer.switch_outbound(old.out_index, inst.out_index)
            self._retired.add(old.out_index)
        if old is None or current is None or (current is old and self.switch_delay <= 0):
            self.tunnels[inst.key] = inst
            self._announce(inst.key)
        self.log(f"SAD: {child} installed as in={inst.in_index} out={inst.out_index}")
        return inst

    def child_down(self, child: ChildSa, now: float) -> None:
        """The CHILD_SA is gone from IKE; its SAs leave after the drain time."""
        inst = self._by_spi.get(child.spi_in)
        if inst is not None:
            self._down_inst(inst, now)

    def orphan(self, child: ChildSa, now: float, hold: float) -> None:
        """The CHILD_SA's IKE SA is gone but the peer still uses its SAs (it restarted and
        sent INITIAL_CONTACT, RFC 7296 2.4): keep them until a new CHILD_SA takes over."""
        inst = self._by_spi.get(child.spi_in)
        if inst is None:
            return
        pending = any(old is inst for _, old, _ in self._pending)
        if self.tunnels.get(inst.key) is not inst or pending:
            self._down_inst(inst, now)  # not what carries the tunnel: as before
            return
        self._orphans[id(inst)] = (now + hold, inst)
        self.log(f"SAD: {child} kept until the restarted peer replaces it")

    def inherit(self, pairs: list[InheritedPair], now: float, hold: float) -> None:
        """SA pairs a previous daemon left in the engine: the newest per tunnel keeps
        carrying it (until replaced, at most ``hold`` seconds), the others drain."""
        for pair in pairs:
            inst = Installed(
                pair.child, pair.peer, pair.tenant, pair.in_index, pair.out_index,
                pair.remote_port, pair.remote,
            )  # fmt: skip
            self._by_spi[pair.child.spi_in] = inst
            self._by_index[inst.in_index] = self._by_index[inst.out_index] = inst
            self._next_index = max(self._next_index, inst.in_index + 1, inst.out_index + 1)
            if pair.retired:
                self._retired.add(inst.out_index)
                self._draining.append((now + self.drain_seconds, inst))
                continue
            previous = self.tunnels.get(inst.key)
            if previous is not None:  # two live pairs for a tunnel: keep the newer one
                self._orphans.pop(id(previous), None)
                self._draining.append((now + self.drain_seconds, previous))
            self.tunnels[inst.key] = inst
            self._orphans[id(inst)] = (now + hold, inst)
            self.log(f"SAD: inherited {pair.child} as in={inst.in_index} out={inst.out_index}")
        if self._next_index > SA_INDEX_MAX:
            self._next_index = SA_INDEX_MIN
        for key in list(self.tunnels):
            self._announce(key)

    def _down_inst(self, inst: Installed, now: float) -> None:
        self._orphans.pop(id(inst), None)
        if any(old is inst for _, old, _ in self._pending):
            self._down.add(id(inst))  # drained once its successor carries the traffic
            return
        stranded = []
        for entry in [e for e in self._pending if e[2] is inst]:
            self._pending.remove(entry)  # the successor died before taking over
            if id(entry[1]) in self._down:  # and its predecessor has no IKE SA either
                self._down.discard(id(entry[1]))
                stranded.append(entry[1])
        self._drop(inst, now)
        for old in stranded:
            self._drop(old, now)

    def _drop(self, inst: Installed, now: float) -> None:
        if self.tunnels.get(inst.key) is inst:
            del self.tunnels[inst.key]
            draining = {id(i) for _, i in self._draining}
            # the newest other SA pair of the tunnel, never one already switched away
            # from (a rekey's old SA: the engine refuses to switch back to it)
            spares = [
                i
                for i in self._by_spi.values()
                if i is not inst
                and i.key == inst.key
                and id(i) not in draining
                and i.out_index not in self._retired
            ]
            spare = spares[-1] if spares else None
            if spare is None:  # no other SA for this tunnel: it has none now
                self.on_change(TunnelChange(inst.key, None, None))
                self._remove(inst)
                return
            # another SA pair serves the same tunnel (a duplicate IKE SA's): use it
            self.tunnels[inst.key] = spare
            self.installer.switch_outbound(inst.out_index, spare.out_index)
            self._retired.add(inst.out_index)
            self._announce(inst.key)
        self._draining.append((now + self.drain_seconds, inst))

    def tick(self, now: float) -> None:
        for deadline, inst in list(self._orphans.values()):
            if deadline <= now:
                self.log(f"SAD: {inst.child} was not replaced in time: removing it")
                self._down_inst(inst, now)
        for entry in [e for e in self._pending if e[0] <= now]:
            self._pending.remove(entry)
            _, old, new = entry
            if self.tunnels.get(old.key) is old and new.child.spi_in in self._by_spi:
                self.installer.switch_outbound(old.out_index, new.out_index)
                self._retired.add(old.out_index)
                self.tunnels[old.key] = new
                self._announce(old.key)
            if id(old) in self._down:
                self._down.discard(id(old))
                self._draining.append((now + self.drain_seconds, old))
        due = [i for t, i in self._draining if t <= now]
        self._draining = [(t, i) for t, i in self._draining if t > now]
        for inst in due:
            self._remove(inst)

    def _add(self, params: SaParams, label: dict[str, str | int | None]) -> None:
        if isinstance(self.installer, SaLabelling):  # an engine process: label for a restart
            self.installer.add_labelled_sa(params, label)
        else:
            self.installer.add_sa(params)

    def _remove(self, inst: Installed) -> None:
        for index in (inst.out_index, inst.in_index):
            self.installer.delete_sa(index)
            self._by_index.pop(index, None)
        self._retired.discard(inst.out_index)
        self._by_spi.pop(inst.child.spi_in, None)
        self.log(f"SAD: removed SAs {inst.in_index}/{inst.out_index} of {inst.child.name}")
        if inst.key in self.tunnels:
            self._announce(inst.key)  # its inbound index is no longer accepted

    def _announce(self, key: TunnelKey) -> None:
        """Tell the app the tunnel's current SA and every inbound index it still accepts."""
        cur = self.tunnels.get(key)
        if cur is None:
            return
        others = sorted(
            {i.in_index for i in self._by_spi.values() if i.key == key and i is not cur}
        )
        inbound = (cur.in_index, *others)
        self.on_change(TunnelChange(key, cur.out_index, cur.in_index, inbound, cur.remote))

    # -- engine events in ------------------------------------------------------------------

    def expiry(self, event: ExpiryEvent) -> tuple[ExpiryKind, int] | None:
        """(kind, inbound SPI of the CHILD_SA) for an engine expiry; None if stale."""
        inst = self._by_index.get(event.sa_index)
        if inst is None or inst.child.spi_in not in self._by_spi:
            return None
        return event.kind, inst.child.spi_in

    # -- mobility ----------------------------------------------------------------------------

    def peer_moved(
        self, old: IPAddress | str, new: IPAddress | str, remote_port: int | None = None
    ) -> int:
        """Point every SA of a peer at its new black address; returns how many moved."""
        old, new = ipaddress.ip_address(old), ipaddress.ip_address(new)
        moved = 0
        for inst in {id(i): i for i in self._by_spi.values()}.values():
            if inst.peer != old:
                continue
            port = remote_port or inst.remote_port
            encap = UdpEncap(4500, port) if inst.child.encap else None
            for index in (inst.in_index, inst.out_index):
                self.installer.update_sa(index, SaUpdate(remote=new, udp_encap=encap))
            key = inst.key
            inst.peer, inst.remote, inst.remote_port = new, new, port
            if self.tunnels.get(key) is inst:
                del self.tunnels[key]
                self.tunnels[inst.key] = inst
                self.on_change(TunnelChange(key, None, None))
                self._announce(inst.key)
            moved += 1
        return moved

    def local_moved(self, new: IPAddress | str) -> int:
        """Our own black address changed: every installed SA now uses it; returns how many."""
        self.local = ipaddress.ip_address(new)
        pairs = {id(i): i for i in self._by_spi.values()}
        pairs |= {id(i): i for _, i in self._draining}
        for inst in pairs.values():
            for index in (inst.in_index, inst.out_index):
                self.installer.update_sa(index, SaUpdate(local=self.local))
        return len(pairs)

    def remote_moved(self, peer: IPAddress | str, new: IPAddress | str, remote_port: int) -> int:
        """The peer's NAT mapping changed (RFC 7296 2.23): its SAs now go to ``new``."""
        peer, new = ipaddress.ip_address(peer), ipaddress.ip_address(new)
        moved = 0
        for inst in {id(i): i for i in self._by_spi.values()}.values():
            if inst.peer != peer or (inst.remote, inst.remote_port) == (new, remote_port):
                continue
            encap = UdpEncap(4500, remote_port) if inst.child.encap else None
            for index in (inst.in_index, inst.out_index):
                self.installer.update_sa(index, SaUpdate(remote=new, udp_encap=encap))
            inst.remote, inst.remote_port = new, remote_port
            if self.tunnels.get(inst.key) is inst:
                self._announce(inst.key)
            moved += 1
        return moved

    def installed(self) -> list[Installed]:
        """Every SA pair in the engine (current, spare, rekeyed or draining)."""
        return list({id(i): i for i in self._by_spi.values()}.values())

    def outbound_index(
        self, peer: IPAddress | str, tenant: str | None = None, child: str = "mpls"
    ) -> int | None:
        inst = self.tunnels.get((ipaddress.ip_address(peer), tenant, child))
        return inst.out_index if inst else None

    def _alloc(self) -> int:
        for _ in range(SA_INDEX_MAX):
            index = self._next_index
            self._next_index = index + 1 if index < SA_INDEX_MAX else SA_INDEX_MIN
            if index not in self._by_index and all(
                index not in (i.in_index, i.out_index) for _, i in self._draining
            ):
                return index
        raise SadError("all 65535 SA indexes are in use")
