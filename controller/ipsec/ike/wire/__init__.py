"""IKEv2 wire codecs (RFC 7296 section 3, RFC 7383): one class per payload."""

from controller.ipsec.ike.wire.auth import AuthPayload, CertPayload, CertReqPayload
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.header import IkeHeader
from controller.ipsec.ike.wire.ident import Identity, IdiPayload, IdrPayload
from controller.ipsec.ike.wire.message import (
    Fragment,
    Message,
    Reassembler,
    decode_message,
    encode_message,
)
from controller.ipsec.ike.wire.notify import DeletePayload, NotifyPayload
from controller.ipsec.ike.wire.payload import Payload, UnknownPayload
from controller.ipsec.ike.wire.sa import Proposal, SaPayload, Transform
from controller.ipsec.ike.wire.simple import KePayload, NoncePayload, VendorPayload
from controller.ipsec.ike.wire.sk import SkfPayload, SkPayload
from controller.ipsec.ike.wire.ts import TrafficSelector, TsiPayload, TsrPayload

__all__ = [
    "AuthPayload",
    "CertPayload",
    "CertReqPayload",
    "DeletePayload",
    "Fragment",
    "Identity",
    "IdiPayload",
    "IdrPayload",
    "IkeError",
    "IkeHeader",
    "KePayload",
    "Message",
    "NoncePayload",
    "NotifyPayload",
    "Payload",
    "Proposal",
    "Reassembler",
    "SaPayload",
    "SkPayload",
    "SkfPayload",
    "TrafficSelector",
    "Transform",
    "TsiPayload",
    "TsrPayload",
    "UnknownPayload",
    "VendorPayload",
    "decode_message",
    "encode_message",
]
