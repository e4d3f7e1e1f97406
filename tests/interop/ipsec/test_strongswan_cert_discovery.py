"""Draft 3.2 auto-discovery against strongSwan: we answer as a route reflector that was
told nothing about the C-PE (only our CA and ``*.cpe.example``); strongSwan plays a
C-PE whose certificate names its FQDN identity and binds its red loopback.

Also covers the signature schemes strongSwan uses with such certificates: Ed25519,
RSASSA-PSS (``auth = rsa/pss-sha256``) and ECDSA, each verified by us, ours by it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from swan_common import our_config, start_service, swan_credentials, swanctl_conf, wait_event
from swan_netns import Topo

from controller.ipsec.ike import peerid
from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.config import Credentials
from controller.ipsec.ike.events import ChildUp
from controller.ipsec.ike.pki import issue, make_ca
from controller.ipsec.ike.sa import IkeSa

pytestmark = [pytest.mark.interop]
RR_ID, RED = "rr1.example.net", "10.255.0.5"


async def _discover(
    topo: Topo, tmp_path: Path, ident: str, kind: str, auth: str, ours: str
) -> tuple[list[list[str]], IkeService]:
    """strongSwan (ident, key kind, its auth constraint) initiates to our pattern-only
    responder (key kind ``ours``); returns the red loopbacks our hook saw, and the service."""
    ca = make_ca("discovery CA", "ecdsa256")
    cpe = issue(ca, ident, kind, red_loopbacks=(RED,))
    swan_credentials(tmp_path, ca, cpe, "cpe.pem")
    await topo.charon.load(
        swanctl_conf(auth, local_id=ident, remote_id=RR_ID, certs="certs = cpe.pem")
        .replace(f"auth = {auth}\n      id = {RR_ID}", f"auth = pubkey\n      id = {RR_ID}")
    )  # fmt: skip
    mine = issue(ca, RR_ID, ours)
    cfg = our_config(psk=False, creds=Credentials(mine.cert_der, mine.key_pem, [ca.cert_der]),
                     local_id=RR_ID, remote_id=None)  # fmt: skip
    cfg.remote_patterns = ("*.cpe.example",)
    seen: list[list[str]] = []

    def hook(sa: IkeSa) -> None:
        assert isinstance(sa.peer_cert, x509.Certificate)
        seen.append([str(a) for a in peerid.red_loopbacks(sa.peer_cert)])

    svc = await start_service(topo, cfg)
    svc.daemon.on_authenticated = hook
    return seen, svc


@pytest.mark.parametrize(
    ("kind", "auth", "ours", "scheme"),
    [
        ("ed25519", "pubkey", "ecdsa256", "ED25519"),
        ("rsa", "rsa/pss-sha256", "ed25519", "RSA_EMSA_PSS"),
        ("ecdsa256", "pubkey", "rsa", "ECDSA_WITH_SHA256_DER"),
    ],
    ids=["ed25519", "rsa-pss", "ecdsa"],
)
async def test_rr_discovers_a_strongswan_cpe(
    topo: Topo, tmp_path: Path, kind: str, auth: str, ours: str, scheme: str
) -> None:
    ident = "cpe5.cpe.example"
    seen, svc = await _discover(topo, tmp_path, ident, kind, auth, ours)
    try:
        await topo.charon.swanctl("--initiate", "--child", "net", "--timeout", "10")
        sa, _up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert sa.remote_id == ident and sa.cfg.remote_id is None
        assert seen == [[RED]]  # the binding came from strongSwan's certificate
        log = topo.charon.log_text()
        assert f"authentication of '{RR_ID}' with" in log  # strongSwan verified us
        # what strongSwan signed with is what we verified
        assert f"authentication of '{ident}' (myself) with {scheme}" in log, log[-3000:]
    finally:
        await svc.stop()


async def test_rr_refuses_a_cpe_outside_its_pattern(topo: Topo, tmp_path: Path) -> None:
    ident = "cpe5.elsewhere.example"
    seen, svc = await _discover(topo, tmp_path, ident, "ecdsa256", "pubkey", "ecdsa256")
    try:
        with pytest.raises(RuntimeError):
            await topo.charon.swanctl("--initiate", "--child", "net", "--timeout", "10")
        log = topo.charon.log_text()
        assert "received AUTHENTICATION_FAILED notify error" in log, log[-3000:]
        assert seen == []
        why = f"identity {ident} matches none of the allowed *.cpe.example"
        assert any(why in line for line in svc.logs), svc.logs  # type: ignore[attr-defined]
    finally:
        await svc.stop()
