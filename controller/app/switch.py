"""The daemon's switch: p4sim or BMv2 as a child process, or any P4Runtime target by address.

The pipeline is pushed by the daemon, not loaded by p4sim at start, so that the
same code path serves p4sim and BMv2 and a restarted switch is recognised: the
pipeline carries a cookie (a hash of P4Info and device config). On connect,
``ensure_pipeline`` reads the switch's pipeline; the same cookie means the
switch kept its state (daemon restart: reconcile only), anything else means a
fresh switch (push the pipeline, then write everything).

p4sim's device config is its source bundle (``targets/p4sim/runtime/bundle.py``
documents the JSON form: main file, sources, defines); the P4Info comes from
``sl3vpn p4sim compile``. The app talks to p4sim only over P4Runtime and the
command line, never by importing it.

BMv2 (``switch.bmv2``): ``targets/bmv2`` compiles the program with p4c-bm2-ss
(cached) and builds the simple_switch_grpc command line; that launcher imports
nothing from ``controller/`` and the app uses it only to start processes: the
switch is driven over P4Runtime, exactly like p4sim. Its device config is the
BMv2 JSON.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast

from finsy.proto import p4i

import targets.bmv2 as bmv2
from controller.config import Config
from controller.p4rt import P4RuntimeClient, RpcError, load_p4info
from targets.bmv2.switch import free_tcp_port

log = logging.getLogger(__name__)
SOURCE_SUFFIXES = (".p4", ".p4h", ".h")
CRYPTO_VETH = ("sl3c-sw", "sl3c-eng")  # switch end, engine end


class SwitchError(RuntimeError):
    """The switch could not be started, reached or programmed (one line)."""


@dataclass(frozen=True)
class Pipeline:
    p4info: p4i.P4Info
    device_config: bytes
    cookie: int


def p4sim_bundle(program: Path, defines: dict[str, str]) -> bytes:
    """The device config p4sim accepts: every source file under the program's folder."""
    root = program.parent
    sources = {
        str(PurePosixPath(*p.relative_to(root).parts)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in SOURCE_SUFFIXES
    }
    doc = {"p4sim_bundle": 1, "main": program.name, "sources": sources, "defines": defines}
    return json.dumps(doc, sort_keys=True).encode()


def compile_p4info(program: Path, defines: dict[str, str]) -> p4i.P4Info:
    with tempfile.TemporaryDirectory(prefix="sl3vpn-p4info-") as tmp:
        out = Path(tmp) / "p4info.txtpb"
        argv = [sys.executable, "-m", "controller", "p4sim", "compile", "--p4info", str(out)]
        for name, value in sorted(defines.items()):
            argv += ["-D", f"{name}={value}"]
        proc = subprocess.run([*argv, str(program)], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()
            raise SwitchError(f"{program}: does not compile: {last[-1] if last else '?'}")
        return load_p4info(str(out))


def build_pipeline(cfg: Config, base: Path) -> Pipeline:
    """P4Info + device config for the configured switch, and their cookie."""
    remote, launched = cfg.switch.p4runtime, cfg.switch.launched
    if remote is not None:
        if remote.p4info is None or remote.device_config is None:
            raise SwitchError("switch.p4runtime needs p4info and device_config to push a pipeline")
        p4info = _read(base, remote.p4info, "switch.p4runtime.p4info", p4info_file)
        device_config = _read(base, remote.device_config, "switch.p4runtime.device_config")
    else:
        assert launched is not None
        program = Path(launched.program)
        if not program.is_absolute():
            program = base / program
        if not program.is_file():
            raise SwitchError(f"switch.{cfg.switch.kind}.program: {program} does not exist")
        defines = cfg.switch.program_defines()
        if cfg.switch.bmv2 is not None:
            p4info, device_config = bmv2_artifacts(program, defines, cfg.switch.bmv2.cache_dir)
        else:
            p4info = compile_p4info(program, defines)
            device_config = p4sim_bundle(program, defines)
    digest = hashlib.sha256(p4info.SerializeToString(deterministic=True) + device_config)
    return Pipeline(p4info, device_config, int.from_bytes(digest.digest()[:8], "big") >> 1)


def _raw(path: str) -> bytes:
    return Path(path).read_bytes()


def p4info_file(path: str) -> p4i.P4Info:
    """A P4Info file as p4c's ``--p4runtime-files`` writes it: binary (.pb/.bin), JSON
    (.json) or text format (anything else)."""
    data = Path(path).read_bytes()
    if path.endswith((".pb", ".bin")):
        return p4i.P4Info.FromString(data)
    fmt = "json_format" if path.endswith(".json") else "text_format"
    module = importlib.import_module(f"google.protobuf.{fmt}")  # no type stubs
    return cast(p4i.P4Info, module.Parse(data.decode(), p4i.P4Info()))


def _read(base: Path, name: str, field: str, parse: Callable[[str], Any] = _raw) -> Any:
    """A pipeline file named in the config; a missing or unreadable one names the field."""
    path = base / name
    try:
        return parse(str(path))
    except OSError as exc:
        raise SwitchError(f"{field}: {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # a parse error of the P4Info
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SwitchError(f"{field}: {path}: not a P4Info ({first})") from None


def bmv2_artifacts(
    program: Path, defines: dict[str, str], cache_dir: str | None
) -> tuple[p4i.P4Info, bytes]:
    """P4Info and BMv2 JSON from p4c-bm2-ss (cached by targets/bmv2)."""
    try:
        art = bmv2.compile_program(program, defines, Path(cache_dir) if cache_dir else None)
    except (bmv2.ToolMissing, bmv2.CompileError) as exc:
        raise SwitchError(f"switch.bmv2: {exc}") from None
    return load_p4info(str(art.p4info_path)), art.json_path.read_bytes()


async def ensure_pipeline(client: P4RuntimeClient, pipe: Pipeline) -> bool:
    """Make the switch run ``pipe``; True if it had to be pushed (fresh switch state)."""
    try:
        current = await client.get_pipeline()
    except RpcError as exc:
        if exc.code != "FAILED_PRECONDITION":  # P4Runtime: "no pipeline configured yet"
            raise
        current = None
    if current is not None and current.cookie.cookie == pipe.cookie and current.p4info.tables:
        client.use_pipeline(pipe.p4info)
        return False
    await client.set_pipeline(pipe.p4info, pipe.device_config, cookie=pipe.cookie)
    return True


def crypto_veth() -> None:
    """The veth pair between the switch's crypto port and the daemon's ESP engine."""
    sw, eng = CRYPTO_VETH
    if Path(f"/sys/class/net/{sw}").exists():
        return  # left by an earlier run of this daemon: reuse it
    for argv in (
        ["ip", "link", "add", sw, "type", "veth", "peer", "name", eng],
        ["ip", "link", "set", sw, "up", "mtu", "9000"],
        ["ip", "link", "set", eng, "up", "mtu", "9000"],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        if proc.returncode != 0:
            raise SwitchError(f"`{' '.join(argv)}` failed: {proc.stderr.strip()}")
    # The kernel must not talk on these links itself (IPv6 autoconf, router solicitations).
    for name in CRYPTO_VETH:
        Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1")


def p4sim_argv(cfg: Config, base: Path) -> list[str]:
    """``sl3vpn p4sim run`` for the configured ports, without a program (we push it)."""
    argv = cfg.switch.p4sim_command(base)[:-1]  # drop the program: pushed over P4Runtime
    crypto = cfg.switch.by_role("crypto")
    if crypto and not crypto[0].interface:
        argv += ["-i", f"{crypto[0].port}@{CRYPTO_VETH[0]}"]
    return [sys.executable, "-m", "controller", *argv, "--no-p4"]


def bmv2_argv(cfg: Config, run_dir: Path) -> tuple[list[str], dict[str, str]]:
    """simple_switch_grpc for the configured ports (no program: we push it) and its env."""
    conf = cfg.switch.bmv2
    assert conf is not None
    try:
        binary = bmv2.find_tool(bmv2.SWITCH)
    except bmv2.ToolMissing as exc:
        raise SwitchError(f"switch.bmv2: {exc}") from None
    interfaces = cfg.switch.interfaces()
    crypto = cfg.switch.role_port("crypto")
    if crypto is not None and crypto not in interfaces:
        interfaces[crypto] = CRYPTO_VETH[0]
    opts = bmv2.SwitchOptions(
        grpc_address=conf.grpc_address,
        device_id=conf.device_id,
        cpu_port=cfg.switch.role_port("cpu"),
        interfaces=interfaces,
        log_level=conf.log_level,
        extra_args=list(conf.args),
    )
    thrift = conf.thrift_port or free_tcp_port()
    # Its own notifications socket: the default one in /tmp is shared by every
    # namespace of a lab (same device id), see targets/bmv2/switch.py.
    notify = f"ipc://{run_dir.resolve()}/{cfg.node.name}-bmv2-notifications.ipc"
    return bmv2.switch_argv(binary, opts, thrift, notify), bmv2.tool_env(binary)


class P4SimProcess:
    """p4sim, BMv2 or the ESP engine as a child process in the daemon's namespace, stopped
    by PID."""

    def __init__(
        self,
        argv: list[str],
        log_path: Path | None,
        what: str = "p4sim",
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        self.what = what
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=self.env
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        log.info("%s started, pid %d", self.what, self.proc.pid)

    def last_log_line(self) -> str:
        if self.log_path is None:
            return "(no log)"
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return lines[-1] if lines else "(empty log)"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def connect(
    address: str, device_id: int, election_id: int, timeout: float
) -> P4RuntimeClient:
    """Connect as primary, retrying while the switch is still starting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = ""
    while loop.time() < deadline:
        client = P4RuntimeClient(address, device_id=device_id, election_id=election_id)
        try:
            await client.connect(timeout=max(1.0, min(5.0, deadline - loop.time())))
            return client
        except Exception as exc:  # any failure to reach it means "retry"
            last = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            await client.close()
            await asyncio.sleep(0.3)
    raise SwitchError(f"P4Runtime {address}: not reachable as primary in {timeout:g}s ({last})")
