"""Feature helpers: the C-PE's switch state in the words of the draft.

Each ``set_up_*`` writes the table entries one feature needs over P4Runtime
(names only, never ids) and, for tunnels, installs the SAs into the ESP
engine on the crypto port and returns scapy's independent SAs for the peer.
Drop and punt reasons are read from ``p4src/include/defines.p4`` so the tests
follow the program.
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from dataclasses import dataclass, field

from scapy.layers.ipsec import ESP, SecurityAssociation

from bmv2_tests.lib.crypto_port import CryptoPortEngine
from bmv2_tests.lib.dataplane import Dataplane
from bmv2_tests.lib.runtime import SyncP4Runtime
from bmv2_tests.lib.target import REPO
from controller.ipsec.installer import CipherSuite, Direction, Mode, SaKeys, SaParams, UdpEncap
from controller.p4rt import TableEntry

DEFINES = (REPO / "p4src" / "include" / "defines.p4").read_text()


def _reasons(prefix: str) -> dict[str, int]:
    pat = re.compile(rf"const bit<8> {prefix}_([A-Z0-9_]+) = (\d+);")
    return {name: int(value) for name, value in pat.findall(DEFINES)}


DROP = _reasons("DROP")
PUNT = _reasons("PUNT")

# Test topology.
RED_A1, RED_A2, RED_B, TRUNK, BLACK = 1, 2, 3, 4, 5
DATA_PORTS = [RED_A1, RED_A2, RED_B, TRUNK, BLACK]
VRF_A, VRF_B = 10, 20
VLAN_A, VLAN_B = 100, 200


def router_mac(port: int) -> str:
    return f"02:00:00:00:00:{port:02x}"


def host_mac(port: int, host: int = 1) -> str:
    return f"02:aa:00:00:{port:02x}:{host:02x}"


BLACK_GW_MAC = "02:bb:00:00:00:01"


@dataclass(frozen=True)
class Family:
    """Addresses for one IP version: the black plan and a tenant plan."""

    version: int
    our_loopback: str
    peer_loopback: str
    our_black_if: str
    black_default: str
    tenant_net1: str  # behind RED_A1 (VRF A) and RED_B (VRF B): the same addresses
    tenant_host1: str
    tenant_net2: str  # behind RED_A2 (VRF A) and TRUNK VLAN B (VRF B)
    tenant_host2: str
    remote_net: str  # behind the peer C-PE
    remote_host: str
    our_red_addr: str  # the C-PE's own red interface address
    red_loopback: str  # our red loopback: red BGP to the RR runs from it
    rr_red: str  # the red route reflector's address, inside its control SA (tunnel mode)
    rr_black: str  # the RR's black loopback: its control SA's end, and in transport mode its BGP


V4 = Family(
    4,
    our_loopback="192.0.2.1",
    peer_loopback="198.51.100.2",
    our_black_if="203.0.113.1",
    black_default="0.0.0.0/0",
    tenant_net1="10.1.1.0/24",
    tenant_host1="10.1.1.2",
    tenant_net2="10.1.2.0/24",
    tenant_host2="10.1.2.2",
    remote_net="10.9.0.0/16",
    remote_host="10.9.0.7",
    our_red_addr="10.1.1.1",
    red_loopback="10.255.0.2",
    rr_red="10.255.0.1",
    rr_black="198.51.100.9",
)
V6 = Family(
    6,
    our_loopback="2001:db8::1",
    peer_loopback="2001:db8:2::2",
    our_black_if="2001:db8:ff::1",
    black_default="::/0",
    tenant_net1="2001:db8:a:1::/64",
    tenant_host1="2001:db8:a:1::2",
    tenant_net2="2001:db8:a:2::/64",
    tenant_host2="2001:db8:a:2::2",
    remote_net="2001:db8:a:9::/64",
    remote_host="2001:db8:a:9::7",
    our_red_addr="2001:db8:a:1::1",
    red_loopback="2001:db8:ff00::2",
    rr_red="2001:db8:ff00::1",
    rr_black="2001:db8:9::9",
)
FAMILIES = {4: V4, 6: V6}


def fib(version: int) -> str:
    return "vrf_fib_v4" if version == 4 else "vrf_fib_v6"


def dst_key(version: int) -> str:
    return "ipv4_dst" if version == 4 else "ipv6_dst"


def src_key(version: int) -> str:
    return "ipv4_src" if version == 4 else "ipv6_src"


@dataclass
class Tunnel:
    """One MPLS-in-IPsec tunnel to the peer C-PE and both SAs (id 0: a control SA pair)."""

    tunnel_id: int
    outer: Family
    out_params: SaParams
    in_params: SaParams
    out_sa: SecurityAssociation  # scapy: decrypts what our pipeline sent
    in_sa: SecurityAssociation  # scapy: encrypts what the peer sends us


@dataclass
class Cpe:
    """The switch under test, its dataplane and its crypto-port engine."""

    sw: SyncP4Runtime
    dp: Dataplane
    crypto: CryptoPortEngine
    _next_nexthop: int = 1
    _next_sa: int = 1
    _next_spi: int = 0x1000
    written: list[TableEntry] = field(default_factory=list)
    dirty: bool = False  # the switch may hold entries ``written`` does not list

    # -- writing -------------------------------------------------------------------------

    def insert(self, *entries: TableEntry) -> None:
        """Write entries; ones this test already wrote are skipped, so helpers compose."""
        new = [ent for ent in entries if ent not in self.written]
        if new:
            try:
                self.sw.insert(new)
            except Exception:
                self.dirty = True  # some of the batch may have been written
                raise
            self.written.extend(new)

    def counter(self, name: str, index: int) -> tuple[int, int]:
        return self.sw.counter(name, index)

    def packets(self, name: str, index: int, want: int | None = None) -> int:
        """Packets of a counter cell; with ``want``, first wait (up to 3 s) for that value.

        Frames cross the crypto port asynchronously, so a counter may lag the
        last frame a test saw; waiting for the value keeps timing out of the
        assertion itself.
        """
        deadline = time.monotonic() + 3.0
        while True:
            value = self.counter(name, index)[0]
            if want is None or value == want or time.monotonic() > deadline:
                return value
            time.sleep(0.02)

    def drops(self, reason: str, want: int | None = None) -> int:
        return self.packets("drop_counter", DROP[reason], want)

    def punts(self, reason: str, want: int | None = None) -> int:
        return self.packets("punt_counter", PUNT[reason], want)

    # -- ports and VRFs ------------------------------------------------------------------

    def set_up_red_port(self, port: int, vrf: int) -> None:
        self.insert(
            TableEntry("port_role", {"port": port}, "set_red_port", {"vrf_id": vrf}),
            TableEntry("egress_port_role", {"port": port}, "egress_red"),
        )

    def set_up_subif(self, port: int, vlan: int, vrf: int) -> None:
        self.insert(
            TableEntry(
                "red_subif", {"port": port, "vlan_id": vlan}, "set_subif_vrf", {"vrf_id": vrf}
            )
        )

    def set_up_black_port(self, port: int = BLACK) -> None:
        self.insert(
            TableEntry("port_role", {"port": port}, "set_black_port"),
            TableEntry("egress_port_role", {"port": port}, "egress_black"),
        )

    def set_up_local_host(
        self, fam: Family, vrf: int, prefix: str, port: int, vlan: int = 0, port_vrf: int = 0
    ) -> int:
        """A connected tenant subnet in ``vrf`` reached through ``port`` (and VLAN)."""
        nh = self._next_nexthop
        self._next_nexthop += 1
        self.insert(
            TableEntry(
                "red_nexthop",
                {"nexthop_id": nh},
                "set_red_nexthop",
                {
                    "port": port,
                    "src_mac": router_mac(port),
                    "dst_mac": host_mac(port),
                    "vlan_id": vlan,
                    "vrf_id": port_vrf or vrf,
                },
            ),
            TableEntry(
                fib(fam.version),
                {"vrf_id": vrf, dst_key(fam.version): prefix},
                "route_local",
                {"nexthop_id": nh},
            ),
        )
        return nh

    def set_up_vrf_a(self, fam: Family) -> None:
        """Tenant A: RED_A1 and RED_A2 in VRF A, a subnet behind each."""
        self.set_up_red_port(RED_A1, VRF_A)
        self.set_up_red_port(RED_A2, VRF_A)
        self.set_up_local_host(fam, VRF_A, fam.tenant_net1, RED_A1)
        self.set_up_local_host(fam, VRF_A, fam.tenant_net2, RED_A2)

    def set_up_vrf_b(self, fam: Family) -> None:
        """Tenant B: the same addresses as A, on RED_B and TRUNK VLAN B."""
        self.set_up_red_port(RED_B, VRF_B)
        self.set_up_red_port(TRUNK, 0)
        self.set_up_subif(TRUNK, VLAN_B, VRF_B)
        self.set_up_local_host(fam, VRF_B, fam.tenant_net1, RED_B)
        self.set_up_local_host(fam, VRF_B, fam.tenant_net2, TRUNK, vlan=VLAN_B)

    # -- black side ----------------------------------------------------------------------

    def set_up_black(self, fam: Family) -> None:
        """Black port, our addresses, and a default route to the black gateway."""
        self.set_up_black_port(BLACK)
        table = "my_black_v4" if fam.version == 4 else "my_black_v6"
        self.insert(
            TableEntry(table, {dst_key(fam.version): fam.our_loopback}, "my_loopback"),
            TableEntry(table, {dst_key(fam.version): fam.our_black_if}, "my_address"),
        )
        nh = self._next_nexthop
        self._next_nexthop += 1
        bfib = "black_fib_v4" if fam.version == 4 else "black_fib_v6"
        self.insert(
            TableEntry(
                "black_nexthop",
                {"nexthop_id": nh},
                "set_black_nexthop",
                {"port": BLACK, "src_mac": router_mac(BLACK), "dst_mac": BLACK_GW_MAC},
            ),
            TableEntry(
                bfib,
                {dst_key(fam.version): fam.black_default},
                "set_black_nexthop_id",
                {"nexthop_id": nh},
            ),
        )

    def _sa_params(
        self,
        direction: Direction,
        outer: Family,
        udp: bool,
        replay_window: int = 64,
        mode: Mode = Mode.TRANSPORT,
        remote: str | None = None,
    ) -> SaParams:
        suite = CipherSuite.AES_GCM_16_128
        keys = SaKeys(enc_key=os.urandom(suite.enc_key_len), salt=os.urandom(suite.salt_len))
        index, spi = self._next_sa, self._next_spi
        self._next_sa += 1
        self._next_spi += 1
        return SaParams(
            direction=direction,
            spi=spi,
            sa_index=index,
            local=ipaddress.ip_address(outer.our_loopback),
            remote=ipaddress.ip_address(remote or outer.peer_loopback),
            suite=suite,
            keys=keys,
            mode=mode,
            udp_encap=UdpEncap(4500, 4500) if udp else None,
            replay_window=replay_window,
        )

    def set_up_tunnel(
        self,
        outer: Family,
        tunnel_id: int = 1,
        mtu: int = 1500,
        udp: bool = False,
        replay_window: int = 64,
    ) -> Tunnel:
        """Tunnel to the peer's black loopback with an outbound and an inbound SA.

        ``replay_window=0`` turns anti-replay off (benchmarks resend one frame).
        """
        out_p = self._sa_params(Direction.OUTBOUND, outer, udp)
        in_p = self._sa_params(Direction.INBOUND, outer, udp, replay_window)
        with self.crypto.lock:
            self.crypto.engine.add_sa(out_p)
            self.crypto.engine.add_sa(in_p)
        action = "set_tunnel_v4" if outer.version == 4 else "set_tunnel_v6"
        self.insert(
            TableEntry(
                "tunnel",
                {"tunnel_id": tunnel_id},
                action,
                {"src_addr": outer.our_loopback, "dst_addr": outer.peer_loopback, "mtu": mtu},
            ),
            TableEntry(
                "tunnel_sa",
                {"tunnel_id": tunnel_id},
                "set_outbound_sa",
                {"sa_index": out_p.sa_index},
            ),
            TableEntry(
                "inbound_sa_v4" if outer.version == 4 else "inbound_sa_v6",
                {"sa_index": in_p.sa_index, src_key(outer.version): outer.peer_loopback},
                "inbound_sa_ok",
                {"tunnel_id": tunnel_id},
            ),
        )
        return Tunnel(tunnel_id, outer, out_p, in_p, scapy_sa(out_p), scapy_sa(in_p))

    def set_up_control_sa(self, fam: Family, mode: Mode = Mode.TUNNEL) -> Tunnel:
        """The control SA pair carrying BGP with the RR (draft 3.2), ending at the black
        loopbacks (ours and ``rr_black``).

        Tunnel mode: ``rr_red`` <-> ``red_loopback`` inside. Transport mode: BGP runs
        between the black loopbacks themselves. The inbound entry is a control SA's
        (sa_index, the RR's session address) -> ``inbound_sa_control_v4/v6(local_addr=
        our session address)``.
        """
        params = [
            self._sa_params(d, fam, False, mode=mode, remote=fam.rr_black)
            for d in (Direction.OUTBOUND, Direction.INBOUND)
        ]
        out_p, in_p = params
        with self.crypto.lock:
            self.crypto.engine.add_sa(out_p)
            self.crypto.engine.add_sa(in_p)
        v = fam.version
        peer, local = control_ends(fam, mode)
        self.insert(
            TableEntry(
                f"inbound_sa_v{v}",
                {"sa_index": in_p.sa_index, src_key(v): peer},
                f"inbound_sa_control_v{v}",
                {"local_addr": local},
            )
        )
        return Tunnel(0, fam, out_p, in_p, scapy_sa(out_p), scapy_sa(in_p))

    def set_up_remote_route(
        self, fam: Family, vrf: int, prefix: str, label: int, tunnel_id: int
    ) -> None:
        self.insert(
            TableEntry(
                fib(fam.version),
                {"vrf_id": vrf, dst_key(fam.version): prefix},
                "route_remote",
                {"label": label, "tunnel_id": tunnel_id},
            )
        )

    def set_up_vpn_label(self, label: int, vrf: int) -> None:
        self.insert(TableEntry("vpn_label", {"label": label}, "set_label_vrf", {"vrf_id": vrf}))

    def set_up_neighbour_answer(
        self, port: int, vrf: int, target: str, asker: str, asker_mac: str, router: int = 1
    ) -> None:
        """The pipeline answers ``asker`` (a neighbour the controller knows on ``port``)
        when it asks for our ``target`` (arp_reply / nd_reply by the target's family)."""
        match = {
            "port": port,
            "vrf_id": vrf,
            "target_ip": target,
            "sender_ip": asker,
            "sender_mac": asker_mac,
        }
        if ipaddress.ip_address(target).version == 4:
            entry = TableEntry("arp_reply", match, "arp_answer", {"my_mac": router_mac(port)})
        else:
            params = {"my_mac": router_mac(port), "router": router}
            entry = TableEntry("nd_reply", match, "nd_answer", params)
        self.insert(entry)


def control_ends(fam: Family, mode: Mode) -> tuple[str, str]:
    """(the RR's address, ours) on a red BGP session in this control SA mode."""
    if mode is Mode.TRANSPORT:
        return fam.rr_black, fam.our_loopback
    return fam.rr_red, fam.red_loopback


def scapy_sa(params: SaParams) -> SecurityAssociation:
    """scapy's own ESP implementation keyed like ``params`` (the independent check)."""
    extra: dict[str, object] = {}
    if params.mode is Mode.TUNNEL:
        from scapy.layers.inet import IP
        from scapy.layers.inet6 import IPv6

        outer = IP if params.local.version == 4 else IPv6
        extra["tunnel_header"] = outer(src=str(params.remote), dst=str(params.local))
    if params.udp_encap is not None:
        from scapy.layers.inet import UDP

        extra["nat_t_header"] = UDP(sport=4500, dport=4500)
    return SecurityAssociation(
        proto=ESP,
        spi=params.spi,
        crypt_algo="AES-GCM",
        crypt_key=params.keys.enc_key + params.keys.salt,
        crypt_icv_size=16,
        **extra,
    )
