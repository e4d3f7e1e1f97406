"""Configuration of IKE SAs and their CHILD_SAs (what swanctl.conf says for strongSwan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.ipsec.ike.state import NAT_KEEPALIVE
from controller.ipsec.ike.wire.ts import TrafficSelector

if TYPE_CHECKING:
    from controller.ipsec.ike.sigalg import PrivateKey


@dataclass
class Lifetimes:
    """Rekey (soft) and expiry (hard) limits; None = no limit of that sort."""

    rekey_seconds: float | None = 3600.0
    life_seconds: float | None = 3960.0
    rekey_bytes: int | None = None
    rekey_packets: int | None = None
    life_bytes: int | None = None
    life_packets: int | None = None


@dataclass
class ChildConfig:
    name: str
    local_ts: list[TrafficSelector]
    remote_ts: list[TrafficSelector]
    esp_proposals: list[str] = field(default_factory=lambda: ["aes128gcm16"])
    transport: bool = True  # USE_TRANSPORT_MODE (RFC 7296 1.3.1); tunnel otherwise
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    # SA-set ids (controller/ipsec/handle.py): the one we ask the peer for when we
    # initiate this CHILD_SA, and the one of ours a peer's request must name to get it
    request_set: int | None = None
    own_set: int | None = None


@dataclass
class Credentials:
    """Certificate auth (RFC 7427): our chain and key, and the CAs we trust.

    The private key stays in memory: parsed once, on first use, never shown.
    """

    cert_der: bytes
    key_pem: bytes = field(repr=False)
    ca_der: list[bytes]
    _key: PrivateKey | None = field(default=None, init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"Credentials(cert={len(self.cert_der)} octets, key=<hidden>, {len(self.ca_der)} CAs)"
        )

    def private_key(self) -> PrivateKey:
        if self._key is None:
            from controller.ipsec.ike.x509 import load_key  # cryptography only when used

            self._key = load_key(self.key_pem)
        return self._key


@dataclass
class IkeConfig:
    """One peering: who we are, who they must be, how to authenticate, what to negotiate."""

    name: str
    local_id: str
    remote_id: str | None  # None: anyone the CA vouches for (certificate auth only)
    psk: bytes | None = None
    creds: Credentials | None = None
    ike_proposals: list[str] = field(default_factory=lambda: ["aes128gcm16-prfsha256-x25519"])
    children: list[ChildConfig] = field(default_factory=list)
    lifetimes: Lifetimes = field(default_factory=lambda: Lifetimes(14400.0, 15840.0))
    dpd_seconds: float | None = 30.0
    retransmit_base: float = 2.0  # seconds; doubles per try (RFC 7296 2.1)
    retransmit_tries: int = 5
    fragment_size: int | None = 1280  # RFC 7383: fragment above this when the peer agrees
    force_encap: bool = False  # pretend a NAT so ESP runs in UDP 4500 (RFC 3948)
    nat_keepalive: float = NAT_KEEPALIVE  # seconds of IKE silence before one (behind NAT)
    remote_addr: str | None = None  # responder: accept IKE_SA_INIT from here only (None: any)
    mobike: bool = True  # offer MOBIKE (RFC 4555): addresses of an IKE SA may change
    # responder: the peer may also come from another address (behind a NAT, RFC 7296
    # 2.23); then its authenticated identity, not its address, selects this config
    any_address: bool = False
    # remote_id None (certificate auth): the peer's identity must match one of these
    # (controller/ipsec/ike/peerid.py); empty: any identity our CAs vouch for
    remote_patterns: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # never show the PSK
        return (
            f"IkeConfig(name={self.name!r}, local_id={self.local_id!r}, "
            f"remote_id={self.remote_id!r}, auth={'psk' if self.psk else 'cert'})"
        )

    def child(self, name: str) -> ChildConfig:
        for c in self.children:
            if c.name == name:
                return c
        raise KeyError(f"IKE config {self.name!r} has no CHILD_SA config {name!r}")
