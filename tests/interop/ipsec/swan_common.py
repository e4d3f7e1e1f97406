"""Shared pieces of the strongSwan interop tests: our service and config builders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from swan_netns import SS_IP, US_IP, Topo

from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.config import ChildConfig, Credentials, IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.events import Event
from controller.ipsec.ike.pki import Issued
from controller.ipsec.ike.sa import IkeSa
from controller.ipsec.ike.wire.ts import TrafficSelector

PSK = "interop-secret-0123456789"
IKE_PROPOSAL = "aes128gcm16-prfsha256-x25519"


def our_config(
    psk: bool = True,
    creds: Credentials | None = None,
    remote_id: str | None = SS_IP,
    local_id: str = US_IP,
    ike_proposal: str = IKE_PROPOSAL,
    esp_proposal: str = "aes128gcm16",
    **kw: object,
) -> IkeConfig:
    child = ChildConfig(
        "net",
        [TrafficSelector.subnet("10.10.1.0/24")],
        [TrafficSelector.subnet("10.10.2.0/24")],
        [esp_proposal],
        transport=False,
        lifetimes=Lifetimes(rekey_seconds=None, life_seconds=None),
    )
    cfg = IkeConfig(
        "ss",
        local_id,
        remote_id,
        psk=PSK.encode() if psk else None,
        creds=creds,
        ike_proposals=[ike_proposal],
        children=[child],
        lifetimes=Lifetimes(rekey_seconds=None, life_seconds=None),
        dpd_seconds=None,
        retransmit_base=1.0,
        force_encap=True,
    )
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def swanctl_conf(
    auth: str = "psk",
    extra_conn: str = "",
    extra_child: str = "",
    local_id: str = SS_IP,
    remote_id: str = US_IP,
    certs: str = "",
    ike_proposal: str = IKE_PROPOSAL,
    esp_proposal: str = "aes128gcm16",
    local_ts: str = "10.10.2.0/24",
    remote_ts: str = "10.10.1.0/24",
) -> str:
    secrets = (
        f"secrets {{\n  ike-1 {{\n    id-1 = {US_IP}\n    id-2 = {SS_IP}\n"
        f'    secret = "{PSK}"\n  }}\n}}\n'
    )
    return f"""connections {{
  us {{
    version = 2
    local_addrs = {SS_IP}
    remote_addrs = {US_IP}
    proposals = {ike_proposal}
    encap = yes
    {extra_conn}
    local {{
      auth = {auth}
      id = {local_id}
      {certs}
    }}
    remote {{
      auth = {auth}
      id = {remote_id}
    }}
    children {{
      net {{
        local_ts = {local_ts}
        remote_ts = {remote_ts}
        esp_proposals = {esp_proposal}
        mode = tunnel
        {extra_child}
      }}
    }}
  }}
}}
{secrets if auth == "psk" else ""}"""


def swan_credentials(swan_dir: Path, ca: Issued, mine: Issued, name: str) -> None:
    """charon's certificate, key (``<name>``) and CA, where swanctl looks for them."""
    for sub, file, data in (
        ("x509ca", "ca.pem", ca.cert_pem),
        ("x509", name, mine.cert_pem),
        ("private", name, mine.key_pem),
    ):
        (swan_dir / sub).mkdir(exist_ok=True)
        (swan_dir / sub / file).write_bytes(data)


async def start_service(topo: Topo, cfg: IkeConfig, local_ip: str = US_IP) -> IkeService:
    logs: list[str] = []
    daemon = IkeDaemon([cfg], log=logs.append)
    svc = IkeService(daemon, local_ip)
    svc.logs = logs  # type: ignore[attr-defined]
    svc.charon_log = topo.charon.log_text  # type: ignore[attr-defined]
    socks = {p: topo.us.udp_socket(local_ip, p) for p in (500, 4500)}
    await svc.start(socks)
    return svc


async def wait_event(
    svc: IkeService, want: Callable[[IkeSa, Event], bool], timeout: float = 15
) -> tuple[IkeSa, Event]:
    async def loop() -> tuple[IkeSa, Event]:
        while True:
            sa, ev = await svc.events.get()
            if want(sa, ev):
                return sa, ev

    try:
        return await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        logs = "\n".join(svc.logs[-30:])  # type: ignore[attr-defined]
        charon = svc.charon_log()[-3000:]  # type: ignore[attr-defined]
        raise AssertionError(f"event never came; ours:\n{logs}\ncharon:\n{charon}") from None
