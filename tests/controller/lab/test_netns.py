import os
import signal
import subprocess
import time

import pytest

from controller.lab.netns import Netns, NetnsError, veth

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


@pytest.fixture
def pair():
    a, b = Netns(f"sl3t-a-{os.getpid()}"), Netns(f"sl3t-b-{os.getpid()}")
    a.create()
    b.create()
    yield a, b
    a.delete()
    b.delete()


def test_veth_link_carries_ipv4_and_ipv6(pair) -> None:
    a, b = pair
    veth(a, "to-b", b, "to-a")
    a.add_address("to-b", "198.51.100.1/30")
    b.add_address("to-a", "198.51.100.2/30")
    a.add_address("to-b", "2001:db8::1/64")
    b.add_address("to-a", "2001:db8::2/64")
    a.run(["ping", "-c", "1", "-W", "2", "198.51.100.2"])
    a.run(["ping", "-6", "-c", "1", "-W", "2", "2001:db8::2"])
    assert a.exists() and b.exists()


def test_routes_through_a_router_namespace(pair) -> None:
    a, b = pair
    r = Netns(f"sl3t-r-{os.getpid()}")
    r.create()
    try:
        veth(a, "up", r, "ra")
        veth(r, "rb", b, "up")
        a.add_address("up", "198.51.100.1/30")
        r.add_address("ra", "198.51.100.2/30")
        r.add_address("rb", "198.51.100.5/30")
        b.add_address("up", "198.51.100.6/30")
        r.enable_forwarding()
        a.add_route("0.0.0.0/0", via="198.51.100.2")
        b.add_route("0.0.0.0/0", via="198.51.100.5")
        a.run(["ping", "-c", "1", "-W", "2", "198.51.100.6"])
    finally:
        r.delete()


def test_errors_name_the_command(pair) -> None:
    a, _ = pair
    with pytest.raises(NetnsError, match=r"ip -n .* addr add .* failed: "):
        a.add_address("no-such-if", "192.0.2.1/24")
    with pytest.raises(NetnsError, match="at most 15 characters"):
        veth(a, "x" * 16, a, "y")
    with pytest.raises(ValueError):
        a.add_address("lo", "not-an-address")


def test_unreachable_ping_fails(pair) -> None:
    a, _ = pair
    with pytest.raises(NetnsError):
        a.run(["ping", "-c", "1", "-W", "1", "198.51.100.99"])
    assert subprocess.run(["ip", "netns", "list"], capture_output=True).returncode == 0


def test_delete_ends_the_processes_left_inside(pair) -> None:
    a, _ = pair
    proc = subprocess.Popen(a.exec_argv(["sleep", "60"]))
    deadline = time.monotonic() + 5
    while proc.pid not in a.pids() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.pid in a.pids()
    a.delete()
    assert proc.wait(timeout=5) == -signal.SIGTERM
    assert not a.exists()
