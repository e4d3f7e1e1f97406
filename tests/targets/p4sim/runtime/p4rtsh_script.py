"""Run under .venv-p4rtsh (p4runtime-shell, protobuf 3): push basic.p4, write, read.

Usage: python p4rtsh_script.py GRPC_ADDR P4INFO_TXT DEVICE_CONFIG
Prints one line per checked fact; exits non-zero on any mismatch.
"""

import sys

import p4runtime_sh.shell as sh
from p4runtime_sh.p4runtime import P4RuntimeWriteException

addr, p4info, device_config = sys.argv[1:4]
sh.setup(
    device_id=0,
    grpc_addr=addr,
    election_id=(0, 1),
    config=sh.FwdPipeConfig(p4info, device_config),
)
try:
    for port, out in ((1, 2), (2, 1), (7, 3)):
        te = sh.TableEntry("BasicIngress.fwd")(action="BasicIngress.set_port")
        te.match["sm.ingress_port"] = str(port)
        te.action["port"] = str(out)
        te.insert()
    lpm = sh.TableEntry("BasicIngress.ipv4_lpm")(action="BasicIngress.route")
    lpm.match["hdr.ipv4.dst_addr"] = "10.1.0.0/16"
    lpm.action["port"] = "4"
    lpm.insert()
    got = sorted(
        (
            int.from_bytes(e.match["sm.ingress_port"].exact.value, "big"),
            int.from_bytes(e.action["port"].value, "big"),
        )
        for e in sh.TableEntry("BasicIngress.fwd").read()
    )
    print("fwd entries", got)
    assert got == [(1, 2), (2, 1), (7, 3)], got
    (entry,) = list(sh.TableEntry("BasicIngress.ipv4_lpm").read())
    print("lpm entry", entry.match["hdr.ipv4.dst_addr"].lpm.prefix_len)
    assert entry.match["hdr.ipv4.dst_addr"].lpm.prefix_len == 16
    dup = sh.TableEntry("BasicIngress.fwd")(action="BasicIngress.drop")
    dup.match["sm.ingress_port"] = "1"
    try:
        dup.insert()
    except P4RuntimeWriteException as exc:
        print("duplicate insert refused:", "ALREADY_EXISTS" in str(exc))
        assert "ALREADY_EXISTS" in str(exc)
    else:
        raise AssertionError("duplicate insert accepted")
    c = sh.CounterEntry("BasicIngress.port_pkts")
    c.index = 1
    (cell,) = list(c.read())
    print("counter cell", cell.index, cell.packet_count)
    print("OK")
finally:
    sh.teardown()
