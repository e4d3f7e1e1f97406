// The ingress pipeline: orders the controls and turns the drop/punt decision
// each of them records in metadata into one drop or one packet-in, counted
// per reason. Every control only records; this is the one place that acts.

#ifndef SL3VPN_INGRESS_P4
#define SL3VPN_INGRESS_P4

control CpeIngress(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t std) {
#include "ingress_decls.p4"

    apply {
        port_rx_counter.count((bit<32>) std.ingress_port);

        if (hdr.packet_out.isValid() && hdr.packet_out.do_forward == 0) {
            // Controller-built frame for one port (ARP/ND/ICMP/IKE replies
            // via the host interfaces): sent as is.
            std.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
            exit;
        }
#include "ingress_flow.p4"
    }
}

#endif  // SL3VPN_INGRESS_P4
