"""The daemon's state as JSON-able records, for the control API and ``sl3vpn show``.

Method names and record shapes follow ``controller/api``'s ``StatusSource``
(vrfs, routes, bgp, sas, tunnels, tables, counters, drops). No key material:
SAs are described by SPI, index and suite only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from pathlib import Path
from typing import Any

from controller.api.source import DROP_REASONS
from controller.app.controlplane import ControlPlane
from controller.app.desired import DesiredState
from controller.app.switchlink import SwitchLink
from controller.app.switchsync import SwitchSync
from controller.bgp.show import sessions_data
from controller.config import Config
from controller.ipsec.handle import read_handle
from controller.p4rt import CounterEntry

log = logging.getLogger("sl3vpn.status")
Record = dict[str, Any]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DaemonStatus:
    def __init__(
        self,
        cfg: Config,
        state: DesiredState,
        plane: ControlPlane,
        sync: SwitchSync,
        link: SwitchLink,
    ) -> None:
        self.cfg, self.state = cfg, state
        self.plane, self.sync, self.link = plane, sync, link

    def vrfs(self) -> list[Record]:
        cfg, state = self.cfg, self.state
        return [
            {
                "name": v.name,
                "vrf_id": state.vrf_ids.get(v.name),
                "rd": v.rd,
                "import_rts": list(v.import_rts),
                "export_rts": list(v.export_rts),
                "label_mode": v.label_mode,
                "ports": [p.label for p in cfg.switch.by_role("red") if p.vrf == v.name],
                "routes": sum(1 for (name, _) in state.routes if name == v.name),
            }
            for v in cfg.vrfs
        ]

    def routes(self, vrf: str | None = None, family: str | None = None) -> list[Record]:
        state, comp = self.state, self.plane.composer
        out: list[Record] = []
        for (name, prefix), r in sorted(state.routes.items(), key=lambda kv: str(kv[0])):
            if (vrf and name != vrf) or (family and family != f"ipv{prefix.version}"):
                continue
            installed = r.local or (str(r.endpoint), r.tenant) in state.sas
            ev = comp.last_event.get((name, prefix))
            nh = ev.next_hop if ev is not None and not r.local else None
            out.append(
                {
                    "vrf": name,
                    "prefix": str(prefix),
                    "family": f"ipv{prefix.version}",
                    "local": r.local,
                    "next_hop": str(ev.next_hop) if ev and ev.next_hop else None,
                    "label": r.label,
                    "rd": ev.rd if ev and ev.rd else None,
                    "verdict": "local" if r.local else "resolved",
                    "tunnel_endpoint": str(r.endpoint) if r.endpoint else None,
                    "installed": installed,
                    "spoof": self._spoof_marks(nh),
                }
            )
        rejected: list[Record] = comp.status()["rejected"]  # type: ignore[assignment]
        for rej in rejected:
            fam = "ipv6" if ":" in rej["prefix"] else "ipv4"
            if (vrf and rej["vrf"] != vrf) or (family and fam != family):
                continue
            nh = ipaddress.ip_address(rej["next_hop"]) if rej["next_hop"] else None
            out.append(
                {**rej, "local": False, "installed": False, "label": None}
                | {"spoof": self._spoof_marks(nh)}
            )
        return out

    def _spoof_marks(self, next_hop: IPAddress | None) -> list[str]:
        """Black routes that cover this red next hop: spoof attempts (draft 4)."""
        if next_hop is None or self.plane.bgp is None:
            return []
        return [a.describe() for a in self.plane.bgp.core.spoof_watch.covering(next_hop)]

    def bgp(self) -> list[Record]:
        if self.plane.bgp is None:
            return []
        return sessions_data(self.plane.bgp.core, transport_of=self.plane.bgp.transport_of)

    def sas(self) -> Record:
        ipsec = self.plane.ipsec
        if ipsec is None:
            return {"ike": [], "child": []}
        ike = [
            {
                "local": f"{sa.local[0]}:{sa.local[1]}",
                "remote": f"{sa.remote[0]}:{sa.remote[1]}",
                "state": str(sa.state.name).lower(),
                "initiator": sa.initiator,
                "spi_i": int.from_bytes(sa.spi_i, "big"),
                "spi_r": int.from_bytes(sa.spi_r, "big"),
                "children": len(sa.children),
            }
            for sa in ipsec.daemon.sas.values()
        ]
        child = []
        for (peer, tenant, name), inst in sorted(ipsec.sad.tunnels.items(), key=str):
            c_in = self.plane.engine.counters(inst.in_index)
            c_out = self.plane.engine.counters(inst.out_index)
            child.append(
                {
                    "name": name,
                    "peer": str(peer),
                    "tenant": tenant,
                    "spi_in": inst.child.spi_in,
                    "spi_out": inst.child.spi_out,
                    "sa_in": inst.in_index,
                    "sa_out": inst.out_index,
                    "mode": "transport" if inst.child.transport else "tunnel",
                    "nat_t": inst.child.encap,
                    "packets_in": c_in.packets,
                    "bytes_in": c_in.bytes,
                    "packets_out": c_out.packets,
                    "bytes_out": c_out.bytes,
                    "errors": {str(k): v for k, v in c_in.errors.items()},
                }
            )
        return {"ike": ike, "child": child}

    def tunnels(self) -> list[Record]:
        state, comp = self.state, self.plane.composer
        wanted = {(str(r.endpoint), r.tenant) for r in state.routes.values() if r.endpoint}
        out = []
        for peer, tenant in sorted(wanted | set(state.sas), key=str):
            pair = state.sas.get((peer, tenant))
            # per-tenant tunnels: that tenant's route (its red loopback's handle)
            ev = next(
                (
                    e
                    for e in comp.last_event.values()
                    if str(e.tunnel_endpoint) == peer and tenant in (None, e.vrf)
                ),
                None,
            )
            handle = ev.security_handle if ev is not None else None
            out.append(
                {
                    "remote": str(ev.next_hop) if ev and ev.next_hop else None,
                    "endpoint": peer,
                    "tenant": tenant,
                    "security_handle_len": len(handle) if handle is not None else None,
                    "security_handle": read_handle(handle).describe() if handle else None,
                    "outer": str(pair.outer) if pair and pair.outer else None,
                    "tunnel_id": state.tunnel_ids.peek((peer, tenant)),
                    "sa_out": pair.out_index if pair else None,
                    "sa_in": pair.in_index if pair else None,
                    "child_sa": (f"mpls-{tenant}" if tenant else "mpls") if pair else None,
                    "verdict": "resolved" if pair else "no-sa",
                    "via": None,
                }
            )
        return out

    def tables(self) -> list[str]:
        """What the daemon last wrote to the switch (its desired state while none)."""
        client = self.link.client
        if client is None or client.codec is None:
            return []
        last = self.sync.writer.last
        # view(), not entries(): a rebuild here could choose ids before the writer has
        # read the switch (adopt_ids), and it is what the held-deletes rounds wrote
        entries = list(last.values()) if last is not None else list(self.state.view().values())
        return sorted(client.entry_string(e) for e in entries)

    async def _counter(self, name: str) -> dict[int, tuple[int, int]]:
        client = self.link.client
        if client is None:
            return {}
        out = {}
        for ent in await client.read([CounterEntry(name)]):
            assert isinstance(ent, CounterEntry)
            if ent.data is not None and ent.index is not None and ent.data.packets:
                out[ent.index] = (ent.data.packets, ent.data.bytes)
        return out

    async def drops(self) -> list[Record]:
        cells = await self._counter("drop_counter")
        return [
            {"reason": DROP_REASONS.get(i, str(i)), "code": i, "packets": p, "bytes": b}
            for i, (p, b) in sorted(cells.items())
        ]

    async def counters(self) -> Record:
        vrf_cells = await self._counter("vrf_counter")
        ids = {self.state.vrf_ids.get(v.name): v.name for v in self.cfg.vrfs}
        rx = await self._counter("port_rx_counter")
        tx = await self._counter("port_tx_counter")
        ports = []
        for port in self.cfg.switch.ports:
            if port.vlan is not None:
                continue
            r, t = rx.get(port.port, (0, 0)), tx.get(port.port, (0, 0))
            ports.append(
                {
                    "port": port.port,
                    "name": port.label,
                    "role": port.role,
                    "rx_packets": r[0],
                    "rx_bytes": r[1],
                    "tx_packets": t[0],
                    "tx_bytes": t[1],
                }
            )
        return {
            "vrf": [
                {"vrf": ids.get(i, str(i)), "vrf_id": i, "packets": p, "bytes": b}
                for i, (p, b) in sorted(vrf_cells.items())
            ],
            "sa": self._sa_counters(),
            "port": ports,
            "writes": {**self.sync.writer.totals, "errors": self.sync.write_errors},
            "composer": self.plane.composer.status()["counters"],
        }

    def _sa_counters(self) -> list[Record]:
        """Per-SA packets/bytes as the ESP engine counted them (after the crypto pass)."""
        ipsec = self.plane.ipsec
        if ipsec is None:
            return []
        out = []
        for (peer, _tenant, _name), inst in sorted(ipsec.sad.tunnels.items(), key=str):
            for direction, index, spi in (
                ("in", inst.in_index, inst.child.spi_in),
                ("out", inst.out_index, inst.child.spi_out),
            ):
                c = self.plane.engine.counters(index)
                out.append(
                    {
                        "sa_index": index,
                        "direction": direction,
                        "spi": spi,
                        "peer": str(peer),
                        "packets": c.packets,
                        "bytes": c.bytes,
                        "errors": {str(k): v for k, v in c.errors.items()},
                    }
                )
        return out

    async def snapshot(self) -> Record:
        return {
            "node": self.cfg.node.name,
            "time": time.time(),
            "switch": {
                "target": self.cfg.switch.kind,
                "pid": self.link.sim.proc.pid if self.link.sim and self.link.sim.proc else None,
                "primary": self.link.client.is_primary if self.link.client else False,
                "restarts": self.link.restarts,
                "hold_deletes": self.sync.hold_deletes,
            },
            "vrfs": self.vrfs(),
            "routes": self.routes(),
            "bgp": self.bgp(),
            "sas": self.sas(),
            "tunnels": self.tunnels(),
            "tables": self.tables(),
            "counters": await self.counters(),
            "drops": await self.drops(),
            # C-PEs a route reflector admitted by certificate (draft 3.2)
            "discovered": self.plane.discovery.status() if self.plane.discovery else [],
        }

    async def dump(self, path: Path) -> None:
        """Write the snapshot atomically (the lab and tests read it)."""
        try:
            doc = await self.snapshot()
        except Exception as exc:  # a switch hiccup must not stop the dumps
            log.debug("status snapshot failed: %s", exc)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1, default=str))
        tmp.replace(path)
