"""Controller packet metadata: the packet_in / packet_out headers of P4Info.

P4Runtime spec section 16.1: a program declares ``@controller_header("packet_in")``
and ``@controller_header("packet_out")`` headers; P4Info lists their fields in
order with bitwidths. Like BMv2, p4sim carries them as real headers on the
CPU port: a packet the pipeline sends to the CPU port starts with packet_in,
whose fields become PacketIn.metadata; a PacketOut is injected at the CPU port
with packet_out built from PacketOut.metadata in front of the payload.

    packet_in / packet_out header on the CPU port (fields MSB first, packed):
    +---------------+---------------+-- ... --+----------+
    | field 1 (w1)  | field 2 (w2)  |         | pad to 8 |   payload ...
    +---------------+---------------+-- ... --+----------+
"""

from __future__ import annotations

from finsy.proto import p4i, p4r

from targets.p4sim.runtime import bytestrings as bs
from targets.p4sim.runtime.errors import invalid


class ControllerHeader:
    """One controller header (packet_in or packet_out) of a program."""

    def __init__(self, meta: p4i.ControllerPacketMetadata) -> None:
        self.name = meta.preamble.name
        self.fields = [(m.id, m.name, m.bitwidth) for m in meta.metadata]
        self.bits = sum(w for _, _, w in self.fields)
        self.nbytes = (self.bits + 7) // 8

    def pack(self, metadata: list[p4r.PacketMetadata]) -> bytes:
        """The header bytes for these metadata values (PacketOut direction)."""
        values: dict[int, int] = {}
        known = {fid: (name, w) for fid, name, w in self.fields}
        for md in metadata:
            if md.metadata_id not in known:
                raise invalid(f"{self.name}: no metadata field with id {md.metadata_id}")
            if md.metadata_id in values:
                raise invalid(f"{self.name}: metadata id {md.metadata_id} given twice")
            name, w = known[md.metadata_id]
            values[md.metadata_id] = bs.decode(md.value, w, f"{self.name}.{name}")
        acc = 0
        for fid, _, w in self.fields:
            acc = (acc << w) | values.get(fid, 0)
        acc <<= self.nbytes * 8 - self.bits
        return acc.to_bytes(self.nbytes, "big") if self.nbytes else b""

    def unpack(self, frame: bytes) -> tuple[list[p4r.PacketMetadata], bytes]:
        """Split a CPU-port frame into metadata (canonical values) and payload."""
        if len(frame) < self.nbytes:
            raise ValueError(f"{self.name}: frame of {len(frame)} bytes shorter than header")
        acc = int.from_bytes(frame[: self.nbytes], "big") >> (self.nbytes * 8 - self.bits)
        out: list[p4r.PacketMetadata] = []
        shift = self.bits
        for fid, _, w in self.fields:
            shift -= w
            out.append(
                p4r.PacketMetadata(
                    metadata_id=fid, value=bs.encode((acc >> shift) & ((1 << w) - 1))
                )
            )
        return out, frame[self.nbytes :]


def controller_headers(p4info: p4i.P4Info) -> dict[str, ControllerHeader]:
    return {m.preamble.name: ControllerHeader(m) for m in p4info.controller_packet_metadata}
