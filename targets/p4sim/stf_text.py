"""The words of an STF script: numbers, don't-care hex digits, names; and how an
expected packet (hex nibbles, ``*`` for any) is compared with one that came out."""

from __future__ import annotations

import re


class StfError(Exception):
    """A malformed or failing STF line (message names the line)."""


def num(tok: str, where: str) -> int:
    try:
        return int(tok.replace("_", ""), 0)
    except ValueError:
        raise StfError(f"{where}: bad number {tok!r}") from None


def nibble_wildcards(tok: str, where: str) -> tuple[int, int]:
    """``0x**0101`` -> (value, mask): each ``*`` is a don't-care hex digit."""
    digits = tok.replace("_", "")
    if not re.fullmatch(r"0[xX][0-9a-fA-F*]+", digits):
        raise StfError(f"{where}: '*' digits need a 0x value, not {tok!r}")
    digits = digits[2:]
    value = int(digits.replace("*", "0"), 16)
    mask = int("".join("0" if c == "*" else "f" for c in digits), 16)
    return value, mask


def words(rest: str, n: int, usage: str, where: str) -> list[str]:
    """The words of a command's arguments; too few is a malformed line, not a crash."""
    toks = rest.split()
    if len(toks) < n:
        raise StfError(f"{where}: expected {usage}")
    return toks


def resolve(names: list[str], want: str, what: str, where: str) -> str:
    if want in names:
        return want
    hits = [n for n in names if n.endswith("." + want)]
    if len(hits) == 1:
        return hits[0]
    raise StfError(
        f"{where}: unknown {what} {want!r}" if not hits else f"{where}: ambiguous {what} {want!r}"
    )


def matches(pattern: str, got: str, exact_end: bool) -> bool:
    if len(got) < len(pattern) or (exact_end and len(got) != len(pattern)):
        return False
    return all(p in ("*", g) for p, g in zip(pattern, got, strict=False))


def diff(pattern: str, got: str) -> str:
    n = max(len(pattern), len(got))
    return "".join(
        " " if i < len(pattern) and i < len(got) and pattern[i] in ("*", got[i]) else "^"
        for i in range(n)
    )
