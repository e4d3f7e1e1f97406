"""A negotiated CHILD_SA (ESP): SPIs, transforms, selectors, keys, lifetimes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from controller.ipsec.ike.crypto.keys import ChildKeys
from controller.ipsec.ike.wire.ts import TrafficSelector


class ChildState(enum.Enum):
    INSTALLED = "installed"
    REKEYING = "rekeying"
    REKEYED = "rekeyed"  # replaced, kept until the peer stops using it
    DELETING = "deleting"
    DELETED = "deleted"


@dataclass(eq=False)
class ChildSa:
    """One pair of ESP SAs. Keys live in ``keys``, whose repr is hidden."""

    name: str
    spi_in: int
    spi_out: int
    encr: int
    key_bits: int
    integ: int
    esn: bool
    transport: bool
    local_ts: list[TrafficSelector]
    remote_ts: list[TrafficSelector]
    keys: ChildKeys
    we_initiated: bool  # we were the initiator of the exchange that created it
    encap: bool = False
    dh_group: int = 0
    created: float = 0.0
    rekey_at: float | None = None
    expire_at: float | None = None
    state: ChildState = ChildState.INSTALLED
    from_rekey: bool = False  # created by a rekey (REKEY_SA), not as a new CHILD_SA
    nonces: tuple[bytes, bytes] = field(default=(b"", b""), repr=False)
    # the SA the peer created by rekeying this one while our own rekey was in flight
    peer_rekey: ChildSa | None = field(default=None, repr=False)

    @property
    def key_in(self) -> tuple[bytes, bytes]:
        """(encryption keymat, integrity key) for inbound traffic."""
        k = self.keys
        return (k.encr_r, k.integ_r) if self.we_initiated else (k.encr_i, k.integ_i)

    @property
    def key_out(self) -> tuple[bytes, bytes]:
        k = self.keys
        return (k.encr_i, k.integ_i) if self.we_initiated else (k.encr_r, k.integ_r)

    def __str__(self) -> str:
        mode = "transport" if self.transport else "tunnel"
        ts = f"{','.join(map(str, self.local_ts))} === {','.join(map(str, self.remote_ts))}"
        return f"{self.name} in=0x{self.spi_in:08x} out=0x{self.spi_out:08x} {mode} {ts}"
