"""Nlri keeps its prefix as one int: it must still behave as the network it was built from."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.bgp.path import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    RTC,
    VPNV4,
    VPNV6,
    Family,
    IPNetwork,
    Nlri,
)
from controller.bgp.rtc import DEFAULT_MEMBERSHIP, local_memberships
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.nlri.rd import RouteDistinguisher

pytestmark = pytest.mark.unit

RDS = st.sampled_from([None, RouteDistinguisher.parse("65000:1"), RouteDistinguisher.zero()])
NETS = st.one_of(
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(
        lambda t: ipaddress.IPv4Network(t, strict=False)
    ),
    st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)).map(
        lambda t: ipaddress.IPv6Network(t, strict=False)
    ),
)


def fam_of(net: ipaddress.IPv4Network | ipaddress.IPv6Network, vpn: bool) -> Family:
    if net.version == 4:
        return VPNV4 if vpn else IPV4_UNICAST
    return VPNV6 if vpn else IPV6_UNICAST


@given(NETS, NETS, RDS, RDS)
def test_equal_and_hashed_as_its_parts(
    a: IPNetwork, b: IPNetwork, rd_a: RouteDistinguisher | None, rd_b: RouteDistinguisher | None
) -> None:
    x, y = Nlri(fam_of(a, rd_a is not None), a, rd_a), Nlri(fam_of(b, rd_b is not None), b, rd_b)
    same = a == b and rd_a == rd_b and type(a) is type(b)
    assert (x == y) is same
    if same:
        assert hash(x) == hash(y)
    assert x.prefix == a and isinstance(x.prefix, type(a))
    assert x.prefix is x.prefix  # built once
    assert hash(x.prefix) == hash(a) and str(x.prefix) == str(a) and repr(x.prefix) == repr(a)
    assert x == Nlri(x.family, x.prefix, rd_a)
    parts = (int(a.network_address), a.prefixlen, a.max_prefixlen)
    z = Nlri.of_parts(x.family, *parts, rd_a)
    assert z == x and hash(z) == hash(x) and z.prefix == a and str(z) == str(x)


def test_same_bits_different_width_or_family_differ() -> None:
    v4 = Nlri(IPV4_UNICAST, ipaddress.ip_network("0.0.0.0/0"))
    v6 = Nlri(IPV4_UNICAST, ipaddress.ip_network("::/0"))
    assert v4 != v6 and v4.prefix.version == 4 and v6.prefix.version == 6
    assert Nlri(IPV4_UNICAST, v4.prefix) != Nlri(VPNV4, v4.prefix)
    rd = RouteDistinguisher.parse("65000:7")
    assert str(Nlri(VPNV4, ipaddress.ip_network("10.1.0.0/16"), rd)) == "65000:7:10.1.0.0/16"


def test_membership_routes_print_and_compare() -> None:
    (full,) = local_memberships(65000, [ExtCommunity.route_target("65000:100")])
    assert full.family == RTC and full.prefix.prefixlen == 96
    assert str(full) == f"rt-membership 65000 {ExtCommunity.route_target('65000:100')}"
    assert str(DEFAULT_MEMBERSHIP) == "rt-membership default"
    assert Nlri(RTC, full.prefix) == full and full != DEFAULT_MEMBERSHIP
