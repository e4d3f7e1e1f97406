"""Recursive-descent parser for P4_16 (tokens -> AST).

The P4_16 grammar is ambiguous between type names and identifiers (`T x;` vs
`f(x);`, `(T) e` vs `(e)`). Like p4c's lexer feedback, the parser records
every type name as it is declared (headers, structs, typedefs, enums,
externs, parsers, controls, packages, type parameters) and consults that set
where the grammar forks.
"""

from __future__ import annotations

from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import CompileError, Loc
from targets.p4sim.frontend.lexer import Token, tokenize

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


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        # Extra EOF tokens make fixed-distance lookahead past the end safe.
        self.toks = tokens + [tokens[-1]] * 8
        self.i = 0
        self.type_names: set[str] = set()

    # -- token helpers -------------------------------------------------------
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

    # -- program ---------------------------------------------------------------
    def program(self) -> A.Program:
        decls: list[A.Decl] = []
        while self.tok.kind != "eof":
            if self.accept(";"):
                continue
            d = self.declaration()
            if d is not None:
                decls.append(d)
        return A.Program(decls)

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
            out.append(A.Annotation(name, args, loc))
        return out

    def declaration(self) -> A.Decl | None:
        annos = self.annotations()
        t = self.tok
        loc = t.loc
        kw = t.text if t.kind == "kw" else ""
        d: A.Decl
        if kw in ("header", "struct", "header_union"):
            self.i += 1
            name = self.ident()
            self.type_names.add(name)
            tps = self.type_params()
            self.expect("{")
            fields = []
            while not self.accept("}"):
                fa = self.annotations()
                floc = self.tok.loc
                ty = self.type_ref()
                fname = self.ident()
                self.expect(";")
                fields.append(A.FieldDecl(floc, fname, ty, annotations=fa))
            d = A.StructDecl(loc, name, kw, fields, tps)
        elif kw in ("typedef", "type"):
            self.i += 1
            ty = self.type_ref()
            name = self.ident()
            self.type_names.add(name)
            self.expect(";")
            d = A.TypedefDecl(loc, name, ty, kw == "type")
        elif kw == "enum":
            self.i += 1
            under = self.type_ref() if self.at("bit") or self.at("int") else None
            name = self.ident()
            self.type_names.add(name)
            self.expect("{")
            members: list[tuple[str, A.Expr | None]] = []
            while not self.accept("}"):
                self.annotations()
                m = self.ident()
                val = self.expression() if self.accept("=") else None
                members.append((m, val))
                if not self.accept(","):
                    self.expect("}")
                    break
            d = A.EnumDecl(loc, name, members, under)
        elif kw in ("error", "match_kind") and self.peek().text == "{":
            self.i += 2
            names = []
            while not self.accept("}"):
                names.append(self.ident())
                if not self.accept(","):
                    self.expect("}")
                    break
            d = A.ErrorDecl(loc, kw, names) if kw == "error" else A.MatchKindDecl(loc, kw, names)
        elif kw == "const":
            self.i += 1
            d = self.var_decl_rest(loc, self.type_ref(), is_const=True)
        elif kw == "extern":
            self.i += 1
            d = self.extern_decl(loc)
        elif kw in ("parser", "control"):
            self.i += 1
            d = self.parser_or_control(loc, kw)
        elif kw == "package":
            self.i += 1
            name = self.ident()
            self.type_names.add(name)
            tps = self.type_params()
            params = self.params()
            self.expect(";")
            d = A.TypeDeclProto(loc, name, "package", params, tps)
        elif kw == "action":
            d = self.action_decl(loc)
        else:
            d = self.typed_declaration(loc)
        d.annotations = annos + d.annotations
        return d

    def type_params(self) -> list[str]:
        out: list[str] = []
        if self.accept("<"):
            while not self.accept(">"):
                n = self.ident()
                self.type_names.add(n)
                out.append(n)
                self.accept(",")
        return out

    def extern_decl(self, loc: Loc) -> A.Decl:
        # `extern Name<T> { ... }` or `extern RetType fname<T>(params);`
        if (
            self.tok.kind == "id"
            and self.peek().text in ("{", "<")
            and (self.peek().text == "{" or self._generic_followed_by_brace())
        ):
            name = self.ident()
            self.type_names.add(name)
            tps = self.type_params()
            self.expect("{")
            methods: list[A.MethodProto] = []
            while not self.accept("}"):
                annos = self.annotations()
                mloc = self.tok.loc
                abstract = self.accept("abstract")
                if self.tok.text == name and self.peek().text == "(":
                    self.i += 1
                    params = self.params()
                    self.expect(";")
                    methods.append(A.MethodProto(mloc, name, None, params, annotations=annos))
                    continue
                ret = self.type_ref()
                mname = self.ident()
                mtps = self.type_params()
                params = self.params()
                self.expect(";")
                methods.append(
                    A.MethodProto(mloc, mname, ret, params, mtps, abstract, annotations=annos)
                )
            return A.ExternDecl(loc, name, tps, methods)
        ret = self.type_ref()
        name = self.ident()
        tps = self.type_params()
        params = self.params()
        self.expect(";")
        return A.ExternDecl(loc, name, [], [A.MethodProto(loc, name, ret, params, tps)], True)

    def _generic_followed_by_brace(self) -> bool:
        j, depth = self.i + 1, 0
        while j < len(self.toks):
            t = self.toks[j].text
            depth += t == "<"
            depth -= t == ">"
            j += 1
            if depth == 0:
                return self.toks[j].text == "{"
        return False

    def parser_or_control(self, loc: Loc, kw: str) -> A.Decl:
        name = self.ident()
        self.type_names.add(name)
        tps = self.type_params()
        params = self.params()
        if self.accept(";"):
            return A.TypeDeclProto(loc, name, kw, params, tps)
        ctor = self.params() if self.at("(") else []
        self.expect("{")
        local_decls: list[A.Decl] = []
        states: list[A.StateDecl] = []
        body: A.Block | None = None
        while not self.accept("}"):
            annos = self.annotations()
            if kw == "parser" and self.at("state"):
                st = self.state_decl()
                st.annotations = annos
                states.append(st)
            elif kw == "control" and self.at("apply"):
                self.i += 1
                body = self.block()
            else:
                d = self.local_element(kw)
                d.annotations = annos + d.annotations
                local_decls.append(d)
        if kw == "parser":
            return A.ParserDecl(loc, name, params, ctor, local_decls, states, tps)
        if body is None:
            self.error(f"control {name} has no apply block", loc)
            raise AssertionError
        return A.ControlDecl(loc, name, params, ctor, local_decls, body, tps)

    def local_element(self, kw: str) -> A.Decl:
        loc = self.tok.loc
        if self.at("action"):
            return self.action_decl(loc)
        if self.at("table"):
            return self.table_decl(loc)
        if self.at("const"):
            self.i += 1
            return self.var_decl_rest(loc, self.type_ref(), is_const=True)
        if self.at("value_set"):
            self.i += 1
            self.expect("<")
            ty = self.type_ref()
            self.expect(">")
            self.expect("(")
            size = self.expression()
            self.expect(")")
            name = self.ident()
            self.expect(";")
            return A.ValueSetDecl(loc, name, ty, size)
        return self.typed_declaration(loc)

    def typed_declaration(self, loc: Loc) -> A.Decl:
        """`T name [= e];`, `T(args) name;`, or `T name(params) {body}` (function)."""
        ty = self.type_ref()
        if self.at("("):
            args = self.arguments()[0]
            name = self.ident()
            if self.at("{"):  # instance with initializer block (abstract methods)
                self.skip_balanced("{", "}")
            self.expect(";")
            return A.Instance(loc, name, ty, args)
        name = self.ident()
        if self.at("(") or self.at("<"):
            self.type_params()
            params = self.params()
            body = self.block()
            return A.FunctionDecl(loc, name, ty, params, body)
        return self.var_decl_rest(loc, ty, name=name)

    def skip_balanced(self, open_: str, close: str) -> None:
        depth = 0
        while True:
            t = self.tok
            if t.kind == "eof":
                self.error(f"unbalanced '{open_}'")
            self.i += 1
            depth += t.text == open_
            depth -= t.text == close
            if depth == 0:
                return

    def var_decl_rest(
        self, loc: Loc, ty: A.TypeRef, *, name: str | None = None, is_const: bool = False
    ) -> A.VarDecl:
        if name is None:
            name = self.ident()
        init = None
        if self.accept("="):
            init = self.expression()
        elif is_const:
            self.error(f"constant {name} needs an initializer")
        self.expect(";")
        return A.VarDecl(loc, name, ty, init, is_const)

    def action_decl(self, loc: Loc) -> A.ActionDecl:
        self.expect("action")
        name = self.ident()
        params = self.params()
        body = self.block()
        return A.ActionDecl(loc, name, params, body)

    def params(self) -> list[A.Param]:
        self.expect("(")
        out: list[A.Param] = []
        while not self.accept(")"):
            annos = self.annotations()
            loc = self.tok.loc
            direction = ""
            if self.tok.text in ("in", "out", "inout") and self.tok.kind == "kw":
                direction = self.tok.text
                self.i += 1
            ty = self.type_ref()
            name = self.ident()
            default = self.expression() if self.accept("=") else None
            out.append(A.Param(loc, name, direction, ty, default, annotations=annos))
            if not self.accept(","):
                self.expect(")")
                break
        return out

    # -- types -------------------------------------------------------------------
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

    # -- statements ----------------------------------------------------------------
    def block(self) -> A.Block:
        loc = self.expect("{").loc
        stmts: list[A.Stmt] = []
        while not self.accept("}"):
            if self.tok.kind == "eof":
                self.error("unterminated block: expected '}'")
            stmts.append(self.statement())
        return A.Block(loc, stmts)

    def statement(self) -> A.Stmt:
        annos = self.annotations()
        t = self.tok
        loc = t.loc
        if t.text == "{" and t.kind == "op":
            return self.block()
        if t.kind == "kw":
            if t.text == "if":
                self.i += 1
                self.expect("(")
                cond = self.expression()
                self.expect(")")
                then = self.statement()
                other = self.statement() if self.accept("else") else None
                return A.If(loc, cond, then, other)
            if t.text == "switch":
                return self.switch_stmt()
            if t.text == "exit":
                self.i += 1
                self.expect(";")
                return A.Exit(loc)
            if t.text == "return":
                self.i += 1
                val = None if self.at(";") else self.expression()
                self.expect(";")
                return A.Return(loc, val)
            if t.text == "const":
                self.i += 1
                return self.var_decl_rest(loc, self.type_ref(), is_const=True)
        if self.accept(";"):
            return A.Empty(loc)
        if self.is_decl_start():
            d = self.typed_declaration(loc)
            d.annotations = annos
            if not isinstance(d, A.VarDecl | A.Instance):
                self.error("functions cannot be declared inside a block", loc)
            assert isinstance(d, A.VarDecl | A.Instance)
            return d
        lhs = self.expression()
        if self.accept("="):
            rhs = self.expression()
            self.expect(";")
            return A.Assign(loc, lhs, rhs)
        for op in ("+=", "-=", "*="):
            if self.accept(op):
                rhs = self.expression()
                self.expect(";")
                return A.Assign(loc, lhs, A.Binary(loc, op[0], lhs, rhs))
        self.expect(";")
        if not isinstance(lhs, A.Call):
            self.error("expression statement must be a method or function call", loc)
        assert isinstance(lhs, A.Call)
        return A.CallStmt(loc, lhs)

    def is_decl_start(self) -> bool:
        t = self.tok
        if t.kind == "kw" and t.text in ("bit", "int", "varbit", "bool", "string", "tuple"):
            return True
        if t.kind == "kw" and t.text == "error":
            return self.peek().kind == "id"
        nxt = self.peek()
        if t.kind == "id" and t.text not in self.type_names and nxt.kind == "id":
            self.error(f"unknown type {t.text}")
        if t.kind != "id" or t.text not in self.type_names:
            return False
        if nxt.kind == "id" or nxt.text in ("<", "("):
            return True
        if nxt.text == "[":  # `T[4] x;` vs `a[4] = ...`: scan to the matching ']'
            j, depth = self.i + 1, 0
            while j < len(self.toks):
                depth += self.toks[j].text == "["
                depth -= self.toks[j].text == "]"
                j += 1
                if depth == 0:
                    return self.toks[j].kind == "id"
        return False

    def switch_stmt(self) -> A.Switch:
        loc = self.expect("switch").loc
        self.expect("(")
        e = self.expression()
        self.expect(")")
        self.expect("{")
        cases: list[A.SwitchCase] = []
        while not self.accept("}"):
            cloc = self.tok.loc
            label: A.Expr | None
            label = None if self.accept("default") else self.expression()
            self.expect(":")
            body = self.block() if self.at("{") else None
            cases.append(A.SwitchCase(cloc, label, body))
        return A.Switch(loc, e, cases)

    def state_decl(self) -> A.StateDecl:
        loc = self.expect("state").loc
        name = self.ident()
        self.expect("{")
        stmts: list[A.Stmt] = []
        trans = None
        while not self.accept("}"):
            if self.at("transition"):
                tloc = self.tok.loc
                self.i += 1
                if self.accept("select"):
                    self.expect("(")
                    sel = [self.expression()]
                    while self.accept(","):
                        sel.append(self.expression())
                    self.expect(")")
                    self.expect("{")
                    cases = []
                    while not self.accept("}"):
                        cl = self.tok.loc
                        ks = self.keyset()
                        self.expect(":")
                        st = self.ident()
                        self.expect(";")
                        cases.append(A.SelectCase(cl, ks, st))
                    trans = A.Transition(tloc, sel, cases)
                else:
                    trans = A.Transition(tloc, None, [], self.ident())
                    self.expect(";")
                self.expect("}")
                break
            stmts.append(self.statement())
        return A.StateDecl(loc, name, stmts, trans)

    def keyset(self) -> list[A.Expr]:
        if self.at("(") and not self._paren_is_single_expr():
            self.i += 1
            items = [self.keyset_expr()]
            while self.accept(","):
                items.append(self.keyset_expr())
            self.expect(")")
            return items
        return [self.keyset_expr()]

    def _paren_is_single_expr(self) -> bool:
        # `(a, b)` is a tuple keyset; `(a)` or `(a) &&& b` is one expression.
        j, depth = self.i, 0
        while j < len(self.toks):
            t = self.toks[j].text
            if t in ("(", "{", "["):
                depth += 1
            elif t in (")", "}", "]"):
                depth -= 1
                if depth == 0:
                    return self.toks[j + 1].text in ("&&&", "..")
            elif t == "," and depth == 1:
                return False
            j += 1
        return True

    def keyset_expr(self) -> A.Expr:
        loc = self.tok.loc
        if self.accept("default") or self.accept("_"):
            return A.Default(loc)
        e = self.expression()
        if self.accept("&&&"):
            return A.Mask(loc, e, self.expression())
        if self.accept(".."):
            return A.RangeExpr(loc, e, self.expression())
        return e

    # -- tables ----------------------------------------------------------------------
    def table_decl(self, loc: Loc) -> A.TableDecl:
        self.expect("table")
        name = self.ident()
        self.expect("{")
        props: list[A.TableProp] = []
        while not self.accept("}"):
            annos = self.annotations()
            ploc = self.tok.loc
            is_const = self.accept("const")
            pname = self.tok.text
            self.i += 1
            self.expect("=")
            value: object
            if pname == "key":
                self.expect("{")
                keys = []
                while not self.accept("}"):
                    kl = self.tok.loc
                    e = self.expression()
                    self.expect(":")
                    mk = self.ident()
                    ka = self.annotations()
                    self.expect(";")
                    keys.append(A.KeyElement(kl, e, mk, ka))
                value = keys
            elif pname == "actions":
                self.expect("{")
                refs = []
                while not self.accept("}"):
                    refs.append(self.action_ref())
                    self.expect(";")
                value = refs
            elif pname == "entries":
                self.expect("{")
                entries = []
                while not self.accept("}"):
                    ea = self.annotations()
                    el = self.tok.loc
                    self.accept("const")
                    prio = None
                    if self.at("priority") and self.peek().text == "=":
                        self.i += 2
                        prio = self.expression()
                        self.expect(":")
                    ks = self.keyset()
                    self.expect(":")
                    ar = self.action_ref()
                    self.expect(";")
                    entries.append(A.EntryAst(el, ks, ar, prio, ea))
                value = entries
            elif pname == "default_action":
                value = self.action_ref()
                self.expect(";")
            else:
                value = self.expression()
                self.expect(";")
            props.append(A.TableProp(ploc, pname, value, is_const, annos))
        return A.TableDecl(loc, name, props)

    def action_ref(self) -> A.ActionRefAst:
        annos = self.annotations()
        loc = self.tok.loc
        self.accept(".")
        name = self.ident()
        args = self.arguments()[0] if self.at("(") else []
        return A.ActionRefAst(loc, name, args, annos)

    # -- expressions ---------------------------------------------------------------
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
            return A.IntLit(loc, t.value, t.width, t.signed)
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


def parse(text: str, filename: str) -> A.Program:
    return Parser(tokenize(text, filename)).program()
