"""IKE_SA_INIT (RFC 7296 1.2): SA, KE, Nonce, NAT detection (2.23), cookies (2.6),
INVALID_KE_PAYLOAD recovery (1.2), fragmentation support (RFC 7383 2.3)."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import os
import struct
from typing import TYPE_CHECKING

from controller.ipsec.ike import x509
from controller.ipsec.ike.crypto.dh import DhExchange
from controller.ipsec.ike.crypto.keys import IkeSuite, derive_ike_keys, skeyseed
from controller.ipsec.ike.crypto.prf import PRFS
from controller.ipsec.ike.proposals import one, parse_proposals, select_configured
from controller.ipsec.ike.tasks import DONE, RETRY, Task
from controller.ipsec.ike.wire.auth import CertReqPayload
from controller.ipsec.ike.wire.consts import (
    CertEncoding,
    ExchangeType,
    Notify,
    Protocol,
    TransformType,
    notify_name,
)
from controller.ipsec.ike.wire.errors import IkeError, syntax
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.notify import NotifyPayload
from controller.ipsec.ike.wire.sa import Proposal, SaPayload, Transform
from controller.ipsec.ike.wire.simple import KePayload, NoncePayload

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import Addr, IkeSa

NONCE_LEN = 32
# RFC 7427 4: hash algorithms we accept for signatures (SHA2-256/384/512)
SIGNATURE_HASHES = struct.pack("!HHHH", 2, 3, 4, 5)  # SHA2-256/384/512, Identity (RFC 8420)


@functools.lru_cache(maxsize=1024)
def _packed(ip: str) -> bytes:
    return ipaddress.ip_address(ip).packed


def nat_hash(spi_i: bytes, spi_r: bytes, addr: Addr) -> bytes:
    """RFC 7296 2.23: SHA-1(SPIi | SPIr | IP | Port)."""
    return hashlib.sha1(spi_i + spi_r + _packed(addr[0]) + struct.pack("!H", addr[1])).digest()


def suite_of(prop: Proposal) -> IkeSuite:
    return _suite(tuple(prop.transforms))


@functools.lru_cache(maxsize=64)  # the same few chosen proposals, and IkeSuite is frozen
def _suite(transforms: tuple[Transform, ...]) -> IkeSuite:
    prop = Proposal(0, Protocol.IKE, b"", list(transforms))
    encr, prf, dh = (
        one(prop, t) for t in (TransformType.ENCR, TransformType.PRF, TransformType.DH)
    )
    integ = one(prop, TransformType.INTEG)
    if encr is None or prf is None or dh is None or prf.id not in PRFS:
        raise IkeError(Notify.NO_PROPOSAL_CHOSEN, "IKE proposal lacks ENCR, PRF or DH")
    return IkeSuite(encr.id, encr.key_length or 128, PRFS[prf.id], integ.id if integ else 0, dh.id)


class IkeInit(Task):
    exchange = ExchangeType.IKE_SA_INIT

    def __init__(self, initiator: bool) -> None:
        super().__init__(initiator)
        self.dh: DhExchange | None = None
        self.group = 0
        self.cookie = b""
        self.nonce = os.urandom(NONCE_LEN)
        self.peer_ke = b""
        self.chosen: Proposal | None = None

    def _nat_notifies(self, sa: IkeSa, msg: Message, spi_r: bytes) -> None:
        src = nat_hash(sa.spi_i, spi_r, sa.local)
        if sa.cfg.force_encap:
            src = os.urandom(20)  # claim a NAT so ESP goes in UDP (what swanctl's encap does)
        msg.payloads.append(NotifyPayload(Notify.NAT_DETECTION_SOURCE_IP, src))
        msg.payloads.append(
            NotifyPayload(Notify.NAT_DETECTION_DESTINATION_IP, nat_hash(sa.spi_i, spi_r, sa.remote))
        )

    def _check_nat(self, sa: IkeSa, msg: Message, spi_r: bytes) -> None:
        srcs = [
            n.data
            for n in msg.all(NotifyPayload)
            if n.notify_type == Notify.NAT_DETECTION_SOURCE_IP
        ]
        dst = msg.notify(Notify.NAT_DETECTION_DESTINATION_IP)
        if srcs:
            sa.nat_there = nat_hash(sa.spi_i, spi_r, sa.remote) not in srcs
        if dst is not None:
            sa.nat_here = dst.data != nat_hash(sa.spi_i, spi_r, sa.local)

    def _extras(self, sa: IkeSa, msg: Message) -> None:
        if sa.cfg.fragment_size:
            msg.payloads.append(NotifyPayload(Notify.IKEV2_FRAGMENTATION_SUPPORTED))
        if sa.cfg.creds is not None:
            msg.payloads.append(NotifyPayload(Notify.SIGNATURE_HASH_ALGORITHMS, SIGNATURE_HASHES))

    def build(self, sa: IkeSa, msg: Message) -> None:
        if self.initiator:
            sa.spi_r = bytes(8)
            msg.spi_r = sa.spi_r
            sa.mid_out = msg.message_id = 0
            props = parse_proposals(sa.cfg.ike_proposals, Protocol.IKE)
            if not self.group:
                first = one(props[0], TransformType.DH)
                self.group = first.id if first else 0
            self.dh = DhExchange(self.group)
            if self.cookie:
                msg.payloads.append(NotifyPayload(Notify.COOKIE, self.cookie))
            msg.payloads += [
                SaPayload(props),
                KePayload(self.group, self.dh.public),
                NoncePayload(self.nonce),
            ]
            self._nat_notifies(sa, msg, bytes(8))
            self._extras(sa, msg)
            return
        assert self.chosen is not None and self.dh is not None
        msg.payloads += [
            SaPayload([self.chosen]),
            KePayload(self.group, self.dh.public),
            NoncePayload(self.nonce),
        ]
        self._nat_notifies(sa, msg, sa.spi_r)
        self._extras(sa, msg)
        if sa.cfg.creds is not None:
            # ask for the initiator's certificate (RFC 7296 3.7); peers send it only if asked
            ca = x509.ca_hashes(sa.cfg.creds.ca_der)
            msg.payloads.append(CertReqPayload(CertEncoding.X509_SIGNATURE, ca))
        sa.ni, sa.nr = self.peer_nonce, self.nonce
        self._derive(sa, self.peer_ke)

    def process(self, sa: IkeSa, msg: Message) -> str:
        if self.initiator:
            return self._process_response(sa, msg)
        sa_p, ke, nonce = msg.get(SaPayload), msg.get(KePayload), msg.get(NoncePayload)
        if sa_p is None or ke is None or nonce is None:
            raise syntax("IKE_SA_INIT request lacks SA, KE or Nonce")
        chosen = select_configured(sa_p.proposals, sa.cfg.ike_proposals, Protocol.IKE)
        if chosen is None:
            raise IkeError(Notify.NO_PROPOSAL_CHOSEN, "no acceptable IKE proposal")
        dh = one(chosen, TransformType.DH)
        assert dh is not None
        if ke.group != dh.id:
            raise IkeError(
                Notify.INVALID_KE_PAYLOAD,
                f"KE group {ke.group}, we want {dh.id}",
                struct.pack("!H", dh.id),
            )
        self.chosen, self.group, self.peer_ke = chosen, dh.id, ke.data
        self.peer_nonce = nonce.nonce
        self.dh = DhExchange(self.group)
        self._check_nat(sa, msg, bytes(8))
        sa.peer_fragments = msg.notify(Notify.IKEV2_FRAGMENTATION_SUPPORTED) is not None
        return DONE

    def _process_response(self, sa: IkeSa, msg: Message) -> str:
        cookie = msg.notify(Notify.COOKIE)
        if cookie is not None:
            self.cookie = cookie.data
            return RETRY
        bad_ke = msg.notify(Notify.INVALID_KE_PAYLOAD)
        if bad_ke is not None and len(bad_ke.data) == 2:
            (group,) = struct.unpack("!H", bad_ke.data)
            offered = {
                t.id
                for p in parse_proposals(sa.cfg.ike_proposals, Protocol.IKE)
                for t in p.of_type(TransformType.DH)
            }
            if group in offered and group != self.group:
                self.group = group
                return RETRY
            raise IkeError(Notify.NO_PROPOSAL_CHOSEN, f"peer wants DH group {group}, not offered")
        err = msg.error_notify()
        if err is not None:
            raise IkeError(None, f"peer refused IKE_SA_INIT: {notify_name(err.notify_type)}")
        sa_p, ke, nonce = msg.get(SaPayload), msg.get(KePayload), msg.get(NoncePayload)
        if sa_p is None or ke is None or nonce is None or len(sa_p.proposals) != 1:
            raise syntax("IKE_SA_INIT response lacks SA, KE or Nonce")
        chosen = select_configured(sa_p.proposals, sa.cfg.ike_proposals, Protocol.IKE)
        if chosen is None or ke.group != self.group:
            raise IkeError(Notify.NO_PROPOSAL_CHOSEN, "responder chose something we did not offer")
        self.chosen = chosen
        sa.spi_r = msg.spi_r
        sa.ni, sa.nr = self.nonce, nonce.nonce
        self._check_nat(sa, msg, sa.spi_r)
        sa.peer_fragments = msg.notify(Notify.IKEV2_FRAGMENTATION_SUPPORTED) is not None
        self._derive(sa, ke.data)
        if sa.encap:
            sa.local = (sa.local[0], 4500)  # RFC 7296 2.23: float to port 4500
            sa.remote = (sa.remote[0], 4500)
        return DONE

    def _derive(self, sa: IkeSa, peer_public: bytes) -> None:
        assert self.dh is not None and self.chosen is not None
        suite = suite_of(self.chosen)
        shared = self.dh.shared_secret(peer_public)
        seed = skeyseed(suite.prf, sa.ni, sa.nr, shared)
        sa.suite = suite
        sa.keys = derive_ike_keys(suite, seed, sa.ni, sa.nr, sa.spi_i, sa.spi_r)
        sa.cipher_out, sa.cipher_in = sa.keys.ciphers(suite, sa.initiator)
