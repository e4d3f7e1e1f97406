"""Start a child as a terminal's foreground command would, for tests that press Ctrl-C.

A process started with SIGINT ignored keeps it ignored across exec, and Python then
installs no KeyboardInterrupt handler: a test runner launched as a background job of
a non-interactive shell (`make test &`, as CI scripts do) passes that on to every
command it starts, and a SIGINT the test sends is silently dropped. Such tests give
their child the default disposition back, as an interactive shell does for the
foreground job that Ctrl-C reaches.
"""

import signal


def sigint_default() -> None:
    """``preexec_fn`` for subprocess: SIGINT at its default in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
