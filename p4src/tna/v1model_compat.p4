// The little of v1model that the shared controls name, provided on TNA.
// Their forwarding output is `std.egress_spec` (and the flow reads
// `std.ingress_port` and calls `mark_to_drop(std)`); here `std` is this
// ingress-local struct, filled from ig_intr_md at the start of CpeIngress and
// mapped onto ig_intr_md_for_tm.ucast_egress_port and
// ig_intr_md_for_dprsr.drop_ctl at its end (tna/ingress.p4). cpe_tna.p4
// defines standard_metadata_t as this type before the shared files.

#ifndef SL3VPN_TNA_V1MODEL_COMPAT_P4
#define SL3VPN_TNA_V1MODEL_COMPAT_P4

struct cpe_fwd_md_t {
    port_t ingress_port;
    port_t egress_spec;
    bit<1> drop;
}

void mark_to_drop(inout cpe_fwd_md_t std) {
    std.drop = 1;
}

#endif  // SL3VPN_TNA_V1MODEL_COMPAT_P4
