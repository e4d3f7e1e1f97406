"""What the IKE core tells its user: SA lifecycle events (sans-I/O outputs)."""

from __future__ import annotations

from dataclasses import dataclass

from controller.ipsec.ike.child import ChildSa


@dataclass(frozen=True)
class IkeUp:
    ike_name: str
    spis: tuple[bytes, bytes]
    remote_id: str


@dataclass(frozen=True)
class IkeDown:
    ike_name: str
    spis: tuple[bytes, bytes]
    reason: str


@dataclass(frozen=True)
class IkeRekeyed:
    ike_name: str
    old_spis: tuple[bytes, bytes]
    new_spis: tuple[bytes, bytes]


@dataclass(frozen=True)
class ChildUp:
    """A CHILD_SA is negotiated; ``replaces`` is the SA it rekeys (install in before out)."""

    ike_name: str
    child: ChildSa
    replaces: ChildSa | None = None


@dataclass(frozen=True)
class ChildDown:
    ike_name: str
    child: ChildSa
    reason: str


@dataclass(frozen=True)
class PeerMoved:
    """An authenticated request came from a new address: NAT rebinding (RFC 7296 2.23),
    or with ``mobike`` an UPDATE_SA_ADDRESSES (RFC 4555: the peer itself moved)."""

    ike_name: str
    old: tuple[str, int]
    new: tuple[str, int]
    mobike: bool = False


Event = IkeUp | IkeDown | IkeRekeyed | ChildUp | ChildDown | PeerMoved
