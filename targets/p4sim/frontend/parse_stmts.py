"""Statements, parser states, tables and typed declarations of P4_16."""

from __future__ import annotations

from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import Loc
from targets.p4sim.frontend.parse_exprs import ExprParser


class StmtParser(ExprParser):
    def type_params(self) -> list[str]:
        out: list[str] = []
        if self.accept("<"):
            while not self.accept(">"):
                n = self.ident()
                self.type_names.add(n)
                out.append(n)
                self.accept(",")
        return out

    def typed_declaration(self, loc: Loc) -> A.Decl:
        """`T name [= e];`, `T(args) name;`, or `T name(params) {body}` (function)."""
        ty = self.type_ref()
        if self.at("("):
            args, arg_names = self.arguments()
            name = self.ident()
            if self.at("{"):  # instance with initializer block (abstract methods)
                self.skip_balanced("{", "}")
            self.expect(";")
            return A.Instance(loc, name, ty, args, arg_names)
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
                    sel = []  # may be empty: only `default` then matches
                    if not self.accept(")"):
                        sel.append(self.expression())
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
                    ea += self.annotations()  # P4 puts entry annotations after the action too
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
