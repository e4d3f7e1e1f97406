"""Export SAs as Wireshark's ESP SA table (the ``esp_sa`` UAT file) for debugging captures.

This writes key material in the clear, so it is never done implicitly: only an
explicit call exports, and the file is created readable by its owner only.
One line per SA, eight quoted fields, as Wireshark's "ESP SAs" preference
table stores them:

    "IPv4","<src>","<dst>","0x<spi>","<encryption>","0x<key>","<authentication>","0x<key>"

For AES-GCM the 4-octet salt follows the AES key (RFC 4106 section 8.1) and
authentication is "NULL".  Wireshark 4.0 knows nothing about ESN, so packets
of ESN SAs with sequence numbers past 2^32 will not verify there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from controller.ipsec.installer import CipherSuite, Direction, SaParams

_GCM = "AES-GCM with 16 octet ICV [RFC4106]"
_CBC = "AES-CBC [RFC3602]"
_HMAC = "HMAC-SHA-256-128 [RFC4868]"


def _row(params: SaParams) -> str:
    if params.direction is Direction.OUTBOUND:
        src, dst = params.local, params.remote
    else:
        src, dst = params.remote, params.local
    keys = params.keys
    if params.suite in (CipherSuite.AES_GCM_16_128, CipherSuite.AES_GCM_16_256):
        enc, enc_key, auth, auth_key = _GCM, keys.enc_key + keys.salt, "NULL", ""
    else:
        enc, enc_key, auth, auth_key = _CBC, keys.enc_key, _HMAC, "0x" + keys.auth_key.hex()
    fields = (
        f"IPv{src.version}",
        str(src),
        str(dst),
        f"0x{params.spi:08x}",
        enc,
        "0x" + enc_key.hex(),
        auth,
        auth_key,
    )
    return ",".join(f'"{field}"' for field in fields)


def esp_sa_table(sas: Iterable[SaParams]) -> str:
    """The esp_sa UAT text for the given SAs."""
    return "".join(_row(params) + "\n" for params in sas)


def write_esp_sa_table(sas: Iterable[SaParams], path: str | os.PathLike[str]) -> Path:
    """Write the table to path (mode 0600; replaced if it exists) and return the path."""
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(esp_sa_table(sas))
    return target
