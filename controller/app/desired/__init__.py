"""Desired switch state: the daemon's inputs in, P4 table entries out.

* ``model``: the inputs as values (neighbours, black routes, VPN routes, SA
  pairs, control peers) and the tables' write order;
* ``node``: entries of the node itself (ports, own addresses, black routing,
  red hosts, SPD), one function per P4 control;
* ``vpn``: tunnel, label and VRF route entries;
* ``store``: entries by key per section, with the keys changed since last taken;
* ``state``: :class:`DesiredState`, full rebuild (``keyed``) and incremental
  changes (``changes``) over the same renderers;
* ``adopt``: ids seeded from the entries of an adopted switch (daemon restart).
"""

from controller.app.desired.model import (
    BGP_PORT,
    ESP_OVERHEAD,
    PROTO_TCP,
    TABLE_ORDER,
    BlackRoute,
    ControlPeer,
    Neighbour,
    SaPair,
    VpnRoute,
)
from controller.app.desired.state import DesiredState
from controller.app.desired.store import Key, entry_key

__all__ = [
    "BGP_PORT",
    "ESP_OVERHEAD",
    "PROTO_TCP",
    "TABLE_ORDER",
    "BlackRoute",
    "ControlPeer",
    "DesiredState",
    "Key",
    "Neighbour",
    "SaPair",
    "VpnRoute",
    "entry_key",
]
