"""Route reflection attributes (RFC 4456 section 8).

Malformed: treat-as-withdraw (RFC 7606 7.9, 7.10).

::

    ORIGINATOR_ID (9)   optional non-transitive   4 octets: router ID
    CLUSTER_LIST (10)   optional non-transitive   4n octets: cluster IDs, newest first
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.attributes.base import OPTIONAL, PathAttribute, register_attribute
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.nlri.prefix import ZERO_IPV4


@register_attribute
@dataclass(frozen=True, slots=True)
class OriginatorId(PathAttribute):
    """ORIGINATOR_ID: the router ID of the route's originator in the local AS."""

    TYPE_CODE: ClassVar[int] = 9
    NAME: ClassVar[str] = "ORIGINATOR_ID"
    FLAGS: ClassVar[int] = OPTIONAL
    originator: ipaddress.IPv4Address = ZERO_IPV4

    def encode_value(self, ctx: CodecContext) -> bytes:
        return self.originator.packed

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if len(value) != 4:
            raise cls.malformed(f"length {len(value)}, expected 4")
        return cls(ipaddress.IPv4Address(value))


@register_attribute
@dataclass(frozen=True, slots=True)
class ClusterList(PathAttribute):
    """CLUSTER_LIST: cluster IDs the route has been reflected through, newest first."""

    TYPE_CODE: ClassVar[int] = 10
    NAME: ClassVar[str] = "CLUSTER_LIST"
    FLAGS: ClassVar[int] = OPTIONAL
    clusters: tuple[ipaddress.IPv4Address, ...] = ()

    def encode_value(self, ctx: CodecContext) -> bytes:
        return b"".join(c.packed for c in self.clusters)

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if not value or len(value) % 4:
            raise cls.malformed(f"length {len(value)} is not a positive multiple of 4")
        return cls(tuple(ipaddress.IPv4Address(value[i : i + 4]) for i in range(0, len(value), 4)))

    def prepend(self, cluster_id: ipaddress.IPv4Address) -> ClusterList:
        return ClusterList((cluster_id, *self.clusters))
