// The little of v1model that the shared controls name, provided on TNA.
// Their forwarding output is `std.egress_spec` (and the flow reads
// `std.ingress_port`); here `std` is this ingress-local struct, filled from
// ig_intr_md at the start of CpeIngress. The flow's last step sets
// ig_intr_md_for_tm.ucast_egress_port and ig_intr_md_for_dprsr.drop_ctl
// itself under SL3VPN_TNA (v1model: mark_to_drop). cpe_tna.p4 defines
// standard_metadata_t as this type before the shared files.

#ifndef SL3VPN_TNA_V1MODEL_COMPAT_P4
#define SL3VPN_TNA_V1MODEL_COMPAT_P4

struct cpe_fwd_md_t {
    port_t ingress_port;
    port_t egress_spec;
}

#endif  // SL3VPN_TNA_V1MODEL_COMPAT_P4
