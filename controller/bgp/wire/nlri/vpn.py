"""Labeled VPN-IPv4/VPN-IPv6 NLRI (RFC 4364 4.3.4, RFC 4659 3.2, RFC 8277 2).

::

    +---------------------------+
    |   Length (1 octet, bits)  |  labels*24 + 64 + prefix bits
    +---------------------------+
    |   Label stack (3n octets) |  until the S bit (see labels.py)
    +---------------------------+
    |   Route Distinguisher (8) |
    +---------------------------+
    |   Prefix (variable)       |
    +---------------------------+
"""

from __future__ import annotations

from collections.abc import Callable

from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.nlri.labels import (
    LEGACY_WITHDRAW_FIELD,
    WITHDRAW_LABEL_FIELD,
    Label,
)
from controller.bgp.wire.nlri.prefix import (
    IPNetwork,
    address_from_bits,
    network_of,
    network_parts,
)
from controller.bgp.wire.nlri.rd import RouteDistinguisher


class VpnPrefix:
    """A VPN-IP route key (RD + prefix) and its label stack; immutable.

    Equality and hashing cover the labels too; use :attr:`key` to index RIBs.
    An empty ``labels`` encodes the withdrawal label field 0x800000.

    The prefix is held as ints (:attr:`parts`); a decoded one builds its
    ``ipaddress`` network only when :attr:`prefix` is read, which a speaker
    filling its RIB from the ints never does (a full table decodes 10^5-10^6).
    """

    __slots__ = ("_full", "_net", "_plen", "_width", "labels", "rd")

    def __init__(
        self, rd: RouteDistinguisher, prefix: IPNetwork, labels: tuple[Label, ...] = ()
    ) -> None:
        self.rd = rd
        self.labels = labels
        self._full, self._plen, self._width = network_parts(prefix)
        self._net: IPNetwork | None = prefix

    @classmethod
    def decoded(
        cls, rd: RouteDistinguisher, full: int, plen: int, width: int, labels: tuple[Label, ...]
    ) -> VpnPrefix:
        """From the fields as read (``full`` already masked to ``plen`` bits)."""
        self = object.__new__(cls)
        self.rd, self.labels = rd, labels
        self._full, self._plen, self._width, self._net = full, plen, width, None
        return self

    @property
    def prefix(self) -> IPNetwork:
        net = self._net
        if net is None:
            net = self._net = network_of(self._full, self._plen, self._width)
        return net

    @property
    def parts(self) -> tuple[int, int, int]:
        """(address as an int, prefix length, width 32 or 128)."""
        return self._full, self._plen, self._width

    @property
    def key(self) -> tuple[RouteDistinguisher, IPNetwork]:
        return (self.rd, self.prefix)

    def _fields(self) -> tuple[object, ...]:
        return (self.rd, self._full, self._plen, self._width, self.labels)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VpnPrefix):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"VpnPrefix(rd={self.rd!r}, prefix={self.prefix!r}, labels={self.labels!r})"

    def __str__(self) -> str:
        text = f"{self.rd}:{self.prefix}"
        if self.labels:
            text += " label " + ",".join(str(lb) for lb in self.labels)
        return text

    def encode(self) -> bytes:
        if self.labels:
            stack = b"".join(lb.encode() for lb in self.labels)
        else:
            stack = WITHDRAW_LABEL_FIELD.to_bytes(3, "big")
        plen = self._plen
        bits = len(stack) * 8 + 64 + plen
        if bits > 255:
            raise ValueError(f"{self}: {len(self.labels)} labels and /{plen} exceed 255 bits")
        addr = self._full.to_bytes(self._width // 8, "big")[: (plen + 7) // 8]
        return bytes([bits]) + stack + self.rd.encode() + addr


# Labels repeat across UPDATEs (a speaker allocates per VRF or per prefix from a
# range): one shared object per field value, up to a bound that keeps it small.
_LABELS: dict[int, Label] = {}
_LABELS_MAX = 1 << 16


def _label(field: int) -> Label:
    label = _LABELS.get(field)
    if label is None:
        if len(_LABELS) >= _LABELS_MAX:
            _LABELS.clear()
        label = _LABELS[field] = Label.from_field(field)
    return label


def decode_vpn_prefixes(
    data: bytes, width: int, error: Callable[[str], BgpError]
) -> tuple[VpnPrefix, ...]:
    """Decode a run of labeled VPN NLRI of ``width``-bit prefixes.

    Labels are read up to the S bit. A first field of 0x800000 or 0x000000
    ends the stack and yields no label: that is the withdrawal value (RFC 8277
    2.4, whose 0x800000 has S clear), which the receiver ignores. (So label
    524288 or 0 without S cannot start a stack; no speaker allocates those so.)
    """
    # Hot path (a full table is 10^5-10^6 of these): plain index arithmetic, and
    # RDs and labels, which repeat across an UPDATE, are built once per call.
    out: list[VpnPrefix] = []
    rds: dict[bytes, RouteDistinguisher] = {}
    labels_seen: dict[int, Label] = {}
    n, i = len(data), 0
    while i < n:
        bits = data[i]
        i += 1
        labels: list[Label] = []
        used = 0
        while True:
            used += 24
            if used + 64 > bits:
                raise error(f"VPN NLRI length {bits} too short for labels and RD")
            if i + 3 > n:
                raise error(f"label needs 3 octets, {n - i} left")
            field = int.from_bytes(data[i : i + 3], "big")
            i += 3
            if not labels and field in (WITHDRAW_LABEL_FIELD, LEGACY_WITHDRAW_FIELD):
                break
            label = labels_seen.get(field)
            if label is None:
                label = labels_seen[field] = _label(field)
            labels.append(label)
            if field & 1:
                break
        if i + 8 > n:
            raise error(f"route distinguisher needs 8 octets, {n - i} left")
        rd_raw = bytes(data[i : i + 8])
        i += 8
        rd = rds.get(rd_raw)
        if rd is None:
            rd = rds[rd_raw] = RouteDistinguisher.decode(rd_raw)
        plen = bits - used - 64
        if plen > width:
            raise error(f"VPN prefix length {plen} exceeds {width}")
        nbytes = (plen + 7) // 8
        if i + nbytes > n:
            raise error(f"/{plen} VPN prefix needs {nbytes} octets, {n - i} left")
        addr = data[i : i + nbytes]
        i += nbytes
        full = address_from_bits(addr, plen, width)
        out.append(VpnPrefix.decoded(rd, full, plen, width, tuple(labels)))
    return tuple(out)
