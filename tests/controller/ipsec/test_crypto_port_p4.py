"""The crypto-port header is defined twice: p4src/include/crypto.p4 and crypto_port.py.

This reads the P4 file (header type ``crypto_h`` and the CRYPTO_* constants)
and checks both sides agree on field names, widths and order, the version,
and every op and result code, in both directions.
"""

import re
from pathlib import Path

import pytest

from controller.ipsec import crypto_port as cp

pytestmark = pytest.mark.unit

P4_FILE = Path(__file__).resolve().parents[3] / "p4src" / "include" / "crypto.p4"


def _source() -> str:
    text = P4_FILE.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _header_fields(source: str) -> list[tuple[str, int]]:
    match = re.search(r"\bheader\s+crypto_h\s*\{(.*?)\}", source, flags=re.S)
    assert match, f"{P4_FILE}: no `header crypto_h {{ ... }}`"
    fields = []
    for decl in filter(None, (d.strip() for d in match.group(1).split(";"))):
        field = re.fullmatch(r"bit\s*<\s*(\d+)\s*>\s+(\w+)", decl)
        assert field, f"{P4_FILE}: crypto_h field {decl!r} is not `bit<N> name`"
        fields.append((field.group(2), int(field.group(1))))
    return fields


def _constants(source: str, prefix: str) -> dict[str, int]:
    pattern = rf"\bconst\s+bit\s*<\s*8\s*>\s+{prefix}(\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*;"
    return {name: int(value, 0) for name, value in re.findall(pattern, source)}


def test_p4_header_matches_python_fields() -> None:
    assert _header_fields(_source()) == list(cp.FIELDS)


def test_p4_constants_match_python_enums() -> None:
    source = _source()
    assert _constants(source, "CRYPTO_OP_") == {op.name: op.value for op in cp.Op}
    assert _constants(source, "CRYPTO_RESULT_") == {r.name: r.value for r in cp.Result}
    assert _constants(source, "CRYPTO_").get("VERSION") == cp.VERSION


def test_parser_catches_a_disagreement() -> None:
    """The checker itself must notice a swapped field (guards against a vacuous pass)."""
    swapped = "header crypto_h { bit<8> op; bit<8> version; bit<16> sa_index; }"
    assert _header_fields(swapped) != list(cp.FIELDS)
