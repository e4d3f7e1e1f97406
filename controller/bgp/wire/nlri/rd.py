"""Route distinguishers (RFC 4364 section 4.2)::

    +--------+--------------------------------------+
    | Type   | Value (6 octets)                     |
    | 2 oct. | 0: ASN(2) : number(4)                |
    |        | 1: IPv4(4) : number(2)               |
    |        | 2: ASN(4) : number(2)                |
    +--------+--------------------------------------+

Text forms follow common usage: "65000:1" (type 0), "1.2.3.4:5" (type 1),
"4200000000:7" (type 2). Other types are kept raw and print as hex.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class RouteDistinguisher:
    """An 8-octet route distinguisher; build from text with :meth:`parse`."""

    type: int
    value: bytes  # the 6-octet value field

    def __post_init__(self) -> None:
        if len(self.value) != 6 or not 0 <= self.type <= 0xFFFF:
            raise ValueError(f"route distinguisher type {self.type} value {self.value.hex()}")

    @classmethod
    def decode(cls, data: bytes) -> RouteDistinguisher:
        return cls(int.from_bytes(data[:2], "big"), bytes(data[2:8]))

    def encode(self) -> bytes:
        return self.type.to_bytes(2, "big") + self.value

    @classmethod
    def zero(cls) -> RouteDistinguisher:
        return cls(0, bytes(6))

    @classmethod
    def parse(cls, text: str) -> RouteDistinguisher:
        """Parse "ASN:n", "a.b.c.d:n" or "ASN4:n"; raises ValueError naming the text."""
        admin, sep, num = text.strip().rpartition(":")
        try:
            if not sep or not num.isdigit():
                raise ValueError
            number = int(num)
            if "." in admin:
                addr = ipaddress.IPv4Address(admin)
                if not 0 <= number <= 0xFFFF:
                    raise ValueError
                return cls(1, addr.packed + number.to_bytes(2, "big"))
            if not admin.isdigit():
                raise ValueError
            asn = int(admin)
            if 0 <= asn <= 0xFFFF and 0 <= number <= 0xFFFFFFFF:
                return cls(0, asn.to_bytes(2, "big") + number.to_bytes(4, "big"))
            if 0xFFFF < asn <= 0xFFFFFFFF and 0 <= number <= 0xFFFF:
                return cls(2, asn.to_bytes(4, "big") + number.to_bytes(2, "big"))
        except ValueError:
            pass
        raise ValueError(f"bad route distinguisher {text!r}: expected ASN:n, IPv4:n or ASN4:n")

    def __str__(self) -> str:
        v = self.value
        if self.type == 0:
            return f"{int.from_bytes(v[:2], 'big')}:{int.from_bytes(v[2:], 'big')}"
        if self.type == 1:
            return f"{ipaddress.IPv4Address(v[:4])}:{int.from_bytes(v[4:], 'big')}"
        if self.type == 2:
            return f"{int.from_bytes(v[:4], 'big')}:{int.from_bytes(v[4:], 'big')}"
        return f"type{self.type}:{v.hex()}"
