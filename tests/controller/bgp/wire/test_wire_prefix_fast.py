"""The decoder's shortcut for building prefixes gives the objects ``ipaddress`` would."""

from __future__ import annotations

import random
from itertools import islice
from typing import Any

import pytest

from controller.bgp.wire.nlri import prefix

pytestmark = pytest.mark.unit


def _facts(n: Any) -> tuple[object, ...]:
    return (
        n,
        hash(n),
        str(n),
        repr(n),
        n.netmask,
        n.hostmask,
        n.broadcast_address,
        n.num_addresses,
        hash(n.network_address),
        str(n.network_address),
        n.is_private,
        list(islice(n.hosts(), 3)),
    )


def test_the_shortcut_is_in_use_on_this_python() -> None:
    assert prefix._network is prefix._network_fast


@pytest.mark.parametrize("width", [32, 128])
def test_every_prefix_length_builds_the_same_network(width: int) -> None:
    rng = random.Random(width)
    for plen in range(width + 1):
        for _ in range(3):
            full = rng.getrandbits(width) & (((1 << width) - 1) ^ ((1 << (width - plen)) - 1))
            fast = prefix._network_fast(full, plen, width)
            slow = prefix._network_slow(full, plen, width)
            # a subclass that keeps its hash (see prefix._HashOnce): the same in every
            # other respect, and interchangeable with the plain one as a key
            assert isinstance(fast, type(slow))
            assert _facts(fast) == _facts(slow)
            assert {slow: 1}.get(fast) == 1 and {fast: 1}.get(slow) == 1
            assert fast.supernet() == slow.supernet() if plen else fast == slow
