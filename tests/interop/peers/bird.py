"""BIRD 2 (bird + birdc) as a peer or route reflector, with ipv4/ipv6/vpn4/vpn6 channels."""

from __future__ import annotations

import re
from typing import ClassVar

from .daemon import Daemon

# BIRD channel names and the tables they need (vpn4/vpn6 have no default table).
_CHANNEL = {"ipv4": "ipv4", "ipv6": "ipv6", "vpnv4": "vpn4 mpls", "vpnv6": "vpn6 mpls"}
_TABLE = {"ipv4": "master4", "ipv6": "master6", "vpnv4": "vpntab4", "vpnv6": "vpntab6"}


class Bird(Daemon):
    NAME: ClassVar[str] = "bird"
    BINARIES: ClassVar[tuple[str, ...]] = ("bird", "birdc")

    @property
    def socket_path(self) -> str:
        return str(self.workdir / "bird.ctl")

    def write_config(self) -> None:
        s = self.spec
        lines = [
            f"router id {s.router_id};",
            "log stderr all;",
            "vpn4 table vpntab4;",
            "vpn6 table vpntab6;",
            "protocol device {}",
            # Next hops of IBGP routes must resolve: learn the connected subnets.
            "protocol direct { ipv4; ipv6; }",
        ]
        for i, n in enumerate(s.neighbors):
            lines += [
                f"protocol bgp n{i} {{",
                f"  local {s.local_for(n)} as {s.asn};",
                f"  neighbor {n.address} as {n.asn};",
            ]
            if n.passive:
                lines.append("  passive on;")
            if n.rr_client:
                lines += ["  rr client;", f"  rr cluster id {s.cluster_id or s.router_id};"]
            for fam in n.families:
                lines += [
                    f"  {_CHANNEL[fam]} {{",
                    f"    table {_TABLE[fam]};",
                    "    import all;",
                    "    export where source ~ [RTS_BGP, RTS_STATIC];",
                    "  };",
                ]
            lines.append("}")
        lines += self.extra_config
        (self.workdir / "bird.conf").write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        return [
            "bird",
            "-f",
            "-c",
            str(self.workdir / "bird.conf"),
            "-s",
            self.socket_path,
            "-P",
            str(self.workdir / "bird.pid"),
        ]

    def cli(self, *args: str) -> str:
        return self.ns.run(["birdc", "-s", self.socket_path, *args], timeout=10)

    def ready(self) -> bool:
        return "BIRD" in self.cli("show", "status")

    def protocol_name(self, neighbor: str) -> str:
        for i, n in enumerate(self.spec.neighbors):
            if n.address == neighbor:
                return f"n{i}"
        raise KeyError(neighbor)

    def session_established(self, neighbor: str) -> bool:
        out = self.cli("show", "protocols", self.protocol_name(neighbor))
        return bool(re.search(r"\bEstablished\b", out))

    def routes(self, family: str) -> str:
        """``birdc show route table <t> all``: BIRD's text, which tests search."""
        return self.cli("show", "route", "table", _TABLE[family], "all")
