import pytest

from controller.ipsec.ike.sa import IkeState

from .harness import A_ADDR, B_ADDR, connect, pair

pytestmark = pytest.mark.unit


def test_psk_ike_sa_and_first_child_come_up() -> None:
    net, a, b = pair()
    sa = connect(net, a)
    assert sa.state == IkeState.ESTABLISHED
    (peer,) = b.established()
    assert peer.spis == sa.spis
    assert net.kinds(A_ADDR) == ["IkeUp", "ChildUp"]
    assert net.kinds(B_ADDR) == ["ChildUp", "IkeUp"] or net.kinds(B_ADDR) == ["IkeUp", "ChildUp"]
    (ca,), (cb,) = sa.children, peer.children
    assert (ca.spi_in, ca.spi_out) == (cb.spi_out, cb.spi_in)
    assert ca.key_out == cb.key_in and ca.key_in == cb.key_out
    assert ca.transport and cb.transport
    assert str(ca.local_ts[0]) == f"{A_ADDR}[137]"
