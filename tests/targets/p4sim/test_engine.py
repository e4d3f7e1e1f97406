"""Engine API: P4Info naming/ids, CLI, traces, digests, direct counters, fuzzing."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.cli import main as sl3vpn
from targets.p4sim.engine import load_program
from targets.p4sim.p4info import alias_map, jenkins_one_at_a_time
from targets.p4sim.program import load
from targets.p4sim.state import ActionCall, Exact, Lpm, MeterConfig, Replica, TableEntry
from targets.p4sim.switch import Switch

pytestmark = pytest.mark.unit
HERE = Path(__file__).parent
ROUTER = HERE / "programs" / "ipv4_router.p4"
CONF = HERE / "conformance"


def test_p4info_ids_match_p4c() -> None:
    # The P4 tutorials' basic.p4 uses these exact names; p4c gives them these ids.
    info = load(ROUTER).p4info
    tables = {t.preamble.name: t for t in info.tables}
    actions = {a.preamble.name: a.preamble.id for a in info.actions}
    assert tables["MyIngress.ipv4_lpm"].preamble.id == 37375156
    assert tables["MyIngress.ipv4_lpm"].preamble.alias == "ipv4_lpm"
    assert actions["MyIngress.ipv4_forward"] == 28792405
    mf = tables["MyIngress.ipv4_lpm"].match_fields[0]
    assert (mf.id, mf.name, mf.bitwidth, mf.match_type) == (1, "hdr.ipv4.dst_addr", 32, 3)
    # p4c 1.2.4.8, the reference, writes no initial_default_action (later p4c versions do).
    assert not tables["MyIngress.ipv4_lpm"].HasField("initial_default_action")
    params = [(p.name, p.bitwidth) for a in info.actions for p in a.params]
    assert params == [("dst_addr", 48), ("port", 9)]


def test_jenkins_and_aliases() -> None:
    assert jenkins_one_at_a_time(b"") == 0
    assert jenkins_one_at_a_time(b"a") == 0xCA2E9442  # reference value of one-at-a-time
    assert alias_map(["A.x.t", "B.y.t", "A.u"]) == {"A.x.t": "x.t", "B.y.t": "y.t", "A.u": "u"}


def test_p4info_resources() -> None:
    info = load(CONF / "direct_counter.p4").p4info
    dc = info.direct_counters[0]
    assert dc.preamble.name == "MyIngress.dc"
    assert dc.direct_table_id == info.tables[0].preamble.id
    assert info.tables[0].direct_resource_ids == [dc.preamble.id]
    assert dc.preamble.id >> 24 == 0x13
    reg = load(CONF / "registers.p4").p4info.registers[0]
    assert (reg.preamble.name, reg.size, reg.type_spec.bitstring.bit.bitwidth) == (
        "MyIngress.r",
        4,
        16,
    )
    cph = load(CONF / "controller_header.p4").p4info.controller_packet_metadata[0]
    assert cph.preamble.name == "packet_in"
    assert [(m.name, m.bitwidth) for m in cph.metadata] == [("ingress_port", 9), ("pad", 7)]
    # A table without default_action gets NoAction as @defaultonly, like p4c.
    t = load(CONF / "hit_miss.p4").p4info.tables[0]
    assert len(t.action_refs) == 1


def test_compile_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.txtpb"
    assert sl3vpn(["p4sim", "compile", str(ROUTER), "--p4info", str(out)]) == 0
    assert 'name: "MyIngress.ipv4_lpm"' in out.read_text()
    bad = CONF / "errors" / "width_mismatch.p4"
    assert sl3vpn(["p4sim", "compile", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("operands of + have different types: bit<8> and bit<16>")
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_stf_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stf = CONF / "arith_wrap.stf"
    assert sl3vpn(["p4sim", "stf", str(CONF / "arith_wrap.p4"), str(stf)]) == 0
    wrong = tmp_path / "wrong.stf"
    # port 2 is named (a packet comes in there), so what leaves on it is checked
    text = stf.read_text().replace("expect 2 0", "expect 3 0")
    wrong.write_text(text + "packet 2 00\n")
    assert sl3vpn(["p4sim", "stf", str(CONF / "arith_wrap.p4"), str(wrong)]) == 1
    err = capsys.readouterr().err
    assert "expected a packet on port 3, none came" in err
    assert "unexpected packet on port 2" in err
    bad = tmp_path / "bad.stf"
    bad.write_text("add nosuch x:1 a()\n")
    assert sl3vpn(["p4sim", "stf", str(CONF / "arith_wrap.p4"), str(bad)]) == 1
    assert "line 1: unknown table 'nosuch'" in capsys.readouterr().err


def test_trace_and_engine_contract() -> None:
    eng = load_program(ROUTER)
    t = eng.state.table("MyIngress.ipv4_lpm")
    t.insert(TableEntry((Lpm(0x0A000000, 8),), ActionCall("MyIngress.ipv4_forward", (1, 4))))
    frame = bytes.fromhex(
        "00000000000100000000000208004500001e000100004011ae21c0a800010a01020300010002000acac06869"
    )
    lines = eng.trace(1, frame)
    assert lines[:2] == ["parser state start", "parser state parse_ipv4"]
    assert lines[2].startswith("table MyIngress.ipv4_lpm: hit")
    assert lines[-1] == f"output port 4: {len(frame)} bytes"
    assert eng.process(1, frame)[0][0] == 4
    miss = eng.trace(1, frame[:30] + bytes(4) + frame[34:])
    assert "drop: egress_spec is the drop port (511)" in miss


def test_direct_counter_and_digest() -> None:
    sw = Switch(load(CONF / "direct_counter.p4"))
    t = sw.state.table("MyIngress.t")
    t.insert(TableEntry((Exact(1),), ActionCall("MyIngress.fwd", (2,))))
    pkt = bytes(8) + b"\x01" + bytes(3)
    sw.process(1, pkt)
    sw.process(1, pkt)
    (entry,) = t.entries()
    assert (entry.packets, entry.bytes) == (2, 24)
    sw = Switch(load(CONF / "log_digest.p4"))
    sw.process(1, bytes.fromhex("000000070000000003000000"))
    assert list(sw.digests) == [("learn_t", 1, ((7, 32), (3, 8)))]
    (dg,) = sw.program.p4info.digests
    assert (dg.preamble.name, dg.preamble.id >> 24, dg.type_spec.struct.name) == (
        "learn_t",
        0x17,
        "learn_t",
    )
    members = sw.program.p4info.type_info.structs["learn_t"].members
    assert [(m.name, m.type_spec.bitstring.bit.bitwidth) for m in members] == [
        ("f1", 32),
        ("b1", 8),
    ]
    assert list(sw.runtime.log) == ["b1=3"]


FUZZ_PROGRAMS = sorted(p.stem for p in CONF.glob("*.stf"))
HEAVY = {"ipv4_router", "header_stack", "varbit_options", "header_union", "recirculate", "calc"}


@pytest.mark.parametrize("name", FUZZ_PROGRAMS)
def test_random_frames_never_raise(name: str) -> None:
    sw = Switch(load(CONF / f"{name}.p4"))
    # PRE state so clone/multicast paths run too.
    sw.state.pre.insert_group(1, [Replica(2, 1), Replica(3, 2)])
    for session in (5, 6):
        sw.state.pre.insert_session(session, [Replica(7)])
    examples = 150 if name in HEAVY else 25

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(port=st.integers(0, 511), frame=st.binary(max_size=96))
    def run(port: int, frame: bytes) -> None:
        for out_port, data in sw.process(port, frame):
            assert 0 <= out_port < 512
            assert isinstance(data, bytes)

    run()


def test_p4info_annotations() -> None:
    info = load(CONF / "annotations.p4").p4info
    (t,) = info.tables
    assert t.preamble.name == "MyIngress.renamed"
    assert t.preamble.annotations == ['@brief("a table with annotations")']
    assert t.match_fields[0].name == "byte1"
    actions = {a.preamble.name: a.preamble.id for a in info.actions}
    assert actions["global_fwd"] == 0x01000077
    assert not t.is_const_table and t.has_initial_entries  # `entries`, not `const entries`
    t2 = load(CONF / "const_entries.p4").p4info.tables[0]
    assert t2.is_const_table and t2.has_initial_entries


def test_p4info_action_order_and_nowarn() -> None:
    # p4c lists actions in source order (core.p4's NoAction first) with @noWarn kept.
    info = load(ROUTER).p4info
    names = [a.preamble.name for a in info.actions]
    assert names == ["NoAction", "MyIngress.drop", "MyIngress.ipv4_forward"]
    assert list(info.actions[0].preamble.annotations) == ['@noWarn("unused")']


def test_meters_two_rate_three_colour() -> None:
    now = [100.0]
    sw = Switch(load(HERE / "programs" / "meters.p4"), clock=lambda: now[0])
    cfg = MeterConfig(cir=1, cburst=1, pir=2, pburst=2)  # packets/s, packets
    sw.state.meter("MyIngress.m").set_config(1, cfg)
    t = sw.state.table("MyIngress.t")
    t.insert(TableEntry((Exact(1),), ActionCall("MyIngress.colour")))
    (entry,) = t.entries()
    entry.meter_config = cfg
    colours = [sw.process(0, b"\x01\x00\x00")[0][1][1:] for _ in range(3)]
    # GREEN, YELLOW, RED for both the indirect (byte 1) and the direct meter (byte 2)
    assert colours == [b"\x00\x00", b"\x01\x01", b"\x02\x02"]
    now[0] += 10.0  # buckets refill
    assert sw.process(0, b"\x01\x00\x00")[0][1][1:] == b"\x00\x00"
    assert sw.process(0, b"\x02\x00\x00")[0][1][1:] == b"\x00\x00"  # unconfigured cell
    info = sw.program.p4info
    assert info.direct_meters[0].direct_table_id == info.tables[0].preamble.id
    assert info.meters[0].spec.unit == 2  # PACKETS


def test_action_selector_ecmp() -> None:
    from targets.p4sim.hashes import crc16
    from targets.p4sim.state import ProfileRef, StateError

    prog = load(HERE / "programs" / "ecmp.p4")
    info = prog.p4info
    (ap,) = info.action_profiles
    assert (ap.preamble.name, ap.with_selector, ap.size) == ("MyIngress.ecmp_selector", True, 128)
    assert ap.preamble.id >> 24 == 0x11
    assert info.tables[0].implementation_id == ap.preamble.id
    assert [m.name for m in info.tables[0].match_fields] == ["hdr.flow.dst"]  # no selector keys
    sw = Switch(prog)
    prof = sw.state.action_profile("MyIngress.ecmp_selector")
    for m in range(4):
        prof.insert_member(m, ActionCall("MyIngress.set_nhop", (10 + m, m)))
    prof.insert_group(1, [0, 1, 2, 3])
    t = sw.state.table("MyIngress.ecmp")
    t.insert(TableEntry((Lpm(0x0A000000, 8),), ProfileRef(group_id=1)))  # type: ignore[arg-type]
    t.insert(TableEntry((Lpm(0x0B000000, 8),), ProfileRef(member_id=2)))  # type: ignore[arg-type]
    seen = set()
    for src in range(64):
        frame = src.to_bytes(4, "big") + bytes.fromhex("0a000001") + b"\x06\x00"
        ((port, out),) = sw.process(0, frame)
        member = crc16(frame[:4] + frame[8:9]) % 4  # BMv2: hash of the selector fields
        assert (port, out[-1]) == (10 + member, member)
        seen.add(port)
    assert seen == {10, 11, 12, 13}
    assert sw.process(0, bytes(4) + bytes.fromhex("0b000001") + b"\x06\x00")[0][0] == 12
    with pytest.raises(StateError):
        prof.delete_member(1)  # still in group 1
    with pytest.raises(StateError):
        t.insert(TableEntry((Lpm(0x0C000000, 8),), ProfileRef(member_id=99)))  # type: ignore[arg-type]


def test_stf_verbose_trace(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["p4sim", "stf", "-v", str(CONF / "calc.p4"), str(CONF / "calc.stf")]
    assert sl3vpn(args) == 0
    out = capsys.readouterr().out
    assert "table CalcIngress.calculate: hit" in out
    assert "drop: mark_to_drop" not in out  # ingress drops are reported as egress_spec 511
    assert "drop: egress_spec is the drop port (511)" in out


@pytest.mark.parametrize("program", [ROUTER, HERE / "programs" / "ecmp.p4", CONF / "calc.p4"])
def test_p4info_loads_in_finsy(program: Path) -> None:
    # The controller reads P4Info through finsy: it must accept what we generate.
    import finsy

    schema = finsy.P4Schema(load(program).p4info)
    assert len(schema.tables) == len(load(program).p4info.tables)
