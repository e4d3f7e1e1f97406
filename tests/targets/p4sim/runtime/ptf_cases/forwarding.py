"""PTF cases run by the `ptf` runner (platform nn) against p4sim; entries preinstalled.

fwd: port 1 -> port 2, port 2 -> port 1, port 3 -> dropped (default action).
"""

import ptf.testutils as tu
from ptf.base_tests import BaseTest


class ForwardingTest(BaseTest):
    def setUp(self):
        BaseTest.setUp(self)
        self.dataplane = tu.ptf.dataplane_instance
        self.dataplane.flush()

    def runTest(self):
        for src, dst in ((1, 2), (2, 1)):
            for size in (64, 1400):
                pkt = tu.simple_udp_packet(pktlen=size, ip_dst=f"10.0.0.{dst}")
                tu.send_packet(self, src, pkt)
                tu.verify_packet(self, pkt, dst)
        tu.send_packet(self, 3, tu.simple_tcp_packet())
        tu.verify_no_other_packets(self)
