"""Recursive-descent parser for P4_16 (tokens -> AST).

The P4_16 grammar is ambiguous between type names and identifiers (`T x;` vs
`f(x);`, `(T) e` vs `(e)`). Like p4c's lexer feedback, the parser records
every type name as it is declared (headers, structs, typedefs, enums,
externs, parsers, controls, packages, type parameters) and consults that set
where the grammar forks.
"""

from __future__ import annotations

from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import Loc
from targets.p4sim.frontend.lexer import tokenize
from targets.p4sim.frontend.parse_stmts import StmtParser


class Parser(StmtParser):
    """Top-level declarations (the grammar's entry point)."""

    def program(self) -> A.Program:
        decls: list[A.Decl] = []
        while self.tok.kind != "eof":
            if self.accept(";"):
                continue
            d = self.declaration()
            if d is not None:
                decls.append(d)
        return A.Program(decls)

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

    def action_decl(self, loc: Loc) -> A.ActionDecl:
        self.expect("action")
        name = self.ident()
        params = self.params()
        body = self.block()
        return A.ActionDecl(loc, name, params, body)


def parse(text: str, filename: str) -> A.Program:
    return Parser(tokenize(text, filename)).program()
