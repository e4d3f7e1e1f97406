"""Control API: server and clients over a real Unix socket, with the fake status source."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.api import client
from controller.api.protocol import ReplyError, Request
from controller.api.server import ControlServer, ControlSocketError
from controller.api.source import SHOW_KINDS, StatusSource

from . import fake

pytestmark = pytest.mark.unit


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ControlServer, fake.FakeSource]]:
    source = fake.FakeSource()
    server = ControlServer(source, str(tmp_path / "run" / "cpe1.sock"))
    await server.start()
    try:
        yield server, source
    finally:
        await server.close()


def test_fake_satisfies_protocol() -> None:
    assert isinstance(fake.FakeSource(), StatusSource)


async def test_every_show_kind_round_trips(served: tuple[ControlServer, fake.FakeSource]) -> None:
    server, _source = served
    expected = {
        "vrf": fake.VRFS,
        "routes": fake.ROUTES,
        "bgp": fake.BGP,
        "sa": fake.SAS,
        "tunnels": fake.TUNNELS,
        "tables": fake.TABLES,
        "counters": fake.COUNTERS,
        "drops": fake.DROPS,
    }
    assert set(expected) == set(SHOW_KINDS)
    async with client.AsyncClient(server.path) as c:
        for what in SHOW_KINDS:  # one connection carries many requests
            assert await c.show(what) == expected[what]
        assert await c.request(Request("ping")) == "pong"


async def test_routes_arguments_reach_the_source(
    served: tuple[ControlServer, fake.FakeSource],
) -> None:
    server, source = served
    async with client.AsyncClient(server.path) as c:
        got = await c.show("routes", vrf="blue", family="ipv6")
    assert [r["prefix"] for r in got] == ["2001:db8:1:2::/64"]
    assert source.calls[-1] == ("routes", {"vrf": "blue", "family": "ipv6"})


async def test_blocking_client_in_a_thread(served: tuple[ControlServer, fake.FakeSource]) -> None:
    server, _ = served
    got = await asyncio.to_thread(client.show, server.path, "bgp")
    assert got == fake.BGP
    text = await asyncio.to_thread(client.metrics, server.path)
    assert fake.samples(text)[("sl3vpn_drop_packets_total", (("reason", "REPLAY"),))] == 2


async def test_socket_mode_is_0660(served: tuple[ControlServer, fake.FakeSource]) -> None:
    server, _ = served
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o660
    assert stat.S_ISSOCK(os.stat(server.path).st_mode)


async def test_errors_are_replies_and_the_connection_survives(
    served: tuple[ControlServer, fake.FakeSource],
) -> None:
    server, source = served
    reader, writer = await asyncio.open_unix_connection(server.path)
    try:
        for line, needle in [
            (b"not json\n", "request is not JSON"),
            (b"[1, 2]\n", "must be a JSON object"),
            (b'{"method": "reboot"}\n', "unknown method 'reboot'"),
            (b'{"method": "show", "what": "secrets"}\n', "show: unknown kind 'secrets'"),
            (b'{"method": "show", "what": "bgp", "args": {"vrf": "x"}}\n', "takes no arguments"),
            (b'{"method": "show", "what": "routes", "args": {"family": "ipx"}}\n', "ipv4 or ipv6"),
            (b"\xff\xfe\n", "not UTF-8"),
        ]:
            writer.write(line)
            await writer.drain()
            reply = json.loads(await reader.readline())
            assert set(reply) == {"error"} and needle in reply["error"], (line, reply)
        source.fail.add("bgp")
        writer.write(b'{"method": "show", "what": "bgp"}\n')
        reply = json.loads(await reader.readline())
        assert reply == {
            "error": "show bgp: internal error: RuntimeError: bgp is broken second line"
        }
        writer.write(b'{"method": "ping"}\n')
        assert json.loads(await reader.readline()) == {"result": "pong"}
    finally:
        writer.close()


async def test_oversized_line_gets_an_error_then_hangup(
    served: tuple[ControlServer, fake.FakeSource],
) -> None:
    server, _ = served
    reader, writer = await asyncio.open_unix_connection(server.path)
    writer.write(b"x" * (200 * 1024))
    await writer.drain()
    reply = json.loads(await reader.readline())
    assert "longer than" in reply["error"]
    assert await reader.read() == b""
    writer.close()
    # The server still serves new connections.
    async with client.AsyncClient(server.path) as c:
        assert await c.request(Request("ping")) == "pong"


async def test_error_reply_raises_in_the_client(
    served: tuple[ControlServer, fake.FakeSource],
) -> None:
    server, source = served
    source.fail.add("tunnels")
    with pytest.raises(ReplyError, match="show tunnels: internal error"):
        await asyncio.to_thread(client.show, server.path, "tunnels")


def test_client_says_daemon_not_running(tmp_path: Path) -> None:
    with pytest.raises(client.DaemonNotRunning, match="no such socket"):
        client.show(str(tmp_path / "none.sock"), "bgp")
    dead = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(dead))
    s.close()  # bound, never listening: connect is refused
    with pytest.raises(client.DaemonNotRunning, match="connection refused"):
        client.show(str(dead), "bgp")


async def test_stale_socket_is_replaced_live_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    first = ControlServer(fake.FakeSource(), str(path))
    await first.start()
    try:
        second = ControlServer(fake.FakeSource(), str(path))
        with pytest.raises(ControlSocketError, match="another daemon is serving it"):
            await second.start()
        async with client.AsyncClient(str(path)) as c:
            assert await c.request(Request("ping")) == "pong"
    finally:
        await first.close()
    assert not path.exists()


async def test_regular_file_in_the_way_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    path.write_text("not a socket")
    with pytest.raises(ControlSocketError, match="exists and is not a socket"):
        await ControlServer(fake.FakeSource(), str(path)).start()
    assert path.read_text() == "not a socket"


async def test_bytes_in_a_reply_are_refused_and_a_slow_source_times_out(tmp_path: Path) -> None:
    class Leaky(fake.FakeSource):
        def tables(self) -> list[str]:
            return [b"\x01\x02 secret"]  # type: ignore[list-item]

        async def counters(self):  # type: ignore[no-untyped-def]
            await asyncio.sleep(30)

    server = ControlServer(Leaky(), str(tmp_path / "c.sock"), request_timeout=0.2)
    async with server, client.AsyncClient(server.path) as c:
        with pytest.raises(ReplyError, match="raw bytes") as info:
            await c.show("tables")
        assert "secret" not in str(info.value)
        with pytest.raises(ReplyError, match=r"show counters: no answer within 0.2 s"):
            await c.show("counters")
        assert await c.request(Request("ping")) == "pong"
