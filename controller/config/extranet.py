"""Checks of the extranet policy (draft section 7; controller/app/desired/extranet.py)."""

from __future__ import annotations

from collections.abc import Iterator

from controller.config.model import Config
from controller.config.vpn import IPNetwork

Found = Iterator[tuple[str, str]]


def _own(cfg: Config, vrf: str) -> list[IPNetwork]:
    """What a VRF reaches on this C-PE: its red ports' subnets and its configured routes."""
    nets: list[IPNetwork] = [
        iface.network for p in cfg.switch.by_role("red") if p.vrf == vrf for iface in p.address
    ]
    v = cfg.vrf(vrf)
    return nets + ([r.prefix for r in v.routes] if v is not None else [])


def check_extranet(cfg: Config) -> Found:
    names = {v.name for v in cfg.vrfs}
    for i, rule in enumerate(cfg.extranet):
        path = f"extranet[{i}]"
        bad = False
        for field, vrf in (("from", rule.from_vrf), ("to", rule.to_vrf)):
            if vrf not in names:
                bad = True
                yield f"{path}.{field}", f"VRF {vrf!r} is not defined under vrfs"
        if bad:
            continue
        if rule.from_vrf == rule.to_vrf:
            yield path, "from and to are the same VRF (within a VRF needs no policy)"
            continue
        mine, theirs = _own(cfg, rule.from_vrf), _own(cfg, rule.to_vrf)
        for j, net in enumerate(rule.prefixes):
            where = f"{path}.prefixes[{j}]"
            clash = next((n for n in mine if n.version == net.version and n.overlaps(net)), None)
            if clash is not None:
                yield (
                    where,
                    (
                        f"{net} overlaps {rule.from_vrf}'s own {clash}: its hosts there would "
                        "become unreachable"
                    ),
                )
            elif not any(n.version == net.version and n.overlaps(net) for n in theirs):
                yield where, f"{net} reaches no subnet or route of VRF {rule.to_vrf}"
