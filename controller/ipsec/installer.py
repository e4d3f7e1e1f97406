"""The SA-installer seam between the IKE daemon and the ESP data path.

IKE negotiates CHILD_SAs; everything that carries packets (the look-aside ESP
engine, and the P4 tables the app writes from the same events) learns about
them only through this interface, in the way strongSwan's ``kernel_ipsec.h``
separates keying from the kernel.  Keys travel in :class:`SaKeys`, whose
``repr``/``str`` never show key bytes, so an SA can be logged safely.

Addressing: each SA has an ``sa_index`` (1..65535), the number the P4 pipeline
and the crypto-port header use for it.  The caller (the SA database) picks it,
and the SPI, and installs the SA; the installer refuses duplicates.

Hitless rekey of a tunnel's outbound direction (RFC 7296 section 2.8): install
the new inbound SA, install the new outbound SA, then
``switch_outbound(old, new)``: from then on every ENCRYPT request naming
``old`` is encrypted with ``new``, so no packet is lost or sent under the old
SA whatever the moment the pipeline's tunnel -> sa_index entry is rewritten.
``old`` is retired for good; deleting it later removes the alias as well.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SA_INDEX_MIN = 1
SA_INDEX_MAX = 0xFFFF
# RFC 4303 section 2.1: SPI 0 is reserved for local use, 1..255 reserved by IANA.
SPI_MIN = 256
SPI_MAX = 0xFFFFFFFF
REPLAY_WINDOW_DEFAULT = 64
REPLAY_WINDOW_MAX = 4096
NAT_T_PORT = 4500  # RFC 3948 section 2.1


class SaInstallError(ValueError):
    """An SA could not be installed, updated or deleted (one-line reason)."""


class Direction(enum.Enum):
    INBOUND = "in"
    OUTBOUND = "out"


class Mode(enum.Enum):
    TRANSPORT = "transport"
    TUNNEL = "tunnel"


class CipherSuite(enum.Enum):
    """ESP transforms the engine implements (names follow RFC 8221 / IKEv2 registry)."""

    AES_GCM_16_128 = "aes128gcm16"  # RFC 4106, 16-octet ICV
    AES_GCM_16_256 = "aes256gcm16"
    AES_CBC_128_HMAC_SHA2_256_128 = "aes128-sha256"  # RFC 3602 + RFC 4868
    AES_CBC_256_HMAC_SHA2_256_128 = "aes256-sha256"

    @property
    def is_aead(self) -> bool:
        return self in (CipherSuite.AES_GCM_16_128, CipherSuite.AES_GCM_16_256)

    @property
    def enc_key_len(self) -> int:
        return 16 if self.value.startswith("aes128") else 32

    @property
    def salt_len(self) -> int:
        """RFC 4106 section 8.1: 4 octets of salt follow the AES key in KEYMAT."""
        return 4 if self.is_aead else 0

    @property
    def auth_key_len(self) -> int:
        """RFC 4868 section 2.1.1: HMAC-SHA-256-128 uses a 32-octet key."""
        return 0 if self.is_aead else 32


class ExpiryKind(enum.Enum):
    SOFT = "soft"
    HARD = "hard"


class ExpiryReason(enum.Enum):
    PACKETS = "packets"
    BYTES = "bytes"
    SECONDS = "seconds"
    SEQUENCE = "sequence"  # the sequence number space is (nearly) used up


class SaKeys:
    """Key material of one SA direction; never printed.

    Deliberately not a dataclass: ``dataclasses.asdict()`` of an SaParams
    would otherwise turn the keys into a plain dict of bytes that prints.
    """

    __slots__ = ("_auth_key", "_enc_key", "_salt")

    def __init__(self, enc_key: bytes, salt: bytes = b"", auth_key: bytes = b"") -> None:
        self._enc_key = bytes(enc_key)
        self._salt = bytes(salt)
        self._auth_key = bytes(auth_key)

    @property
    def enc_key(self) -> bytes:
        return self._enc_key

    @property
    def salt(self) -> bytes:
        return self._salt

    @property
    def auth_key(self) -> bytes:
        return self._auth_key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SaKeys):
            return NotImplemented
        mine = self._enc_key + self._salt + self._auth_key
        theirs = other._enc_key + other._salt + other._auth_key
        return hmac.compare_digest(mine, theirs)

    def __hash__(self) -> int:
        return hash((len(self._enc_key), len(self._salt), len(self._auth_key)))

    def __repr__(self) -> str:
        return (
            f"SaKeys(enc_key=<{len(self._enc_key)} octets>, salt=<{len(self._salt)} octets>, "
            f"auth_key=<{len(self._auth_key)} octets>)"
        )

    __str__ = __repr__

    def __copy__(self) -> SaKeys:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, object]) -> SaKeys:
        return self

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("SaKeys are not serialisable: keys stay in memory")

    def check(self, suite: CipherSuite) -> None:
        if len(self.enc_key) != suite.enc_key_len:
            raise SaInstallError(
                f"{suite.value}: encryption key must be {suite.enc_key_len} octets, "
                f"got {len(self.enc_key)}"
            )
        if len(self.salt) != suite.salt_len:
            raise SaInstallError(
                f"{suite.value}: salt must be {suite.salt_len} octets, got {len(self.salt)}"
            )
        if len(self.auth_key) != suite.auth_key_len:
            raise SaInstallError(
                f"{suite.value}: integrity key must be {suite.auth_key_len} octets, "
                f"got {len(self.auth_key)}"
            )


@dataclass(frozen=True)
class Lifetime:
    """Limits of one kind (soft or hard); None means no limit of that sort."""

    packets: int | None = None
    bytes: int | None = None
    seconds: float | None = None

    def check(self, what: str) -> None:
        for name in ("packets", "bytes", "seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise SaInstallError(f"{what} lifetime: {name} must be positive, got {value}")


@dataclass(frozen=True)
class UdpEncap:
    """RFC 3948 UDP encapsulation ports (ours, theirs) for NAT traversal."""

    local_port: int = NAT_T_PORT
    remote_port: int = NAT_T_PORT

    def check(self) -> None:
        for port in (self.local_port, self.remote_port):
            if not 1 <= port <= 0xFFFF:
                raise SaInstallError(f"UDP encapsulation port {port} out of range 1..65535")


@dataclass(frozen=True)
class SaParams:
    """Everything the data path needs to run one ESP SA (RFC 4301 section 4.4.2)."""

    direction: Direction
    spi: int
    sa_index: int
    local: IPAddress  # our black address (source of outbound, destination of inbound)
    remote: IPAddress
    suite: CipherSuite
    keys: SaKeys
    mode: Mode = Mode.TRANSPORT
    udp_encap: UdpEncap | None = None
    esn: bool = False
    replay_window: int = REPLAY_WINDOW_DEFAULT  # inbound only; 0 disables anti-replay
    soft: Lifetime = field(default_factory=Lifetime)
    hard: Lifetime = field(default_factory=Lifetime)

    def check(self) -> None:
        """Raise SaInstallError naming the first inconsistent parameter."""
        for name, kind in _FIELD_TYPES:
            value = getattr(self, name)
            if not isinstance(value, kind):  # the value itself is not shown: it may be a key
                raise SaInstallError(
                    f"SA parameter {name} is a {type(value).__name__}, not {kind_name(kind)}"
                )
        where = f"SA {self.sa_index} (SPI 0x{self.spi:08x})" if self.spi >= 0 else "SA"
        if not SA_INDEX_MIN <= self.sa_index <= SA_INDEX_MAX:
            raise SaInstallError(f"{where}: sa_index must be in 1..65535")
        if not SPI_MIN <= self.spi <= SPI_MAX:
            raise SaInstallError(f"{where}: SPI must be in 256..2^32-1 (RFC 4303 2.1)")
        if self.local.version != self.remote.version:
            raise SaInstallError(f"{where}: local and remote addresses differ in IP version")
        if not 0 <= self.replay_window <= REPLAY_WINDOW_MAX:
            raise SaInstallError(f"{where}: replay window must be in 0..{REPLAY_WINDOW_MAX}")
        try:
            self.keys.check(self.suite)
            self.soft.check("soft")
            self.hard.check("hard")
            if self.udp_encap is not None:
                self.udp_encap.check()
        except SaInstallError as exc:
            raise SaInstallError(f"{where}: {exc}") from None


_FIELD_TYPES: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("direction", Direction),
    ("spi", int),
    ("sa_index", int),
    ("local", (ipaddress.IPv4Address, ipaddress.IPv6Address)),
    ("remote", (ipaddress.IPv4Address, ipaddress.IPv6Address)),
    ("suite", CipherSuite),
    ("keys", SaKeys),
    ("mode", Mode),
    ("udp_encap", (UdpEncap, type(None))),
    ("esn", bool),
    ("replay_window", int),
    ("soft", Lifetime),
    ("hard", Lifetime),
)


def kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


@dataclass(frozen=True)
class SaUpdate:
    """Changes to an installed SA; None leaves a field as it is.

    Addresses and encapsulation ports change when a NAT mapping moves
    (RFC 7296 section 2.23); lifetimes change on policy reload.  Keys and SPI
    never change: a rekey is a new SA.
    """

    local: IPAddress | None = None
    remote: IPAddress | None = None
    udp_encap: UdpEncap | None = None
    remove_udp_encap: bool = False
    soft: Lifetime | None = None
    hard: Lifetime | None = None


@dataclass
class SaCounters:
    """Per-SA counters: packets/octets of protected payload, and errors by kind."""

    packets: int = 0
    bytes: int = 0
    errors: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpiryEvent:
    """Raised once per SA and kind when a soft or hard lifetime is reached."""

    sa_index: int
    spi: int
    direction: Direction
    kind: ExpiryKind
    reason: ExpiryReason


ExpiryCallback = Callable[[ExpiryEvent], None]


class ExpirySubscribers:
    """The callbacks ``SaInstaller.subscribe`` registered, in order."""

    def __init__(self) -> None:
        self._callbacks: list[ExpiryCallback] = []

    def subscribe(self, callback: ExpiryCallback) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def __iter__(self) -> Iterator[ExpiryCallback]:
        return iter(list(self._callbacks))


class SaInstaller(Protocol):
    """What the IKE daemon's SA database may do to the data path."""

    def allocate_spi(self) -> int:
        """Return an inbound SPI (>= 256) not used by any installed SA."""
        ...

    def add_sa(self, params: SaParams) -> None:
        """Install an inbound or outbound SA; SaInstallError if it clashes or is invalid."""
        ...

    def update_sa(self, sa_index: int, update: SaUpdate) -> None:
        """Change addresses, encapsulation or lifetimes of an installed SA."""
        ...

    def delete_sa(self, sa_index: int) -> None:
        """Remove an SA (and any outbound alias pointing at it)."""
        ...

    def switch_outbound(self, old_sa_index: int, new_sa_index: int) -> None:
        """Hitless rekey: encrypt requests for old_sa_index with new_sa_index from now on."""
        ...

    def counters(self, sa_index: int) -> SaCounters:
        """A snapshot of one SA's counters."""
        ...

    def subscribe(self, callback: ExpiryCallback) -> Callable[[], None]:
        """Deliver expiry events to callback; returns a function that unsubscribes."""
        ...


@runtime_checkable
class SaLabelling(Protocol):
    """An installer that keeps a label with each SA (an engine process, for restarts)."""

    def add_labelled_sa(self, params: SaParams, label: dict[str, str | int | None]) -> None:
        """add_sa, plus a flat label the installer returns when it lists its SAs."""
        ...
