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


def _up(**kw: object) -> tuple:
    net, a, b = pair(**kw)  # type: ignore[arg-type]
    sa = connect(net, a)
    (peer,) = b.established()
    return net, a, b, sa, peer


def test_child_rekey_initiated_by_either_side_is_hitless() -> None:
    for who in ("a", "b"):
        net, a, b, sa, peer = _up()
        side, other = (sa, peer) if who == "a" else (peer, sa)
        old = side.children[0]
        (a if who == "a" else b).rekey_child(old.spi_in, net.now)
        net.pump()
        assert len(side.children) == 1 and len(other.children) == 1
        new = side.children[0]
        assert new is not old and new.spi_in != old.spi_in
        assert (new.spi_in, new.spi_out) == (other.children[0].spi_out, other.children[0].spi_in)
        assert new.key_out == other.children[0].key_in
        name = A_ADDR if who == "a" else B_ADDR
        kinds = net.kinds(name)
        # ChildUp(new, replaces=old) comes before ChildDown(old): in before out, then drain
        ups = [e for _, e in net.events[name] if type(e).__name__ == "ChildUp"]
        assert ups[-1].replaces is old
        assert kinds.index("ChildDown") > len(kinds) - 3


def test_child_rekey_by_lifetime_and_expiry() -> None:
    net, _a, _b, sa, peer = _up()
    first = sa.children[0]
    net.advance(600)  # initiator rekeys at 95% of 600 s
    assert sa.children and sa.children[0] is not first
    assert len(peer.children) == 1
    assert peer.children[0].spi_out == sa.children[0].spi_in


def test_simultaneous_child_rekey_leaves_exactly_one_pair() -> None:
    for seed in range(6):
        net, a, b, sa, peer = _up()
        net.rng.seed(seed)
        net.reorder = True
        a.rekey_child(sa.children[0].spi_in, net.now)
        b.rekey_child(peer.children[0].spi_in, net.now)
        net.pump()
        assert len(sa.children) == 1 and len(peer.children) == 1, seed
        ca, cb = sa.children[0], peer.children[0]
        assert (ca.spi_in, ca.spi_out) == (cb.spi_out, cb.spi_in), seed
        assert ca.key_out == cb.key_in


def test_ike_rekey_moves_children_and_deletes_old_sa() -> None:
    net, a, b, sa, peer = _up()
    child = sa.children[0]
    net.advance(3000)  # IKE rekey at 95% of 3000 s
    (new_a,) = a.established()
    (new_b,) = b.established()
    assert new_a.spis == new_b.spis != sa.spis
    assert sa.state.value == "deleted" and peer.state.value == "deleted"
    assert child.state.value == "deleted"  # rekeyed several times over 3000 s
    assert len(new_a.children) == 1 and not sa.children
    assert "IkeRekeyed" in net.kinds(A_ADDR) and "IkeRekeyed" in net.kinds(B_ADDR)
    # the new SA still works: a CHILD_SA rekey over it
    a.rekey_child(new_a.children[0].spi_in, net.now)
    net.pump()
    assert new_a.children[0].spi_out == new_b.children[0].spi_in


def test_delete_child_and_ike_sa() -> None:
    net, a, b, sa, peer = _up()
    a.delete_child(sa.children[0].spi_in, net.now)
    net.pump()
    assert not sa.children and not peer.children
    a.delete_ike(sa, net.now)
    net.pump()
    assert not a.sas and not b.sas
    assert net.kinds(B_ADDR)[-1] == "IkeDown"


def test_liveness_check_and_dead_peer() -> None:
    net, _a, _b, sa, _peer = _up(a_kw={"dpd_seconds": 10.0})
    before = len(net.sent)
    net.advance(11)
    assert len(net.sent) == before + 2  # one empty INFORMATIONAL and its response
    assert sa.state.value == "established"
    net.drop = lambda d: True  # the peer vanishes
    net.advance(200)
    assert sa.state.value == "deleted"
    assert net.kinds(A_ADDR)[-2:] == ["ChildDown", "IkeDown"]


def test_survives_loss_duplication_and_reordering() -> None:
    for seed in range(5):
        net, a, b = pair()
        net.rng.seed(seed)
        counter = iter(range(1, 10**6))
        net.drop = lambda d, c=counter: next(c) % 3 == 0  # type: ignore[misc]
        net.duplicate = True
        net.reorder = True
        sa = a.initiate(f"to-{B_ADDR}", (A_ADDR, 500), (B_ADDR, 500), net.now)
        net.pump()
        net.advance(40)
        assert sa.state.value == "established", seed
        (peer,) = b.established()
        assert sa.children[0].spi_out == peer.children[0].spi_in


def test_invalid_ke_recovery() -> None:
    _net, _a, _b, sa, _peer = _up(
        a_kw={"ike_proposals": ["aes128gcm16-prfsha256-x25519-ecp256"]},
        b_kw={"ike_proposals": ["aes128gcm16-prfsha256-ecp256"]},
    )
    assert sa.state.value == "established"
    assert sa.suite is not None and sa.suite.dh_group == 19


def test_cookie_challenge_under_half_open_load() -> None:
    net, a, b = pair()
    b.cookie_threshold = 0  # every IKE_SA_INIT must return a cookie
    sa = connect(net, a)
    assert sa.state.value == "established"
    first = net.sent[1].data
    assert len(first) < 80 and b"\x40\x06" in first  # a bare N(COOKIE) response


def test_fragmented_ike_auth() -> None:
    net, _a, _b, sa, _peer = _up(a_kw={"fragment_size": 128}, b_kw={"fragment_size": 128})
    assert sa.state.value == "established"
    assert sum(1 for d in net.sent if d.data[16] == 53) > 2  # SKF (53) as first payload


def test_wrong_psk_fails_both_sides() -> None:
    net, a, b = pair(b_kw={"psk": b"another secret entirely"})
    sa = connect(net, a)
    assert sa.state.value == "deleted"
    assert not b.sas and not a.sas
    assert "AUTHENTICATION_FAILED" in net.events[A_ADDR][-1][1].reason


def test_no_common_proposal() -> None:
    net, a, b = pair(b_kw={"ike_proposals": ["aes256-sha512-modp2048"]})
    sa = connect(net, a)
    assert sa.state.value == "deleted"
    assert not b.sas


def test_simultaneous_ike_rekey_leaves_one_ike_sa_with_the_children() -> None:
    for seed in range(6):
        net, a, b, sa, peer = _up()
        net.rng.seed(seed)
        net.reorder = True
        a.rekey_ike(sa, net.now)
        b.rekey_ike(peer, net.now)
        net.pump()
        net.advance(2)
        (new_a,) = a.established()
        (new_b,) = b.established()
        assert new_a.spis == new_b.spis and new_a.spis != sa.spis, seed
        assert len(new_a.children) == 1 and len(new_b.children) == 1, seed
        assert new_a.children[0].spi_out == new_b.children[0].spi_in
        # the survivor works: a CHILD_SA rekey over it
        a.rekey_child(new_a.children[0].spi_in, net.now)
        net.pump()
        assert new_a.children[0].key_out == new_b.children[0].key_in, seed


def test_hard_lifetimes_delete_child_and_ike_sa() -> None:
    from controller.ipsec.ike.config import Lifetimes

    net, a, b = pair(a_kw={"lifetimes": Lifetimes(None, 100.0)})
    sa = connect(net, a)
    a.config(f"to-{B_ADDR}").children[0].lifetimes = Lifetimes(None, 30.0)
    a.rekey_child(sa.children[0].spi_in, net.now)  # the new CHILD_SA gets the 30 s life
    net.pump()
    (peer,) = b.established()
    net.advance(31)
    assert not sa.children and not peer.children
    assert sa.state.value == "established"
    net.advance(70)
    assert not a.sas and not b.sas
    assert net.kinds(B_ADDR)[-1] == "IkeDown"


def test_peer_restart_with_initial_contact_replaces_stale_sas() -> None:
    from controller.ipsec.ike.daemon import IkeDaemon

    from .harness import psk_config

    net, _, b, _, peer = _up()
    old_child = peer.children[0]
    # A restarts: a fresh daemon, no memory of its SAs; B still holds the old ones
    a2 = IkeDaemon([psk_config(A_ADDR, B_ADDR)])
    net.nodes[A_ADDR] = a2
    fresh = connect(net, a2)
    assert fresh.state.value == "established"
    (current,) = b.established()
    assert current.spis == fresh.spis and peer.state.value == "deleted"
    kinds = [(type(e).__name__, getattr(e, "child", None)) for _, e in net.events[B_ADDR]]
    assert ("ChildDown", old_child) in kinds
    # a second IKE SA to the same peer from the same daemon does not claim first contact
    again = a2.initiate(f"to-{B_ADDR}", (A_ADDR, 500), (B_ADDR, 500), net.now)
    net.pump()
    assert again.state.value == "established" and current.state.value == "established"
    assert len(b.established()) == 2
