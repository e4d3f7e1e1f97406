"""RFC 7427 certificate authentication, initiator vs responder in one process."""

from __future__ import annotations

import pytest
from cryptography import x509

from controller.ipsec.ike import peerid
from controller.ipsec.ike.config import Credentials, IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.pki import Issued, issue, make_ca
from controller.ipsec.ike.sa import IkeSa
from controller.ipsec.ike.wire.consts import Notify
from controller.ipsec.ike.wire.errors import IkeError

from .harness import A_ADDR, B_ADDR, Net, transport_child

pytestmark = pytest.mark.unit
AB, BA = (A_ADDR, B_ADDR), (B_ADDR, A_ADDR)


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca()


def cert_config(
    me: str, addrs: tuple[str, str], mine: Issued, ca: Issued, remote_id: str | None
) -> IkeConfig:
    return IkeConfig(
        name="peer",
        local_id=me,
        remote_id=remote_id,
        creds=Credentials(mine.cert_der, mine.key_pem, [ca.cert_der]),
        children=[transport_child(*addrs)],
        lifetimes=Lifetimes(None, None),
    )


def run(cfg_a: IkeConfig, cfg_b: IkeConfig) -> tuple[Net, IkeDaemon, IkeDaemon]:
    a, b = IkeDaemon([cfg_a]), IkeDaemon([cfg_b])
    net = Net({A_ADDR: a, B_ADDR: b})
    a.initiate("peer", (A_ADDR, 500), (B_ADDR, 500), net.now)
    net.pump()
    return net, a, b


@pytest.mark.parametrize(("kind_a", "kind_b"), [("ecdsa256", "rsa"), ("rsa", "ecdsa384")])
def test_certificates_rsa_and_ecdsa(ca: Issued, kind_a: str, kind_b: str) -> None:
    ida, idb = "cpe-a.example.net", "cpe-b.example.net"
    a_cert, b_cert = issue(ca, ida, kind_a), issue(ca, idb, kind_b)
    # the responder was never told about A: any certificate from the CA will do
    _net, a, b = run(cert_config(ida, AB, a_cert, ca, idb), cert_config(idb, BA, b_cert, ca, None))
    (sa,) = a.established()
    (peer,) = b.established()
    assert peer.remote_id == ida and sa.remote_id == idb
    assert sa.children and peer.children


def test_certificate_from_another_ca_is_refused(ca: Issued) -> None:
    rogue = make_ca("rogue CA")
    ida, idb = "cpe-a.example.net", "cpe-b.example.net"
    a_cfg = cert_config(ida, AB, issue(rogue, ida), rogue, idb)
    a_cfg.creds.ca_der = [ca.cert_der]  # type: ignore[union-attr]
    net, a, b = run(a_cfg, cert_config(idb, BA, issue(ca, idb), ca, None))
    assert not a.sas and not b.sas
    assert "AUTHENTICATION_FAILED" in net.events[A_ADDR][-1][1].reason


def test_certificate_naming_someone_else_is_refused(ca: Issued) -> None:
    ida, idb = "cpe-a.example.net", "cpe-b.example.net"
    stolen = issue(ca, "cpe-c.example.net")  # valid, but not for the identity claimed
    _net, a, b = run(
        cert_config(ida, AB, stolen, ca, idb),
        cert_config(idb, BA, issue(ca, idb), ca, None),
    )
    assert not a.sas and not b.sas


def test_responder_with_only_a_ca_and_a_pattern(ca: Issued) -> None:
    """An RR-like responder: no peer configured, only our CA and ``*.cpe.example``. A C-PE
    under that name comes up; one outside it is refused with AUTHENTICATION_FAILED, and
    the responder's log says why."""
    idb = "rr1.example.net"
    rr_cfg = cert_config(idb, BA, issue(ca, idb), ca, None)
    rr_cfg.remote_patterns = ("*.cpe.example",)
    for ida, admitted in (("cpe7.cpe.example", True), ("cpe7.elsewhere.example", False)):
        lines: list[str] = []
        a = IkeDaemon(
            [cert_config(ida, AB, issue(ca, ida, red_loopbacks=("10.255.0.7",)), ca, idb)]
        )
        b = IkeDaemon([rr_cfg], log=lines.append)
        net = Net({A_ADDR: a, B_ADDR: b})
        a.initiate("peer", (A_ADDR, 500), (B_ADDR, 500), net.now)
        net.pump()
        assert bool(b.established()) is admitted
        if admitted:
            (sa,) = b.established()
            assert sa.remote_id == ida and sa.peer_cert is not None
        else:
            assert "AUTHENTICATION_FAILED" in net.events[A_ADDR][-1][1].reason
            assert any(
                f"identity {ida} matches none of the allowed *.cpe.example" in line
                for line in lines
            ), lines


def test_on_authenticated_sees_the_certificate_and_may_refuse(ca: Issued) -> None:
    """The responder's hook sees the validated certificate and may refuse the peer."""
    ida, idb = "cpe8.cpe.example", "rr1.example.net"
    seen: list[list[str]] = []

    def hook(sa: IkeSa) -> None:
        assert isinstance(sa.peer_cert, x509.Certificate)
        bound = [str(a) for a in peerid.red_loopbacks(sa.peer_cert)]
        seen.append(bound)
        if not bound:
            raise IkeError(Notify.AUTHENTICATION_FAILED, "certificate binds no red loopback")

    for reds in (("10.255.0.8",), ()):
        b = IkeDaemon([cert_config(idb, BA, issue(ca, idb), ca, None)])
        a = IkeDaemon([cert_config(ida, AB, issue(ca, ida, red_loopbacks=reds), ca, idb)])
        net = Net({A_ADDR: a, B_ADDR: b})
        b.on_authenticated = hook
        a.initiate("peer", (A_ADDR, 500), (B_ADDR, 500), net.now)
        net.pump()
        assert bool(b.established()) is bool(reds)
    assert seen == [["10.255.0.8"], []]
