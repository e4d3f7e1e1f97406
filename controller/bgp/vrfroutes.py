"""The VRFs' side of the speaker core: tenant routes out, route targets in.

A tenant's local route goes into the red RIB as the VPN-IP path its VRF
exports (draft 2); changing what a VRF imports recomputes its view, and our
own RT membership routes (RFC 4684) follow the import RTs of all VRFs. Each
call returns the RIB changes; the core applies them and runs its loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from controller.bgp.config import ConfigError, SpeakerConfig
from controller.bgp.originate import vrf_route_path
from controller.bgp.path import IPNetwork, Nlri
from controller.bgp.propagate import Propagator
from controller.bgp.rib import Change, Rib
from controller.bgp.rtc import originate_memberships, wanted_memberships
from controller.bgp.vpnview import VpnView
from controller.bgp.vrf import LabelAllocator, Vrf
from controller.bgp.wire.attributes.ext_communities import ExtCommunity

Changes = list[Change | None]


def build_vrfs(cfg: SpeakerConfig, labels: LabelAllocator) -> dict[str, Vrf]:
    vrfs: dict[str, Vrf] = {}
    for vc in cfg.vrfs:
        try:
            vrfs[vc.name] = Vrf(vc, labels)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return vrfs


class VrfRoutes:
    def __init__(
        self,
        cfg: SpeakerConfig,
        vrfs: dict[str, Vrf],
        red: Rib,
        vpn: VpnView,
        prop: Propagator,
        clients: Callable[[], bool],
    ) -> None:
        """``clients``: whether a route reflector client is configured now (one added at
        run time included, e.g. a C-PE discovered by its certificate, draft 3.2)."""
        self.cfg, self.vrfs, self.red, self.vpn, self.propagator = cfg, vrfs, red, vpn, prop
        self.memberships: set[Nlri] = set()  # the RT membership routes we originate
        self.clients = clients

    def vrf(self, name: str) -> Vrf:
        v = self.vrfs.get(name)
        if v is None:
            raise ConfigError(f"vrf {name!r}: not configured")
        return v

    def add(self, vrf: str, prefix: IPNetwork) -> tuple[int, Changes]:
        """A tenant's local route, exported as VPN-IP on red sessions: its label, the change."""
        v = self.vrf(vrf)
        label = v.add_local(prefix)
        changes: Changes = [self.red.update(vrf_route_path(self.cfg, v, prefix))]
        return label, changes

    def refresh(self, vrf: str, prefix: IPNetwork) -> None:
        """After the changes of ``add``/``remove`` are applied: the VRF's view of ``prefix``."""
        self.vpn.refresh(self.vrf(vrf), prefix)

    def remove(self, vrf: str, prefix: IPNetwork) -> Changes:
        v = self.vrf(vrf)
        if not v.remove_local(prefix):
            return []
        return [self.red.withdraw(v.export_nlri(prefix), None)]

    def set_import_rts(self, vrf: str, rts: Sequence[str]) -> Changes:
        """Change what a VRF imports: its view is recomputed and our RT memberships
        follow, new ones announced, dropped ones withdrawn."""
        v = self.vrf(vrf)
        try:
            v.import_rts = frozenset(ExtCommunity.route_target(rt) for rt in rts)
        except ValueError as exc:
            raise ConfigError(f"vrf {vrf}: {exc}") from None
        self.propagator.reimport(v)
        return self.originate_memberships()

    def originate_memberships(self) -> Changes:
        want = wanted_memberships(self.cfg, self.vrfs.values(), self.clients())
        changes = originate_memberships(self.red, self.memberships, want, self.cfg.router_id)
        self.memberships = want
        return changes
