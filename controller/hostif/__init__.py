"""Host interfaces: one Linux TAP per switch port, bridged through packet-in/out.

The Linux stack of the daemon's namespace then answers ARP/ND and ICMP and
carries the BGP (TCP 179) and IKE (UDP 500/4500) sockets; what it learns about
neighbours and routes is read back (``kernel``) and becomes table entries.
"""
