"""Capture golden vectors from the real peers.

Run as ``cd tests/interop && python -m peers.capture_vectors [peer ...]``.

For each peer a lab is started, tshark records the veth, our speakers run the
same exchange as the interop tests, and every message the peer sent is cut out
of the pcap and written to tests/controller/bgp/wire/vectors/ as a YAML vector:
the hex, the session context, and the decoded object as an evaluable,
ruff-formatted expression. The wire tests then check both directions. Re-run
after a peer upgrade and review the diff.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import tempfile
from pathlib import Path

import yaml

from controller.bgp.wire import CodecContext, Open, Update, decode_message
from controller.bgp.wire.attributes import OriginatorId

from .capture import Capture, bgp_messages
from .daemon import Daemon
from .fixtures import BgpLab, RunningPeer
from .netns import Lab
from .routes import red_loopback_update, vpn_update

VECTORS = Path(__file__).resolve().parents[2] / "controller" / "bgp" / "wire" / "vectors"
FAMILIES = ("ipv4", "ipv6", "vpnv4", "vpnv6")
RUFF = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "ruff"


def pretty(expr: str) -> str:
    proc = subprocess.run(
        [str(RUFF), "format", "--line-length", "88", "--stdin-filename", "v.py", "-"],
        input=f"x = {expr}\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.removeprefix("x = ").rstrip() + "\n"


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so vectors read like the code that made them."""


_LiteralDumper.add_representer(
    str,
    lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None),
)


def vector_name(kind: str, msg: Open | Update, peer_id: str, taken: set[str]) -> str:
    if isinstance(msg, Open):
        base = f"{kind}-open"
    elif msg.end_of_rib is not None:
        base = f"{kind}-update-end-of-rib-{msg.end_of_rib}"
    else:
        fams = sorted({str(f) for f, _ in msg.announced() + msg.withdrawals()}) or ["empty"]
        orig = msg.get(OriginatorId)
        # GoBGP stamps its own router ID as ORIGINATOR_ID on routes it originates.
        how = "originated" if orig is None or str(orig.originator) == peer_id else "reflected"
        base = f"{kind}-update-{'-'.join(fams)}-{how}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    taken.add(name)
    return name


def write_vector(name: str, description: str, source: str, ctx: CodecContext, raw: bytes) -> None:
    msg = decode_message(raw, ctx)
    doc = {
        "description": description,
        "source": source,
        "context": {"four_octet_as": ctx.four_octet_as, "extended_message": ctx.extended_message},
        "hex": "\n".join(raw.hex()[i : i + 64] for i in range(0, len(raw) * 2, 64)) + "\n",
        "object": pretty(repr(msg)),
    }
    path = VECTORS / f"{name}.yaml"
    path.write_text(yaml.dump(doc, Dumper=_LiteralDumper, sort_keys=False, width=100))
    print(f"wrote {path.relative_to(VECTORS.parents[4])}")


def configure(kind: str, daemon: Daemon, lab: Lab) -> None:
    """Routes each peer originates itself, so its own encoding shows up in the capture."""
    if kind == "bird":
        daemon.extra_config += [
            "protocol static s4 {",
            "  vpn4 { table vpntab4; };",
            f"  route 65000:3 10.3.0.0/24 via {lab.us_ips[0]} mpls 300;",
            "}",
        ]
    elif kind == "frr":
        daemon.af_config["vpnv4"] = ["network 10.4.0.0/24 rd 1.2.3.4:4 label 400"]  # type: ignore[attr-defined]


def originate(kind: str, peer: RunningPeer) -> None:
    if kind == "gobgp":
        peer.daemon.add_route(  # type: ignore[attr-defined]
            "vpnv4", "10.2.0.0/24", "label", "200", "rd", "64086.59904:7", "rt", "192.0.2.1:5",
            "nexthop", peer.client_ip(0),
        )  # fmt: skip
        peer.daemon.add_route(  # type: ignore[attr-defined]
            "ipv4", "10.5.0.0/16", "origin", "egp", "med", "20", "community", "65000:5",
            "large-community", "65000:1:2", "nexthop", peer.client_ip(0),
        )  # fmt: skip
    elif kind == "exabgp":
        peer.daemon.api(  # type: ignore[attr-defined]
            "announce route 10.6.0.0/16 next-hop 10.0.0.9 as-path [ 65001 4200000000 ] "
            "community [ 65000:6 no-export ] extended-community [ target:65000:6 ]",
            "announce route 2001:db8:6::/48 next-hop 2001:db8::9 as-path [ 65001 ]",
        )


def capture(kind: str, workdir: Path) -> None:
    lab = BgpLab(workdir)
    cap: Capture | None = None
    try:
        rr = kind != "exabgp"
        peer = lab.start(
            kind,
            families=FAMILIES,
            clients=2 if rr else 1,
            rr=rr,
            configure=lambda d, lb: configure(kind, d, lb),
        )
        pcap = workdir / f"{kind}.pcap"
        cap = Capture(peer.lab.us, peer.lab.veth_us, pcap)
        a = peer.connect(0)
        a.send(red_loopback_update("192.0.2.10", peer.client_ip(0)))
        a.send(vpn_update("10.1.1.0/24", peer.client_ip(0), 100))
        a.send(vpn_update("2001:db8:1::/48", peer.lab.us_ip6s[0], 101))
        b = peer.connect(1) if rr else a
        originate(kind, peer)
        with contextlib.suppress(TimeoutError):  # collect for a while: all of it is kept
            b.wait_update(lambda u: False, timeout=4)
        cap.stop()
        cap = None
        receiver = peer.client_ip(1 if rr else 0)
        frames = bgp_messages(pcap, peer.address, receiver, b.ctx)
        seen: set[bytes] = set()
        taken: set[str] = set()
        for raw in frames:
            msg = decode_message(raw, b.ctx)
            if raw in seen or not isinstance(msg, Open | Update) or msg == Update():
                continue
            seen.add(raw)
            what = "OPEN" if isinstance(msg, Open) else "UPDATE"
            write_vector(
                vector_name(kind, msg, peer.address, taken),
                f"{what} sent by {kind} to a test-side speaker"
                + (" (route reflector)" if rr and isinstance(msg, Update) else ""),
                f"tshark capture on a veth, {kind} {daemon_version(peer.daemon)}",
                b.ctx,
                raw,
            )
    finally:
        if cap is not None:
            cap.stop()
        lab.close()


def daemon_version(d: Daemon) -> str:
    cmd = {
        "gobgp": ["gobgpd", "--version"],
        "bird": ["bird", "--version"],
        "frr": ["/usr/lib/frr/bgpd", "--version"],
        "exabgp": ["exabgp", "--version"],
    }[d.NAME]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    text = (out.stdout + out.stderr).strip().splitlines()
    first = next((t for t in text if any(c.isdigit() for c in t)), "")
    return first.split()[-1] if first else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("peers", nargs="*", default=["gobgp", "bird", "frr", "exabgp"])
    args = parser.parse_args()
    VECTORS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.peers:
            capture(kind, Path(tmp))


if __name__ == "__main__":
    main()
