"""Type references, annotations and expressions of P4_16 (precedence as in the spec)."""

from __future__ import annotations

from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import CompileError
from targets.p4sim.frontend.tokens import TokenStream

BASE_TYPE_KW = {"bit", "int", "varbit", "bool", "error", "string", "void", "tuple", "match_kind"}
BINARY_PREC: list[set[str]] = [
    {"||"},
    {"&&"},
    {"==", "!="},
    {"<", ">", "<=", ">="},
    {"|"},
    {"^"},
    {"&"},
    {"<<", ">>"},
    {"++", "+", "-", "|+|", "|-|"},
    {"*", "/", "%"},
]


class ExprParser(TokenStream):
    def annotations(self) -> list[A.Annotation]:
        out = []
        while self.at("@"):
            loc = self.tok.loc
            self.i += 1
            name = self.tok.text
            self.i += 1
            args: list[object] = []
            if self.at("("):
                self.i += 1
                depth = 1
                while depth:
                    t = self.tok
                    if t.kind == "eof":
                        self.error("unterminated annotation")
                    self.i += 1
                    if t.text == "(" and t.kind == "op":
                        depth += 1
                    elif t.text == ")" and t.kind == "op":
                        depth -= 1
                        if not depth:
                            break
                    if t.kind == "str":
                        args.append(t.text)
                    elif t.kind == "int":
                        args.append(t.value)
                    elif t.text != ",":
                        args.append(t.text)
            elif self.at("["):
                depth = 0
                while True:
                    t = self.tok
                    self.i += 1
                    depth += t.text == "["
                    depth -= t.text == "]"
                    if not depth or t.kind == "eof":
                        break
            # P4Runtime's grammar: the controller type is bit<W>, string or a width
            translated = args[1] if name == "p4runtime_translation" and len(args) > 1 else "bit"
            if not (translated in ("bit", "string") or isinstance(translated, int)):
                raise CompileError(
                    loc, f"@p4runtime_translation: {translated} is not bit<W>, string or a width"
                )
            out.append(A.Annotation(name, args, loc))
        return out

    def is_type_start(self) -> bool:
        t = self.tok
        if t.kind == "kw" and t.text in BASE_TYPE_KW:
            return True
        if t.text == "_" or t.text == ".":
            return False
        return t.kind == "id" and t.text in self.type_names

    def type_ref(self) -> A.TypeRef:
        t = self.tok
        loc = t.loc
        self.i += 1
        ty: A.TypeRef
        if t.text in ("bit", "int", "varbit") and t.kind == "kw":
            if self.accept("<"):
                if self.tok.kind == "int":
                    w: A.Expr = A.IntLit(self.tok.loc, self.tok.value)
                    self.i += 1
                else:
                    self.expect("(")
                    w = self.expression()
                    self.expect(")")
                self.expect(">")
                ty = A.TypeRef(loc, t.text, w)
            elif t.text == "bit":
                ty = A.TypeRef(loc, "bit", A.IntLit(loc, 1))
            elif t.text == "int":
                ty = A.TypeRef(loc, "infint")
            else:
                self.error("varbit needs a width", loc)
                raise AssertionError
        elif t.kind == "kw" and t.text in ("bool", "error", "string", "void", "match_kind"):
            ty = A.TypeRef(loc, t.text)
        elif t.kind == "kw" and t.text == "tuple":
            self.expect("<")
            elems = [self.type_ref()]
            while self.accept(","):
                elems.append(self.type_ref())
            self.expect(">")
            ty = A.TypeRef(loc, "tuple", args=elems)
        elif t.kind == "id" or t.text == ".":
            if t.text == ".":
                t = self.tok
                self.i += 1
            if t.text == "_":
                return A.TypeRef(loc, "dontcare")
            ty = A.TypeRef(loc, "name", name=t.text)
            if self.at("<"):
                self.i += 1
                while True:
                    ty.args.append(self.type_ref())
                    if self.accept(","):
                        continue
                    self.expect(">")
                    break
        else:
            self.error(f"expected a type, found {self.describe(t)}", loc)
            raise AssertionError
        while self.at("[") and self.peek().text != "]":
            self.i += 1
            size = self.expression()
            self.expect("]")
            ty = A.TypeRef(loc, "stack", args=[ty], size=size)
        return ty

    def arguments(self) -> tuple[list[A.Expr], list[str | None]]:
        self.expect("(")
        args: list[A.Expr] = []
        names: list[str | None] = []
        while not self.accept(")"):
            if self.tok.kind == "id" and self.peek().text == "=" and self.peek(2).text != "=":
                names.append(self.tok.text)
                self.i += 2
            else:
                names.append(None)
            if self.at("_"):
                args.append(A.Default(self.tok.loc))
                self.i += 1
            else:
                args.append(self.expression())
            if not self.accept(","):
                self.expect(")")
                break
        return args, names

    def expression(self) -> A.Expr:
        cond = self.binary(0)
        if self.at("?"):
            loc = self.tok.loc
            self.i += 1
            a = self.expression()
            self.expect(":")
            b = self.expression()
            return A.Cond(loc, cond, a, b)
        return cond

    def binary(self, level: int) -> A.Expr:
        if level == len(BINARY_PREC):
            return self.unary()
        left = self.binary(level + 1)
        ops = BINARY_PREC[level]
        while True:
            t = self.tok
            if ">>" in ops and self.at_shift_right():
                self.i += 2
                op = ">>"
            elif t.kind == "op" and t.text in ops:
                if t.text == ">" and self.at_shift_right():
                    break
                self.i += 1
                op = t.text
            elif (
                ">=" in ops
                and t.text == ">"
                and self.peek().text == "="
                and (not self.peek().space_before)
            ):
                self.i += 2
                op = ">="
            else:
                break
            right = self.binary(level + 1)
            left = A.Binary(t.loc, op, left, right)
        return left

    def unary(self) -> A.Expr:
        t = self.tok
        if t.kind == "op" and t.text in ("!", "~", "-", "+"):
            self.i += 1
            e = self.unary()
            return e if t.text == "+" else A.Unary(t.loc, t.text, e)
        if t.text == "(" and t.kind == "op" and self._paren_is_cast():
            self.i += 1
            ty = self.type_ref()
            self.expect(")")
            return A.Cast(t.loc, ty, self.unary())
        return self.postfix(self.primary())

    def _paren_is_cast(self) -> bool:
        nxt = self.peek()
        if nxt.kind == "kw" and nxt.text in ("bit", "int", "varbit", "bool"):
            return True
        if nxt.kind == "id" and nxt.text in self.type_names:
            j, depth = self.i + 2, 0
            while j < len(self.toks):  # skip generic args
                t = self.toks[j].text
                if t == "<":
                    depth += 1
                elif t == ">" and depth:
                    depth -= 1
                elif not depth:
                    return t == ")" and self.toks[j + 1].text not in (
                        ";",
                        ")",
                        ",",
                        "]",
                        "}",
                        ":",
                        "?",
                        "&&",
                        "||",
                        "==",
                        "!=",
                        ".",
                    )
                j += 1
        return False

    def primary(self) -> A.Expr:
        t = self.tok
        loc = t.loc
        if t.kind == "int":
            self.i += 1
            digits = t.text.lower().split("w", 1)[-1].split("s", 1)[-1] if t.width else t.text
            base = {"0x": 16, "0b": 2, "0o": 8}.get(digits.lower()[:2], 10)
            return A.IntLit(loc, t.value, t.width, t.signed, base)
        if t.kind == "str":
            self.i += 1
            return A.StrLit(loc, t.text)
        if t.kind == "kw":
            if t.text in ("true", "false"):
                self.i += 1
                return A.BoolLit(loc, t.text == "true")
            if t.text in ("bit", "int", "varbit", "bool", "tuple") or (
                t.text == "error" and self.peek().text != "."
            ):
                return A.TypeExpr(loc, self.type_ref())
            if t.text in ("error", "this", "apply", "state", "type"):
                self.i += 1
                return A.Name(loc, t.text)
        if t.kind == "id":
            if t.text in self.type_names and self.peek().text == "<" and self._generic_call():
                return A.TypeExpr(loc, self.type_ref())
            self.i += 1
            return A.Name(loc, t.text)
        if t.text == "." and self.peek().kind == "id":
            self.i += 1
            n = self.tok.text
            self.i += 1
            return A.Name(loc, n, dotted=True)
        if t.text == "(":
            self.i += 1
            e = self.expression()
            self.expect(")")
            return e
        if t.text == "{":
            return self.brace_expr()
        if t.text == "_":
            self.i += 1
            return A.Default(loc)
        self.error(f"expected an expression, found {self.describe(t)}")
        raise AssertionError

    def _generic_call(self) -> bool:
        j, depth = self.i + 1, 0
        while j < len(self.toks):
            t = self.toks[j].text
            depth += t == "<"
            depth -= t == ">"
            j += 1
            if depth == 0:
                return self.toks[j].text in ("(", "{")
            if t in (";", "{", ")"):
                return False
        return False

    def brace_expr(self) -> A.Expr:
        loc = self.expect("{").loc
        if self.tok.kind == "id" and self.peek().text == "=" and self.peek(2).text != "=":
            fields = []
            while not self.accept("}"):
                n = self.ident()
                self.expect("=")
                fields.append((n, self.expression()))
                if not self.accept(","):
                    self.expect("}")
                    break
            return A.StructExpr(loc, fields)
        items = []
        while not self.accept("}"):
            items.append(self.expression())
            if not self.accept(","):
                self.expect("}")
                break
        return A.ListExpr(loc, items)

    def postfix(self, e: A.Expr) -> A.Expr:
        while True:
            t = self.tok
            if t.text == "." and t.kind == "op":
                self.i += 1
                e = A.Member(t.loc, e, self.ident())
            elif t.text == "[" and t.kind == "op":
                self.i += 1
                hi = self.expression()
                if self.accept(":"):
                    lo = self.expression()
                    self.expect("]")
                    e = A.Slice(t.loc, e, hi, lo)
                else:
                    self.expect("]")
                    e = A.Index(t.loc, e, hi)
            elif t.text == "(" and t.kind == "op":
                args, names = self.arguments()
                e = A.Call(t.loc, e, [], args, names)
            elif t.text == "<" and t.kind == "op" and self._is_call_type_args(e):
                self.i += 1
                targs = [self.type_ref()]
                while self.accept(","):
                    targs.append(self.type_ref())
                self.expect(">")
                args, names = self.arguments()
                e = A.Call(t.loc, e, targs, args, names)
            else:
                return e

    def _is_call_type_args(self, e: A.Expr) -> bool:
        # `f<bit<8>>(x)`: a type argument list is followed by '('.
        if not isinstance(e, A.Name | A.Member):
            return False
        nxt = self.peek()
        if not (nxt.kind == "kw" and nxt.text in BASE_TYPE_KW) and not (
            nxt.kind == "id" and nxt.text in self.type_names
        ):
            return False
        j, depth = self.i, 0
        while j < len(self.toks):
            t = self.toks[j].text
            depth += t == "<"
            depth -= t == ">"
            j += 1
            if depth == 0:
                return self.toks[j].text == "("
            if t in (";", "{", ")"):
                return False
        return False
