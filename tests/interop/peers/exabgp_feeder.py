"""ExaBGP API process: relays commands from a FIFO to ExaBGP, logs what ExaBGP reports.

Run by ExaBGP as ``python exabgp_feeder.py <fifo> <events-file>``. Reading stdin
continuously matters: with API acknowledgements on, a feeder that never reads
its stdin stalls ExaBGP (docs/peers.md).
"""

import os
import sys
import threading


def pump_events(path: str) -> None:
    with open(path, "a", buffering=1) as out:
        for line in sys.stdin:
            out.write(line)


def main() -> None:
    fifo, events = sys.argv[1], sys.argv[2]
    threading.Thread(target=pump_events, args=(events,), daemon=True).start()
    while True:
        # Re-open after each writer closes, so the harness can send many batches.
        with open(fifo) as commands:
            for line in commands:
                sys.stdout.write(line)
                sys.stdout.flush()
        if not os.path.exists(fifo):
            return


if __name__ == "__main__":
    main()
