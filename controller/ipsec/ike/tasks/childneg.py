"""CHILD_SA negotiation shared by IKE_AUTH and CREATE_CHILD_SA (RFC 7296 1.3, 2.9, 2.17)."""

from __future__ import annotations

import functools
import struct
from typing import TYPE_CHECKING

from controller.ipsec.ike.child import ChildSa
from controller.ipsec.ike.config import ChildConfig
from controller.ipsec.ike.crypto.keys import derive_child_keys
from controller.ipsec.ike.proposals import one, parse_proposals, select_configured
from controller.ipsec.ike.wire.consts import Esn, Notify, Protocol, TransformType
from controller.ipsec.ike.wire.errors import IkeError, syntax
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.notify import NotifyPayload
from controller.ipsec.ike.wire.sa import Proposal, SaPayload, Transform
from controller.ipsec.ike.wire.ts import TrafficSelector, TsiPayload, TsrPayload, narrow

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import IkeSa


# RFC 7296 3.10.1: status types 40960-65535 are for private use. Ours carries, in
# ASCII, "sa-set:<id>" (the SA-set id the peer's Security Handle gave us, see
# controller/ipsec/handle.py) or else the CHILD_SA config name, so per-tenant SAs
# with identical selectors land right.
CHILD_NAME_NOTIFY = 40960
SET_PREFIX = "sa-set:"


def child_tag(cfg: ChildConfig) -> str:
    return f"{SET_PREFIX}{cfg.request_set}" if cfg.request_set is not None else cfg.name


def _wanted_set(tag: str | None) -> int | None:
    if tag is None or not tag.startswith(SET_PREFIX):
        return None
    digits = tag[len(SET_PREFIX) :]
    if not digits.isdigit() or len(digits) > 5:
        raise IkeError(Notify.TS_UNACCEPTABLE, f"CHILD_SA request names SA set {digits!r}")
    return int(digits)


def offer(cfg: ChildConfig, spi: int, pfs: bool) -> SaPayload:
    spi_octets = struct.pack("!I", spi)
    offered = _offered(tuple(cfg.esp_proposals), pfs)
    return SaPayload(
        [Proposal(n, Protocol.ESP, spi_octets, list(ts)) for n, ts in enumerate(offered, 1)]
    )


@functools.lru_cache(maxsize=256)
def _offered(texts: tuple[str, ...], pfs: bool) -> tuple[tuple[Transform, ...], ...]:
    """The transforms of each configured ESP proposal, DH left out without PFS."""
    props = parse_proposals(list(texts), Protocol.ESP)
    if pfs:
        return tuple([tuple(p.transforms) for p in props])
    return tuple([tuple([t for t in p.transforms if t.type != TransformType.DH]) for p in props])


def add_request(msg: Message, cfg: ChildConfig, spi: int, pfs: bool) -> None:
    if cfg.transport:
        msg.payloads.append(NotifyPayload(Notify.USE_TRANSPORT_MODE))
    # which of our same-selector CHILD_SAs this is (e.g. per tenant); other peers ignore it
    msg.payloads.append(NotifyPayload(CHILD_NAME_NOTIFY, child_tag(cfg).encode()))
    msg.payloads += [offer(cfg, spi, pfs), TsiPayload(cfg.local_ts), TsrPayload(cfg.remote_ts)]


def responder_choose(
    sa: IkeSa, msg: Message, with_dh: bool
) -> tuple[ChildConfig, Proposal, list[TrafficSelector], list[TrafficSelector], bool]:
    """Pick config, proposal, narrowed (their TSi = our remote, their TSr = our local)."""
    sa_p, tsi, tsr = msg.get(SaPayload), msg.get(TsiPayload), msg.get(TsrPayload)
    if sa_p is None or tsi is None or tsr is None:
        raise syntax("CHILD_SA request lacks SA, TSi or TSr")
    transport = msg.notify(Notify.USE_TRANSPORT_MODE) is not None
    named = msg.notify(CHILD_NAME_NOTIFY)
    wanted = named.data.decode(errors="replace") if named is not None else None
    want_set = _wanted_set(wanted)
    if want_set is not None:
        # an SA set we advertised (Security Handle): only its config may serve it
        order = [c for c in sa.cfg.children if c.own_set == want_set]
        if not order:
            raise IkeError(
                Notify.TS_UNACCEPTABLE, f"CHILD_SA request names unknown SA set {want_set}"
            )
    else:
        # a config of the name the initiator gave comes first; selectors still decide
        order = sorted(sa.cfg.children, key=lambda c: c.name != wanted)
    mode_refused: ChildConfig | None = None
    for cfg in order:
        remote = narrow(tsi.selectors, cfg.remote_ts)
        local = narrow(tsr.selectors, cfg.local_ts)
        if not remote or not local:
            continue
        if cfg.transport and not transport:
            # Draft section 5 / RFC 4023 8.1: the MPLS-in-IP CHILD_SA is transport mode on
            # both sides; a tunnel-mode request for that traffic is refused, not accepted in
            # tunnel mode (another config for the same selectors may still take it).
            mode_refused = mode_refused or cfg
            continue
        chosen = select_configured(
            sa_p.proposals, cfg.esp_proposals, Protocol.ESP, skip_dh=not with_dh
        )
        if chosen is None:
            raise IkeError(Notify.NO_PROPOSAL_CHOSEN, f"no acceptable ESP proposal for {cfg.name}")
        if len(chosen.spi) != 4:
            raise syntax(f"ESP SPI of {len(chosen.spi)} octets")
        return cfg, chosen, local, remote, transport and cfg.transport
    if mode_refused is not None:
        raise IkeError(
            Notify.NO_PROPOSAL_CHOSEN,
            f"CHILD_SA request for {mode_refused.name} lacks USE_TRANSPORT_MODE: transport mode "
            "is required (draft section 5, RFC 4023 8.1)",
        )
    raise IkeError(Notify.TS_UNACCEPTABLE, "traffic selectors match no CHILD_SA config")


def add_response(
    msg: Message,
    chosen: Proposal,
    spi: int,
    local: list[TrafficSelector],
    remote: list[TrafficSelector],
    transport: bool,
) -> None:
    if transport:
        msg.payloads.append(NotifyPayload(Notify.USE_TRANSPORT_MODE))
    mine = Proposal(chosen.num, chosen.protocol, struct.pack("!I", spi), chosen.transforms)
    msg.payloads += [SaPayload([mine]), TsiPayload(remote), TsrPayload(local)]


def initiator_accept(
    cfg: ChildConfig, msg: Message, pfs: bool
) -> tuple[Proposal, list[TrafficSelector], list[TrafficSelector], bool]:
    err = msg.error_notify()
    if err is not None:
        name = (
            Notify(err.notify_type).name if err.notify_type in set(Notify) else str(err.notify_type)
        )
        raise IkeError(None, f"CHILD_SA {cfg.name} refused: {name}")
    sa_p, tsi, tsr = msg.get(SaPayload), msg.get(TsiPayload), msg.get(TsrPayload)
    if sa_p is None or tsi is None or tsr is None or len(sa_p.proposals) != 1:
        raise syntax("CHILD_SA response lacks SA, TSi or TSr")
    chosen = select_configured(sa_p.proposals, cfg.esp_proposals, Protocol.ESP, skip_dh=not pfs)
    if chosen is None or len(chosen.spi) != 4:
        raise IkeError(None, f"CHILD_SA {cfg.name}: responder chose a proposal we did not offer")
    local, remote = narrow(tsi.selectors, cfg.local_ts), narrow(tsr.selectors, cfg.remote_ts)
    if not local or not remote:
        raise IkeError(None, f"CHILD_SA {cfg.name}: responder's selectors are outside ours")
    transport = msg.notify(Notify.USE_TRANSPORT_MODE) is not None
    if cfg.transport and not transport:
        raise IkeError(None, f"CHILD_SA {cfg.name}: responder refused transport mode")
    return chosen, local, remote, transport


def make_child(
    sa: IkeSa,
    cfg: ChildConfig,
    chosen: Proposal,
    spi_in: int,
    local: list[TrafficSelector],
    remote: list[TrafficSelector],
    transport: bool,
    we_initiated: bool,
    ni: bytes,
    nr: bytes,
    now: float,
    shared: bytes | None = None,
) -> ChildSa:
    assert sa.keys is not None and sa.suite is not None
    encr = one(chosen, TransformType.ENCR)
    integ = one(chosen, TransformType.INTEG)
    esn = one(chosen, TransformType.ESN)
    dh = one(chosen, TransformType.DH)
    assert encr is not None
    keys = derive_child_keys(
        sa.suite.prf,
        sa.keys.sk_d,
        ni,
        nr,
        encr.id,
        encr.key_length or 128,
        integ.id if integ else 0,
        shared,
    )
    (spi_out,) = struct.unpack("!I", chosen.spi)
    life = cfg.lifetimes
    child = ChildSa(
        cfg.name,
        spi_in,
        spi_out,
        encr.id,
        encr.key_length or 128,
        integ.id if integ else 0,
        bool(esn and esn.id == Esn.YES),
        transport,
        local,
        remote,
        keys,
        we_initiated,
        encap=sa.encap,
        dh_group=dh.id if dh else 0,
        created=now,
    )
    child.nonces = (ni, nr)
    if life.rekey_seconds:
        # initiators rekey a little earlier so both ends rarely collide (RFC 7296 2.8.1)
        child.rekey_at = now + life.rekey_seconds * (0.95 if we_initiated else 1.0)
    if life.life_seconds:
        child.expire_at = now + life.life_seconds
    return child
