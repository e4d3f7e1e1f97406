"""A running target made into a ``Cpe``: P4Runtime session, pipeline, dataplane, engine.

The packet suite opens one per session (``conftest.py``); the differential
test opens one on each of two targets at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from bmv2_tests.lib.cpe import DATA_PORTS, Cpe
from bmv2_tests.lib.crypto_port import CryptoPortEngine
from bmv2_tests.lib.dataplane import Dataplane
from bmv2_tests.lib.runtime import SyncP4Runtime
from bmv2_tests.lib.target import CRYPTO_PORT, DEVICE_ID, RunningTarget, start_target


@contextlib.contextmanager
def cpe_session(target: RunningTarget) -> Iterator[Cpe]:
    """Connect as primary, push the C-PE pipeline, attach PTF and the ESP engine."""
    sw = SyncP4Runtime(target.grpc_address, device_id=DEVICE_ID)
    dp: Dataplane | None = None
    crypto: CryptoPortEngine | None = None
    try:
        sw.connect()
        sw.set_pipeline(target.p4info, target.device_config)
        dp = Dataplane(target.nn_address, [*DATA_PORTS, CRYPTO_PORT], watch=DATA_PORTS)
        crypto = CryptoPortEngine(dp, CRYPTO_PORT)
        yield Cpe(sw, dp, crypto)
    finally:
        if crypto is not None:
            crypto.stop()
        if dp is not None:
            dp.close()
        sw.close()


def start_kind(kind: str, workdir: Path) -> RunningTarget:
    """Start a target of the given kind whatever SL3VPN_TARGET says.

    ``start_target`` takes its kind from the environment only; this sets it for
    the call and puts the caller's value back. BMv2 runs cpe.p4 whatever
    SL3VPN_PROGRAM says (it has no TNA), so with ``tna`` a BMv2 twin is the
    v1model reference for the TNA program on p4sim (same names, same frames).
    """
    old = os.environ.get("SL3VPN_TARGET")
    os.environ["SL3VPN_TARGET"] = kind
    try:
        return start_target(workdir, "v1model" if kind == "bmv2" else None)
    finally:
        if old is None:
            del os.environ["SL3VPN_TARGET"]
        else:
            os.environ["SL3VPN_TARGET"] = old
