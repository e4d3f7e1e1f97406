"""The lab without root: a private user + network + mount + PID namespace.

When ``sl3vpn lab up`` or ``sl3vpn demo`` runs as an ordinary user, the command
re-executes itself under ``unshare --user --map-root-user --net --mount --pid
--fork`` (util-linux; Python 3.11 has no ``os.unshare``). Inside, the caller is
root of its own user namespace: it may create network namespaces, veths and
AF_PACKET sockets there, and nothing else. :func:`enter` then gives the process
a private tmpfs on /run (so /run/netns, /run/sl3vpn and /run/sl3vpn-lab are its
own) and a /proc of the new PID namespace. The lab lives only in that process
tree: when its first process ends, the kernel ends every process in it and the
namespaces go with them, so nothing is left behind even after a crash.

What the kernel or the machine lacks is found before re-executing, by
:func:`problems`, and reported in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ENV = "SL3VPN_USERNS"  # "1" in the re-executed command; then its PID outside (for nsenter)
UNSHARE = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork",
           "--kill-child"]  # fmt: skip
PROC_SYS = Path("/proc/sys")


class UsernsError(RuntimeError):
    """The lab cannot run unprivileged here; one-line reason."""


def inside() -> bool:
    """This process is the re-executed command, root of its private user namespace
    (the variable alone is not enough: root on the host must never mount over /run)."""
    return bool(os.environ.get(ENV)) and os.geteuid() == 0 and not _initial_userns()


def _initial_userns() -> bool:
    try:
        fields = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        return True
    return fields[:3] == ["0", "0", "4294967295"]


def outer_pid() -> int | None:
    """This process's PID as the rest of the machine sees it (``nsenter --target``)."""
    value = os.environ.get(ENV + "_PID", "")
    return int(value) if value.isdigit() else None


def _sysctl(name: str, root: Path) -> int | None:
    try:
        return int((root / name).read_text().strip())
    except (OSError, ValueError):
        return None


def problems(tun: bool = False, nft: bool = False, proc_sys: Path | None = None) -> list[str]:
    """What stops an unprivileged lab on this machine (empty: nothing known).

    ``tun``: the nodes need TAP devices (the daemons' host interfaces); ``nft``:
    the topology has a NAT box.
    """
    proc_sys = proc_sys or PROC_SYS
    out = []
    if _sysctl("kernel/unprivileged_userns_clone", proc_sys) == 0:
        out.append(
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
        )
    if _sysctl("user/max_user_namespaces", proc_sys) == 0:
        out.append("user namespaces are disabled (user.max_user_namespaces = 0)")
    if _sysctl("kernel/apparmor_restrict_unprivileged_userns", proc_sys) == 1:
        out.append(
            "AppArmor restricts unprivileged user namespaces "
            "(kernel.apparmor_restrict_unprivileged_userns = 1)"
        )
    for tool, package in (("unshare", "util-linux"), ("ip", "iproute2"), ("mount", "mount")):
        if shutil.which(tool) is None:
            out.append(f"no `{tool}` binary (apt-get install {package})")
    if nft and shutil.which("nft") is None:
        out.append("the NAT topology needs nftables (apt-get install nftables)")
    if tun and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        out.append(
            "/dev/net/tun is not readable and writable for this user (the daemons' TAP "
            "host interfaces need it: chmod 0666 /dev/net/tun, or use --static)"
        )
    return out


def probe() -> str | None:
    """Try the namespaces for real; the kernel's complaint if they cannot be made."""
    try:
        done = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`unshare` failed: {exc}"
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        return f"cannot create a user namespace: {lines[-1] if lines else 'unshare failed'}"
    return None


def reexec(args: Sequence[str], tun: bool = False, nft: bool = False) -> None:
    """Replace this (unprivileged) process by ``sl3vpn ARGS`` inside fresh namespaces.

    Raises :class:`UsernsError` with what is missing instead when that cannot work.
    """
    missing = problems(tun=tun, nft=nft)
    if not missing:
        failed = probe()
        missing = [failed] if failed else []
    if missing:
        raise UsernsError(
            "not root, and the unprivileged lab (user + network namespace) cannot run here: "
            + "; ".join(missing)
        )
    env = dict(os.environ, **{ENV: "1"})
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [*UNSHARE, sys.executable, "-m", "controller", *args]
    os.execvpe(argv[0], argv, env)


def enter() -> None:
    """In the re-executed command: private /run and /proc, loopback up. Idempotent."""
    if os.environ.get(ENV + "_PID"):
        return
    # Before /proc is replaced: the old /proc still counts PIDs as the machine does.
    pid = os.readlink("/proc/self")
    steps = [
        ["mount", "-t", "tmpfs", "-o", "mode=0755", "sl3vpn-userns", "/run"],
        ["mount", "-t", "proc", "proc", "/proc"],
        ["ip", "link", "set", "lo", "up"],
    ]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise UsernsError(f"in the user namespace, `{' '.join(argv)}` failed: "
                              f"{done.stderr.strip()}")  # fmt: skip
    for sub in ("netns", "sl3vpn", "sl3vpn-lab"):
        Path("/run", sub).mkdir(mode=0o755, exist_ok=True)
    os.environ[ENV + "_PID"] = pid


def nsenter_hint() -> str:
    pid = outer_pid()
    return (
        f"nsenter --target {pid} --user --net --mount --pid --preserve-credentials "
        f"--wd={os.getcwd()} $SHELL"
    )


def _needs(topology: str | Path, daemons: bool) -> tuple[bool, bool]:
    """(TAP, nft) for this topology and mode; a bad topology is reported later, by up()."""
    from controller.lab.topology import TopologyError, load_topology

    try:
        topo = load_topology(topology)
    except (TopologyError, OSError, ValueError):
        return daemons, False
    return daemons, any(c.behind_nat for c in topo.cpes)


def prepare(args: Sequence[str], topology: str | Path, daemons: bool) -> None:
    """Run before a lab comes up: as root, nothing (or, re-executed, :func:`enter`);
    as anyone else, re-execute ``sl3vpn ARGS`` in the namespaces (does not return)."""
    if inside():
        enter()
    elif os.geteuid() != 0:
        tun, nft = _needs(topology, daemons)
        reexec(args, tun=tun, nft=nft)
