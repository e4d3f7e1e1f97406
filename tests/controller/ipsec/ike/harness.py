"""Two IKE daemons in one process on an explicit clock, joined by a lossy 'network'."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from controller.ipsec.ike.config import ChildConfig, IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.events import Event
from controller.ipsec.ike.sa import Datagram, IkeSa
from controller.ipsec.ike.wire.ts import TrafficSelector

A_ADDR, B_ADDR = "192.0.2.1", "198.51.100.2"
PSK = b"correct horse battery staple"


def transport_child(local: str, remote: str, name: str = "mpls") -> ChildConfig:
    return ChildConfig(
        name,
        [TrafficSelector.host(local, 137)],
        [TrafficSelector.host(remote, 137)],
        ["aes128gcm16"],
        transport=True,
        lifetimes=Lifetimes(rekey_seconds=600, life_seconds=700),
    )


def psk_config(me: str, peer: str, **kw: object) -> IkeConfig:
    cfg = IkeConfig(
        name=f"to-{peer}",
        local_id=me,
        remote_id=peer,
        psk=PSK,
        children=[transport_child(me, peer)],
        lifetimes=Lifetimes(rekey_seconds=3000, life_seconds=3300),
    )
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


@dataclass
class Net:
    """Carries datagrams between daemons by destination address; the tests set its faults."""

    nodes: dict[str, IkeDaemon]
    now: float = 0.0
    drop: Callable[[Datagram], bool] = lambda d: False
    duplicate: bool = False
    reorder: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    events: dict[str, list[tuple[IkeSa, Event]]] = field(default_factory=dict)
    nat: Callable[[Datagram], Datagram] | None = None  # rewrites addresses in flight
    sent: list[Datagram] = field(default_factory=list)

    def pump(self, rounds: int = 50) -> None:
        """Deliver until quiet (no timers advanced)."""
        for _ in range(rounds):
            batch: list[tuple[str, Datagram]] = []
            for name, d in self.nodes.items():
                out, ev = d.drain()
                self.events.setdefault(name, []).extend(ev)
                batch += [(name, x) for x in out]
            if not batch:
                return
            if self.reorder:
                self.rng.shuffle(batch)
            for _, dg in batch:
                self.sent.append(dg)
                if self.drop(dg):
                    continue
                if self.nat is not None:
                    dg = self.nat(dg)
                copies = 2 if self.duplicate else 1
                for _ in range(copies):
                    self.nodes[dg.dst[0]].receive(dg.data, dg.src, dg.dst, self.now)

    def advance(self, seconds: float, step: float = 0.5) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now = min(end, self.now + step)
            for d in self.nodes.values():
                d.tick(self.now)
            self.pump()

    def kinds(self, name: str) -> list[str]:
        return [type(e).__name__ for _, e in self.events.get(name, [])]


def pair(a_kw: dict | None = None, b_kw: dict | None = None) -> tuple[Net, IkeDaemon, IkeDaemon]:
    a = IkeDaemon([psk_config(A_ADDR, B_ADDR, **(a_kw or {}))])
    b = IkeDaemon([psk_config(B_ADDR, A_ADDR, **(b_kw or {}))])
    return Net({A_ADDR: a, B_ADDR: b}), a, b


def connect(net: Net, a: IkeDaemon) -> IkeSa:
    sa = a.initiate(f"to-{B_ADDR}", (A_ADDR, 500), (B_ADDR, 500), net.now)
    net.pump()
    return sa
