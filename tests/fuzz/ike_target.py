"""The IKE listener under fuzz: our IKEv2 daemon on real UDP sockets, and its seeds.

The target answers on ``127.0.0.1`` ports 500 and 4500 (so the run needs its own
network namespace, see ``run.py``). It has one configured peer, the good peer
``127.0.0.2``, which keeps an IKE SA with it and checks liveness every second;
like the product's configs (NAT traversal on) it takes IKE_SA_INIT from any
address and picks the config by authenticated identity, so fuzz sources reach
the responder code.
"""

from __future__ import annotations

import socket

from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.config import IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.tunnels import mpls_child

TARGET, GOOD = "127.0.0.1", "127.0.0.2"
PSK = b"fuzz-run-psk-not-a-secret-0123"


def config(me: str, peer: str, dpd: float | None) -> IkeConfig:
    return IkeConfig(
        f"to-{peer}",
        me,
        peer,
        psk=PSK,
        children=[mpls_child(me, peer)],
        lifetimes=Lifetimes(None, None),
        dpd_seconds=dpd,
        retransmit_base=0.5,
        any_address=True,
    )


def sockets(addr: str) -> dict[int, socket.socket]:
    out = {}
    for port in (500, 4500):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
        out[port] = s
    return out


def service(me: str, peer: str, dpd: float | None, log: list[str]) -> IkeService:
    return IkeService(IkeDaemon([config(me, peer, dpd)], log=log.append), me)


def seeds() -> list[tuple[str, bytes]]:
    """IKE_SA_INIT from a fresh initiator, and the IKE_AUTH of a whole exchange run in
    process (its SPIs are unknown to the target: an out-of-state message)."""
    ini = IkeDaemon([config("127.0.0.9", TARGET, None)])
    resp = IkeDaemon([config(TARGET, "127.0.0.9", None)])
    ini.initiate(f"to-{TARGET}", ("127.0.0.9", 500), (TARGET, 500), 0.0)
    out: list[tuple[str, bytes]] = []
    names = ["ike_sa_init", "ike_auth", "informational"]
    for _ in range(6):
        for node, other in ((ini, resp), (resp, ini)):
            dgs, _ = node.drain()
            for dg in dgs:
                if node is ini and names:
                    out.append((names.pop(0), dg.data))
                other.receive(dg.data, dg.src, dg.dst, 0.0)
    (sa,) = ini.established()
    ini.delete_ike(sa, 1.0)  # an INFORMATIONAL with a Delete
    dgs, _ = ini.drain()
    out += [("informational", dg.data) for dg in dgs]
    return out


def fix_length(data: bytes) -> bytes:
    """Repair the IKE header's length field so the payload parsers are reached."""
    if len(data) < 28:
        return data
    return data[:24] + len(data).to_bytes(4, "big") + data[28:]
