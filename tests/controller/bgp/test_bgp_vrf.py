"""VRFs: route-target import/export between tenants, per-VRF and per-prefix labels (RFC 4364)."""

import pytest
from bgp_pump import RR, A, B, Net, cpe_config, ip, net_, rr_config, start_all

from controller.bgp.config import ConfigError, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.vrf import LabelAllocator, LabelMode, VrfConfig

pytestmark = pytest.mark.unit


def two_cpes(a_vrfs: tuple, b_vrfs: tuple) -> Net:
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, B])))
    net.add(
        A, SpeakerCore(cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR], vrfs=a_vrfs))
    )
    net.add(
        B, SpeakerCore(cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR], vrfs=b_vrfs))
    )
    start_all(net)
    return net


def test_route_targets_decide_which_vrf_imports() -> None:
    a_vrfs = (
        VrfConfig("blue", "10.255.0.1:1", ("65000:100",), ("65000:100",)),
        VrfConfig("green", "10.255.0.1:2", ("65000:200",), ("65000:200",)),
    )
    b_vrfs = (
        VrfConfig("blue", "10.255.0.2:1", ("65000:100",), ("65000:100",)),
        VrfConfig("green", "10.255.0.2:2", ("65000:200",), ("65000:200",)),
        # An extranet VRF importing both tenants' routes.
        VrfConfig("shared", "10.255.0.2:3", ("65000:100", "65000:200"), ("65000:300",)),
    )
    net = two_cpes(a_vrfs, b_vrfs)
    a, b = net.node(A), net.node(B)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    a.add_vrf_route("green", net_("172.16.9.0/24"), net.now)
    net.settle()
    assert [e.prefix for e in b.vrf_routes("blue")] == [net_("172.16.1.0/24")]
    assert [e.prefix for e in b.vrf_routes("green")] == [net_("172.16.9.0/24")]
    assert sorted(str(e.prefix) for e in b.vrf_routes("shared")) == [
        "172.16.1.0/24",
        "172.16.9.0/24",
    ]
    # The same tenant prefix in two VRFs keeps separate routes thanks to distinct RDs.
    a.add_vrf_route("green", net_("172.16.1.0/24"), net.now)
    net.settle()
    green = {str(e.prefix): e.rd for e in b.vrf_routes("green")}
    assert green == {"172.16.1.0/24": "10.255.0.1:2", "172.16.9.0/24": "10.255.0.1:2"}
    assert {e.rd for e in b.vrf_routes("blue")} == {"10.255.0.1:1"}


def test_per_vrf_and_per_prefix_labels() -> None:
    a_vrfs = (
        VrfConfig("blue", "10.255.0.1:1", ("65000:100",), ("65000:100",), LabelMode.PER_VRF),
        VrfConfig("green", "10.255.0.1:2", ("65000:200",), ("65000:200",), LabelMode.PER_PREFIX),
    )
    net = two_cpes(a_vrfs, a_vrfs[:1])
    a = net.node(A)
    l1 = a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    l2 = a.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    g1 = a.add_vrf_route("green", net_("172.16.1.0/24"), net.now)
    g2 = a.add_vrf_route("green", net_("172.16.2.0/24"), net.now)
    assert l1 == l2
    assert len({l1, g1, g2}) == 3
    # A freed per-prefix label is reused rather than leaking the label space.
    a.remove_vrf_route("green", net_("172.16.2.0/24"), net.now)
    assert a.add_vrf_route("green", net_("172.16.3.0/24"), net.now) == g2


def test_label_allocator_bounds() -> None:
    with pytest.raises(ValueError, match="must lie within 16-1048575"):
        LabelAllocator(3, 10)
    alloc = LabelAllocator(16, 17)
    assert [alloc.get("a"), alloc.get("b"), alloc.get("a")] == [16, 17, 16]
    with pytest.raises(RuntimeError, match="exhausted"):
        alloc.get("c")


def test_bad_vrf_config_is_a_one_line_error() -> None:
    cfg = cpe_config(
        "10.255.0.1",
        "10.255.0.1",
        "198.51.100.1",
        [RR],
        vrfs=(VrfConfig("blue", "not-an-rd", (), ()),),
    )
    with pytest.raises(ConfigError, match="vrf blue: bad route distinguisher 'not-an-rd'"):
        SpeakerCore(cfg)
    with pytest.raises(ConfigError, match="vrfs need a red loopback"):
        SpeakerConfig(65000, cfg.router_id, vrfs=cfg.vrfs)


def test_vrf_red_loopback_must_be_configured() -> None:
    cfg = cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR])
    bad = VrfConfig("blue", "65000:1", (), (), red_loopback=ip("10.255.9.9"))
    with pytest.raises(ConfigError, match=r"vrf blue: red loopback 10\.255\.9\.9 is not one of"):
        SpeakerConfig(
            65000,
            cfg.router_id,
            black_loopback=cfg.black_loopback,
            red_loopbacks=cfg.red_loopbacks,
            vrfs=(bad,),
        )
