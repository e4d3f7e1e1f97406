"""Runner for p4c-style STF test files.

Supported commands: ``add TABLE [PRIORITY] KEY:VALUE... ACTION(PARAM:VALUE, ...)``
(values: ``V``, ``V/PLEN``, ``V&&&MASK``, ``LO..HI``, ``*``, ``0x12**`` with
don't-care hex digits), ``setdefault TABLE ACTION(...)``, ``packet PORT HEX``,
``expect PORT HEX[$]`` (``*`` = any nibble, ``$`` = the packet ends there;
frames to a port that no ``packet``/``expect`` names are not checked, as p4c's
``bmv2stf.py`` opens only those ports), ``mirroring_add SESSION PORT``,
``mc_mgrp_create GRP``, ``mc_node_create RID PORT...``, ``mc_node_associate
GRP NODE``, ``wait``.

Counters and registers, in p4c's syntax (p4c ``tools/stf/stf_parser.py``):
``check_counter NAME(INDEX) [packets|bytes OP N]`` with OP one of ``==``,
``!=``, ``<=``, ``<``, ``>=``, ``>``; INDEX is a cell number, or ``$ID`` for
the entry an ``add ... = ID`` named (its table's direct counter, NAME being
that direct counter); the bare form ``check_counter NAME(INDEX)`` is the
parser's default check ``== 0`` (an untouched cell: no packets, no bytes).
BMv2 CLI commands as simple_switch_CLI spells them: ``register_write REG
INDEX VALUE``, ``register_read REG INDEX`` (traced), ``register_reset REG``,
``counter_write COUNTER INDEX PACKETS BYTES``, ``counter_reset COUNTER``; and
p4sim's own ``check_register REG INDEX [==] VALUE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from targets.p4sim.state import (
    ActionCall,
    Exact,
    Lpm,
    MatchKind,
    Optional,
    Range,
    Replica,
    StateError,
    Table,
    TableEntry,
    Ternary,
)
from targets.p4sim.state.tables import FieldMatch
from targets.p4sim.stf_text import StfError, diff, matches, nibble_wildcards, num, resolve, words
from targets.p4sim.switch import PacketTrace, Switch

__all__ = ["StfError", "StfResult", "StfRunner", "run_stf"]

MAX_PACKET = 65535  # octets, the IPv4 datagram limit: a longer STF packet is a typo


_CHECK_COUNTER = re.compile(
    r"([\w.]+)\s*\(\s*(\$?\w+)\s*\)(?:\s*(packets|bytes)\s*(==|!=|<=|<|>=|>)\s*(\w+))?\s*"
)
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


@dataclass
class Expectation:
    line: int
    port: int
    pattern: str  # hex nibbles and '*'
    exact_end: bool


@dataclass
class StfResult:
    failures: list[str] = field(default_factory=list)
    packets: int = 0
    expects: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


class StfRunner:
    def __init__(self, switch: Switch, trace: Callable[[str], None] | None = None) -> None:
        self.sw = switch
        self.trace = trace
        self.nodes: dict[int, list[Replica]] = {}
        # "add ... = ID" handles: ID -> (table name, the entry as inserted)
        self.handles: dict[str, tuple[str, TableEntry]] = {}
        self.outputs: dict[int, list[bytes]] = {}
        self.expects: list[Expectation] = []
        # Ports a packet or expect command names: like p4c's bmv2stf.py, which gives
        # BMv2 only these interfaces, frames sent to any other port are not seen.
        self.named_ports: set[int] = set()
        self.result = StfResult()

    def table(self, name: str, where: str) -> Table:
        return self.sw.state.tables[resolve(list(self.sw.state.tables), name, "table", where)]

    def action(self, t: Table, text: str, where: str) -> ActionCall:
        m = re.fullmatch(r"\s*([\w.$]+)\s*(?:\((.*)\))?\s*", text)
        if not m:
            raise StfError(f"{where}: bad action {text!r}")
        an = resolve(list(t.actions), m.group(1), "action", where)
        spec = t.actions[an]
        given: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in (m.group(2) or "").split(","))):
            k, _, v = part.partition(":")
            given[k.strip()] = num(v.strip(), where)
        args = []
        for pname, _ in spec.params:
            if pname not in given:
                raise StfError(f"{where}: action {an} needs parameter {pname}")
            args.append(given.pop(pname))
        if given:
            raise StfError(f"{where}: action {an} has no parameter {', '.join(given)}")
        return ActionCall(an, tuple(args))

    def match(self, t: Table, tok: str, where: str) -> tuple[int, FieldMatch | None]:
        fname, _, val = tok.rpartition(":")
        fname = re.sub(r"\$(\d+)", r"[\1]", fname)  # BMv2's name of stack element N: stack$N
        names = [k.name for k in t.keys]
        kn = resolve(names, fname, "key field", where)
        i = names.index(kn)
        k = t.keys[i]
        if val == "*":
            return i, None
        if "*" in val:  # p4c's nibble wildcards, 0x12**: a ternary value and mask
            nv, nm = nibble_wildcards(val, where)
            return i, Ternary(nv & nm, nm)
        if "&&&" in val:
            v, mk = val.split("&&&")
            value, mask = num(v, where), num(mk, where)
            if k.match_kind is MatchKind.LPM:
                return i, Lpm(value & mask, bin(mask).count("1"))
            return i, Ternary(value & mask, mask)
        if "/" in val:
            v, plen = val.split("/")
            p = num(plen, where)
            mask = ((1 << k.bitwidth) - 1) ^ (((1 << k.bitwidth) - 1) >> p)
            if k.match_kind is MatchKind.TERNARY:
                return i, Ternary(num(v, where) & mask, mask)
            return i, Lpm(num(v, where) & mask, p)
        if ".." in val:
            lo, hi = val.split("..")
            return i, Range(num(lo, where), num(hi, where))
        n = num(val, where)
        by_kind: dict[MatchKind, FieldMatch] = {
            MatchKind.EXACT: Exact(n),
            MatchKind.LPM: Lpm(n, k.bitwidth),
            MatchKind.TERNARY: Ternary(n, (1 << k.bitwidth) - 1),
            MatchKind.RANGE: Range(n, n),
            MatchKind.OPTIONAL: Optional(n),
        }
        return i, by_kind[k.match_kind]

    def check_counter(self, rest: str, where: str) -> None:
        """p4c's ``check_counter NAME(INDEX|$ID) [packets|bytes OP N]``."""
        cm = _CHECK_COUNTER.fullmatch(rest)
        if cm is None:
            raise StfError(
                f"{where}: expected check_counter NAME(INDEX) [packets|bytes OP N] "
                "with OP one of == != <= < >= >"
            )
        name, index, kind, op, value = cm.groups()
        state = self.sw.state
        if index.startswith("$"):  # an entry named by "add ... = ID": its direct counter
            if index[1:] not in self.handles:
                raise StfError(f"{where}: no entry was added as {index[1:]!r}")
            tname, entry = self.handles[index[1:]]
            dn = resolve(list(state.direct_counters), name, "direct counter", where)
            if state.direct_counters[dn] != tname:
                raise StfError(f"{where}: direct counter {dn} is not on table {tname}")
            pk, by, what = entry.packets, entry.bytes, f"{dn}({index})"
        else:
            cn = resolve(list(state.counters), name, "counter", where)
            pk, by = state.counter(cn).read(num(index, where))
            what = f"{cn}({index})"
        if kind is None:  # the bare form: p4c's parser defaults the check to "== 0"
            if pk or by:
                self.result.failures.append(
                    f"{where}: counter {what} is {pk} packets / {by} bytes, expected 0"
                )
            return
        got = by if kind == "bytes" else pk
        if not _COMPARE[op](got, num(value, where)):
            self.result.failures.append(
                f"{where}: counter {what} {kind} is {got}, expected {op} {value}"
            )

    def run_line(self, lineno: int, raw: str) -> None:
        line = raw.split("#", 1)[0].strip()
        if not line:
            return
        where = f"line {lineno}"
        cmd, _, rest = line.partition(" ")
        rest = rest.strip()
        try:
            self._dispatch(cmd, rest, where, lineno)
        except StateError as exc:
            raise StfError(f"{where}: {exc}") from None

    def _dispatch(self, cmd: str, rest: str, where: str, lineno: int) -> None:
        sw = self.sw
        if cmd == "add":
            words(rest, 1, "add TABLE [PRIORITY] KEY:VALUE... ACTION(...)", where)
            toks = rest.split(None, 1)
            t = self.table(toks[0], where)
            body = toks[1] if len(toks) > 1 else ""
            handle = None
            hm = re.search(r"\)\s*=\s*(\$?[A-Za-z_]\w*)\s*$", body)
            if hm is not None:  # "add ... act(...) = A": A names the entry (p4c STF)
                handle = hm.group(1).lstrip("$")
                body = body[: hm.start() + 1]
            am = re.search(r"([\w.$]+)\s*\(.*\)\s*$|([\w.$]+)\s*$", body)
            if am is None:
                raise StfError(f"{where}: add needs an action")
            key_part, act_part = body[: am.start()].split(), body[am.start() :]
            prio = 0
            if key_part and re.fullmatch(r"\d+", key_part[0]):
                prio = int(key_part.pop(0))
            matches: list[FieldMatch | None] = [None] * len(t.keys)
            for tok in key_part:
                i, m = self.match(t, tok, where)
                matches[i] = m
            for i, k in enumerate(t.keys):
                if matches[i] is None and k.match_kind is MatchKind.EXACT:
                    raise StfError(f"{where}: missing key field {k.name}")
            if t.needs_priority and prio == 0:
                prio = 1
            entry = TableEntry(tuple(matches), self.action(t, act_part, where), priority=prio)
            t.insert(entry)
            if handle is not None:
                self.handles[handle] = (t.name, entry)
        elif cmd == "setdefault":
            tn, _, act = rest.partition(" ")
            t = self.table(tn, where)
            t.set_default(self.action(t, act, where))
        elif cmd == "packet":
            port, _, data = rest.partition(" ")
            hexs = re.sub(r"\s+", "", data)
            if not re.fullmatch(r"([0-9a-fA-F]{2})*", hexs):
                raise StfError(f"{where}: packet data must be whole hex bytes")
            if len(hexs) > 2 * MAX_PACKET:
                # A bigger frame is a typo, and the pipeline would need hundreds of MB for it.
                raise StfError(f"{where}: packet of {len(hexs) // 2} bytes, over {MAX_PACKET}")
            pnum = num(port, where)
            if not 0 <= pnum < 512:
                raise StfError(f"{where}: packet port {pnum} is not a 9-bit v1model port")
            self.result.packets += 1
            self.named_ports.add(pnum)
            tr = PacketTrace() if self.trace else None
            outs = sw.process(pnum, bytes.fromhex(hexs), tr)
            if self.trace and tr is not None:
                self.trace(f"{where}: packet on port {port}")
                for ln in str(tr).splitlines():
                    self.trace(f"    {ln}")
                for p, frame in outs:
                    self.trace(f"    -> port {p}: {frame.hex()}")
            for p, frame in outs:
                self.outputs.setdefault(p, []).append(frame)
        elif cmd == "expect":
            port, _, data = rest.partition(" ")
            pat = re.sub(r"\s+", "", data)
            exact = pat.endswith("$")
            pat = pat.rstrip("$")
            if not re.fullmatch(r"[0-9a-fA-F*]*", pat):
                raise StfError(f"{where}: expect data must be hex nibbles or '*'")
            self.result.expects += 1
            self.expects.append(Expectation(lineno, num(port, where), pat.lower(), exact))
            self.named_ports.add(self.expects[-1].port)
        elif cmd == "mirroring_add":
            sess, port = words(rest, 2, "mirroring_add SESSION PORT", where)[:2]
            sid = num(sess, where)
            if sid in sw.state.pre.sessions:
                sw.state.pre.delete_session(sid)
            sw.state.pre.insert_session(sid, [Replica(num(port, where), 0)])
        elif cmd == "mc_mgrp_create":
            gid = num(words(rest, 1, "mc_mgrp_create GRP", where)[0], where)
            sw.state.pre.insert_group(gid, [])
        elif cmd == "mc_node_create":
            toks = words(rest, 1, "mc_node_create RID PORT...", where)
            rid = num(toks[0], where)
            self.nodes[len(self.nodes)] = [Replica(num(p, where), rid) for p in toks[1:]]
        elif cmd == "mc_node_associate":
            g, n = (num(x, where) for x in words(rest, 2, "mc_node_associate GRP NODE", where)[:2])
            if n not in self.nodes or g not in sw.state.pre.groups:
                raise StfError(f"{where}: unknown group {g} or node {n}")
            grp = sw.state.pre.groups[g]
            sw.state.pre.modify_group(g, [*grp.replicas, *self.nodes[n]])
        elif cmd == "register_write":
            name, idx, val = words(rest, 3, "register_write REG INDEX VALUE", where)[:3]
            reg = sw.state.register(resolve(list(sw.state.registers), name, "register", where))
            reg.write(num(idx, where), num(val, where))
        elif cmd == "register_read":
            name, idx = words(rest, 2, "register_read REG INDEX", where)[:2]
            rn = resolve(list(sw.state.registers), name, "register", where)
            got = sw.state.register(rn).read(num(idx, where))
            if self.trace:
                self.trace(f"{where}: register {rn}[{idx}] = {got}")
        elif cmd == "register_reset":
            name = words(rest, 1, "register_reset REG", where)[0]
            sw.state.register(resolve(list(sw.state.registers), name, "register", where)).reset()
        elif cmd == "counter_write":
            usage = "counter_write COUNTER INDEX PACKETS BYTES"
            name, idx, pk, by = words(rest, 4, usage, where)[:4]
            cn = resolve(list(sw.state.counters), name, "counter", where)
            sw.state.counter(cn).write(num(idx, where), num(pk, where), num(by, where))
        elif cmd == "counter_reset":
            name = words(rest, 1, "counter_reset COUNTER", where)[0]
            sw.state.counter(resolve(list(sw.state.counters), name, "counter", where)).reset()
        elif cmd == "check_register":
            usage = "check_register REG INDEX VALUE"
            name, idx, val = words(rest.replace("==", " "), 3, usage, where)[:3]
            reg = sw.state.register(resolve(list(sw.state.registers), name, "register", where))
            got = reg.read(num(idx, where))
            if got != num(val, where):
                self.result.failures.append(
                    f"{where}: register {name}[{idx}] is {got}, expected {val}"
                )
        elif cmd == "check_counter":
            self.check_counter(rest, where)
        elif cmd in ("wait", "no_packet"):
            pass
        else:
            raise StfError(f"{where}: unknown STF command {cmd!r}")

    def finish(self) -> StfResult:
        by_port: dict[int, list[Expectation]] = {}
        for e in self.expects:
            by_port.setdefault(e.port, []).append(e)
        for port in sorted(set(by_port) | (set(self.outputs) & self.named_ports)):
            exp = by_port.get(port, [])
            got = self.outputs.get(port, [])
            for i, e in enumerate(exp):
                if i >= len(got):
                    self.result.failures.append(
                        f"line {e.line}: expected a packet on port {port}, none came"
                    )
                    continue
                h = got[i].hex()
                if not matches(e.pattern, h, e.exact_end):
                    self.result.failures.append(
                        f"line {e.line}: packet on port {port} differs\n"
                        f"  expected {e.pattern}{'$' if e.exact_end else ''}\n"
                        f"  received {h}\n"
                        f"  diff     {diff(e.pattern, h)}"
                    )
            for extra in got[len(exp) :]:
                self.result.failures.append(f"unexpected packet on port {port}: {extra.hex()}")
        return self.result


def run_stf(switch: Switch, text: str, trace: Callable[[str], None] | None = None) -> StfResult:
    """Run an STF script; ``trace`` (e.g. print) receives a per-packet trace."""
    r = StfRunner(switch, trace)
    for i, line in enumerate(text.splitlines(), 1):
        r.run_line(i, line)
    return r.finish()
