"""Two targets side by side with the same switch state, for differential testing.

Both run ``p4src/cpe.p4`` (p4sim from source; BMv2 from p4c-bm2-ss's JSON;
with SL3VPN_PROGRAM=tna p4sim runs ``p4src/cpe_tna.p4`` against cpe.p4 on BMv2),
each with its own P4Runtime session, PTF dataplane and ESP engine. The
feature helpers write through :class:`_Both`, so every table entry goes to
both switches and every SA, with the same keys, into both engines: the
engines then encrypt identically (AES-GCM's IV is the sequence number), and
as long as both see the same inputs in the same order their outputs must be
byte-identical. Each stimulus runs on both at once (one thread each).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    DATA_PORTS,
    RED_A1,
    V4,
    V6,
    VRF_A,
    Cpe,
    Tunnel,
    host_mac,
)
from bmv2_tests.lib.outcome import Outcome, Prober, Stimulus
from bmv2_tests.lib.session import cpe_session, start_kind
from bmv2_tests.lib.target import RunningTarget, program_kind
from controller.ipsec.installer import SaParams
from controller.p4rt import TableEntry

# Counters compared whole after a run (every cell, packets and bytes).
COUNTERS = (
    "drop_counter", "punt_counter", "port_rx_counter", "port_tx_counter",
    "sa_tx_counter", "sa_rx_counter",
)  # fmt: skip


class _Both:
    """What the feature helpers write to, fanned out to both switches and both engines."""

    def __init__(self, cpes: tuple[Cpe, Cpe]) -> None:
        self.cpes = cpes
        self.lock = contextlib.nullcontext()  # each engine is locked in add_sa
        self.engine = self

    def insert(self, entries: list[TableEntry]) -> None:
        for cpe in self.cpes:
            cpe.sw.insert(entries)

    def add_sa(self, params: SaParams) -> None:
        for cpe in self.cpes:
            with cpe.crypto.lock:
                cpe.crypto.engine.add_sa(params)


@dataclass
class Twin:
    names: tuple[str, str]
    cpes: tuple[Cpe, Cpe]
    probers: tuple[Prober, Prober]
    tunnels: list[Tunnel]
    pool: ThreadPoolExecutor

    def run(self, stim: Stimulus) -> tuple[Outcome, Outcome]:
        """The stimulus on both targets at once; each one's outcome."""
        futures = [self.pool.submit(p.run, stim) for p in self.probers]
        return futures[0].result(), futures[1].result()

    def counters(self, index: int) -> dict[str, dict[int, tuple[int, int]]]:
        """Every cell of COUNTERS on one target: (packets, bytes) by index."""
        cells = self.cpes[index].sw.counter_cells(*COUNTERS)
        if program_kind() == "tna":
            # TNA counts TX bytes as the frame leaves, v1model as it was received
            # (p4src/README.md): across the two programs only the packets compare.
            tx = cells["port_tx_counter"]
            cells["port_tx_counter"] = {port: (pkts, 0) for port, (pkts, _) in tx.items()}
        return cells

    def sa_indexes(self) -> list[int]:
        return [p.sa_index for t in self.tunnels for p in (t.out_params, t.in_params)]


def set_up_realistic_state(cpe: Cpe) -> list[Tunnel]:
    """Two VRFs (one on a trunk VLAN), IPv4 and IPv6, a tunnel per family, control SPD."""
    tunnels = []
    for fam in (V4, V6):
        cpe.set_up_vrf_a(fam)
        cpe.set_up_vrf_b(fam)
        cpe.set_up_black(fam)
        tunnel = cpe.set_up_tunnel(fam, tunnel_id=fam.version, udp=fam.version == 6)
        tunnels.append(tunnel)
        label = 100 + fam.version
        cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, label, tunnel.tunnel_id)
        cpe.set_up_vpn_label(label, VRF_A)
        spd = "spd_v4" if fam.version == 4 else "spd_v6"
        dst = "ipv4_dst" if fam.version == 4 else "ipv6_dst"
        full = (1 << (32 if fam.version == 4 else 128)) - 1
        cpe.insert(
            TableEntry(
                spd,
                {dst: (fam.peer_loopback, full), "l4_dport": (179, 0xFFFF)},
                "spd_protect",
                {"sa_index": tunnel.out_params.sa_index},
                priority=10,
            ),
            TableEntry(spd, {"l4_dport": (500, 0xFFFF)}, "spd_bypass", priority=5),
            TableEntry(spd, {"l4_dport": (0, 0)}, "spd_discard", priority=1),
        )
    # The ARP/NS seeds of fuzzframes.py come from neighbours the controller knows.
    cpe.set_up_neighbour_answer(RED_A1, VRF_A, V4.our_red_addr, V4.tenant_host1, host_mac(RED_A1))
    cpe.set_up_neighbour_answer(RED_A1, VRF_A, V6.our_red_addr, "fe80::2", host_mac(RED_A1))
    cpe.set_up_neighbour_answer(BLACK, 0, V4.our_black_if, "203.0.113.254", BLACK_GW_MAC)
    cpe.set_up_neighbour_answer(BLACK, 0, V6.our_black_if, "fe80::1", BLACK_GW_MAC, router=0)
    # A subnet of VRF A also reachable in VRF B through a red port: route leaking
    # is configuration, not a leak, and exercises the nexthop's own VRF.
    cpe.set_up_local_host(V4, 20, "10.77.0.0/16", RED_A1, port_vrf=VRF_A)
    return tunnels


@contextlib.contextmanager
def twin_targets(workdir: Path, kinds: tuple[str, str]) -> Iterator[Twin]:
    """Start both targets, push the pipeline, write the same state to both."""
    with contextlib.ExitStack() as stack:
        cpes = []
        for i, kind in enumerate(kinds):
            target: RunningTarget = start_kind(kind, workdir / f"{i}-{kind}")
            stack.callback(target.stop)
            cpes.append(stack.enter_context(cpe_session(target)))
        pair = (cpes[0], cpes[1])
        both = Cpe(_Both(pair), None, _Both(pair))  # type: ignore[arg-type]
        tunnels = set_up_realistic_state(both)
        pool = stack.enter_context(ThreadPoolExecutor(2, thread_name_prefix="twin"))
        probers = (Prober(pair[0], DATA_PORTS), Prober(pair[1], DATA_PORTS))
        yield Twin(kinds, pair, probers, tunnels, pool)
