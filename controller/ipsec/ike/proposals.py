"""Proposals from strongSwan-style strings, and the responder's choice (RFC 7296 2.7).

``"aes128gcm16-prfsha256-x25519"`` (IKE) and ``"aes128gcm16-esn"`` (ESP) read as in
swanctl.conf, so the interop tests and our config speak the same language.
"""

from __future__ import annotations

import functools

from controller.ipsec.ike.wire.consts import (
    DhGroup,
    Encr,
    Esn,
    Integ,
    Prf,
    Protocol,
    TransformType,
)
from controller.ipsec.ike.wire.sa import Proposal, Transform

_TOKENS: dict[str, Transform] = {
    "aes128gcm16": Transform(TransformType.ENCR, Encr.AES_GCM_16, 128),
    "aes256gcm16": Transform(TransformType.ENCR, Encr.AES_GCM_16, 256),
    "aes128": Transform(TransformType.ENCR, Encr.AES_CBC, 128),
    "aes256": Transform(TransformType.ENCR, Encr.AES_CBC, 256),
    "sha256": Transform(TransformType.INTEG, Integ.HMAC_SHA2_256_128),
    "sha384": Transform(TransformType.INTEG, Integ.HMAC_SHA2_384_192),
    "sha512": Transform(TransformType.INTEG, Integ.HMAC_SHA2_512_256),
    "prfsha256": Transform(TransformType.PRF, Prf.HMAC_SHA2_256),
    "prfsha384": Transform(TransformType.PRF, Prf.HMAC_SHA2_384),
    "prfsha512": Transform(TransformType.PRF, Prf.HMAC_SHA2_512),
    "modp2048": Transform(TransformType.DH, DhGroup.MODP_2048),
    "ecp256": Transform(TransformType.DH, DhGroup.ECP_256),
    "ecp384": Transform(TransformType.DH, DhGroup.ECP_384),
    "x25519": Transform(TransformType.DH, DhGroup.CURVE25519),
    "curve25519": Transform(TransformType.DH, DhGroup.CURVE25519),
    "esn": Transform(TransformType.ESN, Esn.YES),
    "noesn": Transform(TransformType.ESN, Esn.NO),
}
_INTEG_TO_PRF = {
    Integ.HMAC_SHA2_256_128: Prf.HMAC_SHA2_256,
    Integ.HMAC_SHA2_384_192: Prf.HMAC_SHA2_384,
    Integ.HMAC_SHA2_512_256: Prf.HMAC_SHA2_512,
}


class ProposalError(ValueError):
    """A proposal string names something we do not implement."""


def parse_proposal(text: str, protocol: int, num: int = 1, spi: bytes = b"") -> Proposal:
    return Proposal(num, protocol, spi, list(_transforms(text, protocol)))


@functools.lru_cache(maxsize=256)
def _transforms(text: str, protocol: int) -> tuple[Transform, ...]:
    """The (frozen) transforms of one configured proposal: parsed once, not per exchange."""
    transforms: list[Transform] = []
    for tok in text.lower().split("-"):
        t = _TOKENS.get(tok)
        if t is None:
            raise ProposalError(f"proposal {text!r}: unknown algorithm {tok!r}")
        transforms.append(t)
    types = {t.type for t in transforms}
    if TransformType.ENCR not in types:
        raise ProposalError(f"proposal {text!r}: no encryption algorithm")
    aead = any(t.type == TransformType.ENCR and t.id == Encr.AES_GCM_16 for t in transforms)
    if not aead and TransformType.INTEG not in types:
        raise ProposalError(f"proposal {text!r}: AES-CBC needs an integrity algorithm")
    if protocol == Protocol.IKE:
        if TransformType.PRF not in types:
            integs = [t for t in transforms if t.type == TransformType.INTEG]
            if not integs:
                raise ProposalError(f"proposal {text!r}: no PRF")
            transforms.append(Transform(TransformType.PRF, _INTEG_TO_PRF[Integ(integs[0].id)]))
        if TransformType.DH not in types:
            raise ProposalError(f"proposal {text!r}: an IKE proposal needs a DH group")
    elif TransformType.ESN not in types:
        transforms.append(_TOKENS["noesn"])
    order = [
        TransformType.ENCR,
        TransformType.PRF,
        TransformType.INTEG,
        TransformType.DH,
        TransformType.ESN,
    ]
    transforms.sort(key=lambda t: order.index(TransformType(t.type)))
    return tuple(transforms)


def parse_proposals(texts: list[str], protocol: int, spi: bytes = b"") -> list[Proposal]:
    return [parse_proposal(t, protocol, i + 1, spi) for i, t in enumerate(texts)]


def _match(t: Transform, ours: list[Transform]) -> bool:
    return any(t.id == o.id and t.key_length == o.key_length for o in ours)


def select(offered: list[Proposal], ours: list[Proposal], skip_dh: bool = False) -> Proposal | None:
    """The first offered proposal all of whose transform types we can satisfy.

    Returns a proposal with one transform per type, the offer's number and SPI.
    ``skip_dh`` ignores DH (IKE_AUTH's CHILD_SA, where no KE travels).
    """
    return _choose(offered, _shapes(ours), skip_dh)


def select_configured(
    offered: list[Proposal], texts: list[str], protocol: int, skip_dh: bool = False
) -> Proposal | None:
    """:func:`select` against our configured proposal strings, parsed once per config."""
    return _choose(offered, _configured(tuple(texts), protocol), skip_dh)


def _choose(offered: list[Proposal], ours: tuple[Shape, ...], skip_dh: bool) -> Proposal | None:
    if len(offered) > 16:  # not worth remembering (and a peer could fill the memo)
        found = _select(_shapes(offered), ours, skip_dh)
    else:
        found = _select_memo(_shapes(offered), ours, skip_dh)
    if found is None:
        return None
    offer = offered[found[0]]
    return Proposal(offer.num, offer.protocol, offer.spi, list(found[1]))


Shape = tuple[int, tuple[Transform, ...]]  # (protocol, transforms) of a proposal


def _shapes(props: list[Proposal]) -> tuple[Shape, ...]:
    return tuple([(p.protocol, tuple(p.transforms)) for p in props])


@functools.lru_cache(maxsize=256)
def _configured(texts: tuple[str, ...], protocol: int) -> tuple[Shape, ...]:
    return tuple([(protocol, _transforms(t, protocol)) for t in texts])


def _select(
    offered: tuple[Shape, ...], ours: tuple[Shape, ...], skip_dh: bool
) -> tuple[int, tuple[Transform, ...]] | None:
    """``select`` on what decides it: (index of the offer taken, transforms chosen)."""
    for index, (protocol, offer_transforms) in enumerate(offered):
        offer_by = _by_type(offer_transforms)
        for mine_protocol, mine_transforms in ours:
            if protocol != mine_protocol:
                continue
            mine_by = _by_type(mine_transforms)
            chosen: list[Transform] = []
            ok = True
            for ttype in sorted(offer_by.keys() | mine_by.keys()):
                if skip_dh and ttype == TransformType.DH:
                    continue
                theirs = offer_by.get(ttype, [])
                mine_t = mine_by.get(ttype, [])
                if ttype == TransformType.DH and not theirs and not mine_t:
                    continue
                pick = next((t for t in theirs if _match(t, mine_t)), None)
                if pick is None:
                    # an absent DH in either means "no PFS"; NONE matches absent
                    none_ok = ttype in (TransformType.DH, TransformType.INTEG)
                    if (
                        none_ok
                        and all(t.id == 0 for t in theirs)
                        and all(t.id == 0 for t in mine_t)
                    ):
                        continue
                    ok = False
                    break
                chosen.append(pick)
            if ok:
                return index, tuple(chosen)
    return None


# Each IKE_SA_INIT and CHILD_SA negotiates the same few offers against our config.
_select_memo = functools.lru_cache(maxsize=256)(_select)


def _by_type(transforms: tuple[Transform, ...]) -> dict[int, list[Transform]]:
    """Transforms grouped by type, in their order (of_type for every type at once)."""
    grouped: dict[int, list[Transform]] = {}
    for t in transforms:
        grouped.setdefault(t.type, []).append(t)
    return grouped


def one(prop: Proposal, ttype: int) -> Transform | None:
    return prop.first(ttype)
