"""Token cursor shared by the parser layers (lookahead, expect, errors)."""

from __future__ import annotations

from targets.p4sim.frontend.errors import CompileError, Loc
from targets.p4sim.frontend.lexer import Token


class TokenStream:
    def __init__(self, tokens: list[Token]) -> None:
        # Extra EOF tokens make fixed-distance lookahead past the end safe.
        self.toks = tokens + [tokens[-1]] * 8
        self.i = 0
        self.type_names: set[str] = set()

    @property
    def tok(self) -> Token:
        return self.toks[min(self.i, len(self.toks) - 1)]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, text: str) -> bool:
        t = self.tok
        return t.text == text and t.kind in ("op", "kw", "id")

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        if not self.at(text):
            self.error(f"expected '{text}', found {self.describe(self.tok)}")
        t = self.tok
        self.i += 1
        return t

    def error(self, msg: str, loc: Loc | None = None) -> None:
        raise CompileError(loc or self.tok.loc, msg)

    @staticmethod
    def describe(t: Token) -> str:
        return "end of file" if t.kind == "eof" else f"'{t.text}'"

    def ident(self) -> str:
        t = self.tok
        # Contextual keywords usable as names.
        if t.kind == "id" or (t.kind == "kw" and t.text in ("apply", "state", "type")):
            self.i += 1
            return t.text
        self.error(f"expected an identifier, found {self.describe(t)}")
        raise AssertionError

    def at_shift_right(self) -> bool:
        return self.at(">") and self.peek().text == ">" and not self.peek().space_before
