"""pytest fixtures: start a real BGP daemon in a lab and attach test-side speakers to it.

Use from a conftest with ``from peers.fixtures import bgp_lab  # noqa: F401``::

    def test_gobgp_something(bgp_lab):
        peer = bgp_lab.start("gobgp", families=("ipv4", "vpnv4"), rr_clients=2)
        a, b = peer.connect(0), peer.connect(1)

Everything started is stopped by PID and the namespaces are deleted when the
test ends, pass or fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from controller.bgp.wire import (
    AFI_IPV4,
    AFI_IPV6,
    SAFI_MPLS_VPN,
    SAFI_UNICAST,
    Capability,
    Family,
)
from controller.bgp.wire.constants import RTC

from .bird import Bird
from .daemon import Daemon, Neighbor, PeerSpec, require_binaries
from .exabgp import ExaBgp
from .frr import FrrBgpd
from .gobgp import GoBgp
from .netns import Lab, make_lab
from .rawbgp import RawSpeaker

DAEMONS: dict[str, type[Daemon]] = {"gobgp": GoBgp, "bird": Bird, "frr": FrrBgpd, "exabgp": ExaBgp}
WIRE_FAMILY = {
    "ipv4": Family(AFI_IPV4, SAFI_UNICAST),
    "ipv6": Family(AFI_IPV6, SAFI_UNICAST),
    "vpnv4": Family(AFI_IPV4, SAFI_MPLS_VPN),
    "vpnv6": Family(AFI_IPV6, SAFI_MPLS_VPN),
    "rtc": RTC,
}


@dataclass
class RunningPeer:
    """A daemon in its lab, plus the test-side speakers connected to it."""

    lab: Lab
    daemon: Daemon
    asn: int
    families: tuple[str, ...]
    ipv6_transport: bool = False
    speakers: list[RawSpeaker] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The daemon's session address."""
        return self.lab.peer_ip6 if self.ipv6_transport else self.lab.peer_ip

    def client_ip(self, index: int) -> str:
        """Session address of test-side speaker ``index``."""
        return (self.lab.us_ip6s if self.ipv6_transport else self.lab.us_ips)[index]

    def connect(
        self,
        index: int,
        families: tuple[str, ...] | None = None,
        *,
        four_octet: bool = True,
        extra: tuple[Capability, ...] = (),
    ) -> RawSpeaker:
        """Open a session from test-side address ``index`` and finish the OPEN exchange."""
        ip = self.client_ip(index)
        sock = self.lab.us.tcp_connect(ip, self.address, 179)
        fams = tuple(WIRE_FAMILY[f] for f in (families or self.families))
        # The BGP identifier is always an IPv4 address: the speaker's IPv4 one.
        speaker = RawSpeaker(sock, self.asn, self.lab.us_ips[index], fams)
        self.speakers.append(speaker)
        speaker.establish(extra, four_octet=four_octet)
        self.daemon.wait_established(ip)
        return speaker


class BgpLab:
    """Factory handed to tests by the ``bgp_lab`` fixture."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[RunningPeer] = []
        self._labs: list[Lab] = []

    def start(
        self,
        kind: str,
        *,
        asn: int = 65000,
        families: tuple[str, ...] = ("ipv4", "vpnv4"),
        clients: int = 2,
        rr: bool = True,
        client_asn: int | None = None,
        configure: Callable[[Daemon, Lab], None] | None = None,
        ipv6_transport: bool = False,
    ) -> RunningPeer:
        """Start ``kind`` (gobgp, bird, frr, exabgp) with ``clients`` test-side neighbors.

        ``configure(daemon, lab)`` runs before the daemon starts, to add config
        (``Daemon.extra_config``, ``FrrBgpd.af_config``) that needs lab addresses.
        ``ipv6_transport`` puts the sessions on the lab's IPv6 addresses.
        """
        cls = DAEMONS[kind]
        require_binaries(*cls.BINARIES)
        lab = make_lab(kind, n_us=max(clients, 1))
        self._labs.append(lab)
        client_ips = lab.us_ip6s if ipv6_transport else lab.us_ips
        neighbors = [
            Neighbor(ip, client_asn or asn, families, rr_client=rr) for ip in client_ips[:clients]
        ]
        spec = PeerSpec(
            asn, lab.peer_ip, lab.peer_ip, neighbors, cluster_id=lab.peer_ip, address6=lab.peer_ip6
        )
        daemon = cls(lab.peer, spec, self.workdir / lab.tag)
        peer = RunningPeer(lab, daemon, client_asn or asn, families, ipv6_transport=ipv6_transport)
        self.running.append(peer)
        if configure is not None:
            configure(daemon, lab)
        daemon.start()
        return peer

    def close(self) -> None:
        """Stop everything; a failure stopping one part never leaves a namespace behind."""
        try:
            for peer in self.running:
                try:
                    for s in peer.speakers:
                        s.close()
                finally:
                    peer.daemon.stop()
        finally:
            for lab in self._labs:
                lab.close()


@pytest.fixture
def bgp_lab(tmp_path: Path) -> Iterator[BgpLab]:
    lab = BgpLab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()
