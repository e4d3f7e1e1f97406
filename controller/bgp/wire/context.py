"""What a codec needs to know about the session it is decoding for.

Some encodings depend on what the OPEN exchange negotiated (RFC 6793: 2- or
4-octet AS numbers in AS_PATH and AGGREGATOR; RFC 8654: 4096 or 65535 octet
messages), and the draft's two code points have no IANA value and so are
configuration. A :class:`CodecContext` carries all of that; the session layer
builds one per session once the OPENs are exchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.bgp.wire.constants import MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN

# draft-rosen-bess-secure-l3vpn section 6 asks for a Security Handle sub-TLV with a
# one-octet length, i.e. a type in 0-127. None is assigned, so the default comes
# from RFC 9012's Experimental Use range for one-octet-length sub-TLVs (126-127).
DEFAULT_SECURITY_HANDLE_SUBTLV = 126

# The draft's "MPLS-in-IPsec" tunnel type has no IANA value and the Tunnel Types
# registry (RFC 9012 15.4) has no experimental range: it is all First Come First
# Served, allocated upwards from 1 (values in the twenties are taken today).
# 0xFFFE is the highest value that is not Reserved (0xFFFF is), so it is the last
# one an FCFS allocation will reach. We do not reuse 6 ("MPLS-in-IP tunnel with
# IPsec Transport Mode", RFC 5566): RFC 9012 deprecated it, together with the
# IPsec Tunnel Authenticator sub-TLV, and a peer may still apply those semantics.
# GoBGP, BIRD and FRR (see docs/peers.md) pass unknown tunnel types through
# unchanged. Deployments override it with the `mpls_in_ipsec_tunnel_type` setting.
DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE = 0xFFFE


@dataclass(frozen=True, slots=True)
class CodecContext:
    """Per-session codec settings; the defaults suit a fresh session before OPEN."""

    four_octet_as: bool = True
    extended_message: bool = False
    security_handle_subtlv: int = DEFAULT_SECURITY_HANDLE_SUBTLV
    mpls_in_ipsec_tunnel_type: int = DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE

    def __post_init__(self) -> None:
        if not 0 <= self.security_handle_subtlv <= 127:
            raise ValueError(
                f"security_handle_subtlv {self.security_handle_subtlv} must be in 0-127 "
                "(the draft gives the Security Handle a one-octet length)"
            )
        if not 1 <= self.mpls_in_ipsec_tunnel_type <= 0xFFFE:
            raise ValueError(
                f"mpls_in_ipsec_tunnel_type {self.mpls_in_ipsec_tunnel_type} must be in 1-65534"
            )

    @property
    def max_message_len(self) -> int:
        return MAX_EXTENDED_MESSAGE_LEN if self.extended_message else MAX_MESSAGE_LEN


DEFAULT_CONTEXT = CodecContext()
# Before the OPENs are exchanged a speaker must assume neither RFC 6793 nor RFC 8654.
PRE_OPEN_CONTEXT = CodecContext(four_octet_as=False, extended_message=False)
