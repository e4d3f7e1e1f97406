"""Checking cases in worker processes, so a hang or a crash costs one case.

A worker checks one case at a time; one that takes longer than the timeout is
killed and replaced, and the case counts as an internal error (p4sim must
answer, right or wrong, for every program of the corpus).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait

from targets.p4sim.corpus.cases import Case
from targets.p4sim.corpus.checks import Outcome, check

MEMORY_LIMIT = 3 << 30  # address space per worker: a runaway case fails alone


def _serve(conn: Connection) -> None:
    os.nice(10)  # the machine is shared; the corpus is a background chore
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    while True:
        case = conn.recv()
        if case is None:
            return
        conn.send(check(case))


class _Worker:
    def __init__(self, ctx: mp.context.BaseContext) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)  # type: ignore[attr-defined]
        self.proc.start()
        child.close()
        self.case: Case | None = None
        self.started = 0.0

    def give(self, case: Case) -> None:
        self.case, self.started = case, time.monotonic()
        self.conn.send(case)

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            with contextlib.suppress(OSError):  # a worker that died already
                self.conn.send(None)
        self.proc.join(5)
        self.conn.close()


def run_cases(
    cases: Iterable[Case], jobs: int = 1, timeout: float = 120.0
) -> Iterator[tuple[Case, Outcome]]:
    """Check every case; yields (case, outcome) as they finish."""
    # Workers come from a fork server, not by forking this process: the caller may
    # run threads (a test session's gRPC servers), and Python 3.12 warns that
    # forking a multi-threaded process can deadlock the child.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["targets.p4sim.corpus.checks"])
    todo = list(cases)
    todo.reverse()
    workers = [_Worker(ctx) for _ in range(max(1, min(jobs, len(todo))))]
    try:
        for w in workers:
            if todo:
                w.give(todo.pop())
        while any(w.case for w in workers):
            busy = [w for w in workers if w.case]
            ready = wait([w.conn for w in busy], timeout=1.0)
            now = time.monotonic()
            for i, w in enumerate(workers):
                if w.case is None:
                    continue
                case = w.case
                if w.conn in ready:
                    try:
                        outcome = w.conn.recv()
                    except EOFError:  # the worker died (a signal, the memory limit)
                        outcome = Outcome("internal", f"worker died ({w.proc.exitcode})")
                        w.stop(kill=True)
                        w = workers[i] = _Worker(ctx)
                elif now - w.started > timeout:
                    outcome = Outcome("internal", f"timeout after {timeout:.0f} s")
                    w.stop(kill=True)
                    w = workers[i] = _Worker(ctx)
                else:
                    continue
                w.case = None
                if todo:
                    w.give(todo.pop())
                yield case, outcome
    finally:
        for w in workers:
            w.stop(kill=w.case is not None)
