"""Path attributes: one class per type code, registered in ``ATTRIBUTE_CLASSES``."""

from controller.bgp.wire.attributes.aggregator import Aggregator, As4Aggregator
from controller.bgp.wire.attributes.as_path import (
    As4Path,
    AsPath,
    AsSegment,
    SegmentType,
    reconstruct_as_path,
)
from controller.bgp.wire.attributes.base import (
    ATTRIBUTE_CLASSES,
    EXTENDED_LENGTH,
    OPTIONAL,
    OPTIONAL_TRANSITIVE,
    PARTIAL,
    TRANSITIVE,
    WELL_KNOWN,
    PathAttribute,
    UnknownAttribute,
)
from controller.bgp.wire.attributes.basic import (
    AtomicAggregate,
    LocalPref,
    Med,
    NextHopAttr,
    Origin,
    OriginCode,
)
from controller.bgp.wire.attributes.communities import (
    NO_ADVERTISE,
    NO_EXPORT,
    NO_EXPORT_SUBCONFED,
    Communities,
    LargeCommunities,
    LargeCommunityValue,
)
from controller.bgp.wire.attributes.ext_communities import ExtCommunity, ExtendedCommunities
from controller.bgp.wire.attributes.mp import MpReachNlri, MpUnreachNlri, Nlri
from controller.bgp.wire.attributes.reflection import ClusterList, OriginatorId
from controller.bgp.wire.attributes.tunnel_encap import (
    SecurityHandle,
    SubTlv,
    TunnelEgressEndpoint,
    TunnelEncapsulation,
    TunnelTlv,
    UnknownSubTlv,
    tunnel_problems,
)

__all__ = [
    "ATTRIBUTE_CLASSES",
    "EXTENDED_LENGTH",
    "NO_ADVERTISE",
    "NO_EXPORT",
    "NO_EXPORT_SUBCONFED",
    "OPTIONAL",
    "OPTIONAL_TRANSITIVE",
    "PARTIAL",
    "TRANSITIVE",
    "WELL_KNOWN",
    "Aggregator",
    "As4Aggregator",
    "As4Path",
    "AsPath",
    "AsSegment",
    "AtomicAggregate",
    "ClusterList",
    "Communities",
    "ExtCommunity",
    "ExtendedCommunities",
    "LargeCommunities",
    "LargeCommunityValue",
    "LocalPref",
    "Med",
    "MpReachNlri",
    "MpUnreachNlri",
    "NextHopAttr",
    "Nlri",
    "Origin",
    "OriginCode",
    "OriginatorId",
    "PathAttribute",
    "SecurityHandle",
    "SegmentType",
    "SubTlv",
    "TunnelEgressEndpoint",
    "TunnelEncapsulation",
    "TunnelTlv",
    "UnknownAttribute",
    "UnknownSubTlv",
    "reconstruct_as_path",
    "tunnel_problems",
]
