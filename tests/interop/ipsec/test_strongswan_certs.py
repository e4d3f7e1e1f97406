"""RFC 7427 certificate authentication against strongSwan, RSA and ECDSA, both roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from swan_common import our_config, start_service, swan_credentials, swanctl_conf, wait_event
from swan_netns import SS_IP, Topo

from controller.ipsec.ike.config import Credentials
from controller.ipsec.ike.events import ChildUp
from controller.ipsec.ike.pki import issue, make_ca
from controller.ipsec.ike.sa import IkeState

pytestmark = [pytest.mark.interop]
US_ID, SS_ID = "us.example.net", "ss.example.net"


@pytest.mark.parametrize(
    ("ours", "theirs", "we_initiate", "fragment_size"),
    [("rsa", "ecdsa256", True, 400), ("ecdsa256", "rsa", False, None)],
    ids=["rsa-initiator-fragmented", "ecdsa-responder"],
)
async def test_strongswan_certificates(
    topo: Topo, tmp_path: Path, ours: str, theirs: str, we_initiate: bool, fragment_size: int | None
) -> None:
    ca = make_ca("interop CA", "ecdsa384")
    mine, peer = issue(ca, US_ID, ours), issue(ca, SS_ID, theirs)
    swan_credentials(tmp_path, ca, peer, "ss.pem")
    await topo.charon.load(
        swanctl_conf("pubkey", local_id=SS_ID, remote_id=US_ID, certs="certs = ss.pem")
    )
    creds = Credentials(mine.cert_der, mine.key_pem, [ca.cert_der])
    svc = await start_service(
        topo,
        our_config(
            psk=False, creds=creds, local_id=US_ID, remote_id=SS_ID, fragment_size=fragment_size
        ),
    )
    try:
        if we_initiate:
            svc.initiate("ss", SS_IP)
        else:
            await topo.charon.swanctl("--initiate", "--child", "net", "--timeout", "10")
        sa, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert sa.state == IkeState.ESTABLISHED and sa.remote_id == SS_ID
        log = topo.charon.log_text()
        # strongSwan names the RFC 7427 scheme it verified our AUTH with
        scheme = "RSA_EMSA_PKCS1_SHA2_256" if ours == "rsa" else "ECDSA_WITH_SHA256_DER"
        assert f"authentication of '{US_ID}' with {scheme} successful" in log
        await topo.charon.wait_for(f"in  {up.child.spi_out:08x}")  # type: ignore[union-attr]
        if fragment_size:  # our IKE_AUTH (with an RSA certificate) went as RFC 7383 fragments
            assert "received fragment #1 of" in log and "reassembled fragmented IKE message" in log
    finally:
        await svc.stop()
