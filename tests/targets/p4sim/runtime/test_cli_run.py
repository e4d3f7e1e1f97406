"""`sl3vpn p4sim run` as a process: flags, gRPC service, clean stop, one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from finsy.proto import p4r, p4r_grpc

from controller.cli import build_parser

pytestmark = pytest.mark.unit
SL3VPN = [sys.executable, "-m", "controller.cli"]


def parse(*argv: str) -> object:
    from targets.p4sim.runtime.cli import _target_options

    return _target_options(build_parser().parse_args(["p4sim", "run", *argv]))


def test_bmv2_style_options_after_double_dash() -> None:
    a = parse(
        "prog.p4", "-i", "1@veth1", "--", "--grpc-server-addr", "1.2.3.4:50051", "--cpu-port", "255"
    )
    assert (a.program, a.grpc_server_addr, a.interface) == (  # type: ignore[attr-defined]
        "prog.p4", "1.2.3.4:50051", ["1@veth1"],
    )  # fmt: skip
    c = parse("-i", "1@a", "--no-p4", "--", "--cpu-port", "255", "-i", "2@b")
    assert (c.program, c.cpu_port, c.interface, c.no_p4) == (None, 255, ["1@a", "2@b"], True)  # type: ignore[attr-defined]
    b = parse("--no-p4", "--thrift-port", "9090", "--cpu-port", "64")
    assert (b.program, b.cpu_port, b.grpc_server_addr) == (None, 64, "0.0.0.0:9559")  # type: ignore[attr-defined]
    with pytest.raises(SystemExit):
        parse("--", "--bogus", "1")


def test_run_serves_p4runtime_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*SL3VPN, "p4sim", "run", "--no-p4", "--pcap", str(tmp_path),
         "--packet-in", f"ipc://{tmp_path}/sw-{os.getpid()}.ipc",
         "--", "--grpc-server-addr", "127.0.0.1:0", "--cpu-port", "255"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving P4Runtime on 127.0.0.1:" in line, line
        port = int(line.rsplit(":", 1)[1])
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = p4r_grpc.P4RuntimeStub(ch)
            assert stub.Capabilities(p4r.CapabilitiesRequest()).p4runtime_api_version
            # no pipeline yet: config unset in the answer (spec 15), Read FAILED_PRECONDITION
            got = stub.GetForwardingPipelineConfig(p4r.GetForwardingPipelineConfigRequest())
            assert not got.HasField("config")
            with pytest.raises(grpc.RpcError) as exc:
                list(stub.Read(p4r.ReadRequest(entities=[p4r.Entity(table_entry={})])))
            assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_errors_are_one_line(tmp_path: Path) -> None:
    for argv, needle in (
        (["-i", "nope"], "expected PORT@IFACE"),
        ([str(tmp_path / "missing.p4")], "missing.p4"),
        (["--no-p4", "-i", "1@no-such-if0"], "no-such-if0"),
    ):
        proc = subprocess.run(
            [*SL3VPN, "p4sim", "run", *argv, "--", "--grpc-server-addr", "127.0.0.1:0"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert proc.returncode != 0
        assert needle in proc.stderr
        assert "Traceback" not in proc.stderr
