// TNA egress: the per-port transmit counter of the v1model CpeEgress, same
// P4Runtime name (CpeEgress.port_tx_counter), indexed by the egress port.

#ifndef SL3VPN_TNA_EGRESS_P4
#define SL3VPN_TNA_EGRESS_P4

control CpeEgress(inout egress_headers_t hdr,
                  inout egress_metadata_t meta,
                  in egress_intrinsic_metadata_t eg_intr_md,
                  in egress_intrinsic_metadata_from_parser_t eg_prsr_md,
                  inout egress_intrinsic_metadata_for_deparser_t eg_dprsr_md,
                  inout egress_intrinsic_metadata_for_output_port_t eg_oport_md) {
    @id(COUNTER_PORT_TX)
    PACKET_BYTE_COUNTER(MAX_PORTS) port_tx_counter;

    apply {
        port_tx_counter.count((bit<32>) eg_intr_md.egress_port);
    }
}

#endif  // SL3VPN_TNA_EGRESS_P4
