"""Semantic checks of a decoded UPDATE (decoding is permissive, this is the strict part).

RFC 7606 3.d: a missing well-known mandatory attribute is treat-as-withdraw;
RFC 7606 7.3 / RFC 4271 6.3: a NEXT_HOP that is not a usable unicast address is
treat-as-withdraw. Session-dependent checks (LOCAL_PREF from an EBGP peer,
the peer's own address as next hop, AS loops) belong to the session layer.
"""

from __future__ import annotations

import ipaddress

from controller.bgp.wire.attributes.as_path import AsPath
from controller.bgp.wire.attributes.basic import LocalPref, NextHopAttr, Origin
from controller.bgp.wire.attributes.mp import MpReachNlri
from controller.bgp.wire.constants import UpdateSubcode
from controller.bgp.wire.context import DEFAULT_CONTEXT
from controller.bgp.wire.errors import BgpError, update_error
from controller.bgp.wire.update import Update


def _missing(name: str, code: int) -> BgpError:
    return update_error(
        UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE,
        f"missing well-known attribute {name}",
        where="UPDATE",
        data=bytes([code]),
    )


def validate_update(update: Update, *, ibgp: bool) -> list[BgpError]:
    """Errors (all treat-as-withdraw) that make the UPDATE's routes unusable."""
    errors: list[BgpError] = []
    mp = update.get(MpReachNlri)
    if not update.nlri and (mp is None or not mp.nlri):
        return errors  # nothing announced: withdrawals and End-of-RIB need no attributes
    if update.get(Origin) is None:
        errors.append(_missing("ORIGIN", Origin.TYPE_CODE))
    if update.get(AsPath) is None:
        errors.append(_missing("AS_PATH", AsPath.TYPE_CODE))
    if ibgp and update.get(LocalPref) is None:
        errors.append(_missing("LOCAL_PREF", LocalPref.TYPE_CODE))
    if update.nlri:
        nh = update.get(NextHopAttr)
        if nh is None:
            errors.append(_missing("NEXT_HOP", NextHopAttr.TYPE_CODE))
        elif not _usable_ipv4(nh.address):
            errors.append(
                update_error(
                    UpdateSubcode.INVALID_NEXT_HOP,
                    f"NEXT_HOP {nh.address} is not a unicast address",
                    where="UPDATE attribute NEXT_HOP",
                    data=nh.encode(DEFAULT_CONTEXT),
                )
            )
    return errors


def _usable_ipv4(addr: ipaddress.IPv4Address) -> bool:
    # 0.0.0.0, 224/4 and 240/4 (which holds 255.255.255.255) can never be a next hop.
    return not (addr.is_unspecified or addr.is_multicast or addr.is_reserved)
