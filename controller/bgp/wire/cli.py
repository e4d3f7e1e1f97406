"""`sl3vpn bgp-decode`: decode BGP messages given as hex (e.g. copied from tshark)."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bgp-decode",
        help="decode BGP messages from hex (argument or stdin) and print them",
        description="Decode one or more concatenated BGP messages (marker included) given as "
        "hex; spaces, colons and newlines are ignored. Exit 1 on a protocol error.",
    )
    p.add_argument("hex", nargs="?", help="hex octets; read stdin when omitted")
    p.add_argument(
        "--two-octet-as", action="store_true", help="session without the 4-octet AS capability"
    )
    p.add_argument(
        "--extended-message", action="store_true", help="allow RFC 8654 messages up to 65535"
    )
    p.set_defaults(func=run)


def _read_stdin() -> str:
    """stdin as text; read as bytes so a stray non-UTF-8 byte is "not hex", not a traceback."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # a text stream without bytes underneath (tests, embedding)
        return sys.stdin.read()
    return bytes(raw.read()).decode("ascii", "replace")


def run(args: argparse.Namespace) -> int:
    from controller.bgp.wire import BgpError, CodecContext, FrameReader, decode_message
    from controller.bgp.wire.describe import describe

    text = args.hex if args.hex is not None else _read_stdin()
    cleaned = "".join(text.replace(":", " ").split())
    try:
        data = bytes.fromhex(cleaned)
    except ValueError:
        print("bgp-decode: input is not hex octets", file=sys.stderr)
        return 2
    ctx = CodecContext(four_octet_as=not args.two_octet_as, extended_message=args.extended_message)
    reader = FrameReader(ctx)
    reader.feed(data)
    index = 1  # of the message being decoded, for the error line
    try:
        while (frame := reader.next_frame()) is not None:
            for line in describe(decode_message(frame, ctx)):
                print(line)
            index += 1
    except BgpError as exc:
        print(f"bgp-decode: message {index}: {exc}", file=sys.stderr)
        return 1
    if reader.buffered:
        print(
            f"bgp-decode: message {index}: truncated, {reader.buffered} octets left over",
            file=sys.stderr,
        )
        return 1
    return 0
