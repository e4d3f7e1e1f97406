"""VRFs: route distinguishers, route-target import/export and VPN labels (RFC 4364 4).

A VRF exports its local routes as labeled VPN-IP routes carrying its RD and
export route targets, next hop = the C-PE's red loopback (draft 3.3), and
imports the VPN-IP best paths whose route targets meet its import set. Several
VPN routes (different RDs) may carry the same tenant prefix; the VRF runs the
decision process among the usable ones.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.bgp.decision import best_path
from controller.bgp.path import (
    VPNV4,
    VPNV6,
    Attrs,
    Color,
    IPAddress,
    IPNetwork,
    Nlri,
    Path,
    Source,
    Tunnel,
)
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.nlri.rd import RouteDistinguisher

MIN_LABEL = 16  # 0-15 are reserved (RFC 3032 2.1)
MAX_LABEL = (1 << 20) - 1


class LabelMode(enum.Enum):
    PER_VRF = "per-vrf"
    PER_PREFIX = "per-prefix"


class LabelAllocator:
    """Hands out MPLS labels from a range and takes them back."""

    def __init__(self, first: int = 100, last: int = MAX_LABEL) -> None:
        if not MIN_LABEL <= first <= last <= MAX_LABEL:
            raise ValueError(f"label range {first}-{last}: must lie within {MIN_LABEL}-{MAX_LABEL}")
        self._next = first
        self._last = last
        self._free: list[int] = []
        self._by_key: dict[object, int] = {}

    def get(self, key: object) -> int:
        """The label for ``key``, allocating one the first time."""
        label = self._by_key.get(key)
        if label is None:
            if self._free:
                label = self._free.pop()
            elif self._next <= self._last:
                label = self._next
                self._next += 1
            else:
                raise RuntimeError("MPLS label range exhausted")
            self._by_key[key] = label
        return label

    def release(self, key: object) -> None:
        label = self._by_key.pop(key, None)
        if label is not None:
            self._free.append(label)


@dataclass(frozen=True)
class VrfConfig:
    """One tenant's VRF as the operator configures it."""

    name: str
    rd: str
    import_rts: tuple[str, ...]
    export_rts: tuple[str, ...]
    label_mode: LabelMode = LabelMode.PER_VRF
    # The tenant's red loopback when each tenant has its own (draft section 4);
    # None = the C-PE's default red loopback.
    red_loopback: IPAddress | None = None


@dataclass(slots=True)
class VrfRoute:
    """One prefix in a VRF: a local route, or the best imported VPN route."""

    prefix: IPNetwork
    label: int
    local: bool
    path: Path | None = None


@dataclass
class Vrf:
    config: VrfConfig
    labels: LabelAllocator
    rd: RouteDistinguisher = field(default_factory=RouteDistinguisher.zero)
    import_rts: frozenset[ExtCommunity] = frozenset()
    export_rts: tuple[ExtCommunity, ...] = ()
    local: dict[IPNetwork, int] = field(default_factory=dict)
    # prefix -> VPN NLRI (one per RD) -> the candidate paths whose RTs we import
    imported: dict[IPNetwork, dict[Nlri, list[Path]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = self.config
        try:
            self.rd = RouteDistinguisher.parse(c.rd)
            self.import_rts = frozenset(ExtCommunity.route_target(rt) for rt in c.import_rts)
            self.export_rts = tuple(ExtCommunity.route_target(rt) for rt in c.export_rts)
        except ValueError as exc:
            raise ValueError(f"vrf {c.name}: {exc}") from None

    @property
    def name(self) -> str:
        return self.config.name

    def label_for(self, prefix: IPNetwork) -> int:
        if self.config.label_mode is LabelMode.PER_VRF:
            return self.labels.get(("vrf", self.name))
        return self.labels.get(("prefix", self.name, prefix))

    def add_local(self, prefix: IPNetwork) -> int:
        label = self.label_for(prefix)
        self.local[prefix] = label
        return label

    def remove_local(self, prefix: IPNetwork) -> bool:
        if self.local.pop(prefix, None) is None:
            return False
        if self.config.label_mode is LabelMode.PER_PREFIX:
            self.labels.release(("prefix", self.name, prefix))
        return True

    def export_nlri(self, prefix: IPNetwork) -> Nlri:
        return Nlri(VPNV4 if prefix.version == 4 else VPNV6, prefix, self.rd)

    def export_path(self, prefix: IPNetwork, red_loopback: IPAddress, tunnel_type: int) -> Path:
        """The VPN-IP route for a local prefix.

        Draft 3.3: next hop = the red loopback. Draft 2: it MUST carry a Tunnel
        Encapsulation attribute with the MPLS-in-IPsec tunnel type; its Tunnel Egress
        Endpoint is the red loopback too, which receivers resolve recursively through
        our red loopback route (whose own attribute names the black loopback, draft 4).
        """
        nh: IPAddress = red_loopback
        if prefix.version == 6 and red_loopback.version == 4:
            # RFC 4659 3.2.1.2: VPN-IPv6 next hop over IPv4 is IPv4-mapped IPv6.
            nh = ipaddress.IPv6Address("::ffff:" + str(red_loopback))
        attrs = Attrs(
            next_hop=nh,
            local_pref=100,
            ext_communities=self.export_rts,
            tunnels=(Tunnel(tunnel_type, red_loopback),),
        )
        return Path(
            self.export_nlri(prefix),
            attrs,
            Source(Color.RED),
            labels=(self.local[prefix],),
        )

    def imports(self, path: Path) -> bool:
        return not self.import_rts.isdisjoint(path.attrs.route_targets())

    def set_candidates(self, nlri: Nlri, paths: list[Path]) -> bool:
        """Record the received paths for ``nlri`` this VRF imports; True if its view changed.

        All candidates are kept, usable or not, so that a prefix whose only paths
        cannot be used (a spoof, say) is still visible with its verdict.
        """
        mine = [p for p in paths if not p.source.local and self.imports(p)]
        cands = self.imported.get(nlri.prefix)
        if mine:
            if cands is not None and cands.get(nlri) == mine:
                return False
            self.imported.setdefault(nlri.prefix, {})[nlri] = mine
            return True
        if cands is None or cands.pop(nlri, None) is None:
            return False
        if not cands:
            del self.imported[nlri.prefix]
        return True

    def best_remote(self, prefix: IPNetwork) -> Path | None:
        """The best usable imported path (RFC 4271 decision among all RDs), or None."""
        return best_path([p for ps in self.imported.get(prefix, {}).values() for p in ps])

    def candidates(self, prefix: IPNetwork) -> list[Path]:
        """Every imported path for ``prefix``, in a stable order (for unusable-route reports)."""
        out = [p for ps in self.imported.get(prefix, {}).values() for p in ps]
        return sorted(out, key=lambda p: (str(p.nlri), str(p.source.peer)))

    def prefixes(self) -> Iterable[IPNetwork]:
        return set(self.local) | set(self.imported)

    def describe(self) -> str:
        return f"vrf {self.name} rd {self.rd}"
