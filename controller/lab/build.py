"""Build and remove a lab's namespaces, links, addresses and underlay routing.

The black side is IPv4 only and IPv6 is switched off in every black-side
namespace before its links exist, so no kernel chatter (MLD, router
solicitations) appears on a black link: what a capture there shows is the
C-PEs' traffic. A C-PE namespace's interfaces carry no addresses at all: its
switch owns them, so the kernel there never answers or originates anything.
The switch answers no ARP either (that needs the daemon's hostif), so its
neighbours get permanent entries for its MACs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from controller.lab.netns import Netns, NetnsError, list_netns, require_tools, veth
from controller.lab.plan import LabPlan, nat_inside

Progress = Callable[[str], None]


def _quiet_ns(ns: Netns) -> None:
    ns.set_sysctl("net.ipv6.conf.default.disable_ipv6", "1")
    ns.set_sysctl("net.ipv6.conf.all.disable_ipv6", "1")


def _neigh(ns: Netns, addr: str, lladdr: str, dev: str) -> None:
    ns.ip("neigh", "replace", addr, "lladdr", lladdr, "dev", dev, "nud", "permanent")


def build(plan: LabPlan, progress: Progress = print, daemons: bool = False) -> None:
    """Create everything; on failure remove what was made and re-raise.

    With ``daemons`` the C-PE and RR namespaces are left bare for the daemon
    (it puts its loopbacks on lo and carries ARP through its own TAP), so
    neither RR addresses nor static neighbours are set up.
    """
    require_tools()
    clash = sorted(set(plan.namespaces) & list_netns())
    if clash:
        raise NetnsError(
            f"namespaces already exist: {', '.join(clash)} (is the lab up? `sl3vpn lab down`)"
        )
    try:
        _build(plan, progress, daemons)
    except BaseException:
        destroy(plan.namespaces)
        raise


def _build(plan: LabPlan, progress: Progress, daemons: bool) -> None:
    topo = plan.topo
    hosts = {r.host_ns for c in plan.cpes for r in c.red}
    for name in plan.namespaces:
        ns = Netns(name)
        ns.create()
        if name not in hosts:
            _quiet_ns(ns)
    progress(f"  {len(plan.namespaces)} namespaces created ({plan.prefix}-*)")
    for link in plan.links:
        a, b = Netns(link.a.ns), Netns(link.b.ns)
        veth(a, link.a.ifname, b, link.b.ifname, mtu=link.mtu)
        a.ip("link", "set", "dev", link.a.ifname, "address", link.a.mac)
        b.ip("link", "set", "dev", link.b.ifname, "address", link.b.mac)
    progress(f"  {len(plan.links)} veth links up")

    under = Netns(plan.underlay_ns)
    under.enable_forwarding()
    under.set_sysctl("net.ipv4.conf.all.rp_filter", "0")
    for rr in topo.rrs:
        ns = Netns(plan.rr_ns[rr.name])
        under.add_address(rr.name, str(rr.underlay_address))
        under.add_route(f"{rr.black_loopback}/32", via=str(rr.link_address.ip))
        if daemons:
            continue
        ns.add_address("wan0", str(rr.link_address))
        ns.add_address("lo", f"{rr.black_loopback}/32")
        ns.add_address("lo", f"{rr.red_loopback}/32")
        ns.add_route("0.0.0.0/0", via=str(rr.underlay_address.ip))
    for c in plan.cpes:
        under.add_address(c.name, str(c.cpe.underlay_address))
        if c.nat_ns:
            nat = Netns(c.nat_ns)
            gw, own = nat_inside(c.index)
            nat.enable_forwarding()
            nat.add_address("in0", str(gw))
            nat.add_address("out0", str(c.cpe.link_address))
            nat.add_route("0.0.0.0/0", via=str(c.cpe.underlay_address.ip))
            nat.add_route(f"{c.cpe.black_loopback}/32", via=str(own.ip))
            if not daemons:
                _neigh(nat, str(own.ip), c.black_mac, "in0")
            _masquerade(nat, "out0")
        else:
            under.add_route(f"{c.cpe.black_loopback}/32", via=str(c.black_if_addr.ip))
            if not daemons:
                _neigh(under, str(c.black_if_addr.ip), c.black_mac, c.name)
        for r in c.red:
            host = Netns(r.host_ns)
            s = r.site
            host.add_address("eth0", f"{s.host}/{s.subnet.prefixlen}")
            host.add_route("0.0.0.0/0", via=str(s.gateway))
            if not daemons:  # the daemon answers ARP/ND on red ports itself
                _neigh(host, str(s.gateway), r.mac, "eth0")
            if s.host6 is not None and s.subnet6 is not None:
                host.add_address("eth0", f"{s.host6}/{s.subnet6.prefixlen}")
                host.add_route("::/0", via=str(s.gateway6))
                if not daemons:
                    _neigh(host, str(s.gateway6), r.mac, "eth0")
    progress(
        "  addresses and underlay routes in place"
        + ("" if daemons else "; static neighbours for the switches (no ARP without hostif)")
    )


def _masquerade(ns: Netns, out_if: str) -> None:
    """Source NAT (masquerade) of everything leaving ``out_if``, as a home router does."""
    rules = (
        "table ip nat {\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority 100; policy accept;\n"
        f'    oifname "{out_if}" masquerade\n'
        "  }\n"
        "}\n"
    )
    proc_argv = ns.exec_argv(["nft", "-f", "-"])
    try:
        done = subprocess.run(proc_argv, input=rules, capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        raise NetnsError("the NAT topology needs nftables (apt-get install nftables)") from None
    if done.returncode != 0:
        raise NetnsError(f"nft in {ns.name} failed: {done.stderr.strip()}")


def destroy(namespaces: list[str]) -> list[str]:
    """Delete the namespaces that exist (veths go with them); return those deleted.

    Processes still inside are ended first: a switch adopted by a restarted daemon
    is in no recorded process group, and deleting its namespace would not stop it.
    """
    present = list_netns()
    gone = []
    for name in namespaces:
        if name in present:
            Netns(name).delete()
            gone.append(name)
    return gone
