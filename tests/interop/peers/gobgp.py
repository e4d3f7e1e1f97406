"""GoBGP (gobgpd + the gobgp CLI) as a peer or route reflector."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from .daemon import Daemon

_AFI_SAFI = {
    "ipv4": "ipv4-unicast",
    "ipv6": "ipv6-unicast",
    "vpnv4": "l3vpn-ipv4-unicast",
    "vpnv6": "l3vpn-ipv6-unicast",
    "rtc": "rtc",
}
API_PORT = 50051  # inside the daemon's own namespace, so never shared


class GoBgp(Daemon):
    NAME: ClassVar[str] = "gobgp"
    BINARIES: ClassVar[tuple[str, ...]] = ("gobgpd", "gobgp")
    # Graceful restart (RFC 4724) on every neighbour and family when set: the restart
    # time it announces. ``restarted`` starts gobgpd with -r (R and F bits set).
    graceful_restart: int | None = None
    restarted: bool = False

    def write_config(self) -> None:
        s = self.spec
        lines = [
            "[global.config]",
            f"  as = {s.asn}",
            f'  router-id = "{s.router_id}"',
            "  local-address-list = [" + ", ".join(f'"{a}"' for a in s.addresses) + "]",
        ]
        for n in s.neighbors:
            lines += [
                "[[neighbors]]",
                "  [neighbors.config]",
                f'    neighbor-address = "{n.address}"',
                f"    peer-as = {n.asn}",
                "  [neighbors.transport.config]",
                f"    passive-mode = {'true' if n.passive else 'false'}",
                f'    local-address = "{s.local_for(n)}"',
            ]
            if self.graceful_restart is not None:
                lines += [
                    "  [neighbors.graceful-restart.config]",
                    "    enabled = true",
                    f"    restart-time = {self.graceful_restart}",
                ]
            if n.rr_client:
                lines += [
                    "  [neighbors.route-reflector.config]",
                    "    route-reflector-client = true",
                    f'    route-reflector-cluster-id = "{s.cluster_id or s.router_id}"',
                ]
            for fam in n.families:
                lines += [
                    "  [[neighbors.afi-safis]]",
                    "    [neighbors.afi-safis.config]",
                    f'      afi-safi-name = "{_AFI_SAFI[fam]}"',
                ]
                if self.graceful_restart is not None:
                    lines += [
                        "    [neighbors.afi-safis.mp-graceful-restart.config]",
                        "      enabled = true",
                    ]
        (self.workdir / "gobgpd.toml").write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        return [
            "gobgpd",
            "-f",
            str(self.workdir / "gobgpd.toml"),
            "-t",
            "toml",
            "-p",
            "--api-hosts",
            f"127.0.0.1:{API_PORT}",
            "--pprof-disable",
            *(["-r"] if self.restarted else []),
        ]

    def cli(self, *args: str) -> str:
        return self.ns.run(["gobgp", "-u", "127.0.0.1", "-p", str(API_PORT), *args], timeout=10)

    def ready(self) -> bool:
        self.cli("global")
        return True

    def neighbor(self, address: str) -> dict[str, Any]:
        return json.loads(self.cli("neighbor", address, "-j"))  # type: ignore[no-any-return]

    def session_established(self, neighbor: str) -> bool:
        return self.neighbor(neighbor)["state"]["session_state"] == 6  # ESTABLISHED

    def rib(self, family: str) -> dict[str, Any]:
        """``gobgp global rib -a <family> -j``: prefix -> list of paths."""
        out = self.cli("global", "rib", "-a", family, "-j").strip()
        return json.loads(out) if out else {}  # type: ignore[no-any-return]

    def add_route(self, family: str, *args: str) -> None:
        """``gobgp global rib add -a <family> <args>`` (prefix, rd, rt, label, nexthop...)."""
        self.cli("global", "rib", "add", "-a", family, *args)
