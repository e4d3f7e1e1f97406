"""RFC 6793 between a 4-octet speaker and one that only speaks 2-octet AS numbers."""

import ipaddress

import pytest
from bgp_pump import Net, net_, start_all, states

from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.path import IPV4_UNICAST, Color, Nlri
from controller.bgp.wire.capabilities import MultiProtocol
from controller.bgp.wire.open import Open

pytestmark = pytest.mark.unit
X, Y, Z = "192.0.2.1", "192.0.2.2", "192.0.2.3"
BIG = 4_200_000_001
ip = ipaddress.ip_address


def test_four_octet_path_survives_a_two_octet_hop() -> None:
    # Y (AS 4200000001) -> X (AS 65000, 2-octet only) -> Z (AS 65001, 4-octet).
    net = Net()

    def nb(addr: str, asn: int) -> NeighborConfig:
        return NeighborConfig(
            ip(addr), asn, Color.BLACK, idle_hold_time=1, families=(IPV4_UNICAST,)
        )

    net.add(X, SpeakerCore(SpeakerConfig(65000, ip(X), neighbors=(nb(Y, BIG), nb(Z, 65001)))))
    net.add(Y, SpeakerCore(SpeakerConfig(BIG, ip(Y), neighbors=(nb(X, 65000),))))
    net.add(Z, SpeakerCore(SpeakerConfig(65001, ip(Z), neighbors=(nb(X, 65000),))))
    x = net.node(X)
    for sess in x.sessions.values():  # X does not announce the 4-octet AS capability
        sess.our_open = Open.create(65000, 90, ip(X), [MultiProtocol(1, 1)], four_octet=False)
    start_all(net, protect=False)
    assert states(x) == {Y: "Established", Z: "Established"}
    assert x.sessions[ip(Y)].negotiated.four_octet_as is False
    net.node(Y).announce(net_("198.18.0.0/15"), ip(Y), Color.BLACK, net.now)
    net.settle()
    at_x = x.black.best(Nlri(IPV4_UNICAST, net_("198.18.0.0/15")))
    assert at_x is not None and at_x.attrs.as_path == ((2, (BIG,)),)
    at_z = net.node(Z).black.best(Nlri(IPV4_UNICAST, net_("198.18.0.0/15")))
    assert at_z is not None and at_z.attrs.as_path == ((2, (65000, BIG)),)
