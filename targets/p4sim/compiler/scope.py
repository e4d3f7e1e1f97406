"""Lexical scopes of the code generator."""

from __future__ import annotations

from targets.p4sim.compiler.values import Val


class Scope:
    def __init__(self, parent: Scope | None = None, prefix: str = "") -> None:
        self.parent = parent
        self.names: dict[str, Val] = {}
        # Instance-name prefix for P4Info names ("MyIngress.c1") and storage of locals.
        self.prefix: str = prefix if prefix or parent is None else parent.prefix
        self.in_action: bool = parent.in_action if parent else False
        self.in_parser: bool = parent.in_parser if parent else False
        self.control: object = parent.control if parent else None

    def lookup(self, name: str) -> Val | None:
        s: Scope | None = self
        while s is not None:
            v = s.names.get(name)
            if v is not None:
                return v
            s = s.parent
        return None

    def child(self) -> Scope:
        return Scope(self)
