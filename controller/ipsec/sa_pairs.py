"""One CHILD_SA as the SA database installs it: an SA pair in the engine, and what a
tunnel's change of SA tells the app.

:func:`pair_params` turns a negotiated CHILD_SA into the two :class:`SaParams` the
installer takes (inbound and outbound: same suite, mode and lifetimes, each with its
own SPI, SA index and keys); :class:`Installed` is such a pair once installed, with
the tunnel it serves; :class:`TunnelChange` is what the app writes into the P4 tables.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from controller.ipsec.ike.child import ChildSa
from controller.ipsec.ike.wire.consts import Encr, Integ
from controller.ipsec.inherit import InheritedChild
from controller.ipsec.installer import (
    CipherSuite,
    Direction,
    IPAddress,
    Lifetime,
    Mode,
    SaKeys,
    SaParams,
    UdpEncap,
)

TunnelKey = tuple[IPAddress, str | None, str]  # (peer black address, tenant, CHILD_SA name)


class SadError(ValueError):
    """A CHILD_SA the data path cannot carry (one-line reason)."""


_SUITES: dict[tuple[int, int, int], CipherSuite] = {
    (Encr.AES_GCM_16, 128, Integ.NONE): CipherSuite.AES_GCM_16_128,
    (Encr.AES_GCM_16, 256, Integ.NONE): CipherSuite.AES_GCM_16_256,
    (Encr.AES_CBC, 128, Integ.HMAC_SHA2_256_128): CipherSuite.AES_CBC_128_HMAC_SHA2_256_128,
    (Encr.AES_CBC, 256, Integ.HMAC_SHA2_256_128): CipherSuite.AES_CBC_256_HMAC_SHA2_256_128,
}


def suite_of(child: ChildSa) -> CipherSuite:
    suite = _SUITES.get((child.encr, child.key_bits, child.integ))
    if suite is None:
        what = f"{child.encr}/{child.key_bits}/{child.integ}"
        raise SadError(f"CHILD_SA {child.name}: ESP transform {what} is not in the engine")
    return suite


def keys_of(suite: CipherSuite, keymat: tuple[bytes, bytes]) -> SaKeys:
    encr, integ = keymat
    if suite.is_aead:
        return SaKeys(encr[: -suite.salt_len], encr[-suite.salt_len :])  # RFC 4106 8.1
    return SaKeys(encr, b"", integ)


@dataclass
class Installed:
    child: ChildSa | InheritedChild
    peer: IPAddress
    tenant: str | None
    in_index: int
    out_index: int
    remote_port: int
    remote: IPAddress  # the peer's transport address (its NAT's, when behind one)

    @property
    def key(self) -> TunnelKey:
        return (self.peer, self.tenant, self.child.name)


@dataclass(frozen=True)
class TunnelChange:
    """The SA index the pipeline should use for a tunnel (None: no SA any more)."""

    key: TunnelKey
    out_index: int | None
    in_index: int | None
    # every inbound index the pipeline should still accept (in_index first); empty: none
    inbound: tuple[int, ...] = ()
    remote: IPAddress | None = None  # the peer's transport address, when it has an SA


def pair_params(
    child: ChildSa,
    inst: Installed,
    local: IPAddress,
    soft: Lifetime | None = None,
    hard: Lifetime | None = None,
) -> tuple[SaParams, SaParams]:
    """(inbound, outbound) parameters of ``child`` at ``inst``'s SA indexes; SadError if the
    engine has no such transform."""
    suite = suite_of(child)
    inbound = SaParams(
        Direction.INBOUND,
        child.spi_in,
        inst.in_index,
        local,
        inst.remote,
        suite,
        keys_of(suite, child.key_in),
        mode=Mode.TRANSPORT if child.transport else Mode.TUNNEL,
        udp_encap=UdpEncap(4500, inst.remote_port) if child.encap else None,
        esn=child.esn,
        soft=soft or Lifetime(),
        hard=hard or Lifetime(),
    )
    outbound = dataclasses.replace(
        inbound,
        direction=Direction.OUTBOUND,
        spi=child.spi_out,
        sa_index=inst.out_index,
        keys=keys_of(suite, child.key_out),
    )
    return inbound, outbound
