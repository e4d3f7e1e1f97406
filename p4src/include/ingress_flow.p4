// The ingress flow shared by the v1model and TNA programs: included inside
// the apply block of each CpeIngress, after its architecture-specific start
// (port counter, direct packet-outs). Written against the v1model names
// `std.ingress_port`, `std.egress_spec` and `mark_to_drop(std)`, which the TNA
// program provides for its own metadata (tna/v1model_compat.p4). The text is
// included rather than wrapped in a control so that every table keeps its
// P4Runtime name CpeIngress.<control>.<table> in both programs.
        hdr.packet_out.setInvalid();

        // Two branches rather than an overwrite: one step, not two, on Tofino.
        if (hdr.crypto.isValid()) {
            meta.orig_port = (port_t) hdr.crypto.ingress_port;
        } else {
            meta.orig_port = std.ingress_port;
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
        } else if (meta.src_role == ROLE_RED || meta.src_role == ROLE_BLACK) {
            // ARP/NS for our address from a known neighbour: answered here
            // (fwd_done); anything else is classified as before.
            neighbour_reply.apply(hdr, meta, std);
            if (meta.fwd_done == 1) {
            } else if (meta.src_role == ROLE_RED) {
                red_classify.apply(hdr, meta, std);
            } else {
                black_classify.apply(hdr, meta, std);
            }
        }

        // route_in_vrf and route_black come from exclusive branches above (red or
        // decrypted; controller or encrypted), so at most one is set: "else" says
        // so to the compiler, which can then place the black FIB beside the VRF
        // path on Tofino instead of after it.
        if (meta.route_in_vrf == 1) {
            if (meta.drop_reason == DROP_NONE && meta.punt_reason == PUNT_NONE) {
                vrf_routing.apply(hdr, meta, std);
                if (meta.fwd_kind == FWD_LOCAL) {
                    local_delivery.apply(hdr, meta, std);
                } else if (meta.fwd_kind == FWD_REMOTE) {
                    tunnel_encap.apply(hdr, meta, std);
                }
            }
        } else if (meta.route_black == 1 && meta.drop_reason == DROP_NONE) {
            black_routing.apply(hdr, meta, std);
        }
        // The no-decision drop is the guard's "else" (fwd_done is 0 there), so
        // Tofino can set it in the guard's stage, not after it.
        if (meta.fwd_done == 1 && meta.drop_reason == DROP_NONE
                && meta.punt_reason == PUNT_NONE) {
            isolation_guard.apply(hdr, meta, std);
        } else if (meta.drop_reason == DROP_NONE && meta.punt_reason == PUNT_NONE) {
            meta.drop_reason = DROP_NO_DECISION;
        }
        // IPv4 headers of exactly 20 octets get their checksum recomputed on
        // the way out (the ones the pipeline builds among them); one with
        // options keeps the checksum it came with or the incremental update
        // of its TTL decrement (ip_hop.p4).
        if (hdr.ipv4.isValid() && hdr.ipv4.ihl == 5) {
            meta.ipv4_csum = 1;
        }
        if (hdr.inner_ipv4.isValid() && hdr.inner_ipv4.ihl == 5) {
            meta.inner_ipv4_csum = 1;
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
