"""What the entry builders read of the desired state, as a protocol.

``node.py``, ``vpn.py`` and ``extranet.py`` turn the state's inputs into table
entries; ``state.DesiredState`` calls them and satisfies this protocol, so the
builders need not import it (it imports them).
"""

from __future__ import annotations

from typing import Protocol

from controller.app.desired.model import (
    BlackRoute,
    ControlPeer,
    IPAddress,
    Neighbour,
    RouteKey,
    SaPair,
    TunnelKey,
    VpnRoute,
)
from controller.app.ids import IdPool
from controller.config import Config


class StateView(Protocol):
    cfg: Config
    port_macs: dict[int, str]
    neighbours: set[Neighbour]
    black_routes: set[BlackRoute]
    routes: dict[RouteKey, VpnRoute]
    sas: dict[TunnelKey, SaPair]
    control: dict[IPAddress, ControlPeer]
    lazy: bool
    control_transport: bool  # red BGP between black loopbacks (draft 3.2)
    black_acl_punts: list[tuple[IPAddress, int, int | None, int | None]]
    vrf_ids: IdPool
    tunnel_ids: IdPool
    red_nh_ids: IdPool
    black_nh_ids: IdPool

    @property
    def black(self) -> IPAddress | None: ...

    def tunnel_for(self, route: VpnRoute) -> TunnelKey | None: ...

    def tunnel_id(self, tkey: TunnelKey) -> int: ...
