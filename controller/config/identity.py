"""Checks of the IKE identity binding and the per-peer keys (issue 14, draft 3.1/3.2).

A red neighbour's IKE identity is its ``black_address``. ``ike.auth.peer_psks``
gives an identity its own key; ``bgp.neighbors[].originates`` binds the red
loopbacks that identity may originate (controller/bgp/claims.py enforces it).
Each mistake here is one line naming the item.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from controller.config.model import Config

Found = Iterator[tuple[str, str]]


def check_identity(cfg: Config) -> Found:
    own = {a for a in (cfg.loopbacks.red, cfg.loopbacks.black, *cfg.loopbacks.tenants.values())}
    bound: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, str] = {}
    for i, n in enumerate(cfg.bgp.neighbors):
        path = f"bgp.neighbors[{i}]"
        if n.originates is None:
            if n.endpoints:
                yield f"{path}.endpoints", "only apply with originates (the identity binding)"
            continue
        if n.type != "red":
            yield f"{path}.originates", "only a red neighbour is bound to an IKE identity"
            continue
        if n.black_address is None:
            yield f"{path}.originates", "needs black_address: the IKE identity it binds"
        for j, addr in enumerate(n.originates):
            where = f"{path}.originates[{j}]"
            if addr in own:
                yield where, f"{addr} is one of our own loopbacks"
            elif addr in bound:
                yield where, f"{addr} is already bound to {bound[addr]} (red loopbacks are unique)"
            else:
                bound[addr] = path
    yield from _peer_keys(cfg)


def _peer_keys(cfg: Config) -> Found:
    """With per-peer keys and no group key, every configured IKE peer needs its own."""
    if cfg.ike is None or cfg.ike.auth.certificates is not None or cfg.ike.auth.psk is not None:
        return
    for i, n in enumerate(cfg.bgp.neighbors):
        keyed = n.black_address is None or cfg.ike.auth.psk_for(str(n.black_address))
        if n.type == "red" and not keyed:
            yield (
                f"bgp.neighbors[{i}].black_address",
                f"no ike.auth.peer_psks entry for {n.black_address} and no ike.auth.psk",
            )
