// The ingress pipeline: orders the controls and turns the drop/punt decision
// each of them records in metadata into one drop or one packet-in, counted
// per reason. Every control only records; this is the one place that acts.

#ifndef SL3VPN_INGRESS_P4
#define SL3VPN_INGRESS_P4

control CpeIngress(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t std) {
    @id(COUNTER_PORT_RX)
    counter(MAX_PORTS, CounterType.packets_and_bytes) port_rx_counter;
    @id(COUNTER_DROP)
    counter(DROP_REASON_COUNT, CounterType.packets_and_bytes) drop_counter;
    @id(COUNTER_PUNT)
    counter(PUNT_REASON_COUNT, CounterType.packets_and_bytes) punt_counter;

    PortClassify() port_classify;
    RedClassify() red_classify;
    BlackClassify() black_classify;
    CryptoReturn() crypto_return;
    ControlSpd() control_spd;
    VrfRouting() vrf_routing;
    LocalDelivery() local_delivery;
    TunnelEncap() tunnel_encap;
    BlackRouting() black_routing;
    IsolationGuard() isolation_guard;

    apply {
        port_rx_counter.count((bit<32>) std.ingress_port);

        if (hdr.packet_out.isValid() && hdr.packet_out.do_forward == 0) {
            // Controller-built frame for one port (ARP/ND/ICMP/IKE replies
            // via the host interfaces): sent as is.
            std.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
            exit;
        }
        hdr.packet_out.setInvalid();

        meta.orig_port = std.ingress_port;
        if (hdr.crypto.isValid()) {
            meta.orig_port = (port_t) hdr.crypto.ingress_port;
        }
        if (hdr.ipv4.isValid()) {
            meta.l4_proto = hdr.ipv4.protocol;
        } else if (hdr.ipv6.isValid()) {
            meta.l4_proto = hdr.ipv6.next_hdr;
        }
        if (hdr.tcp.isValid()) {
            meta.l4_sport = hdr.tcp.src_port;
            meta.l4_dport = hdr.tcp.dst_port;
        } else if (hdr.udp.isValid()) {
            meta.l4_sport = hdr.udp.src_port;
            meta.l4_dport = hdr.udp.dst_port;
        }

        port_classify.apply(hdr, meta, std);
        if (hdr.crypto.isValid()) {
            crypto_return.apply(hdr, meta, std);
        } else if (meta.drop_reason != DROP_NONE) {
            // Unknown port or unbound VLAN: recorded, nothing else to do.
        } else if (meta.src_role == ROLE_CPU) {
            control_spd.apply(hdr, meta, std);
        } else if (meta.src_role == ROLE_RED) {
            red_classify.apply(hdr, meta, std);
        } else if (meta.src_role == ROLE_BLACK) {
            black_classify.apply(hdr, meta, std);
        }

        if (meta.route_in_vrf == 1 && meta.drop_reason == DROP_NONE
                && meta.punt_reason == PUNT_NONE) {
            vrf_routing.apply(hdr, meta, std);
            if (meta.fwd_kind == FWD_LOCAL) {
                local_delivery.apply(hdr, meta, std);
            } else if (meta.fwd_kind == FWD_REMOTE) {
                tunnel_encap.apply(hdr, meta, std);
            }
        }
        if (meta.route_black == 1 && meta.drop_reason == DROP_NONE) {
            black_routing.apply(hdr, meta, std);
        }
        if (meta.fwd_done == 1 && meta.drop_reason == DROP_NONE
                && meta.punt_reason == PUNT_NONE) {
            isolation_guard.apply(hdr, meta, std);
        }

        if (meta.drop_reason == DROP_NONE && meta.punt_reason == PUNT_NONE
                && meta.fwd_done == 0) {
            meta.drop_reason = DROP_NO_DECISION;
        }
        if (meta.drop_reason != DROP_NONE) {
            drop_counter.count((bit<32>) meta.drop_reason);
            mark_to_drop(std);
        } else if (meta.punt_reason != PUNT_NONE) {
            punt_counter.count((bit<32>) meta.punt_reason);
            hdr.crypto.setInvalid();
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = meta.orig_port;
            hdr.packet_in.reason = meta.punt_reason;
            hdr.packet_in.pad = 0;
            std.egress_spec = CPU_PORT;
        }
    }
}

#endif  // SL3VPN_INGRESS_P4
