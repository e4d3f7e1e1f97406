"""p4sim: a software P4_16 target running v1model programs with BMv2's semantics.

``targets.p4sim.load(path, includes=(), defines={})`` compiles a program and
``targets.p4sim.Switch(program)`` runs it (see README.md). They are imported
lazily so that importing the state API or the CLI stays cheap.
"""

from typing import Any

__all__ = ["PacketTrace", "Switch", "load"]


def __getattr__(name: str) -> Any:
    if name == "load":
        from targets.p4sim.program import load

        return load
    if name in ("Switch", "PacketTrace"):
        from targets.p4sim import switch

        return getattr(switch, name)
    raise AttributeError(f"module 'targets.p4sim' has no attribute {name!r}")
