"""PTF cases for basic.p4 on `sl3vpn p4sim run` (platform nn); entries installed by pytest.

fwd: 1 -> 2, 2 -> 1, 3 -> to_cpu; LPM 10.9.0.0/16 -> port 4; port 5 has no entry (dropped).
"""

import ptf.testutils as tu
from ptf.base_tests import BaseTest


class BasicForwarding(BaseTest):
    def setUp(self):
        BaseTest.setUp(self)
        self.dataplane = tu.ptf.dataplane_instance
        self.dataplane.flush()

    def runTest(self):
        for src, dst in ((1, 2), (2, 1)):
            for size in (64, 1400):
                pkt = tu.simple_udp_packet(pktlen=size, ip_dst="10.0.0.1")
                tu.send_packet(self, src, pkt)
                tu.verify_packet(self, pkt, dst)
        routed = tu.simple_tcp_packet(ip_dst="10.9.1.1")
        tu.send_packet(self, 1, routed)
        tu.verify_packet(self, routed, 4)
        tu.send_packet(self, 5, tu.simple_tcp_packet())
        tu.verify_no_other_packets(self)
