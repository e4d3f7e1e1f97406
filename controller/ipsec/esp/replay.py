"""Inbound anti-replay window with ESN inference (RFC 4303 section 3.4.3, appendix A).

The window is a bitmap held in a Python int: bit ``i`` set means sequence
number ``top - i`` was received and authenticated.  Checking is split from
updating because the window may only move after the ICV has been verified
(RFC 4303 section 3.4.3).
"""

from __future__ import annotations

_LOW = 0xFFFFFFFF


class ReplayWindow:
    """Receiver side sequence state of one SA (``size`` 0 disables replay checks)."""

    __slots__ = ("bitmap", "esn", "mask", "size", "top")

    def __init__(self, size: int, esn: bool) -> None:
        self.size = size
        self.esn = esn
        self.top = 0  # highest authenticated sequence number (64-bit with ESN)
        self.bitmap = 0
        self.mask = (1 << size) - 1 if size else 0

    def infer(self, seq_low: int) -> int | None:
        """Full sequence number for the 32 bits on the wire, or None if it can't be valid.

        With ESN the high half is guessed from the window position as in
        RFC 4303 appendix A2.2 (cases A and B); the ICV then confirms the guess.
        """
        if not self.esn:
            return seq_low or None  # sequence number 0 is never sent
        return infer_esn(self.top, self.size, seq_low)

    def check(self, seq: int) -> bool:
        """True if seq is new and not left of the window (nothing is changed)."""
        if self.size == 0 or seq > self.top:
            return True
        behind = self.top - seq
        return behind < self.size and not (self.bitmap >> behind) & 1

    def update(self, seq: int) -> None:
        """Record an authenticated sequence number."""
        if seq > self.top:
            shift = seq - self.top
            self.bitmap = ((self.bitmap << shift) | 1) & self.mask if shift < self.size else 1
            self.top = seq
        elif self.size:
            self.bitmap |= 1 << (self.top - seq)


def infer_esn(top: int, size: int, seq_low: int) -> int | None:
    """The 64-bit sequence number for seq_low given the window's top (RFC 4303 A2.2)."""
    window = max(size, 1)
    top_low = top & _LOW
    top_high = top >> 32
    if top_low >= window - 1:  # case A: window within one 2^32 block
        high = top_high if seq_low >= top_low - window + 1 else top_high + 1
    else:  # case B: window spans two blocks
        high = top_high - 1 if seq_low >= (top_low - window + 1) & _LOW else top_high
    if high < 0:
        return None
    return (high << 32) | seq_low or None
