"""MPLS label stacks in labeled NLRI (RFC 8277 section 2, RFC 3032 2.1).

Each entry is 3 octets::

     0                   1                   2
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                Label                  | TC  |S|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

S (bottom of stack) ends the stack. In withdrawals the field is 0x800000
(RFC 8277 2.4; older speakers send 0x000000) and is ignored by the receiver.
"""

from __future__ import annotations

from dataclasses import dataclass

WITHDRAW_LABEL_FIELD = 0x800000
LEGACY_WITHDRAW_FIELD = 0x000000


@dataclass(frozen=True, slots=True)
class Label:
    """One label stack entry; ``bos`` marks the last entry."""

    value: int
    tc: int = 0
    bos: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << 20 or not 0 <= self.tc < 8:
            raise ValueError(f"label {self.value} tc {self.tc} out of range")

    @property
    def field(self) -> int:
        return (self.value << 4) | (self.tc << 1) | int(self.bos)

    @classmethod
    def from_field(cls, field: int) -> Label:
        return cls(field >> 4, (field >> 1) & 7, bool(field & 1))

    def encode(self) -> bytes:
        return self.field.to_bytes(3, "big")

    def __str__(self) -> str:
        return str(self.value) if self.tc == 0 else f"{self.value}/tc{self.tc}"


def label_stack(*values: int) -> tuple[Label, ...]:
    """A stack from label values, bottom-of-stack set on the last one only."""
    return tuple(Label(v, 0, i == len(values) - 1) for i, v in enumerate(values))
