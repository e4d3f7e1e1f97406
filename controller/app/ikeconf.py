"""IKE settings for each peer, from the daemon configuration (RFC 7296; draft section 5).

Every peer gets the MPLS-in-IP CHILD_SA the tunnel manager adds (transport mode
between black loopbacks, RFC 4023 8.1). A red BGP neighbour also gets the
control CHILD_SA ``bgp``, shaped by ``ike.control_sa.mode``:

* ``transport`` (default; draft 3.2 RECOMMENDED): the BGP session runs between
  the two black loopbacks, which are also the SA's endpoints; selectors are TCP
  between them. Nothing red appears in any header, only inside ESP.
* ``tunnel``: the BGP session runs between the red loopbacks (never routable on
  the black side, draft 3.1), so the SA carries them in tunnel mode between the
  black loopbacks. For peers that only do tunnel mode (strongSwan with
  kernel-libipsec, /work/shared/docs/peers.md).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from controller.config import Config
from controller.ipsec.ike.config import ChildConfig, Credentials, IkeConfig, Lifetimes
from controller.ipsec.tunnels import bgp_child, mpls_child

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NoPeerKey(ValueError):
    """Per-peer PSKs without a group key, and none for this peer: no SA can be made."""


def child_lifetimes(cfg: Config) -> Lifetimes:
    lt = cfg.ike.lifetimes if cfg.ike is not None else None
    if lt is None:
        return Lifetimes()
    return Lifetimes(
        float(lt.child_rekey),
        float(lt.child_life),
        rekey_bytes=lt.child_rekey_bytes,
        rekey_packets=lt.child_rekey_packets,
    )


def control_transport(cfg: Config) -> bool:
    """True when red BGP sessions run between black loopbacks in transport mode."""
    return cfg.ike is None or cfg.ike.control_sa.mode == "transport"


def control_child(
    cfg: Config, local_red: IPAddress, peer_red: IPAddress, local_black: str, peer_black: str
) -> ChildConfig:
    """The ``bgp`` CHILD_SA to one red neighbour (see the module docstring for the modes)."""
    assert cfg.ike is not None
    transport = control_transport(cfg)
    local, peer = (local_black, peer_black) if transport else (str(local_red), str(peer_red))
    return bgp_child(
        local,
        peer,
        child_lifetimes(cfg),
        transport=transport,
        esp_proposals=list(cfg.ike.esp_proposals),
    )


def der_file(path: Path) -> bytes:
    """A certificate file, PEM or DER, as DER."""
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return data


def credentials(cfg: Config, base: Path) -> Credentials | None:
    """Certificate authentication (RFC 7427): our certificate, our key, the CAs we trust.

    With certificates the peer's identity must be its black address (the
    certificate's subjectAltName), which is what ``remote_id`` says below.
    """
    ike = cfg.ike
    if ike is None or ike.auth.certificates is None:
        return None
    certs = ike.auth.certificates

    def where(name: str) -> Path:
        return Path(name) if Path(name).is_absolute() else base / name

    return Credentials(
        der_file(where(certs.cert)),
        certs.key.reveal(),
        [der_file(where(ca)) for ca in certs.ca],
    )


def make_ike_config(
    cfg: Config,
    peer_black: str,
    control_peers: dict[str, IPAddress],
    creds: Credentials | None = None,
    local_black: str | None = None,
) -> IkeConfig:
    """The IKE config for one peer (called by the tunnel manager with its black address).

    ``local_black`` is our black loopback now (after a move); the IKE identity stays
    the configured one, which a certificate names and peers expect.
    """
    ike = cfg.ike
    assert ike is not None
    black = local_black or cfg.loopbacks.black
    local_id = ike.local_id or str(cfg.loopbacks.black)
    # The MPLS CHILD_SA carries the configured lifetimes too (the tunnel manager would
    # otherwise add it with the library default, and it would never rekey as configured);
    # per-tenant MPLS CHILD_SAs copy them from this one.
    children = [mpls_child(str(black), peer_black, lifetimes=child_lifetimes(cfg))]
    red = cfg.loopbacks.red
    if peer_black in control_peers and red is not None:
        children.append(control_child(cfg, red, control_peers[peer_black], str(black), peer_black))
    psk = ike.auth.psk_for(peer_black)
    if psk is None and creds is None:
        raise NoPeerKey(f"no IKE key for peer {peer_black}: not in ike.auth.peer_psks, no psk")
    # A C-PE learnt from BGP (not a configured neighbour) may have a name of its own
    # rather than its black address as identity: then any our CAs vouch for that
    # matches ike.auth.certificates.peer_identities.
    certs = ike.auth.certificates
    patterns = tuple(certs.peer_identities or ()) if certs is not None else ()
    by_name = creds is not None and bool(patterns) and peer_black not in control_peers
    return IkeConfig(
        f"cpe-{peer_black}",
        local_id,
        None if by_name else peer_black,
        remote_patterns=patterns if by_name else (),
        psk=psk.reveal() if psk is not None else None,
        creds=creds,
        ike_proposals=list(ike.ike_proposals),
        children=children,
        lifetimes=Lifetimes(float(ike.lifetimes.ike_rekey), float(ike.lifetimes.ike_life)),
        dpd_seconds=float(ike.dpd) if ike.dpd else None,
        force_encap=ike.nat_traversal.force_encap,
        nat_keepalive=float(ike.nat_traversal.keepalive),
        # with NAT traversal a peer may come from its NAT's address: identity decides
        any_address=ike.nat_traversal.enabled,
    )
