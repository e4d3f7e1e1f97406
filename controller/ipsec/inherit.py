"""SAs a restarted daemon finds in a surviving ESP engine, read back from its SA listing.

The SA database labels every SA it installs (peer black address, tenant,
CHILD_SA name, the index of the other direction); an engine process keeps the
labels and lists them without keys (``LIST_SAS``). After a daemon restart
these records say which SA pairs still carry which tunnel, so the new daemon
can keep them in service until IKE has negotiated their replacements.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from controller.ipsec.installer import IPAddress

Label = dict[str, str | int | None]


def label_for(peer: IPAddress, tenant: str | None, child: str, other_index: int) -> Label:
    return {"peer": str(peer), "tenant": tenant, "child": child, "pair": other_index}


@dataclass(frozen=True)
class InheritedChild:
    """What is known of a CHILD_SA whose IKE SA died with the previous daemon (no keys)."""

    name: str
    spi_in: int
    spi_out: int
    transport: bool
    encap: bool

    def __str__(self) -> str:
        mode = "transport" if self.transport else "tunnel"
        return f"{self.name} in=0x{self.spi_in:08x} out=0x{self.spi_out:08x} {mode} (inherited)"


@dataclass(frozen=True)
class InheritedPair:
    child: InheritedChild
    peer: IPAddress
    tenant: str | None
    in_index: int
    out_index: int
    remote_port: int
    retired: bool  # the outbound SA was switched away from: it only drains
    remote: IPAddress  # where the outbound SA sends: the peer, or its NAT (RFC 3948)


def pairs_from_listing(sas: list[dict[str, Any]]) -> tuple[list[InheritedPair], list[int]]:
    """(labelled in/out pairs, indexes of SAs that cannot be paired: to be deleted)."""
    by_index: dict[int, dict[str, Any]] = {
        s["sa_index"]: s for s in sas if isinstance(s.get("sa_index"), int)
    }
    pairs: list[InheritedPair] = []
    used: set[int] = set()
    for _, sa in sorted(by_index.items()):
        if sa.get("direction") != "in":
            continue
        pair = _pair(sa, by_index)
        if pair is not None:
            pairs.append(pair)
            used |= {pair.in_index, pair.out_index}
    stray = sorted(i for i in by_index if i not in used)
    return pairs, stray


def _pair(sa_in: dict[str, Any], by_index: dict[int, dict[str, Any]]) -> InheritedPair | None:
    label = sa_in.get("label") or {}
    other = label.get("pair")
    sa_out = by_index.get(other) if isinstance(other, int) else None
    if sa_out is None or sa_out.get("direction") != "out":
        return None
    if (sa_out.get("label") or {}).get("pair") != sa_in["sa_index"]:
        return None
    try:
        peer = ipaddress.ip_address(label["peer"])
        tenant, name = label.get("tenant"), label["child"]
        encap = sa_in.get("udp_encap")
        child = InheritedChild(
            str(name), int(sa_in["spi"]), int(sa_out["spi"]), sa_in["mode"] == "transport",
            encap is not None,
        )  # fmt: skip
        remote_port = int(encap[1]) if encap else 4500
        remote = ipaddress.ip_address(sa_out["remote"])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return InheritedPair(
        child,
        peer,
        str(tenant) if tenant is not None else None,
        int(sa_in["sa_index"]),
        int(sa_out["sa_index"]),
        remote_port,
        bool(sa_out.get("retired")),
        remote,
    )
