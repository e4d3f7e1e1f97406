"""The engine-control protocol: SA round trips, clear refusals, a parser that never breaks."""

import json
import struct
import threading
from pathlib import Path

import pytest
from esp_testlib import eth, ip_packet, request, sa_params, split
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.client import EngineClient, EngineUnavailable
from controller.ipsec.esp.ports import LockedEngine
from controller.ipsec.esp.process import accept_loop, listen
from controller.ipsec.esp.rpc import (
    HEADER,
    Answer,
    Op,
    RpcError,
    decode,
    encode,
    sa_from_wire,
    sa_to_wire,
)
from controller.ipsec.esp.service import EngineService
from controller.ipsec.installer import (
    CipherSuite,
    Direction,
    Lifetime,
    Mode,
    SaInstallError,
    SaUpdate,
    UdpEncap,
)

pytestmark = pytest.mark.unit


def service() -> tuple[EngineService, LockedEngine]:
    engine = LockedEngine(EspEngine())
    return EngineService(engine, "veth-test"), engine


def ask(svc: EngineService, op: int, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    return decode(svc.handle_frame(encode(op, body)))


def test_sa_parameters_survive_the_wire_keys_included() -> None:
    params = sa_params(
        Direction.INBOUND,
        version=6,
        mode=Mode.TUNNEL,
        udp=True,
        esn=True,
        suite=CipherSuite.AES_CBC_256_HMAC_SHA2_256_128,
        soft=Lifetime(packets=10, seconds=1.5),
        hard=Lifetime(bytes=1 << 40),
    )
    back = sa_from_wire(json.loads(json.dumps(sa_to_wire(params))))
    assert back == params
    assert back.keys == params.keys


def test_add_list_delete_and_list_never_shows_keys() -> None:
    svc, engine = service()
    params = sa_params(Direction.OUTBOUND, sa_index=7, spi=0x7777)
    label = {"peer": "192.0.2.2", "tenant": None, "child": "mpls", "pair": 6}
    kind, body = ask(svc, Op.ADD_SA, {"sa": sa_to_wire(params), "label": label})
    assert (kind, body) == (Answer.OK, {})
    kind, body = ask(svc, Op.LIST_SAS, {})
    assert kind == Answer.OK
    (listed,) = body["sas"]  # type: ignore[misc]
    assert listed["sa_index"] == 7 and listed["spi"] == 0x7777 and listed["label"] == label
    assert listed["retired"] is False and "keys" not in listed
    text = svc.handle_frame(encode(Op.LIST_SAS, {})).hex()
    assert params.keys.enc_key.hex() not in text and params.keys.salt.hex() not in text
    assert ask(svc, Op.DELETE_SA, {"sa_index": 7}) == (Answer.OK, {})
    assert ask(svc, Op.LIST_SAS, {}) == (Answer.OK, {"sas": []})
    assert list(engine.engine.sas()) == []


@pytest.mark.parametrize(
    ("op", "body", "words"),
    [
        (Op.DELETE_SA, {}, "DELETE_SA: missing field 'sa_index'"),
        (Op.DELETE_SA, {"sa_index": "3"}, "field 'sa_index' is a str, not int"),
        (Op.DELETE_SA, {"sa_index": True}, "field 'sa_index' is a bool, not int"),
        (Op.DELETE_SA, {"sa_index": 3}, "SA 3: not installed"),
        (Op.SWITCH_OUTBOUND, {"old": 1}, "missing field 'new'"),
        (Op.ADD_SA, {"sa": []}, "field 'sa' is a list, not dict"),
        (42, {}, "unknown request type 42"),
    ],
)
def test_bad_requests_get_one_line_errors_naming_the_field(
    op: int, body: dict[str, object], words: str
) -> None:
    svc, _ = service()
    kind, answer = ask(svc, op, body)
    assert kind == Answer.ERROR
    assert words in str(answer["error"]) and "\n" not in str(answer["error"])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"spi": 12}, "SPI must be in 256..2^32-1"),
        ({"local": "not-an-ip"}, "sa.local: 'not-an-ip' is not an IP address"),
        ({"suite": "des"}, "sa.suite: 'des' is not a CipherSuite"),
        ({"keys": ["zz", "", ""]}, "sa.keys: key material is not hex"),
        ({"keys": ["00" * 3, "00" * 4, ""]}, "encryption key must be 16 octets, got 3"),
        ({"udp_encap": [4500]}, "udp_encap must be [local port, remote port]"),
        ({"soft": {"packets": "x"}}, "sa.soft: field 'packets' is a str, not int"),
        ({"esn": 1}, "field 'esn' is a int, not bool"),
    ],
)
def test_bad_sa_parameters_are_refused_and_nothing_is_installed(
    change: dict[str, object], words: str
) -> None:
    svc, engine = service()
    wire = {**sa_to_wire(sa_params(Direction.INBOUND)), **change}
    kind, answer = ask(svc, Op.ADD_SA, {"sa": wire})
    assert kind == Answer.ERROR and words in str(answer["error"])
    assert list(engine.engine.sas()) == []


def test_a_bad_label_is_refused_before_the_sa_is_installed() -> None:
    svc, engine = service()
    wire = sa_to_wire(sa_params(Direction.INBOUND))
    kind, answer = ask(svc, Op.ADD_SA, {"sa": wire, "label": {"peer": ["x"]}})
    assert kind == Answer.ERROR and "label field 'peer'" in str(answer["error"])
    assert list(engine.engine.sas()) == []


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (b"\x02\x01\x00\x00\x00\x00\x00\x02{}", "protocol version 2"),
        (b"\x01\x01\x00\x01\x00\x00\x00\x02{}", "reserved header field is 1"),
        (b"\x01\x01\x00\x00\x00\x00\x00\x05{}", "header says 13"),
        (b"\x01\x01\x00\x00\x00\x00\x00\x02[]", "body is a JSON list, not an object"),
        (b"\x01\x01\x00\x00\x00\x00\x00\x02\xff\xfe", "body is not a JSON object"),
        (b"\x01\x01", "frame header of 2 octets"),
        (b"\x01\x01\x00\x00\xff\xff\xff\xff", "body length 4294967295 exceeds"),
    ],
)
def test_malformed_frames(frame: bytes, words: str) -> None:
    svc, _ = service()
    with pytest.raises(RpcError, match=words.replace("[", r"\[")):
        decode(frame)
    kind, answer = decode(svc.handle_frame(frame))
    assert kind == Answer.ERROR and words in str(answer["error"])


_SVC, _ENGINE = service()
_VALID = [
    encode(Op.ADD_SA, {"sa": sa_to_wire(sa_params(Direction.OUTBOUND, sa_index=9))}),
    encode(Op.UPDATE_SA, {"sa_index": 9, "update": {"remote": "192.0.2.9"}}),
    encode(Op.SWITCH_OUTBOUND, {"old": 9, "new": 10}),
    encode(Op.COUNTERS, {"sa_index": 9}),
    encode(Op.POLL, {}),
]


def _answer_ok(answer: bytes) -> None:
    kind, body = decode(answer)  # always a well-formed answer frame
    assert kind in (Answer.OK, Answer.ERROR)
    if kind == Answer.ERROR:
        assert isinstance(body["error"], str) and "\n" not in body["error"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fuzz_random_frames_always_get_an_answer(data: bytes) -> None:
    _answer_ok(_SVC.handle_frame(data))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 50),
)
def test_fuzz_mutated_requests_always_get_an_answer(
    frame: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(frame)
    for pos, value in flips:
        data[pos % len(data)] = value
    _answer_ok(_SVC.handle_frame(bytes(data[: len(data) - cut])))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(list(sa_to_wire(sa_params(Direction.INBOUND)))),
        st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.lists(st.integers()),
        max_size=4,
    )
)
def test_fuzz_sa_fields_are_refused_cleanly(change: dict[str, object]) -> None:
    wire = {**sa_to_wire(sa_params(Direction.INBOUND, sa_index=20, spi=0x2020)), **change}
    try:
        sa_from_wire(wire)
    except (RpcError, SaInstallError) as exc:
        assert "\n" not in str(exc)


# -- the client against a served socket -------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    svc, engine = service()
    path = tmp_path / "engine.sock"
    listener = listen(path)
    threading.Thread(target=accept_loop, args=(listener, svc), daemon=True).start()
    yield path, svc, engine
    listener.close()


def test_socket_is_private(served) -> None:  # type: ignore[no-untyped-def]
    path, _, _ = served
    assert path.stat().st_mode & 0o777 == 0o600


def test_client_installs_encrypts_and_a_second_client_inherits(served) -> None:  # type: ignore[no-untyped-def]
    path, _, engine = served
    client = EngineClient(path)
    hello = client.connect()
    assert hello["interface"] == "veth-test" and hello["sas"] == 0
    spi = client.allocate_spi()
    assert spi >= 256
    out = sa_params(Direction.OUTBOUND, sa_index=3, spi=spi, soft=Lifetime(packets=1))
    client.add_labelled_sa(out, {"peer": "192.0.2.2", "child": "mpls", "pair": 4})
    client.add_sa(sa_params(Direction.OUTBOUND, sa_index=5, spi=spi + 1))
    client.update_sa(3, SaUpdate(udp_encap=UdpEncap(4500, 4501)))
    with pytest.raises(SaInstallError, match="sa_index already installed"):
        client.add_sa(out)
    answer = engine.process(request(cp.Op.ENCRYPT, eth(4, ip_packet(4, outbound=True)), 3))
    assert split(answer)[0].result == cp.Result.OK
    seen: list[object] = []
    client.subscribe(seen.append)
    events = client.poll()
    assert [(e.sa_index, e.kind.value) for e in events] == [(3, "soft")] and seen == events
    assert client.counters(3).packets == 1
    client.switch_outbound(3, 5)
    client.close()  # the daemon goes away; the engine and its SAs stay

    again = EngineClient(path)
    assert again.connect()["sas"] == 2
    listed = {s["sa_index"]: s for s in again.list_sas()}
    assert listed[3]["label"] == {"peer": "192.0.2.2", "child": "mpls", "pair": 4}
    assert listed[3]["retired"] is True and listed[5]["retired"] is False
    assert listed[3]["udp_encap"] == [4500, 4501]
    again.delete_sa(3)
    assert [s["sa_index"] for s in again.list_sas()] == [5]
    again.close()
    with pytest.raises(EngineUnavailable, match="not connected"):
        again.delete_sa(5)


def test_connect_to_nothing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=r"engine\.sock"):
        EngineClient(tmp_path / "engine.sock").connect()


def test_a_frame_that_cannot_be_delimited_closes_only_that_connection(served) -> None:  # type: ignore[no-untyped-def]
    import socket

    path, _, _ = served
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bad.settimeout(5)
    bad.connect(str(path))
    bad.sendall(struct.pack("!BBHI", 9, 1, 0, 0))
    assert bad.recv(HEADER.size) == b""  # hung up: the stream has no frame boundary left
    bad.close()
    client = EngineClient(path)
    assert client.connect()["sas"] == 0
    client.close()
