"""A small lab for the daemon tests: underlay router, two C-PEs, one RR, tenant hosts.

Its red BGP sessions use the tunnel-mode control SA (``ike.control_sa.mode:
tunnel``), so that choice keeps running end to end; the scenario labs use the
default, transport mode.

Every namespace name carries the test process pid; everything is deleted in
``down()``. Daemons run as ``sl3vpn cpe|rr`` inside their namespace and are
stopped by PID.

    underlay u:   203.0.113.1/30 -- cpe1 wan (.2)    routes 198.51.100.11 via .2
                  203.0.113.5/30 -- cpe2 wan (.6)    routes 198.51.100.12 via .6
                  203.0.113.9/30 -- rr1  wan (.10)   routes 198.51.100.1  via .10
    cpe1 red port 1 (VRF blue) -- host a1 10.1.1.10/24, 2001:db8:1::10/64
    cpe2 red port 1 (VRF blue) -- host b1 10.2.2.10/24, 2001:db8:2::10/64
    cpe1/cpe2 red port 2 (VRF green, overlapping 10.1.1.0/24 / 10.2.2.0/24) -- a2 / b2
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from controller.lab.netns import Netns, veth

ROOT = Path(__file__).resolve().parents[3]
PSK = "lab pre-shared key"


def cpe_yaml(n: int, two_tenants: bool, per_tenant: bool = False, target: str = "p4sim") -> str:
    site = {1: 1, 2: 2}[n]
    green = (
        f"""
    - {{port: 2, name: green0, role: red, vrf: green, interface: sw-green,
       address: [10.{site}.{site}.1/24]}}"""
        if two_tenants
        else ""
    )
    green_vrf = (
        f"""
  - {{name: green, rd: "65000:2{n}", import: ["65000:2"], export: ["65000:2"], table_id: 2,
     routes: [{{prefix: 10.{site}.{site}.0/24, interface: green0}}]}}"""
        if two_tenants
        else ""
    )
    tenants = f", tenants: {{blue: 10.255.1.1{n}, green: 10.255.2.1{n}}}" if per_tenant else ""
    per = ", per_tenant_sas: true" if per_tenant else ""
    return f"""
node: {{name: cpe{n}, role: cpe, as: 65000, router_id: 192.0.2.1{n}}}
loopbacks: {{black: 198.51.100.1{n}, red: 10.255.0.1{n}{tenants}}}
switch:
  {target}: {{program: {ROOT}/p4src/cpe.p4, grpc_address: "127.0.0.1:9559"}}
  ports:
    - {{port: 1, name: blue0, role: red, vrf: blue, interface: sw-blue,
       address: [10.{site}.{site}.1/24, "2001:db8:{site}::1/64"]}}{green}
    - {{port: 3, name: wan0, role: black, interface: sw-wan,
       address: 203.0.113.{4 * (n - 1) + 2}/30}}
    - {{port: 255, role: cpu}}
    - {{port: 254, role: crypto}}
vrfs:
  - {{name: blue, rd: "65000:1{n}", import: ["65000:1"], export: ["65000:1"], table_id: 1,
     routes: [{{prefix: 10.{site}.{site}.0/24, interface: blue0}},
              {{prefix: "2001:db8:{site}::/64", interface: blue0}}]}}{green_vrf}
bgp:
  neighbors:
    - {{address: 10.255.0.1, as: 65000, type: red, hold_time: 30}}
ike: {{auth: {{psk: "{PSK}"}}, lifetimes: {{child_rekey: 3000, child_life: 3300}}{per},
      control_sa: {{mode: tunnel}}}}
logging: {{level: info, format: json}}
control_socket: "{{CTL}}/cpe{n}.sock"
metrics: {{listen: "127.0.0.1:9100"}}
"""


RR_YAML = f"""
node: {{name: rr1, role: rr, as: 65000, router_id: 192.0.2.1}}
loopbacks: {{black: 198.51.100.1, red: 10.255.0.1}}
switch:
  {{TARGET}}: {{program: {ROOT}/p4src/cpe.p4, grpc_address: "127.0.0.1:9559"}}
  ports:
    - {{port: 1, name: wan0, role: black, interface: sw-wan, address: 203.0.113.10/30}}
    - {{port: 255, role: cpu}}
    - {{port: 254, role: crypto}}
bgp:
  cluster_id: 10.255.0.1
  neighbors:
    - {{address: 10.255.0.11, as: 65000, type: red, route_reflector_client: true,
       passive: true, hold_time: 30}}
    - {{address: 10.255.0.12, as: 65000, type: red, route_reflector_client: true,
       passive: true, hold_time: 30}}
ike: {{auth: {{psk: "{PSK}"}}, control_sa: {{mode: tunnel}}}}
logging: {{level: info, format: json}}
control_socket: "{{CTL}}/rr1.sock"
"""


STOP_GRACE = 45.0  # seconds a daemon gets to stop cleanly before SIGKILL

# The program each switch kind runs as (in its command line).
SWITCH_PROGRAM = {"p4sim": b"p4sim", "bmv2": b"simple_switch_grpc"}


class Lab:
    def __init__(
        self,
        workdir: Path,
        two_tenants: bool = False,
        per_tenant: bool = False,
        target: str = "p4sim",
    ) -> None:
        self.per_tenant = per_tenant
        self.target = target
        tag = os.getpid() % 100000
        self.dir = workdir
        self.two = two_tenants
        self.ns = {
            name: Netns(f"sl3app-{name}-{tag}")
            for name in ("u", "cpe1", "cpe2", "rr1", "a1", "b1", "a2", "b2")
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.switch_pids: set[int] = set()  # switch children left running (--keep-switch)

    def up(self) -> None:
        ns = self.ns
        for n in ns.values():
            n.create()
        u = ns["u"]
        u.enable_forwarding()
        for i, node in enumerate(("cpe1", "cpe2", "rr1")):
            veth(u, f"u-{node}", ns[node], "sw-wan")
            if self.target == "bmv2":
                u.tx_checksum(f"u-{node}", on=False)
            u.add_address(f"u-{node}", f"203.0.113.{4 * i + 1}/30")
        u.add_route("198.51.100.11/32", via="203.0.113.2")
        u.add_route("198.51.100.12/32", via="203.0.113.6")
        u.add_route("198.51.100.1/32", via="203.0.113.10")
        hosts = [("a1", "cpe1", "sw-blue", 1), ("b1", "cpe2", "sw-blue", 2)]
        if self.two:
            hosts += [("a2", "cpe1", "sw-green", 1), ("b2", "cpe2", "sw-green", 2)]
        for host, cpe, sw_if, site in hosts:
            veth(ns[host], "eth0", ns[cpe], sw_if)
            if self.target == "bmv2":  # libpcap ports cannot complete offloaded checksums
                ns[host].tx_checksum("eth0", on=False)
            ns[host].add_address("eth0", f"10.{site}.{site}.10/24")
            ns[host].add_route("0.0.0.0/0", via=f"10.{site}.{site}.1")
            if host.endswith("1"):
                ns[host].add_address("eth0", f"2001:db8:{site}::10/64")
                ns[host].add_route("::/0", via=f"2001:db8:{site}::1")
        for node in ("cpe1", "cpe2", "rr1"):
            # The switch owns the switch-port interfaces: the kernel must stay silent on them.
            for ifname in ("sw-wan", "sw-blue", "sw-green"):
                ns[node].run(
                    ["sysctl", "-q", "-w", f"net.ipv6.conf.{ifname}.disable_ipv6=1"], check=False
                )
        ctl = str(self.dir)
        for n in (1, 2):
            text = cpe_yaml(n, self.two, self.per_tenant, self.target)
            (self.dir / f"cpe{n}.yml").write_text(text.replace("{CTL}", ctl))
        rr = RR_YAML.replace("{CTL}", ctl).replace("{TARGET}", self.target)
        (self.dir / "rr1.yml").write_text(rr)

    def start(self, node: str, *extra: str) -> None:
        role = "rr" if node.startswith("rr") else "cpe"
        if role == "cpe":
            peers = ["--peer-black", "10.255.0.1=198.51.100.1"]
            gw = "203.0.113.1" if node == "cpe1" else "203.0.113.5"
        else:
            peers = ["--peer-black", "10.255.0.11=198.51.100.11"]
            peers += ["--peer-black", "10.255.0.12=198.51.100.12"]
            gw = "203.0.113.9"
        argv = self.ns[node].exec_argv(
            [
                sys.executable,
                "-m",
                "controller",
                role,
                "--config",
                str(self.dir / f"{node}.yml"),
                *peers,
                "--black-gateway",
                gw,
                "--run-dir",
                str(self.dir),
                *extra,
            ]
        )
        log = open(self.dir / f"{node}.log", "ab")  # noqa: SIM115
        self.procs[node] = subprocess.Popen(argv, stdout=log, stderr=log, cwd=ROOT)
        log.close()

    def stop(self, node: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(node, None)
        if proc is None:
            return
        pid = self.status(node).get("switch", {}).get("pid")
        if pid:
            self.switch_pids.add(pid)
        proc.send_signal(sig)
        try:
            # The daemon's own stop is bounded (switch and engine: SIGTERM, 5 s, SIGKILL);
            # under CPU load it has taken well over 10 s. Killing it earlier would leave its
            # switch running, and the next start would adopt that switch instead of
            # starting one (seen in CI: a restarted cpe2 with no switch PID of its own).
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if sig == signal.SIGTERM:
                msg = f"{node}: daemon still running {STOP_GRACE} s after SIGTERM"
                raise AssertionError(msg) from None

    def status(self, node: str) -> dict:  # type: ignore[type-arg]
        path = self.dir / f"{node}-status.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def wait(self, what: str, cond, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            for node, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(
                        f"{node} exited ({proc.returncode}):\n{self.log_tail(node)}"
                    )
            time.sleep(0.25)
        raise AssertionError(
            f"timed out waiting for {what}\n"
            + "\n".join(f"--- {n}\n{self.log_tail(n)}" for n in self.procs)
        )

    def log_tail(self, node: str, lines: int = 25) -> str:
        try:
            return "\n".join((self.dir / f"{node}.log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def ping(self, host: str, dst: str, count: int = 3) -> bool:
        argv = ["ping", "-c", str(count), "-i", "0.2", "-W", "1", dst]
        if ":" in dst:
            argv.insert(1, "-6")
        proc = subprocess.run(self.ns[host].exec_argv(argv), capture_output=True, timeout=30)
        return proc.returncode == 0

    def down(self) -> None:
        for node in list(self.procs):
            self.stop(node)
        engines = []  # ESP engines kept by --keep-switch, recorded in our run directory
        for pid_file in self.dir.glob("*-engine.pid"):
            with contextlib.suppress(OSError, ValueError):
                engines.append(int(pid_file.read_text()))
        for pid in [*self.switch_pids, *engines]:  # only our own switches/engines, by PID
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if SWITCH_PROGRAM[self.target] in cmdline or str(self.dir).encode() in cmdline:
                    os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for n in self.ns.values():
            n.delete()
