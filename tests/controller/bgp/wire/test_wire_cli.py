"""`sl3vpn bgp-decode`: readable output for good input, one-line errors for bad input."""

import argparse
from pathlib import Path

import pytest
import yaml

from controller import cli
from controller.bgp.wire.cli import add_parser

pytestmark = pytest.mark.unit
VECTORS = Path(__file__).parent / "vectors"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sl3vpn")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["bgp-decode", *argv])
    return int(args.func(args))


def _hex(name: str) -> str:
    return str(yaml.safe_load((VECTORS / name).read_text())["hex"])


def test_registered_as_a_subcommand() -> None:
    assert "controller.bgp.wire.cli" in cli.SUBCOMMAND_MODULES


def test_decodes_a_reflected_vpn_route(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([_hex("bird-update-vpnv4-reflected.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "UPDATE"
    assert "  EXTENDED_COMMUNITIES rt 65000:1" in out
    assert (
        "  TUNNEL_ENCAPSULATION tunnel type 65534: endpoint 198.51.100.7, "
        "security-handle[126] 00001001 (partial)"
    ) in out
    assert "  announce vpnv4 65000:1:10.1.1.0/24 label 100" in out


def test_reads_several_messages_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    stream = _hex("frr-open.yaml") + "\n" + "ff" * 16 + "00 13 04"
    monkeypatch.setattr("sys.stdin", io.StringIO(stream))
    assert _run([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("OPEN version 4 AS 65000 hold 180")
    assert "  multiprotocol vpnv4" in out and out[-1] == "KEEPALIVE"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["zz"], 2, "bgp-decode: input is not hex octets"),
        (["ff" * 16 + "001304ffff"], 1, "bgp-decode: message 2: truncated, 2 octets left over"),
        (
            ["ff" * 16 + "0018020000010000"],
            1,
            "bgp-decode: message 1: UPDATE: total path attribute length 256 overruns the message "
            "(NOTIFICATION 3/1, session-reset)",
        ),
    ],
)
def test_bad_input_gives_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    assert _run(argv) == code
    err = capsys.readouterr().err
    assert err == message + "\n"
