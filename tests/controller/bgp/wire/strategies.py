"""Hypothesis strategies that build valid wire objects (for encode/decode round trips)."""

import ipaddress

from hypothesis import strategies as st

from controller.bgp.wire import (
    AddPath,
    AddPathFamily,
    CodecContext,
    EnhancedRouteRefresh,
    ExtendedMessage,
    ExtendedNextHop,
    FourOctetAs,
    GracefulRestart,
    GracefulRestartFamily,
    MultiProtocol,
    NextHop,
    NextHopEncoding,
    RouteDistinguisher,
    RouteRefresh,
    UnknownCapability,
    VpnPrefix,
    label_stack,
)
from controller.bgp.wire.attributes import (
    Aggregator,
    As4Aggregator,
    As4Path,
    AsPath,
    AsSegment,
    AtomicAggregate,
    ClusterList,
    Communities,
    ExtCommunity,
    ExtendedCommunities,
    LargeCommunities,
    LargeCommunityValue,
    LocalPref,
    Med,
    MpReachNlri,
    MpUnreachNlri,
    NextHopAttr,
    Origin,
    OriginatorId,
    SecurityHandle,
    TunnelEgressEndpoint,
    TunnelEncapsulation,
    TunnelTlv,
    UnknownAttribute,
    UnknownSubTlv,
)
from controller.bgp.wire.capabilities import _REGISTRY as _CAPABILITIES

CTX = CodecContext()
CAPABILITY_CODES = frozenset(_CAPABILITIES)
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
v4addr = st.builds(ipaddress.IPv4Address, u32)
v6addr = st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1))


@st.composite
def v4net(draw: st.DrawFn) -> ipaddress.IPv4Network:
    plen = draw(st.integers(0, 32))
    return ipaddress.IPv4Network((draw(u32), plen), strict=False)


@st.composite
def v6net(draw: st.DrawFn) -> ipaddress.IPv6Network:
    plen = draw(st.integers(0, 128))
    return ipaddress.IPv6Network((draw(st.integers(0, 2**128 - 1)), plen), strict=False)


rd = st.one_of(
    st.builds(lambda a, n: RouteDistinguisher.parse(f"{a}:{n}"), u16, u32),
    st.builds(lambda a, n: RouteDistinguisher.parse(f"{a}:{n}"), v4addr, u16),
    st.builds(
        lambda a, n: RouteDistinguisher.parse(f"{a}:{n}"), st.integers(0x10000, 0xFFFFFFFF), u16
    ),
)
# Labels 16 and up (0-15 are reserved); 524288 without S is the withdrawal field 0x800000.
labels = st.lists(
    st.integers(16, 2**20 - 1).filter(lambda v: v != 0x80000), min_size=1, max_size=3
).map(lambda v: label_stack(*v))


def vpn(net: st.SearchStrategy) -> st.SearchStrategy[VpnPrefix]:
    # The NLRI length octet limits labels + RD + prefix to 255 bits.
    return st.builds(VpnPrefix, rd, net, labels).filter(
        lambda v: 24 * len(v.labels) + 64 + v.prefix.prefixlen <= 255
    )


segment = st.builds(AsSegment, st.integers(1, 4), st.lists(u32, min_size=1, max_size=20).map(tuple))
subtlv = st.one_of(
    st.builds(TunnelEgressEndpoint, st.one_of(st.none(), v4addr, v6addr), u32),
    st.builds(SecurityHandle, st.binary(max_size=40), st.just(CTX.security_handle_subtlv)),
    st.builds(
        UnknownSubTlv,
        st.integers(0, 255).filter(lambda t: t not in (6, CTX.security_handle_subtlv)),
        st.binary(max_size=300),
    ).filter(lambda s: s.type >= 128 or len(s.value) <= 255),
)
tunnel = st.builds(TunnelTlv, u16, st.lists(subtlv, max_size=4).map(tuple))


@st.composite
def mp_reach(draw: st.DrawFn) -> MpReachNlri:
    kind = draw(st.sampled_from(["v4", "v6", "vpnv4", "vpnv6"]))
    if kind == "v4":
        return MpReachNlri(1, 1, NextHop(draw(v4addr)), tuple(draw(st.lists(v4net(), max_size=5))))
    ll = draw(st.one_of(st.none(), v6addr))
    if kind == "v6":
        nets = tuple(draw(st.lists(v6net(), max_size=5)))
        return MpReachNlri(2, 1, NextHop(draw(v6addr), ll), nets)
    if kind == "vpnv4":
        nets = tuple(draw(st.lists(vpn(v4net()), max_size=5)))
        return MpReachNlri(1, 128, NextHop(draw(v4addr)), nets)
    nets = tuple(draw(st.lists(vpn(v6net()), max_size=5)))
    return MpReachNlri(2, 128, NextHop(draw(v6addr), ll), nets)


@st.composite
def mp_unreach(draw: st.DrawFn) -> MpUnreachNlri:
    reach = draw(mp_reach())
    nlri = tuple(VpnPrefix(n.rd, n.prefix) if isinstance(n, VpnPrefix) else n for n in reach.nlri)
    return MpUnreachNlri(reach.afi, reach.safi, nlri)


attribute = st.one_of(
    st.builds(Origin, st.integers(0, 2)),
    st.builds(AsPath, st.lists(segment, max_size=3).map(tuple)),
    st.builds(As4Path, st.lists(segment, max_size=3).map(tuple)),
    st.builds(NextHopAttr, v4addr),
    st.builds(Med, u32),
    st.builds(LocalPref, u32),
    st.just(AtomicAggregate()),
    st.builds(Aggregator, u32, v4addr),
    st.builds(As4Aggregator, u32, v4addr),
    st.builds(Communities, st.lists(u32, min_size=1, max_size=10).map(tuple)),
    st.builds(OriginatorId, v4addr),
    st.builds(ClusterList, st.lists(v4addr, min_size=1, max_size=5).map(tuple)),
    st.builds(
        ExtendedCommunities,
        st.lists(
            st.builds(ExtCommunity, u8, u8, st.binary(min_size=6, max_size=6)),
            min_size=1,
            max_size=6,
        ).map(tuple),
    ),
    st.builds(
        LargeCommunities,
        st.lists(st.builds(LargeCommunityValue, u32, u32, u32), min_size=1, max_size=4).map(tuple),
    ),
    st.builds(TunnelEncapsulation, st.lists(tunnel, min_size=1, max_size=3).map(tuple)),
    mp_reach(),
    mp_unreach(),
    st.builds(
        UnknownAttribute,
        code=st.sampled_from([19, 33, 99, 200, 255]),
        value=st.binary(max_size=300),
        flags=st.sampled_from([0xC0, 0xE0, 0x80, 0xD0, 0xF0]),
    ),
)


capability = st.one_of(
    st.builds(MultiProtocol, u16, u8),
    st.just(RouteRefresh()),
    st.just(EnhancedRouteRefresh()),
    st.just(ExtendedMessage()),
    st.builds(FourOctetAs, u32),
    st.builds(
        GracefulRestart,
        st.integers(0, 0xFFF),
        st.booleans(),
        st.booleans(),
        st.lists(st.builds(GracefulRestartFamily, u16, u8, st.booleans()), max_size=4).map(tuple),
        st.integers(0, 3),
    ),
    st.builds(
        ExtendedNextHop,
        st.lists(st.builds(NextHopEncoding, u16, u16, u16), max_size=4).map(tuple),
    ),
    st.builds(AddPath, st.lists(st.builds(AddPathFamily, u16, u8, u8), max_size=4).map(tuple)),
    st.builds(
        UnknownCapability,
        unknown_code=st.integers(0, 255).filter(lambda c: c not in CAPABILITY_CODES),
        value=st.binary(max_size=40),
    ),
)
