"""IKE_AUTH (RFC 7296 1.2, 2.15): identities, AUTH, and the first CHILD_SA."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.ipsec.ike import x509
from controller.ipsec.ike.auth import psk_auth, signed_octets, verify_psk
from controller.ipsec.ike.events import ChildUp, IkeUp
from controller.ipsec.ike.state import IkeState
from controller.ipsec.ike.tasks import DONE, Task
from controller.ipsec.ike.tasks.childneg import (
    add_request,
    add_response,
    initiator_accept,
    make_child,
    responder_choose,
)
from controller.ipsec.ike.wire.auth import AuthPayload, CertPayload, CertReqPayload
from controller.ipsec.ike.wire.consts import (
    AuthMethod,
    CertEncoding,
    ExchangeType,
    Notify,
    notify_name,
)
from controller.ipsec.ike.wire.errors import IkeError, syntax
from controller.ipsec.ike.wire.ident import Identity, IdiPayload, IdrPayload
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.notify import NotifyPayload

if TYPE_CHECKING:
    from controller.ipsec.ike.config import ChildConfig
    from controller.ipsec.ike.sa import IkeSa
    from controller.ipsec.ike.wire.sa import Proposal
    from controller.ipsec.ike.wire.ts import TrafficSelector

    Chosen = tuple[ChildConfig, Proposal, list[TrafficSelector], list[TrafficSelector], bool]


def _my_auth(sa: IkeSa, octets: bytes) -> AuthPayload:
    if sa.cfg.psk is not None:
        assert sa.suite is not None
        return AuthPayload(AuthMethod.PSK, psk_auth(sa.suite.prf, sa.cfg.psk, octets))
    assert sa.cfg.creds is not None
    key = sa.cfg.creds.private_key()
    return AuthPayload(AuthMethod.DIGITAL_SIGNATURE, x509.sign(key, octets))


def _check_peer(sa: IkeSa, msg: Message, ident: Identity, octets: bytes) -> None:
    auth = msg.get(AuthPayload)
    if auth is None:
        raise syntax("IKE_AUTH without AUTH payload")
    assert sa.suite is not None
    if sa.cfg.remote_id is not None and ident != Identity.from_str(sa.cfg.remote_id):
        raise IkeError(
            Notify.AUTHENTICATION_FAILED, f"peer identity {ident} is not {sa.cfg.remote_id}"
        )
    if sa.cfg.psk is not None:
        verify_psk(sa.suite.prf, sa.cfg.psk, octets, auth.method, auth.data)
    else:
        assert sa.cfg.creds is not None
        certs = [c.data for c in msg.all(CertPayload) if c.encoding == CertEncoding.X509_SIGNATURE]
        if auth.method != AuthMethod.DIGITAL_SIGNATURE or not certs:
            raise IkeError(
                Notify.AUTHENTICATION_FAILED, "peer sent no certificate or no RFC 7427 AUTH"
            )
        patterns = sa.cfg.remote_patterns if sa.cfg.remote_id is None else ()
        sa.peer_cert = x509.verify_peer(
            certs[0], certs[1:], sa.cfg.creds.ca_der, ident, octets, auth.data, patterns
        )
    sa.remote_id = str(ident)


class IkeAuth(Task):
    exchange = ExchangeType.IKE_AUTH

    def __init__(self, initiator: bool, child: ChildConfig | None = None) -> None:
        super().__init__(initiator)
        self.child_cfg = child
        self.spi_in = 0
        self.child_error: IkeError | None = None
        self._chosen: Chosen | None = None

    def _cert_payloads(self, sa: IkeSa, msg: Message, request: bool) -> None:
        if sa.cfg.creds is None:
            return
        msg.payloads.append(CertPayload(CertEncoding.X509_SIGNATURE, sa.cfg.creds.cert_der))
        if request:
            msg.payloads.append(
                CertReqPayload(CertEncoding.X509_SIGNATURE, x509.ca_hashes(sa.cfg.creds.ca_der))
            )

    def build(self, sa: IkeSa, msg: Message) -> None:
        assert sa.keys is not None and sa.suite is not None
        me = Identity.from_str(sa.cfg.local_id)
        if self.initiator:
            msg.payloads.append(IdiPayload(me))
            self._cert_payloads(sa, msg, True)
            if sa.cfg.remote_id is not None:
                msg.payloads.append(IdrPayload(Identity.from_str(sa.cfg.remote_id)))
            octets = signed_octets(sa.suite.prf, sa.init_request, sa.nr, sa.keys.sk_pi, me)
            msg.payloads.append(_my_auth(sa, octets))
            if sa.cfg.mobike:
                msg.payloads.append(NotifyPayload(Notify.MOBIKE_SUPPORTED))  # RFC 4555 4
            if sa.first_contact is not None and sa.first_contact(sa):
                # we hold no other SA with this peer (e.g. we restarted): RFC 7296 2.4 lets
                # the peer drop whatever it still has with us
                msg.payloads.append(NotifyPayload(Notify.INITIAL_CONTACT))
            if self.child_cfg is not None:
                self.spi_in = sa.spi_alloc()
                add_request(msg, self.child_cfg, self.spi_in, pfs=False)
            return
        msg.payloads.append(IdrPayload(me))
        self._cert_payloads(sa, msg, False)
        if sa.peer_mobike:
            msg.payloads.append(NotifyPayload(Notify.MOBIKE_SUPPORTED))
        octets = signed_octets(sa.suite.prf, sa.init_response, sa.ni, sa.keys.sk_pr, me)
        msg.payloads.append(_my_auth(sa, octets))
        if self.child_error is not None:
            assert self.child_error.notify is not None
            msg.payloads.append(NotifyPayload(self.child_error.notify))
        elif self._chosen is not None:
            cfg, chosen, local, remote, transport = self._chosen
            self.spi_in = sa.spi_alloc()
            add_response(msg, chosen, self.spi_in, local, remote, transport)
            self._up(sa)
            child = make_child(
                sa,
                cfg,
                chosen,
                self.spi_in,
                local,
                remote,
                transport,
                False,
                sa.ni,
                sa.nr,
                sa.last_heard,
            )
            sa.children.append(child)
            sa.events.append(ChildUp(sa.cfg.name, child))
            return
        self._up(sa)

    def _up(self, sa: IkeSa) -> None:

        if sa.state != IkeState.ESTABLISHED:
            sa.state = IkeState.ESTABLISHED
            life = sa.cfg.lifetimes
            now = sa.last_heard
            sa.rekey_at = (
                now + life.rekey_seconds * (0.95 if sa.initiator else 1.0)
                if life.rekey_seconds
                else None
            )
            sa.expire_at = now + life.life_seconds if life.life_seconds else None
            sa.events.append(IkeUp(sa.cfg.name, sa.spis, sa.remote_id))

    def process(self, sa: IkeSa, msg: Message) -> str:
        assert sa.keys is not None and sa.suite is not None
        if self.initiator:
            err = msg.error_notify()
            if err is not None and msg.get(AuthPayload) is None:
                raise IkeError(None, f"peer refused IKE_AUTH: {notify_name(err.notify_type)}")
            idr = msg.get(IdrPayload)
            if idr is None:
                raise syntax("IKE_AUTH response without IDr")
            octets = signed_octets(
                sa.suite.prf, sa.init_response, sa.ni, sa.keys.sk_pr, idr.identity
            )
            _check_peer(sa, msg, idr.identity, octets)
            if sa.on_authenticated is not None:
                sa.on_authenticated(sa)  # the app may refuse who answered
            sa.peer_mobike = sa.cfg.mobike and msg.notify(Notify.MOBIKE_SUPPORTED) is not None
            self._up(sa)
            if self.child_cfg is not None:
                try:
                    chosen, local, remote, transport = initiator_accept(
                        self.child_cfg, msg, pfs=False
                    )
                except IkeError as exc:
                    sa.log(f"{sa.cfg.name}: {exc}")
                    return DONE
                child = make_child(
                    sa,
                    self.child_cfg,
                    chosen,
                    self.spi_in,
                    local,
                    remote,
                    transport,
                    True,
                    sa.ni,
                    sa.nr,
                    sa.last_heard,
                )
                sa.children.append(child)
                sa.events.append(ChildUp(sa.cfg.name, child))
            return DONE
        idi = msg.get(IdiPayload)
        if idi is None:
            raise syntax("IKE_AUTH request without IDi")
        if sa.lookup is not None:
            cfg = sa.lookup(idi.identity)
            if cfg is None:
                raise IkeError(Notify.AUTHENTICATION_FAILED, f"no config for peer {idi.identity}")
            sa.cfg = cfg
        octets = signed_octets(sa.suite.prf, sa.init_request, sa.nr, sa.keys.sk_pi, idi.identity)
        _check_peer(sa, msg, idi.identity, octets)
        if sa.on_authenticated is not None:
            sa.on_authenticated(sa)  # may give this peer its own config, or refuse it
        moved_from = sa.cfg.remote_addr
        # Authenticated from another address than its config's: the peer moved, unless
        # it is behind a NAT (RFC 7296 2.23), which is where a NATed peer always is.
        moved = moved_from not in (None, sa.remote[0]) and not sa.nat_there
        if moved and sa.on_readdressed is not None:
            assert moved_from is not None
            sa.on_readdressed(sa, moved_from)
        sa.peer_mobike = sa.cfg.mobike and msg.notify(Notify.MOBIKE_SUPPORTED) is not None
        if msg.notify(Notify.INITIAL_CONTACT) is not None and sa.on_initial_contact is not None:
            sa.on_initial_contact(sa)
        self._chosen = None
        try:
            self._chosen = responder_choose(sa, msg, with_dh=False)
        except IkeError as exc:
            if exc.notify is None or exc.notify == Notify.INVALID_SYNTAX:
                raise
            self.child_error = exc  # the IKE SA still comes up (RFC 7296 1.2)
            sa.log(f"{sa.cfg.name}: CHILD_SA refused with {notify_name(exc.notify)}: {exc}")
        return DONE
