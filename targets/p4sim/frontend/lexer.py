"""P4_16 lexer over preprocessed text (honours `#line` markers for positions).

Integer literals follow the P4_16 spec: optional width prefix `Nw` (unsigned)
or `Ns` (signed), base prefixes 0x/0o/0d/0b (either case), `_` separators.
`>` is always a single token; the parser joins adjacent `>` `>` into a shift
so that `bit<bit<8>>`-style nested type arguments lex correctly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from targets.p4sim.frontend.errors import CompileError, Loc
from targets.p4sim.types import INT_BITS_LIMIT

KEYWORDS = frozenset(
    [
        "abstract",
        "action",
        "apply",
        "bit",
        "bool",
        "const",
        "control",
        "default",
        "else",
        "entries",
        "enum",
        "error",
        "exit",
        "extern",
        "false",
        "header",
        "header_union",
        "if",
        "in",
        "inout",
        "int",
        "key",
        "list",
        "match_kind",
        "out",
        "package",
        "parser",
        "priority",
        "return",
        "select",
        "state",
        "string",
        "struct",
        "switch",
        "table",
        "this",
        "transition",
        "true",
        "tuple",
        "type",
        "typedef",
        "value_set",
        "varbit",
        "void",
        "actions",
        "default_action",
        "size",
    ]
)
# Table property names are contextual; the parser treats them as identifiers.
KEYWORDS = KEYWORDS - {"key", "actions", "default_action", "size", "entries", "priority", "list"}

PUNCT = sorted(
    [
        "&&&",
        "|+|",
        "|-|",
        "...",
        "..",
        "++",
        "<<",
        "<=",
        ">=",
        "==",
        "!=",
        "&&",
        "||",
        "+=",
        "-=",
        "*=",
        ";",
        ":",
        ",",
        ".",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "<",
        ">",
        "=",
        "+",
        "-",
        "*",
        "/",
        "%",
        "&",
        "|",
        "^",
        "~",
        "!",
        "?",
        "@",
        "_",
    ],
    key=len,
    reverse=True,
)

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<line>\#line[ \t]+(?P<lno>\d+)(?:[ \t]+"(?P<lfile>[^"]*)")?[^\n]*)
  | (?P<hash>\#[^\n]*)
  | (?P<comment>//[^\n]*|/\*(?:.|\n)*?\*/)
  | (?P<num>(?:\d+[ws])?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[dD][0-9_]+|\d[\d_]*))
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<punct>"""
    + "|".join(re.escape(p) for p in PUNCT)
    + r""")
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "id", "kw", "int", "str", "op", "eof"
    text: str
    loc: Loc
    value: int = 0
    width: int | None = None  # for int literals with a width prefix
    signed: bool = False
    space_before: bool = True


def _parse_int(text: str, loc: Loc) -> tuple[int, int | None, bool]:
    width: int | None = None
    signed = False
    m = re.match(r"(\d+)([ws])(.*)", text)
    if m and not text.lower().startswith(("0x", "0b", "0o", "0d")):
        width, signed, text = int(m.group(1)), m.group(2) == "s", m.group(3)
        if width == 0 or (signed and width < 1):
            raise CompileError(loc, f"invalid width in integer literal {text!r}")
    t = text.replace("_", "")
    low = t.lower()
    try:
        if low.startswith("0x"):
            v = int(t[2:], 16)
        elif low.startswith("0b"):
            v = int(t[2:], 2)
        elif low.startswith("0o"):
            v = int(t[2:], 8)
        elif low.startswith("0d"):
            v = int(t[2:], 10)
        else:
            v = int(t, 10)
    except ValueError:
        if t.isdigit():  # Python reads at most 4300 decimal digits
            raise CompileError(loc, "integer literal too large") from None
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise CompileError(loc, f"malformed integer literal {shown!r}") from None
    if v.bit_length() > INT_BITS_LIMIT:
        raise CompileError(loc, f"integer literal of {v.bit_length()} bits: too large")
    return v, width, signed


def tokenize(text: str, filename: str) -> list[Token]:
    toks: list[Token] = []
    pos, line, line_start, file = 0, 1, 0, filename
    n = len(text)
    space = True
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            loc = Loc(file, line, pos - line_start + 1)
            raise CompileError(loc, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        s = m.group(0)
        loc = Loc(file, line, pos - line_start + 1)
        if kind == "nl":
            line += 1
            line_start = m.end()
            space = True
        elif kind == "line":
            # The marker names the line number of the *next* line.
            line = int(m.group("lno")) - 1
            if m.group("lfile") is not None:
                file = m.group("lfile")
        elif kind in ("ws", "hash"):
            space = True
        elif kind == "comment":
            nls = s.count("\n")
            if nls:
                line += nls
                line_start = pos + s.rfind("\n") + 1
            space = True
        elif kind == "num":
            v, w, sg = _parse_int(s, loc)
            toks.append(Token("int", s, loc, v, w, sg, space))
            space = False
        elif kind == "id":
            toks.append(Token("kw" if s in KEYWORDS else "id", s, loc, space_before=space))
            space = False
        elif kind == "str":
            toks.append(Token("str", s[1:-1], loc, space_before=space))
            space = False
        else:
            toks.append(Token("op", s, loc, space_before=space))
            space = False
        pos = m.end()
    toks.append(Token("eof", "", Loc(file, line, pos - line_start + 1)))
    return toks
