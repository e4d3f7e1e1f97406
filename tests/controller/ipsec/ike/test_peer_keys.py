"""Per-peer PSKs (ike.auth.peer_psks): the group key no longer proves a keyed identity."""

from __future__ import annotations

import copy

import pytest
import yaml

from controller.app.ikeconf import make_ike_config
from controller.config import parse
from controller.ipsec.ike.daemon import IkeDaemon

from .harness import Net, psk_config

pytestmark = pytest.mark.unit

GROUP = "group-key-known-to-every-cpe-0123"
OWN = "client-own-key-0123456789"
RR_CONFIG = f"""
node: {{name: rr1, role: rr, as: 65000, router_id: 192.0.2.9}}
loopbacks: {{black: 198.51.100.9, red: 10.255.0.9}}
switch:
  ports:
    - {{port: 1, name: wan0, role: black, address: 203.0.113.2/30}}
    - {{port: 255, role: cpu}}
    - {{port: 254, role: crypto}}
bgp:
  neighbors:
    - {{address: 10.255.0.1, black_address: 198.51.100.1, as: 65000, type: red,
       route_reflector_client: true, originates: [10.255.0.1]}}
ike:
  auth:
    psk: {GROUP}
    peer_psks: {{198.51.100.1: {OWN}}}
"""


@pytest.mark.parametrize(("key", "up"), [(GROUP, False), (OWN, True)])
def test_only_the_holder_of_the_peer_key_authenticates_as_that_peer(key: str, up: bool) -> None:
    cfg = parse(RR_CONFIG, "rr1.yml", None)
    rr_side = make_ike_config(cfg, "198.51.100.1", {})
    assert yaml.safe_dump(cfg.model_dump(mode="json")).count(OWN) == 0  # never dumped
    rr_side.children = psk_config("198.51.100.9", "198.51.100.1").children
    # A C-PE claiming the identity 198.51.100.1 with the group key, or with its own key.
    client = psk_config("198.51.100.1", "198.51.100.9", psk=key.encode())
    a, b = IkeDaemon([client]), IkeDaemon([copy.copy(rr_side)])
    net = Net({"198.51.100.1": a, "198.51.100.9": b})
    sa = a.initiate(client.name, ("198.51.100.1", 500), ("198.51.100.9", 500), net.now)
    net.pump()
    assert (sa.state.value == "established") is up
    assert bool(b.established()) is up
