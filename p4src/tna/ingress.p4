// TNA ingress: the v1model CpeIngress's flow (include/ingress_flow.p4) between
// a TNA start, which fills the shared controls' `std` from the intrinsic
// metadata, and the flow's last step, which (under SL3VPN_TNA) turns their
// decision into ucast_egress_port or drop_ctl. The same counters and control instances
// (../include/ingress_decls.p4) give the same P4Runtime names.

#ifndef SL3VPN_TNA_INGRESS_P4
#define SL3VPN_TNA_INGRESS_P4

// Every metadata field starts at 0, as on v1model: the shared controls rely on
// DROP_NONE, PUNT_NONE and cleared flags.
@pa_auto_init_metadata
control CpeIngress(inout headers_t hdr,
                   inout local_metadata_t meta,
                   in ingress_intrinsic_metadata_t ig_intr_md,
                   in ingress_intrinsic_metadata_from_parser_t ig_prsr_md,
                   inout ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md,
                   inout ingress_intrinsic_metadata_for_tm_t ig_tm_md) {
#include "../include/ingress_decls.p4"

    cpe_fwd_md_t std;

    apply {
        std.ingress_port = ig_intr_md.ingress_port;
        std.egress_spec = 0;
        port_rx_counter.count((bit<32>) std.ingress_port);

        if (hdr.packet_out.isValid() && hdr.packet_out.do_forward == 0) {
            // Controller-built frame for one port, sent as is (as on v1model).
            ig_tm_md.ucast_egress_port = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
            exit;
        }
#include "../include/ingress_flow.p4"
    }
}

#endif  // SL3VPN_TNA_INGRESS_P4
