"""Shared builders for the ESP engine tests: SAs, frames, and scapy's independent SA."""

from __future__ import annotations

import ipaddress
import os

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from controller.ipsec import crypto_port as cp
from controller.ipsec.installer import (
    CipherSuite,
    Direction,
    Lifetime,
    Mode,
    SaKeys,
    SaParams,
    UdpEncap,
)

ADDR = {
    4: (ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("198.51.100.2")),
    6: (ipaddress.ip_address("2001:db8::1"), ipaddress.ip_address("2001:db8:2::2")),
}
MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
# An MPLS label stack entry (label 100, S=1, TTL 64) followed by a tenant IPv4 packet.
MPLS_PAYLOAD = bytes.fromhex("00064140") + bytes(
    IP(src="10.1.0.1", dst="10.2.0.1") / Raw(b"x" * 40)
)

BIG_PAYLOAD = bytes(range(256)) * 16  # 4 KiB: longer than a crypto-port ring slot


def keys_for(suite: CipherSuite) -> SaKeys:
    return SaKeys(
        enc_key=os.urandom(suite.enc_key_len),
        salt=os.urandom(suite.salt_len),
        auth_key=os.urandom(suite.auth_key_len),
    )


def sa_params(
    direction: Direction,
    *,
    version: int = 4,
    spi: int = 0x1001,
    sa_index: int = 1,
    suite: CipherSuite = CipherSuite.AES_GCM_16_128,
    mode: Mode = Mode.TRANSPORT,
    udp: bool = False,
    esn: bool = False,
    window: int = 64,
    soft: Lifetime | None = None,
    hard: Lifetime | None = None,
    keys: SaKeys | None = None,
) -> SaParams:
    local, remote = ADDR[version]
    return SaParams(
        direction=direction,
        spi=spi,
        sa_index=sa_index,
        local=local,
        remote=remote,
        suite=suite,
        keys=keys or keys_for(suite),
        mode=mode,
        udp_encap=UdpEncap(4500, 4500) if udp else None,
        esn=esn,
        replay_window=window,
        soft=soft or Lifetime(),
        hard=hard or Lifetime(),
    )


def scapy_sa(params: SaParams, seq_num: int = 1, esn_high: int = 0) -> SecurityAssociation:
    """scapy's SA with the same keys: the independent implementation."""
    suite = params.suite
    if suite.is_aead:
        crypt = {
            "crypt_algo": "AES-GCM",
            "crypt_key": params.keys.enc_key + params.keys.salt,
            "crypt_icv_size": 16,
        }
        auth = {}
    else:
        crypt = {"crypt_algo": "AES-CBC", "crypt_key": params.keys.enc_key}
        auth = {"auth_algo": "SHA2-256-128", "auth_key": params.keys.auth_key}
    extra: dict[str, object] = {}
    if params.mode is Mode.TUNNEL:
        # scapy builds the outer header from this template: peer -> us for its encrypt side.
        ip_cls = IP if params.local.version == 4 else IPv6
        src, dst = (params.local, params.remote)
        if params.direction is Direction.INBOUND:
            src, dst = dst, src
        extra["tunnel_header"] = ip_cls(src=str(src), dst=str(dst))
    if params.udp_encap is not None:
        extra["nat_t_header"] = UDP(sport=4500, dport=4500)
    return SecurityAssociation(
        proto=ESP,
        spi=params.spi,
        seq_num=seq_num,
        esn_en=params.esn,
        esn=esn_high,
        **crypt,
        **auth,
        **extra,
    )


def ip_packet(version: int, outbound: bool, payload: str = "mpls") -> Packet:
    """Black IP packet between the two C-PEs carrying MPLS-in-IP (137) or BGP/TCP."""
    local, remote = ADDR[version]
    src, dst = (local, remote) if outbound else (remote, local)
    upper: Packet = Raw(MPLS_PAYLOAD)
    if payload != "mpls":
        upper = TCP(sport=40000, dport=179, flags="PA") / Raw(b"\xff" * 19)
    proto = {"proto": 137} if payload == "mpls" else {}
    if version == 4:
        return IP(src=str(src), dst=str(dst), ttl=63, id=7, **proto) / upper
    nh = {"nh": 137} if payload == "mpls" else {}
    return IPv6(src=str(src), dst=str(dst), hlim=63, **nh) / upper


def eth(version: int, ip: Packet) -> bytes:
    ethertype = 0x0800 if version == 4 else 0x86DD
    return bytes(Ether(src=MAC_A, dst=MAC_B, type=ethertype) / ip)


def request(op: cp.Op, frame: bytes, sa_index: int = 0, port: int = 3) -> bytes:
    return cp.frame(cp.CryptoHeader(op=op, sa_index=sa_index, ingress_port=port), frame)


def split(answer: bytes) -> tuple[cp.CryptoHeader, bytes]:
    return cp.CryptoHeader.decode(answer), answer[cp.HEADER_LEN :]
