import argparse
import os
from pathlib import Path

import pytest

from controller import demo
from controller.lab import cli, lab, userns

pytestmark = pytest.mark.unit


@pytest.fixture
def no_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not root, and re-executing would replace the test process: make that an error."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.delenv(userns.ENV, raising=False)

    def refuse(*_a: object) -> None:
        raise AssertionError("re-executed although the user namespace cannot work")

    monkeypatch.setattr(os, "execvpe", refuse)


def _proc_sys(tmp_path: Path, **values: int) -> Path:
    for name, value in values.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    return tmp_path


def test_lab_up_library_call_without_root_says_what_is_missing(no_exec: None) -> None:
    with pytest.raises(lab.LabError, match=r"needs root \(CAP_NET_ADMIN.*private user namespace"):
        lab.up("examples/lab-default.yml", "never")


@pytest.mark.parametrize(
    ("sysctl", "value", "said"),
    [
        ("kernel__unprivileged_userns_clone", 0, "kernel.unprivileged_userns_clone = 0"),
        ("user__max_user_namespaces", 0, "user.max_user_namespaces = 0"),
        ("kernel__apparmor_restrict_unprivileged_userns", 1, "AppArmor restricts"),
    ],
)
def test_disabled_user_namespaces_are_named(tmp_path: Path, sysctl: str, value: int,
                                            said: str) -> None:  # fmt: skip
    found = userns.problems(proc_sys=_proc_sys(tmp_path, **{sysctl: value}))
    assert len(found) == 1 and said in found[0]


def test_allowed_sysctls_are_no_problem(tmp_path: Path) -> None:
    root = _proc_sys(tmp_path, kernel__unprivileged_userns_clone=1, user__max_user_namespaces=9)
    assert userns.problems(proc_sys=root) == []


def test_missing_binaries_nft_and_tun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    monkeypatch.setattr(os, "access", lambda *_a: False)
    found = userns.problems(tun=True, nft=True, proc_sys=tmp_path)
    text = "; ".join(found)
    for what in ("`unshare`", "`ip`", "`mount`", "nftables", "/dev/net/tun"):
        assert what in text
    assert len(found) == 5
    assert userns.problems(proc_sys=tmp_path) == found[:3]  # static, no NAT: no TAP, no nft


def test_demo_not_root_and_no_userns_is_one_line(
    no_exec: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(userns, "PROC_SYS", _proc_sys(tmp_path, user__max_user_namespaces=0))
    args = argparse.Namespace(topology=str(demo.TOPOLOGY), keep=False, static=True)
    assert demo.run(args) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        "sl3vpn demo: not root, and the unprivileged lab (user + network namespace) cannot run "
        "here: user namespaces are disabled (user.max_user_namespaces = 0)"
    ]


def test_lab_up_reports_what_the_kernel_said(
    no_exec: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(userns, "PROC_SYS", tmp_path)
    fail = "echo 'unshare: unshare failed: Operation not permitted' >&2; exit 1"
    monkeypatch.setattr(userns, "UNSHARE", ["sh", "-c", fail, "sh"])
    args = argparse.Namespace(topology="examples/lab-default.yml", prefix=None, timeout=1.0,
                              daemons=False)  # fmt: skip
    assert cli.run_up(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].endswith("cannot create a user namespace: unshare: unshare failed: "
                           "Operation not permitted")  # fmt: skip


def test_status_from_outside_says_it_cannot_see_an_unprivileged_lab(
    no_exec: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("SL3VPN_LAB_RUN", str(tmp_path / "none"))
    assert cli.run_status(argparse.Namespace(prefix=None, json=False)) == 1
    assert "lives in its own namespaces" in capsys.readouterr().err


def test_the_variable_alone_does_not_make_root_think_it_is_inside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(userns.ENV, "1")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    if Path("/proc/self/uid_map").read_text().split()[:3] != ["0", "0", "4294967295"]:
        pytest.skip("this test process itself runs in a user namespace")
    assert not userns.inside()
