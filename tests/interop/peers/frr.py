"""FRR bgpd as a pure BGP speaker (-Z: no zebra, -n: no kernel routes), queried with vtysh."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from .daemon import Daemon

BGPD = "/usr/lib/frr/bgpd"
_AF = {"ipv4": "ipv4 unicast", "ipv6": "ipv6 unicast", "vpnv4": "ipv4 vpn", "vpnv6": "ipv6 vpn"}


class FrrBgpd(Daemon):
    NAME: ClassVar[str] = "frr"
    BINARIES: ClassVar[tuple[str, ...]] = (BGPD, "vtysh")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per-family lines inside "address-family", e.g. vpnv4: network .. rd .. label ..
        self.af_config: dict[str, list[str]] = {}
        # Graceful restart (RFC 4724) with this restart time, forwarding state preserved.
        self.graceful_restart: int | None = None

    def write_config(self) -> None:
        s = self.spec
        lines = [
            "frr defaults traditional",
            "log stdout informational",
            f"router bgp {s.asn}",
            f" bgp router-id {s.router_id}",
            " no bgp default ipv4-unicast",
            " no bgp ebgp-requires-policy",
            " no bgp network import-check",
        ]
        if s.cluster_id:
            lines.append(f" bgp cluster-id {s.cluster_id}")
        if self.graceful_restart is not None:
            lines += [
                " bgp graceful-restart",
                " bgp graceful-restart preserve-fw-state",
                f" bgp graceful-restart restart-time {self.graceful_restart}",
            ]
        for n in s.neighbors:
            lines += [
                f" neighbor {n.address} remote-as {n.asn}",
                f" neighbor {n.address} update-source {s.local_for(n)}",
            ]
            if n.passive:
                lines.append(f" neighbor {n.address} passive")
        for fam, af in _AF.items():
            members = [n for n in s.neighbors if fam in n.families]
            if not members:
                continue
            lines.append(f" address-family {af}")
            for n in members:
                lines.append(f"  neighbor {n.address} activate")
                if n.rr_client:
                    lines.append(f"  neighbor {n.address} route-reflector-client")
            lines += [f"  {line}" for line in self.af_config.get(fam, [])]
            lines.append(" exit-address-family")
        (self.workdir / "bgpd.conf").write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        return [
            BGPD,
            "-f",
            str(self.workdir / "bgpd.conf"),
            "-Z",
            "-n",
            "-S",
            "-u",
            "root",
            "-g",
            "root",
            *(arg for a in self.spec.addresses for arg in ("-l", a)),
            "-i",
            str(self.workdir / "bgpd.pid"),
            "--vty_socket",
            str(self.workdir),
            "-P",
            "0",
        ]

    def vtysh(self, command: str) -> str:
        return self.ns.run(["vtysh", "--vty_socket", str(self.workdir), "-c", command], timeout=10)

    def ready(self) -> bool:
        return (self.workdir / "bgpd.vty").exists() and "routerId" in self.vtysh(
            "show bgp summary json"
        )

    def session_established(self, neighbor: str) -> bool:
        data = json.loads(self.vtysh(f"show bgp neighbors {neighbor} json"))
        return data.get(neighbor, {}).get("bgpState") == "Established"

    def rib(self, family: str) -> dict[str, Any]:
        """``show bgp <afi> <safi> json``."""
        return json.loads(self.vtysh(f"show bgp {_AF[family]} json"))  # type: ignore[no-any-return]
