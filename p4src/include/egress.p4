// Egress: per-port transmit counters. All forwarding decisions are made in
// ingress so that the isolation guard sees the final egress port.

#ifndef SL3VPN_EGRESS_P4
#define SL3VPN_EGRESS_P4

control CpeEgress(inout headers_t hdr,
                  inout local_metadata_t meta,
                  inout standard_metadata_t std) {
    @id(COUNTER_PORT_TX)
    counter(MAX_PORTS, CounterType.packets_and_bytes) port_tx_counter;

    apply {
        port_tx_counter.count((bit<32>) std.egress_port);
    }
}

#endif  // SL3VPN_EGRESS_P4
