"""From the validated configuration to the settings objects of the protocol cores.

The daemon composes the cores; these functions are the one place that maps
configuration fields onto their constructors, so the file format and the
cores can evolve separately.
"""

from __future__ import annotations

from controller.bgp.config import ConfigError as BgpConfigError
from controller.bgp.config import (
    GracefulRestartConfig,
    NeighborConfig,
    RedLoopback,
    SpeakerConfig,
)
from controller.bgp.path import FAMILIES_BY_NAME, Color
from controller.bgp.vrf import LabelMode, VrfConfig
from controller.config.errors import ConfigError, Problem
from controller.config.model import Config


def speaker_config(cfg: Config) -> SpeakerConfig:
    """The BGP speaker's configuration; red sessions run from the red loopback (draft 3.4)."""
    lb = cfg.loopbacks
    red_loopbacks = []
    if lb.red is not None:
        red_loopbacks.append(RedLoopback(lb.red, security_handle=lb.security_handle("red")))
    red_loopbacks += [
        RedLoopback(addr, security_handle=lb.security_handle(name), tenant=name)
        for name, addr in lb.tenants.items()
    ]
    neighbors = tuple(
        NeighborConfig(
            address=n.address,
            remote_as=n.asn,
            color=Color.RED if n.type == "red" else Color.BLACK,
            families=tuple(FAMILIES_BY_NAME[f] for f in n.families),
            rr_client=n.route_reflector_client,
            passive=n.passive,
            hold_time=n.hold_time,
            local_address=lb.red if n.type == "red" else None,
            description=n.description,
            originates=None if n.originates is None else tuple(n.originates),
            endpoints=tuple(a for a in (n.black_address, *n.endpoints) if a is not None),
        )
        for n in cfg.bgp.neighbors
    )
    vrfs = tuple(
        VrfConfig(
            name=v.name,
            rd=v.rd,
            import_rts=tuple(v.import_rts),
            export_rts=tuple(v.export_rts),
            label_mode=LabelMode(v.label_mode),
            red_loopback=lb.tenants.get(v.name, lb.red),
        )
        for v in cfg.vrfs
    )
    enc = cfg.tunnel_encapsulation
    gr = cfg.bgp.graceful_restart
    try:
        return SpeakerConfig(
            local_as=cfg.node.asn,
            router_id=cfg.node.router_id,
            black_loopback=lb.black,
            red_loopbacks=tuple(red_loopbacks),
            neighbors=neighbors,
            vrfs=vrfs,
            cluster_id=cfg.bgp.cluster_id,
            mpls_in_ipsec_tunnel_type=enc.mpls_in_ipsec_tunnel_type,
            security_handle_subtlv=enc.security_handle_subtlv,
            label_range=cfg.bgp.label_range,
            advertise_black_loopback=cfg.bgp.advertise_black_loopback,
            rt_constrain=cfg.bgp.rt_constrain,
            graceful_restart=GracefulRestartConfig(
                gr.enabled, gr.restart_time, gr.stale_time, gr.deferral_time
            ),
        )
    except (BgpConfigError, ValueError) as exc:
        # The checks above should have caught it; still one line, never a traceback.
        raise ConfigError([Problem("bgp", str(exc), cfg.source)]) from None
