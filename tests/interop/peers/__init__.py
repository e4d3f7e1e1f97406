"""Real-peer harness: GoBGP, BIRD, FRR bgpd and ExaBGP in network namespaces."""
