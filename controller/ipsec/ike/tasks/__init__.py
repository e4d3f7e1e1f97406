"""IKEv2 exchanges as tasks (strongSwan's sa/ikev2/tasks habit).

The initiator calls ``build(sa, request)`` then ``process(sa, response)``; the
responder calls ``process(sa, request)`` then ``build(sa, response)``. A task that
returns :data:`RETRY` from ``process`` on the initiator side is built and sent
again (COOKIE, INVALID_KE_PAYLOAD). Errors are :class:`IkeError`.
"""

from __future__ import annotations

# The base class lives beside the IKE SA that runs its tasks (sa.py imports no task).
from controller.ipsec.ike.sa import Task
from controller.ipsec.ike.state import DONE, RETRY

__all__ = ["DONE", "RETRY", "Task"]
