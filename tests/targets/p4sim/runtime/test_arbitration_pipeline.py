"""Arbitration over StreamChannel, and SetForwardingPipelineConfig / Get / Capabilities."""

from __future__ import annotations

import grpc
import pytest
from finsy.proto import p4r, rpc_code

from targets.p4sim.runtime.errors import P4RTError

from .conftest import Rig, eid
from .fake_program import FWD, fake_bundle, fake_p4info

pytestmark = pytest.mark.unit
Action = p4r.SetForwardingPipelineConfigRequest.Action
NO_PIPELINE = grpc.StatusCode.FAILED_PRECONDITION


async def test_primary_then_backup_then_failover(rig: Rig) -> None:
    a = await rig.controller(10)
    await rig.controller(5)  # a backup joining changes nothing for a
    # c with a higher id takes over: everyone is told
    c = await rig.controller(20)
    upd_a = await a.next("arbitration")
    assert upd_a.arbitration.status.code == rpc_code.ALREADY_EXISTS
    assert upd_a.arbitration.election_id.low == 20
    # the new primary may write, the old one may not
    from .builders import INSERT, fwd, update

    await rig.push(election_id=20)
    await rig.write(update(INSERT, fwd(b"\x01")), election_id=20)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.write(update(INSERT, fwd(b"\x02")), election_id=10)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # c leaves: spec 5 ("the P4Runtime server will be without a primary controller,
    # until a client sends a successful MasterArbitrationUpdate") -- a is NOT
    # promoted; spec 5.4: it hears NOT_FOUND with the highest id ever seen (20).
    await c.close()
    upd_a = await a.next("arbitration")
    assert upd_a.arbitration.status.code == rpc_code.NOT_FOUND
    assert upd_a.arbitration.election_id.low == 20
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.write(update(INSERT, fwd(b"\x03")), election_id=10)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # spec 5.3 (1): only an election_id >= election_id_past (20) wins; 15 stays backup
    upd_a = await a.arbitrate(15)
    assert upd_a.arbitration.status.code == rpc_code.NOT_FOUND
    upd_a = await a.arbitrate(20)
    assert upd_a.arbitration.status.code == rpc_code.OK
    assert upd_a.arbitration.election_id.low == 20
    await rig.write(update(INSERT, fwd(b"\x03")), election_id=20)


async def test_arbitration_status_codes(rig: Rig) -> None:
    from .conftest import Controller

    a = Controller(rig.stub, 10)
    rig.controllers.append(a)
    resp = await a.open()
    assert resp.arbitration.status.code == rpc_code.OK
    b = Controller(rig.stub, 4)
    rig.controllers.append(b)
    resp = await b.open()
    assert resp.arbitration.status.code == rpc_code.ALREADY_EXISTS
    assert resp.arbitration.election_id.low == 10


async def test_duplicate_election_id_and_wrong_device_end_the_stream(rig: Rig) -> None:
    from .conftest import Controller

    await rig.controller(10)
    dup = Controller(rig.stub, 10)
    rig.controllers.append(dup)
    with pytest.raises(TimeoutError):
        await dup.open(timeout=0.5)  # no arbitration answer: the stream was closed
    assert dup.call is not None
    assert await dup.call.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    wrong = Controller(rig.stub, 11)
    rig.controllers.append(wrong)
    with pytest.raises(TimeoutError):
        await wrong.open(device_id=9, timeout=0.5)
    assert await wrong.call.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def pipeline_request(action: int, election_id: int = 10) -> p4r.SetForwardingPipelineConfigRequest:
    req = p4r.SetForwardingPipelineConfigRequest(device_id=0, action=action)
    req.election_id.CopyFrom(eid(election_id))
    req.config.p4info.CopyFrom(fake_p4info())
    req.config.p4_device_config = fake_bundle()
    req.config.cookie.cookie = 42
    return req


async def expect_code(coro: object, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await coro  # type: ignore[misc]
    assert exc.value.code() == code, exc.value.details()
    return exc.value.details() or ""


async def test_pipeline_actions(rig: Rig) -> None:
    """Spec 14/15: COMMIT without a saved config NOT_FOUND, with a config INVALID_ARGUMENT;
    GetForwardingPipelineConfig before any pipeline answers with config unset."""
    await rig.controller(10)
    get = p4r.GetForwardingPipelineConfigRequest(device_id=0)
    assert not (await rig.stub.GetForwardingPipelineConfig(get)).HasField("config")
    bare_commit = pipeline_request(Action.COMMIT)
    bare_commit.ClearField("config")
    await expect_code(rig.stub.SetForwardingPipelineConfig(bare_commit), grpc.StatusCode.NOT_FOUND)
    await expect_code(
        rig.stub.SetForwardingPipelineConfig(pipeline_request(Action.COMMIT)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await rig.stub.SetForwardingPipelineConfig(pipeline_request(Action.VERIFY))
    assert not (await rig.stub.GetForwardingPipelineConfig(get)).HasField("config")
    await rig.stub.SetForwardingPipelineConfig(pipeline_request(Action.VERIFY_AND_SAVE))
    assert not (await rig.stub.GetForwardingPipelineConfig(get)).HasField("config")
    commit = pipeline_request(Action.COMMIT)
    commit.ClearField("config")
    await rig.stub.SetForwardingPipelineConfig(commit)
    got = await rig.stub.GetForwardingPipelineConfig(get)
    assert got.config.cookie.cookie == 42
    assert got.config.p4info == fake_p4info()
    assert got.config.p4_device_config == fake_bundle()
    cookie_only = p4r.GetForwardingPipelineConfigRequest(
        device_id=0, response_type=p4r.GetForwardingPipelineConfigRequest.COOKIE_ONLY
    )
    got = await rig.stub.GetForwardingPipelineConfig(cookie_only)
    assert got.config.cookie.cookie == 42 and not got.config.HasField("p4info")
    assert not got.config.p4_device_config
    # BMv2 refuses a response_type the enum does not have; p4sim answered the cookie
    unknown = p4r.GetForwardingPipelineConfigRequest(device_id=0, response_type=7)
    await expect_code(
        rig.stub.GetForwardingPipelineConfig(unknown), grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_commit_clears_state(primed: Rig) -> None:
    from .builders import INSERT, fwd, update

    await primed.write(update(INSERT, fwd(b"\x01")))
    await primed.stub.SetForwardingPipelineConfig(pipeline_request(Action.VERIFY_AND_COMMIT))
    assert await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD))) == []


async def test_pipeline_rejections(rig: Rig) -> None:
    await rig.controller(10)
    push = rig.stub.SetForwardingPipelineConfig
    await expect_code(
        push(pipeline_request(Action.VERIFY_AND_COMMIT, election_id=3)),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    bad_info = pipeline_request(Action.VERIFY_AND_COMMIT)
    bad_info.config.p4info.tables[0].size = 99
    msg = await expect_code(push(bad_info), grpc.StatusCode.INVALID_ARGUMENT)
    assert "MyIngress.fwd" in msg
    bad_src = pipeline_request(Action.VERIFY_AND_COMMIT)
    bad_src.config.p4_device_config = b"control oops {"
    msg = await expect_code(push(bad_src), grpc.StatusCode.INVALID_ARGUMENT)
    assert "syntax error" in msg
    bad_json = pipeline_request(Action.VERIFY_AND_COMMIT)
    bad_json.config.p4_device_config = b'{"p4sim_bundle": 1, "main": "x.p4", "sources": {}}'
    msg = await expect_code(push(bad_json), grpc.StatusCode.INVALID_ARGUMENT)
    assert "main" in msg
    no_info = pipeline_request(Action.VERIFY_AND_COMMIT)
    no_info.config.ClearField("p4info")
    await expect_code(push(no_info), grpc.StatusCode.INVALID_ARGUMENT)
    # spec 14: VERIFY, VERIFY_AND_SAVE and VERIFY_AND_COMMIT without a config
    for act in (Action.VERIFY, Action.VERIFY_AND_SAVE, Action.VERIFY_AND_COMMIT):
        no_config = pipeline_request(act)
        no_config.ClearField("config")
        msg = await expect_code(push(no_config), grpc.StatusCode.INVALID_ARGUMENT)
        assert "p4info" in msg
    await expect_code(
        push(pipeline_request(Action.RECONCILE_AND_COMMIT)), grpc.StatusCode.UNIMPLEMENTED
    )
    await expect_code(push(pipeline_request(Action.UNSPECIFIED)), grpc.StatusCode.INVALID_ARGUMENT)
    wrong_dev = pipeline_request(Action.VERIFY)
    wrong_dev.device_id = 5
    await expect_code(push(wrong_dev), grpc.StatusCode.NOT_FOUND)


async def test_capabilities(rig: Rig) -> None:
    resp = await rig.stub.Capabilities(p4r.CapabilitiesRequest())
    assert resp.p4runtime_api_version.startswith("1.")


async def test_write_and_pipeline_with_unknown_role_are_not_found_spec_12_14(
    primed: Rig,
) -> None:
    """Only the default role exists; a request naming another role: NOT_FOUND."""
    from .builders import INSERT, fwd, update

    req = p4r.WriteRequest(device_id=0, role="tenant", updates=[update(INSERT, fwd(b"\x01"))])
    req.election_id.CopyFrom(eid(10))
    await expect_code(primed.stub.Write(req), grpc.StatusCode.NOT_FOUND)
    push = pipeline_request(Action.VERIFY)
    push.role = "tenant"
    await expect_code(primed.stub.SetForwardingPipelineConfig(push), grpc.StatusCode.NOT_FOUND)


def test_unset_and_zero_election_ids_spec_5_2_and_5_4() -> None:
    """An unset election_id is lower than any: always a backup, and while no controller
    ever sent one the advisory leaves election_id unset; {high: 0, low: 0} is a real id."""
    from targets.p4sim.runtime.arbitration import Arbitration

    arb = Arbitration(0)
    unset = p4r.MasterArbitrationUpdate(device_id=0)
    ((target, upd),) = arb.update("watcher", unset)
    assert target == "watcher" and upd.status.code == rpc_code.NOT_FOUND
    assert not upd.HasField("election_id")
    zero = p4r.MasterArbitrationUpdate(device_id=0)
    zero.election_id.SetInParent()  # set, value 0
    sent = dict(arb.update("zero", zero))
    assert sent["zero"].status.code == rpc_code.OK  # the only real id: primary
    assert sent["watcher"].status.code == rpc_code.ALREADY_EXISTS
    assert sent["watcher"].HasField("election_id") and sent["watcher"].election_id.low == 0
    with pytest.raises(P4RTError) as exc:  # a second controller with id 0: duplicate
        arb.update("other", zero)
    assert exc.value.code == grpc.StatusCode.INVALID_ARGUMENT
    arb.check_writer(0, 0)  # the primary's (zero) election id may write
    sent = dict(arb.remove("zero"))
    assert sent["watcher"].status.code == rpc_code.NOT_FOUND
    assert sent["watcher"].election_id.low == 0  # the highest ever seen


def _upd(election_id: int | None) -> p4r.MasterArbitrationUpdate:
    msg = p4r.MasterArbitrationUpdate(device_id=0)
    if election_id is not None:
        msg.election_id.low = election_id
    return msg


def test_no_promotion_when_the_primary_leaves_spec_5_and_5_3() -> None:
    """Spec 5: when the primary's channel breaks, every other controller gets an
    advisory and the server stays without a primary until a successful update;
    spec 5.3: success needs election_id >= election_id_past (the highest ever)."""
    from targets.p4sim.runtime.arbitration import Arbitration

    arb = Arbitration(0)
    arb.update("a", _upd(10))
    assert arb.update("b", _upd(5)) == [("b", arb._update_for("b"))]  # backup: only b told
    order = arb.update("c", _upd(20))
    assert [target for target, _ in order][-1] == "c"  # the new primary is told last
    sent = dict(order)
    assert {k: v.status.code for k, v in sent.items()} == {
        "a": rpc_code.ALREADY_EXISTS,
        "b": rpc_code.ALREADY_EXISTS,
        "c": rpc_code.OK,
    }
    assert arb.remove("b") == []  # a backup leaving changes nobody's status
    sent = dict(arb.remove("c"))
    assert list(sent) == ["a"]
    assert sent["a"].status.code == rpc_code.NOT_FOUND and sent["a"].election_id.low == 20
    assert arb.primary_election_id is None
    with pytest.raises(P4RTError) as exc:
        arb.check_writer(0, 10)
    assert exc.value.code == grpc.StatusCode.PERMISSION_DENIED
    # below election_id_past: a backup, told alone, still NOT_FOUND (no primary)
    ((target, upd),) = arb.update("a", _upd(19))
    assert target == "a" and upd.status.code == rpc_code.NOT_FOUND
    assert upd.election_id.low == 20
    # equal to election_id_past: primary again
    sent = dict(arb.update("a", _upd(20)))
    assert sent["a"].status.code == rpc_code.OK
    arb.check_writer(0, 20)


def test_primary_downgrading_itself_leaves_no_primary_spec_5_3() -> None:
    """Spec 5.3 (2): a primary that sends a lower id becomes a backup; everyone is
    told, and the other live controller is not promoted."""
    from targets.p4sim.runtime.arbitration import Arbitration

    arb = Arbitration(0)
    arb.update("a", _upd(10))
    arb.update("b", _upd(7))
    sent = dict(arb.update("a", _upd(3)))
    assert {k: v.status.code for k, v in sent.items()} == {
        "a": rpc_code.NOT_FOUND,
        "b": rpc_code.NOT_FOUND,
    }
    assert all(v.election_id.low == 10 for v in sent.values())
    # a higher new id than ever seen wins, and all are told (spec 5.3 (1.1))
    sent = dict(arb.update("b", _upd(11)))
    assert sent["b"].status.code == rpc_code.OK
    assert sent["a"].status.code == rpc_code.ALREADY_EXISTS
    assert sent["a"].election_id.low == 11


def test_live_stream_changing_device_is_failed_precondition_spec_5_3() -> None:
    from targets.p4sim.runtime.arbitration import Arbitration

    arb = Arbitration(0)
    first = p4r.MasterArbitrationUpdate(device_id=0)
    first.election_id.low = 3
    arb.update("s", first)
    moved = p4r.MasterArbitrationUpdate(device_id=4)
    moved.election_id.low = 3
    with pytest.raises(P4RTError) as exc:
        arb.update("s", moved)
    assert exc.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(P4RTError) as exc:
        arb.update("new", moved)  # a new stream for an unknown device
    assert exc.value.code == grpc.StatusCode.NOT_FOUND
