"""Our Security Handles (draft section 6) on the red loopback routes we advertise.

The format lives with IPsec (``controller/ipsec/handle.py``); here the daemon
decides what ours say, from its configuration:

* SA-set id: 0 for the red loopback (the shared CHILD_SA per C-PE pair), the
  VRF's id for a per-tenant red loopback (distinct per red loopback, draft
  section 4). The same ids go to IPsec as ``local_sets``, so a peer's CHILD_SA
  request naming one is filed under that tenant, and any other is refused.
* "I initiate" when ``ike.nat_traversal.behind_nat``: peers cannot reach our
  black loopback, so they wait for our IKE SA.
* the IKE port when ``ike.port`` is not 500.

Configured octets (``loopbacks.security_handles``) override ours for that
loopback; ``tunnel_encapsulation.auto_security_handles: false`` sends only those.
"""

from __future__ import annotations

import dataclasses

from controller.app.ids import IdPool
from controller.bgp.config import SpeakerConfig
from controller.config import Config
from controller.ipsec.handle import SecurityHandle


def local_sets(cfg: Config, vrf_ids: IdPool) -> dict[str | None, int]:
    """SA-set id by tenant (None: the shared set) for the loopbacks we advertise."""
    sets: dict[str | None, int] = {None: 0}
    for tenant in cfg.loopbacks.tenants:
        sets[tenant] = vrf_ids.get(tenant)
    return sets


def our_handle(cfg: Config, set_id: int) -> SecurityHandle:
    ike = cfg.ike
    behind_nat = ike is not None and ike.nat_traversal.behind_nat
    port = ike.port if ike is not None else 500
    return SecurityHandle(set_id, behind_nat, port)


def with_handles(speaker: SpeakerConfig, cfg: Config, sets: dict[str | None, int]) -> SpeakerConfig:
    """The speaker configuration with our handle on every red loopback that has none."""
    if cfg.ike is None or not cfg.tunnel_encapsulation.auto_security_handles:
        return speaker
    loopbacks = tuple(
        lo
        if lo.security_handle is not None
        else dataclasses.replace(
            lo, security_handle=our_handle(cfg, sets.get(lo.tenant or None, 0)).encode()
        )
        for lo in speaker.red_loopbacks
    )
    return dataclasses.replace(speaker, red_loopbacks=loopbacks)
