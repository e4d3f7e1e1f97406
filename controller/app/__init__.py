"""The C-PE / route-reflector daemon: composes the switch, hostif, BGP and IPsec.

``desired`` turns what the daemon knows into table entries; ``switch`` starts
p4sim (or reaches a P4Runtime target) and pushes the pipeline; ``daemon``
carries events between BGP, IKE and the switch. See README.md.
"""
