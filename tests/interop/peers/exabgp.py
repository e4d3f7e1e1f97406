"""ExaBGP 4.2 as a peer that injects arbitrary UPDATEs, driven through its API."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, ClassVar

from .daemon import Daemon

_FAMILY = {
    "ipv4": "ipv4 unicast;",
    "ipv6": "ipv6 unicast;",
    "vpnv4": "ipv4 mpls-vpn;",
    "vpnv6": "ipv6 mpls-vpn;",
}


class ExaBgp(Daemon):
    NAME: ClassVar[str] = "exabgp"
    BINARIES: ClassVar[tuple[str, ...]] = ("exabgp",)

    @property
    def fifo(self) -> Path:
        return self.workdir / "commands.fifo"

    @property
    def events_path(self) -> Path:
        return self.workdir / "events.jsonl"

    def write_config(self) -> None:
        s = self.spec
        if not self.fifo.exists():
            os.mkfifo(self.fifo)
        self.events_path.touch()
        feeder = Path(__file__).with_name("exabgp_feeder.py")
        lines = [
            "process feeder {",
            f"  run {sys.executable} {feeder} {self.fifo} {self.events_path};",
            "  encoder json;",
            "}",
        ]
        for n in s.neighbors:
            lines += [
                f"neighbor {n.address} {{",
                f"  router-id {s.router_id};",
                f"  local-address {s.local_for(n)};",
                f"  local-as {s.asn};",
                f"  peer-as {n.asn};",
                "  hold-time 90;",
            ]
            if n.passive:
                lines.append("  passive true;")
            lines.append("  family {")
            lines += [f"    {_FAMILY[f]}" for f in n.families]
            lines += [
                "  }",
                "  api {",
                "    processes [ feeder ];",
                "    neighbor-changes;",
                "    receive { parsed; update; }",
                "  }",
                "}",
            ]
        (self.workdir / "exabgp.conf").write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        return ["exabgp", str(self.workdir / "exabgp.conf")]

    def popen_extra(self) -> dict[str, object]:
        env = dict(os.environ)
        env.update(
            {
                # Run as root inside the namespace (peers.md: otherwise it drops to nobody).
                "exabgp.daemon.user": "root",
                "exabgp.daemon.daemonize": "false",
                "exabgp.tcp.bind": " ".join(self.spec.addresses),
                "exabgp.tcp.port": "179",
                "exabgp.log.destination": "stdout",
                "exabgp.log.level": "INFO",
                "exabgp.api.ack": "false",
                "exabgp.api.cli": "false",
            }
        )
        return {"env": env}

    def ready(self) -> bool:
        # ExaBGP logs nothing when its passive listener is up at INFO level: ask the kernel.
        out = self.ns.run(["ss", "-Hltn", "sport", "=", ":179"])
        return all(f"{a}:179" in out or f"[{a}]:179" in out for a in self.spec.addresses)

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.events_path.read_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def session_established(self, neighbor: str) -> bool:
        for ev in self.events():
            nb = ev.get("neighbor", {})
            up = ev.get("type") == "state" and nb.get("state") == "up"
            if up and nb["address"]["peer"] == neighbor:
                return True
        return False

    def api(self, *commands: str) -> None:
        """Send API commands, e.g. ``announce route 10.0.0.0/24 next-hop self``."""
        with open(self.fifo, "w") as f:
            for c in commands:
                f.write(c + "\n")

    def received_updates(self) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("type") == "update"]
