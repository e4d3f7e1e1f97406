"""The lab without root: `sl3vpn demo --static` and `sl3vpn lab up` as user nobody.

The test runs as root only to become someone else (runuser); the commands under
test run as ``nobody`` and make their own user + network + mount + PID namespace
(controller/lab/userns.py). Skipped, with the reason, where the kernel does not
let an unprivileged user make one. The interpreter must be one nobody can run:
the venv's own (under /root here) often is not, so a system Python of the same
version runs with this checkout and the venv's site-packages on PYTHONPATH.
"""

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from demokit import demo_passed

from controller.lab.plan import make_plan
from controller.lab.topology import load_topology
from tests.signals import sigint_default

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
USER = "nobody"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user (runuser) needs root"),
    pytest.mark.skipif(shutil.which("runuser") is None, reason="no runuser binary"),
]


def _can(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", USER, "--", *argv], capture_output=True, text=True,
                          timeout=30)  # fmt: skip


def _python() -> str:
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/python{ver}", f"/usr/local/bin/python{ver}"):
        if os.path.exists(candidate) and _can([candidate, "-c", "pass"]).returncode == 0:
            return candidate
    pytest.skip(f"no Python {ver} that user {USER} may run")


@pytest.fixture(scope="module")
def as_user() -> list[str]:
    """The argv prefix that runs ``python -m controller ...`` as nobody."""
    probe = _can(["unshare", "--user", "--map-root-user", "--net", "--mount", "true"])
    if probe.returncode != 0:
        pytest.skip(f"unprivileged user namespaces not allowed here: {probe.stderr.strip()}")
    pypath = f"{REPO}:{sysconfig.get_paths()['purelib']}"
    if _can(["test", "-r", str(REPO / "controller" / "cli.py")]).returncode != 0:
        pytest.skip(f"the checkout {REPO} is not readable for {USER}")
    return ["runuser", "-u", USER, "--", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/tmp", f"PYTHONPATH={pypath}", _python()]  # fmt: skip


def _leftovers() -> list[str]:
    """Processes of USER still running code from this checkout."""
    out = []
    uid = int(subprocess.run(["id", "-u", USER], capture_output=True, text=True).stdout)
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "controller" in cmd or "p4sim" in cmd:
                    out.append(f"{entry.name}: {cmd}")
        except OSError:
            continue
    return out


def _demo_passes(argv: list[str], processes: int) -> str:
    """Run a demo as nobody; its verdict, and nothing of it left running."""
    done = subprocess.run(argv, cwd="/tmp", capture_output=True, text=True, timeout=300)
    out = demo_passed(done)
    assert "private user + network namespace" in out
    down = rf"lab sl3demo\d+: {processes} processes stopped, 12 namespaces deleted"
    assert re.search(down, out), out
    assert _leftovers() == []
    return out


def test_demo_static_unprivileged_end_to_end(as_user: list[str]) -> None:
    _demo_passes([*as_user, "-m", "controller", "demo", "--static"], processes=3)


def test_demo_with_daemons_unprivileged_given_a_usable_tun(as_user: list[str]) -> None:
    """The daemons' TAP devices need /dev/net/tun open for the user (0666 on many
    distributions, 0600 here): root gives this run alone such a node, in a mount
    namespace of its own; everything else runs as nobody."""
    tun = 'mount -t tmpfs sl3tun /dev/net && mknod -m 666 /dev/net/tun c 10 200 && exec "$@"'
    argv = ["unshare", "--mount", "sh", "-c", tun, "sh", *as_user, "-m", "controller", "demo"]
    _demo_passes(argv, processes=5)


def _lines(stream: IO[str]) -> queue.Queue[str | None]:
    """The lines of ``stream`` as a reader thread gets them; None at its end (a wait on
    them can then time out, where a blocked readline could not)."""
    out: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            out.put(line)
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _until(lines: queue.Queue[str | None], seen: list[str], want: str, bound: float) -> str:
    """Collect lines into ``seen`` until one matches ``want`` (its first group), the
    output ends, or ``bound`` seconds pass; "" unless it matched."""
    deadline = time.monotonic() + bound
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if match := re.search(want, line):
            return match.group(1)
    return ""


# Bounds for a loaded machine (CI with load ~12 on 2 cores): each only caps a wait
# for something that happens in seconds when the machine is idle.
UP_BOUND, CMD_BOUND, DOWN_BOUND = 240.0, 120.0, 120.0


@pytest.mark.timeout(UP_BOUND + 3 * CMD_BOUND + DOWN_BOUND + 60)
def test_lab_up_foreground_nsenter_ping_and_ctrl_c(as_user: list[str]) -> None:
    prefix = f"u{os.getpid()}"
    topology = EXAMPLES / "lab-default.yml"
    argv = [*as_user, "-m", "controller", "lab", "up", str(topology), "--prefix", prefix]
    # Ctrl-C reaches a terminal's foreground job with SIGINT at its default: so here too,
    # whatever this runner inherited (a background `make test` ignores SIGINT)
    proc = subprocess.Popen(argv, cwd="/tmp", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True,
                            preexec_fn=sigint_default)  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        out = _lines(proc.stdout)
        hint = _until(out, lines, r"a shell inside it .*: (nsenter .*) \$SHELL", UP_BOUND)
        assert hint, "".join(lines)
        enter = ["runuser", "-u", USER, "--", *hint.split(), "--"]
        # From outside the namespaces the lab is invisible, and says so.
        outside = subprocess.run([*as_user, "-m", "controller", "lab", "status"],
                                 capture_output=True, text=True, timeout=CMD_BOUND)  # fmt: skip
        assert outside.returncode == 1 and "nsenter" in outside.stderr
        status = subprocess.run([*enter, *as_user[4:], "-m", "controller", "lab", "status"],
                                capture_output=True, text=True, timeout=CMD_BOUND)  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert status.stdout.count(" running") == 3, status.stdout
        plan = make_plan(load_topology(topology), prefix)
        r1, r2 = [r for _c, r in plan.hosts() if r.site.tenant == "blue"][:2]
        ping = subprocess.run([*enter, "ip", "netns", "exec", r1.host_ns, "ping", "-n", "-c", "3",
                               "-W", "5", str(r2.site.host)],
                              capture_output=True, text=True, timeout=CMD_BOUND)  # fmt: skip
        assert ping.returncode == 0 and " 0% packet loss" in ping.stdout, ping.stdout
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        gone = rf"(lab {prefix}: 3 processes stopped, 12 namespaces deleted)"
        assert _until(out, lines, gone, DOWN_BOUND), "".join(lines[-20:])
        assert proc.wait(timeout=DOWN_BOUND) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # unshare --kill-child: the lab goes with it
            proc.wait()
    assert _leftovers() == []
