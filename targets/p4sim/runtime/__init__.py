"""p4sim's run-time side: the P4Runtime v1 gRPC server, packet I/O ports, `sl3vpn p4sim run`.

The server validates every request against the loaded program's P4Info (the
way a hardware target's P4Runtime agent does) and writes through the state
API in ``targets.p4sim.state``; the executor reads the same objects.
"""
