"""BGP wire codecs: bytes <-> message objects, sans-I/O, no session state.

API overview (everything below is importable from ``controller.bgp.wire``):

Framing and messages
    ``FrameReader(ctx)``: ``feed(bytes)``, then ``next_frame()`` until None; raises
    ``BgpError`` on a bad header. ``decode_message(frame, ctx) -> BgpMessage``;
    ``msg.encode(ctx) -> bytes`` (raises ``MessageTooLong`` past 4096, or 65535
    with ``ctx.extended_message``). Messages are frozen dataclasses:
    ``Open`` (``Open.create(asn, hold_time, router_id, [caps])``, ``.asn``,
    ``.families``, ``.find(Capability class)``, ``.validate()``), ``Update``
    (``withdrawn``, ``attributes``, ``nlri``; ``.get(AttrClass)``,
    ``.announced()``, ``.withdrawals()``, ``.end_of_rib``, ``.errors``,
    ``.action``), ``Keepalive``, ``Notification`` (``from_error(err)``,
    ``shutdown(text)``), ``RouteRefreshMessage`` (subtype ``RefreshSubtype``:
    REQUEST, BORR, EORR).

Capabilities (RFC 5492): ``MultiProtocol(afi, safi)``, ``RouteRefresh()``,
    ``EnhancedRouteRefresh()``, ``GracefulRestart(...)``, ``FourOctetAs(asn)``,
    ``ExtendedMessage()``, ``ExtendedNextHop(...)``, ``AddPath(...)`` (decoded,
    never offered by us); anything else is ``UnknownCapability`` (kept raw).

Session context
    ``CodecContext(four_octet_as, extended_message, security_handle_subtlv=126,
    mpls_in_ipsec_tunnel_type=0xFFFE)``: what the OPEN exchange negotiated plus
    the draft's two configurable code points. ``PRE_OPEN_CONTEXT`` before OPEN.

Errors (RFC 4271 6, RFC 7606)
    Decoders raise only ``BgpError`` (``code``, ``subcode``, ``data``, ``action``,
    one-line ``str``). ``action`` is an ``ErrorAction``: SESSION_RESET and
    AFI_SAFI_DISABLE are raised; TREAT_AS_WITHDRAW and ATTRIBUTE_DISCARD found
    in an UPDATE are collected in ``Update.errors`` and summarised by
    ``Update.action`` (discarded attributes are absent; a treat-as-withdraw
    attribute stays as ``UnknownAttribute``). ``Notification.from_error(err)``
    is the reply. ``validate_update(update, ibgp=...)`` adds the semantic
    checks (missing well-known attributes, unusable NEXT_HOP).

Path attributes (``attributes/``): one frozen dataclass per type code with
    ``encode(ctx)``/``decode_value(value, ctx)``; ``flags`` is None when
    canonical and keeps received non-canonical flags (Partial, Extended
    Length) for byte-exact re-encoding; ``with_partial()`` for passing on an
    unknown optional transitive attribute.

Code points without an IANA value (draft-rosen-bess-secure-l3vpn 5, 6), both
    configuration with defaults in ``context.py``: the Security Handle sub-TLV
    is 126 (RFC 9012's Experimental Use range for one-octet-length sub-TLVs);
    the MPLS-in-IPsec tunnel type is 0xFFFE: the tunnel type registry is all
    First Come First Served, allocated upward from 1, with no experimental
    range, so its highest non-reserved value is the last an assignment will
    reach; the deprecated type 6 (RFC 5566 MPLS-in-IP with IPsec) is avoided so
    no peer applies its old semantics. GoBGP, BIRD and FRR carry both unchanged
    (tests/interop/bgp; FRR not on IPv4 unicast).

NLRI (``nlri/``): IPv4/IPv6 prefixes are ``ipaddress`` networks;
    ``VpnPrefix(rd, prefix, labels)`` with ``RouteDistinguisher.parse("65000:1")``
    and ``label_stack(100)``; ``NextHop(address, link_local)`` for MP_REACH.
"""

from controller.bgp.wire import keepalive, notification, open, route_refresh, update  # noqa: F401
from controller.bgp.wire.attributes import *  # noqa: F403
from controller.bgp.wire.attributes import __all__ as _attr_all
from controller.bgp.wire.capabilities import (
    AddPath,
    AddPathFamily,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    ExtendedNextHop,
    FourOctetAs,
    GracefulRestart,
    GracefulRestartFamily,
    MultiProtocol,
    NextHopEncoding,
    RouteRefresh,
    UnknownCapability,
)
from controller.bgp.wire.constants import (
    AFI_IPV4,
    AFI_IPV6,
    AS_TRANS,
    IPV4_UNICAST,
    IPV6_UNICAST,
    SAFI_MPLS_VPN,
    SAFI_UNICAST,
    VPNV4,
    VPNV6,
    CeaseSubcode,
    ErrorCode,
    Family,
    MessageType,
    UpdateSubcode,
)
from controller.bgp.wire.context import (
    DEFAULT_CONTEXT,
    DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE,
    DEFAULT_SECURITY_HANDLE_SUBTLV,
    PRE_OPEN_CONTEXT,
    CodecContext,
)
from controller.bgp.wire.errors import BgpError, ErrorAction
from controller.bgp.wire.keepalive import Keepalive
from controller.bgp.wire.message import (
    BgpMessage,
    FrameReader,
    MessageTooLong,
    decode_header,
    decode_message,
)
from controller.bgp.wire.nlri import (
    IPAddress,
    IPNetwork,
    Label,
    NextHop,
    RouteDistinguisher,
    VpnPrefix,
    label_stack,
)
from controller.bgp.wire.notification import Notification
from controller.bgp.wire.open import Open, OptionalParameter
from controller.bgp.wire.route_refresh import RefreshSubtype, RouteRefreshMessage
from controller.bgp.wire.update import Update, decode_attributes
from controller.bgp.wire.validate import validate_update

__all__ = [
    *_attr_all,
    "AFI_IPV4",
    "AFI_IPV6",
    "AS_TRANS",
    "DEFAULT_CONTEXT",
    "DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE",
    "DEFAULT_SECURITY_HANDLE_SUBTLV",
    "IPV4_UNICAST",
    "IPV6_UNICAST",
    "PRE_OPEN_CONTEXT",
    "SAFI_MPLS_VPN",
    "SAFI_UNICAST",
    "VPNV4",
    "VPNV6",
    "AddPath",
    "AddPathFamily",
    "BgpError",
    "BgpMessage",
    "Capability",
    "CeaseSubcode",
    "CodecContext",
    "EnhancedRouteRefresh",
    "ErrorAction",
    "ErrorCode",
    "ExtendedMessage",
    "ExtendedNextHop",
    "Family",
    "FourOctetAs",
    "FrameReader",
    "GracefulRestart",
    "GracefulRestartFamily",
    "IPAddress",
    "IPNetwork",
    "Keepalive",
    "Label",
    "MessageTooLong",
    "MessageType",
    "MultiProtocol",
    "NextHop",
    "NextHopEncoding",
    "Notification",
    "Open",
    "OptionalParameter",
    "RefreshSubtype",
    "RouteDistinguisher",
    "RouteRefresh",
    "RouteRefreshMessage",
    "UnknownCapability",
    "Update",
    "UpdateSubcode",
    "VpnPrefix",
    "decode_attributes",
    "decode_header",
    "decode_message",
    "label_stack",
    "validate_update",
]
