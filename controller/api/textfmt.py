"""Text table helpers shared by the `sl3vpn show` renderers."""

from __future__ import annotations

from collections.abc import Sequence

Cell = str | int | float | None


def cell(value: Cell) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Cell]], right: Sequence[int] = ()) -> str:
    """Columns two spaces apart; the columns whose index is in ``right`` align right."""
    text = [list(header)] + [[cell(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(header))]
    lines = []
    for r in text:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def duration(seconds: float | None) -> str:
    """Like routers print session ages: ``00:05:07``, ``3d04h12m``, ``never``."""
    if seconds is None:
        return "never"
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    return f"{days}d{h:02d}h{m:02d}m" if days else f"{h:02d}:{m:02d}:{sec:02d}"


def spi(value: int | None, octets: int = 4) -> str:
    return "-" if value is None else f"0x{value:0{octets * 2}x}"


def errors(counts: dict[str, int] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((counts or {}).items()) if v) or "-"


def joined(items: list[str] | None) -> str:
    return ",".join(items or []) or "-"


def pair(a: Cell, b: Cell) -> str | None:
    return None if a is None and b is None else f"{cell(a)}/{cell(b)}"
