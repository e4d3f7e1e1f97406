"""IKEv2 settings (RFC 7296) for the SAs that protect red traffic (draft section 5).

Authentication is a pre-shared key or certificates (CA, our certificate, our
private key); keys may come from files or the environment (see ``secrets``).
``sa_mode`` says when CHILD_SAs are set up: ``eager`` as soon as a remote
C-PE's red loopback route is known, ``lazy`` on the first packet for it.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from controller.config.secrets import Secret
from controller.config.switch import Strict
from controller.ipsec.ike.peerid import BadPattern, check_pattern
from controller.ipsec.ike.proposals import ProposalError, parse_proposal
from controller.ipsec.ike.wire.consts import Protocol


class Certificates(Strict):
    ca: list[str]
    cert: str
    key: Secret
    # Other C-PEs (learnt from their red loopback routes, never configured): with this,
    # any identity matching one of these patterns that our CAs vouch for
    # (controller/ipsec/ike/peerid.py); without it, a peer's identity is its black address.
    peer_identities: list[str] | None = None

    @field_validator("peer_identities")
    @classmethod
    def _patterns(cls, values: list[str] | None) -> list[str] | None:
        for i, pattern in enumerate(values or []):
            try:
                check_pattern(pattern)
            except BadPattern as exc:
                raise ValueError(f"[{i}]: {exc}") from None
        return values


class IkeAuth(Strict):
    psk: Secret | None = None
    # Per-peer keys, by the peer's IKE identity (its black address, what make_ike_config
    # names as remote id): with a group psk any holder can claim any identity; with these,
    # an identity is proven by its own key. Peers not listed use psk, if given.
    peer_psks: dict[str, Secret] = Field(default_factory=dict)
    certificates: Certificates | None = None

    @model_validator(mode="after")
    def _one(self) -> IkeAuth:
        psks = self.psk is not None or bool(self.peer_psks)
        if psks == (self.certificates is not None):
            raise ValueError("give exactly one of psk or certificates (per-peer keys: peer_psks)")
        return self

    @field_validator("peer_psks")
    @classmethod
    def _identities(cls, value: dict[str, Secret]) -> dict[str, Secret]:
        for ident in value:
            try:
                ipaddress.ip_address(ident)
            except ValueError:
                raise ValueError(
                    f"{ident!r} is not an IP address (a peer's IKE identity is its black address)"
                ) from None
        return value

    def psk_for(self, identity: str) -> Secret | None:
        """The key that proves ``identity``: its own, else the group key."""
        for ident, secret in self.peer_psks.items():
            if ipaddress.ip_address(ident) == ipaddress.ip_address(identity):
                return secret
        return self.psk


class Lifetimes(Strict):
    """Seconds (and optional byte/packet limits) before rekey (soft) and expiry (hard)."""

    ike_rekey: int = Field(default=14400, ge=60)
    ike_life: int = Field(default=15840, ge=60)
    child_rekey: int = Field(default=3600, ge=30)
    child_life: int = Field(default=3960, ge=30)
    child_rekey_bytes: int | None = Field(default=None, ge=1)
    child_rekey_packets: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _order(self) -> Lifetimes:
        if self.ike_life <= self.ike_rekey:
            raise ValueError("ike_life must exceed ike_rekey")
        if self.child_life <= self.child_rekey:
            raise ValueError("child_life must exceed child_rekey")
        return self


class NatTraversal(Strict):
    enabled: bool = True
    force_encap: bool = False  # run ESP in UDP 4500 even without a NAT (RFC 3948)
    keepalive: int = Field(default=20, ge=1, le=3600)
    # This C-PE sits behind a NAT: its black loopback is not reachable from outside,
    # so it initiates IKE to every peer and its Security Handles tell peers to wait.
    behind_nat: bool = False


class ControlSa(Strict):
    """How the CHILD_SA ``bgp`` protects a red BGP session (draft 3.2).

    ``transport`` (the draft's RECOMMENDED choice, the default): BGP runs between
    the two black loopbacks, and the CHILD_SA covers TCP between them in transport
    mode. ``tunnel``: BGP runs between the red loopbacks, carried in tunnel mode
    between the black loopbacks (for peers that only do tunnel mode, e.g.
    strongSwan with kernel-libipsec).
    """

    mode: Literal["transport", "tunnel"] = "transport"


class Ike(Strict):
    auth: IkeAuth
    local_id: str | None = None  # defaults to the black loopback address
    ike_proposals: list[str] = Field(
        default_factory=lambda: ["aes128gcm16-prfsha256-x25519"], min_length=1
    )
    esp_proposals: list[str] = Field(default_factory=lambda: ["aes128gcm16"], min_length=1)
    lifetimes: Lifetimes = Field(default_factory=Lifetimes)
    sa_mode: Literal["eager", "lazy"] = "eager"
    per_tenant_sas: bool = False
    control_sa: ControlSa = Field(default_factory=ControlSa)
    replay_window: int = Field(default=64, ge=0, le=4096)
    nat_traversal: NatTraversal = Field(default_factory=NatTraversal)
    dpd: int = Field(default=30, ge=0)
    port: int = Field(default=500, ge=1, le=65535)

    # Proposals read as in swanctl.conf; the IKE daemon's own parser decides what we implement.
    @field_validator("ike_proposals")
    @classmethod
    def _ike(cls, values: list[str]) -> list[str]:
        return _proposals(values, Protocol.IKE)

    @field_validator("esp_proposals")
    @classmethod
    def _esp(cls, values: list[str]) -> list[str]:
        return _proposals(values, Protocol.ESP)


def _proposals(values: list[str], protocol: int) -> list[str]:
    for text in values:
        try:
            parse_proposal(text, protocol)
        except ProposalError as exc:
            raise ValueError(str(exc)) from None
    return values
