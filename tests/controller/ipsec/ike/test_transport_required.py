"""Draft section 5: the MPLS-in-IP CHILD_SA is transport mode on both sides.

Our own initiator, configured to ask for the MPLS traffic in tunnel mode, against our
responder with the C-PE's MPLS CHILD_SA (``controller.ipsec.tunnels.mpls_child``):
the request is refused with NO_PROPOSAL_CHOSEN, in IKE_AUTH and in CREATE_CHILD_SA,
and the IKE SA itself stays up.
"""

from __future__ import annotations

import dataclasses

import pytest

from controller.ipsec.ike.config import ChildConfig
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.tasks.childneg import add_request, responder_choose
from controller.ipsec.ike.wire.consts import Notify
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.tunnels import bgp_child, mpls_child

from .harness import A_ADDR, B_ADDR, Net, connect, pair, psk_config

pytestmark = pytest.mark.unit


def _tunnel_mode_mpls() -> ChildConfig:
    return dataclasses.replace(mpls_child(A_ADDR, B_ADDR), transport=False)


def _logged_pair(a_children: list[ChildConfig]) -> tuple[Net, IkeDaemon, IkeDaemon, list[str]]:
    """``pair`` with the C-PE's MPLS CHILD_SA at B, and both daemons' log lines kept."""
    lines: list[str] = []
    a = IkeDaemon([psk_config(A_ADDR, B_ADDR, children=a_children)], log=lines.append)
    b_cfg = psk_config(B_ADDR, A_ADDR, children=[mpls_child(B_ADDR, A_ADDR)])
    b = IkeDaemon([b_cfg], log=lines.append)
    return Net({A_ADDR: a, B_ADDR: b}), a, b, lines


def test_tunnel_mode_request_for_mpls_is_refused_in_ike_auth() -> None:
    net, a, b, lines = _logged_pair([_tunnel_mode_mpls()])
    sa = connect(net, a)
    (peer,) = b.established()
    assert sa.state.value == "established" and peer.state.value == "established"
    assert sa.children == [] and peer.children == []
    # The responder says why; the initiator got NO_PROPOSAL_CHOSEN back.
    assert any("CHILD_SA refused with NO_PROPOSAL_CHOSEN" in ln for ln in lines), lines
    assert any("CHILD_SA mpls refused: NO_PROPOSAL_CHOSEN" in ln for ln in lines), lines


def test_transport_mode_request_for_mpls_is_accepted() -> None:
    # The same pair with the initiator asking for transport mode: the refusal above is
    # about the mode, nothing else.
    net, a, b = pair(
        a_kw={"children": [mpls_child(A_ADDR, B_ADDR)]},
        b_kw={"children": [mpls_child(B_ADDR, A_ADDR)]},
    )
    sa = connect(net, a)
    (child,) = sa.children
    assert child.transport and b.established()[0].children[0].transport


def test_tunnel_mode_request_for_mpls_is_refused_in_create_child_sa() -> None:
    tun = dataclasses.replace(_tunnel_mode_mpls(), name="mpls-tun")
    net, a, b, lines = _logged_pair([mpls_child(A_ADDR, B_ADDR), tun])
    sa = connect(net, a)
    assert len(sa.children) == 1
    a.add_child(sa, "mpls-tun", net.now)
    net.pump()
    (peer,) = b.established()
    assert [c.transport for c in sa.children] == [True]
    assert [c.transport for c in peer.children] == [True]
    assert any("refused" in ln and "lacks USE_TRANSPORT_MODE" in ln for ln in lines), lines
    assert any("CHILD_SA mpls-tun refused: NO_PROPOSAL_CHOSEN" in ln for ln in lines), lines


def test_tunnel_mode_stays_allowed_where_configured() -> None:
    # The control CHILD_SA of today's design is tunnel mode: a tunnel-mode request for
    # traffic whose config is tunnel mode is not affected by the rule.
    bgp_a = dataclasses.replace(bgp_child(A_ADDR, B_ADDR), transport=False)
    bgp_b = dataclasses.replace(bgp_child(B_ADDR, A_ADDR), transport=False)
    net, a, _b = pair(a_kw={"children": [bgp_a]}, b_kw={"children": [bgp_b]})
    (child,) = connect(net, a).children
    assert not child.transport


def test_responder_names_the_rule() -> None:
    net, a, b = pair(
        a_kw={"children": [_tunnel_mode_mpls()]}, b_kw={"children": [mpls_child(B_ADDR, A_ADDR)]}
    )
    msg = Message(35, 2, b"\0" * 8, b"\0" * 8, response=False, initiator=True)
    add_request(msg, _tunnel_mode_mpls(), 0x1234, pfs=False)
    sa = connect(net, a)
    (responder_sa,) = b.established()
    with pytest.raises(IkeError) as err:
        responder_choose(responder_sa, msg, with_dh=False)
    assert err.value.notify == Notify.NO_PROPOSAL_CHOSEN
    assert "USE_TRANSPORT_MODE" in str(err.value) and "draft section 5" in str(err.value)
    assert sa.children == []
