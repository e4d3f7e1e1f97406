// Secured L3VPN C-PE data plane for Tofino (TNA). Only what the architecture
// dictates lives under tna/: this top level, the parsers and deparsers, the
// start and end of CpeIngress (intrinsic metadata), and CpeEgress. Every table
// and action comes from the shared controls in include/, so the P4Runtime
// names are those of the v1model program (cpe.p4). See README.md, "TNA".
//
//   bf-p4c --target tofino --arch tna --p4runtime-files cpe_tna.p4info.txtpb \
//          --p4runtime-force-std-externs -o out p4src/cpe_tna.p4
//   # on a switch: -DCPU_PORT=<PCIe CPU dev port> -DCRYPTO_PORT=<engine's dev port>

#include <core.p4>
#include <tna.p4>

// The shared files pick TNA's externs (defines.p4) and see our own metadata
// where they name v1model's (v1model_compat.p4).
#define SL3VPN_TNA
#define standard_metadata_t cpe_fwd_md_t

#include "include/defines.p4"
#include "include/ids.p4"
#include "include/headers.p4"
#include "tna/v1model_compat.p4"
#include "tna/parser.p4"
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
#include "tna/ingress.p4"
#include "tna/egress.p4"

Pipeline(
    CpeTnaIngressParser(),
    CpeIngress(),
    CpeTnaIngressDeparser(),
    CpeTnaEgressParser(),
    CpeEgress(),
    CpeTnaEgressDeparser()
) pipe;

Switch(pipe) main;
