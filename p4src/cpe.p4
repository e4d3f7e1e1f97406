// Secured L3VPN C-PE data plane (draft-rosen-bess-secure-l3vpn-00), P4_16 for
// the v1model architecture. This file only includes and wires the pieces;
// see README.md beside it for the tables, paths and P4Runtime names.

#include <core.p4>
#include <v1model.p4>

#include "include/defines.p4"
#include "include/ids.p4"
#include "include/headers.p4"
#include "include/parser.p4"
#include "include/checksum.p4"
#include "include/port_classify.p4"
#include "include/neighbour_reply.p4"
#include "include/red_classify.p4"
#include "include/black_classify.p4"
#include "include/crypto_return.p4"
#include "include/control_spd.p4"
#include "include/ip_hop.p4"
#include "include/vrf_routing.p4"
#include "include/local_delivery.p4"
#include "include/tunnel_encap.p4"
#include "include/black_routing.p4"
#include "include/isolation.p4"
#include "include/ingress.p4"
#include "include/egress.p4"

V1Switch(
    CpeParser(),
    CpeVerifyChecksum(),
    CpeIngress(),
    CpeEgress(),
    CpeComputeChecksum(),
    CpeDeparser()
) main;
