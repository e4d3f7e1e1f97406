"""Plumbing for tests on the real p4sim engine: the basic.p4 program and its ids by name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from finsy.proto import p4i, p4r

from targets.p4sim.runtime.bundle import Bundle, bundle_from_path
from targets.p4sim.runtime.loader import load_engine

BASIC_P4 = Path(__file__).with_name("p4") / "basic.p4"
CPU_PORT = 255


def basic_bundle() -> Bundle:
    return bundle_from_path(BASIC_P4)


@cache
def basic_p4info() -> p4i.P4Info:
    """What p4sim generates for basic.p4 (the P4Info a controller would push)."""
    return load_engine(basic_bundle()).p4info


def ids() -> dict[str, int]:
    info = basic_p4info()
    out = {}
    for group in (info.tables, info.actions, info.counters, info.direct_counters, info.registers):
        for item in group:
            out[item.preamble.name] = item.preamble.id
    return out


def fwd_entry(in_port: int, action: str, *params: bytes) -> p4r.Entity:
    i = ids()
    te = p4r.TableEntry(table_id=i["BasicIngress.fwd"])
    te.match.add(field_id=1).exact.value = in_port.to_bytes(2, "big")
    te.action.action.action_id = i[action]
    for n, v in enumerate(params, 1):
        te.action.action.params.add(param_id=n, value=v)
    return p4r.Entity(table_entry=te)


def lpm_entry(prefix: bytes, plen: int, port: int) -> p4r.Entity:
    i = ids()
    te = p4r.TableEntry(table_id=i["BasicIngress.ipv4_lpm"])
    f = te.match.add(field_id=1)
    f.lpm.value, f.lpm.prefix_len = prefix, plen
    te.action.action.action_id = i["BasicIngress.route"]
    te.action.action.params.add(param_id=1, value=port.to_bytes(2, "big"))
    return p4r.Entity(table_entry=te)


def pipeline_request(election_id: int = 10) -> p4r.SetForwardingPipelineConfigRequest:
    req = p4r.SetForwardingPipelineConfigRequest(
        device_id=0, action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
    )
    req.election_id.low = election_id
    req.config.p4info.CopyFrom(basic_p4info())
    req.config.p4_device_config = basic_bundle().encode()
    return req


VALUESET_P4 = Path(__file__).with_name("p4") / "valueset.p4"


@cache
def valueset_p4info() -> p4i.P4Info:
    return load_engine(bundle_from_path(VALUESET_P4)).p4info


def valueset_request(election_id: int = 10) -> p4r.SetForwardingPipelineConfigRequest:
    """VERIFY_AND_COMMIT of valueset.p4 (parser value set + const table)."""
    req = p4r.SetForwardingPipelineConfigRequest(
        device_id=0, action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
    )
    req.election_id.low = election_id
    req.config.p4info.CopyFrom(valueset_p4info())
    req.config.p4_device_config = bundle_from_path(VALUESET_P4).encode()
    return req
