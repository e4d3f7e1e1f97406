"""Golden vectors, both directions from the same file: bytes -> object and object -> bytes.

Vectors live in vectors/*.yaml: an RFC example, and messages the real peers sent
(captured with tshark by tests/interop/peers/capture_vectors.py). ``object`` is
a Python expression over the wire classes; ``kind`` is ``message`` (default,
a whole BGP message) or ``attributes`` (a path attribute field).
"""

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

import controller.bgp.wire as wire
from controller.bgp.wire import CodecContext, Update, decode_attributes, decode_message
from controller.bgp.wire.attributes import tunnel_encap
from controller.bgp.wire.capabilities import _REGISTRY as CAPABILITIES
from controller.bgp.wire.nlri import labels

pytestmark = pytest.mark.unit
VECTORS = sorted((Path(__file__).parent / "vectors").glob("*.yaml"))
NAMESPACE: dict[str, Any] = {
    **vars(wire),
    **vars(tunnel_encap),
    **vars(labels),
    "IPv4Address": ipaddress.IPv4Address,
    "IPv6Address": ipaddress.IPv6Address,
    "IPv4Network": ipaddress.IPv4Network,
    "IPv6Network": ipaddress.IPv6Network,
}


def _load(path: Path) -> tuple[dict[str, Any], bytes, CodecContext, Any]:
    doc = yaml.safe_load(path.read_text())
    raw = bytes.fromhex("".join(doc["hex"].split()))
    ctx = CodecContext(**doc["context"])
    obj = eval(doc["object"], dict(NAMESPACE))
    return doc, raw, ctx, obj


def test_vectors_cover_every_peer_and_an_rfc() -> None:
    names = {p.name.split("-")[0] for p in VECTORS}
    assert {"gobgp", "bird", "frr", "exabgp", "rfc6396"} <= names


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_both_ways(path: Path) -> None:
    doc, raw, ctx, obj = _load(path)
    if doc.get("kind", "message") == "attributes":
        attrs, errors = decode_attributes(raw, ctx)
        assert errors == ()
        assert attrs == obj
        assert b"".join(a.encode(ctx) for a in obj) == raw
        return
    msg = decode_message(raw, ctx)
    assert msg == obj
    if isinstance(msg, Update):
        assert msg.errors == ()
    assert obj.encode(ctx) == raw


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_describes_in_plain_lines(path: Path) -> None:
    from controller.bgp.wire.describe import attribute_text, describe

    doc, _raw, _ctx, obj = _load(path)
    if doc.get("kind", "message") == "attributes":
        lines = [attribute_text(a) for a in obj]
    else:
        lines = describe(obj)
    assert lines and all("\n" not in line for line in lines)
    # Every attribute and capability we decode has its own wording, never a repr fallback.
    assert not any("(flags=" in line or "Capability(" in line for line in lines), lines
    class_names = {cls.__name__ for cls in CAPABILITIES.values()}
    assert not any(line.strip() in class_names for line in lines), lines
