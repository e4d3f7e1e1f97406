"""The ESP engine process died and a fresh one took its place: refill it from the SA database.

The SA database still knows every SA pair it had installed (indexes, SPIs, peers,
and the negotiated keys of the CHILD_SAs this daemon set up), so the pipeline's
entries stay valid if each pair comes back at the same SA indexes:

* inbound SAs get their real keys back, so the peers' traffic, which never
  stopped, decrypts again at once. Their replay windows start empty: packets
  recorded earlier under those SAs could be accepted once more, until the rekey
  below replaces the SAs (seconds); that is the price of not cutting every tunnel.
* outbound SAs never get their real keys back: the dead engine's sequence
  numbers are lost, and the GCM IV is the sequence number (RFC 4106 3.1), so
  starting again at 1 under the same key would reuse nonces. They are installed
  with random keys instead (what they send is dropped by the peer), only so that
  the indexes exist for the switch-over of the rekey and for the deletes to come.
* every CHILD_SA carrying a tunnel is then rekeyed (RFC 7296 2.8), exactly as on
  a soft expiry: the new pair carries the traffic from the outbound switch on.

Pairs inherited from a previous daemon carry no keys here: both directions are
placeholders, and they are being replaced already (``EngineLink.hand_over``).
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import TYPE_CHECKING

from controller.ipsec.ike.child import ChildSa
from controller.ipsec.inherit import label_for
from controller.ipsec.installer import CipherSuite, Direction, Mode, SaKeys, SaParams, UdpEncap
from controller.ipsec.sa_pairs import Installed, pair_params

if TYPE_CHECKING:
    from controller.ipsec.sad import SaDatabase


def _random_keys(suite: CipherSuite) -> SaKeys:
    return SaKeys(
        secrets.token_bytes(suite.enc_key_len),
        secrets.token_bytes(suite.salt_len),
        secrets.token_bytes(suite.auth_key_len),
    )


def _placeholders(db: SaDatabase, inst: Installed) -> tuple[SaParams, SaParams]:
    """A pair at ``inst``'s indexes and SPIs that decrypts and encrypts nothing of value."""
    suite = CipherSuite.AES_GCM_16_128
    inbound = SaParams(
        Direction.INBOUND, inst.child.spi_in, inst.in_index, db.local, inst.remote, suite,
        _random_keys(suite), Mode.TRANSPORT if inst.child.transport else Mode.TUNNEL,
        UdpEncap(4500, inst.remote_port) if inst.child.encap else None,
    )  # fmt: skip
    outbound = dataclasses.replace(
        inbound, direction=Direction.OUTBOUND, spi=inst.child.spi_out, sa_index=inst.out_index
    )
    return inbound, outbound


def refill(db: SaDatabase) -> list[int]:
    """Install every SA pair of ``db`` in the (fresh) engine; return the inbound SPIs of
    the CHILD_SAs now carrying a tunnel, which the caller must rekey."""
    rekey: list[int] = []
    for inst in db.installed():
        child = inst.child
        if isinstance(child, ChildSa):
            inbound, real_out = pair_params(child, inst, db.local)
            outbound = dataclasses.replace(real_out, keys=_random_keys(real_out.suite))
        else:
            inbound, outbound = _placeholders(db, inst)
        db._add(inbound, label_for(inst.peer, inst.tenant, child.name, inst.out_index))
        db._add(outbound, label_for(inst.peer, inst.tenant, child.name, inst.in_index))
        if isinstance(child, ChildSa) and db.tunnels.get(inst.key) is inst:
            rekey.append(child.spi_in)
    for inst in db.installed():  # rekeys' old outbound SAs: aliases of the current one again
        current = db.tunnels.get(inst.key)
        if inst.out_index in db._retired and current is not None and current is not inst:
            db.installer.switch_outbound(inst.out_index, current.out_index)
    db.log(f"SAD: {len(db.installed())} SA pairs put back in a new ESP engine")
    return rekey
