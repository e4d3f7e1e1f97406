// The ingress flow shared by the v1model and TNA programs: included inside
// the apply block of each CpeIngress, after its architecture-specific start
// (port counter, direct packet-outs). Written against the v1model names
// `std.ingress_port` and `std.egress_spec`, which the TNA program provides
// for its own metadata (tna/v1model_compat.p4); drops and the egress port
// reach TNA's intrinsic metadata under SL3VPN_TNA. The text is included
// rather than wrapped in a control so that every table keeps its P4Runtime
// name CpeIngress.<control>.<table> in both programs.

// Count a drop under its reason and take it (the reason is kept in meta too).
#ifdef SL3VPN_TNA
#define CPE_DROP(reason) \
            meta.drop_reason = reason; \
            drop_counter.count((bit<32>) reason); \
            ig_dprsr_md.drop_ctl = 1;
#else
#define CPE_DROP(reason) \
            meta.drop_reason = reason; \
            drop_counter.count((bit<32>) reason); \
            mark_to_drop(std);
#endif

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

        // IPv4 headers of exactly 20 octets get their checksum recomputed on
        // the way out (the ones the pipeline builds among them); one with
        // options keeps the checksum it came with or the incremental update
        // of its TTL decrement (ip_hop.p4). Marked here on the headers as
        // parsed; the two rewrites that move IPv4 headers, the decrypted
        // packet's pop (crypto_return.p4) and the encapsulation (TunnelPush),
        // move the marks with them, and nothing else changes a header's length.
        // On Tofino the marks then cost no step at the end of the flow.
        if (hdr.ipv4.isValid() && hdr.ipv4.ihl == 5) {
            meta.ipv4_csum = 1;
        }
        if (hdr.inner_ipv4.isValid() && hdr.inner_ipv4.ihl == 5) {
            meta.inner_ipv4_csum = 1;
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
                meta.black_in = 1;
            }
        }

        // route_in_vrf, route_black and black_in come from exclusive branches
        // above (red or decrypted; controller or encrypted; a black port's
        // frame), so at most one is set: "else" says so to the compiler, which
        // can then place the black FIB and the black classification beside the
        // VRF path on Tofino instead of before or after it. (Before it, the
        // black classification's tables would fill the stages the VRF path's
        // classification needs.)
        if (meta.route_in_vrf == 1) {
            if (meta.drop_reason == DROP_NONE && meta.punt_reason == PUNT_NONE) {
                // The encapsulated IP lengths for both outer families, from the
                // routed header alone, before the lookup: the tunnel action then
                // takes its length and MTU room in one step (tunnel_encap.p4).
                // Only IPv4 or IPv6 is routed in a VRF; testing both (not "else")
                // lets p4c see the header it reads is valid. Written here, not in
                // a function with the metadata as a parameter: p4c-bm2-ss then
                // names a field BMv2 cannot find.
                if (hdr.ipv4.isValid()) {
                    meta.encap_len_v4 = hdr.ipv4.total_len + (4 + 20);  // MPLS + outer IPv4
                    meta.encap_len_v6 = hdr.ipv4.total_len + (4 + 40);  // MPLS + outer IPv6
                    meta.encap_less1_v4 = hdr.ipv4.total_len + (4 + 20 - 1);
                    meta.encap_less1_v6 = hdr.ipv4.total_len + (4 + 40 - 1);
                } else if (hdr.ipv6.isValid()) {
                    meta.encap_len_v4 = hdr.ipv6.payload_len + (40 + 4 + 20);
                    meta.encap_len_v6 = hdr.ipv6.payload_len + (40 + 4 + 40);
                    meta.encap_less1_v4 = hdr.ipv6.payload_len + (40 + 4 + 20 - 1);
                    meta.encap_less1_v6 = hdr.ipv6.payload_len + (40 + 4 + 40 - 1);
                }
                vrf_routing.apply(hdr, meta, std);
                if (meta.hop_expired == 1) {
                    // Punted by vrf_routing when a route matched.
                } else if (meta.fwd_kind == FWD_LOCAL) {
                    local_delivery.apply(hdr, meta, std);
                } else if (meta.fwd_kind == FWD_REMOTE) {
                    tunnel_encap.apply(hdr, meta, std);
                }
            }
        } else if (meta.route_black == 1 && meta.drop_reason == DROP_NONE) {
            black_routing.apply(hdr, meta, std);
        } else if (meta.black_in == 1) {
            black_classify.apply(hdr, meta, std);
        }
        // The guard's port lookup (isolation.p4), for every packet, as soon as
        // the egress port is known: before the VRF deliveries' checks and
        // rewrites, which do not change it. On Tofino 1 a table is placed no
        // earlier than what precedes it in the program, so here it shares a
        // stage with those rewrites rather than following them.
        isolation_guard.apply(hdr, meta, std);
        if (meta.hop_expired == 1) {
            // Punted with the header as received.
        } else if (meta.fwd_kind == FWD_LOCAL) {
            local_rewrite.apply(hdr, meta);
        } else if (meta.fwd_kind == FWD_REMOTE) {
            tunnel_push.apply(hdr, meta);
        }
        // The one place that acts: a drop decided earlier, a punt, or the
        // isolation guard's verdict (isolation.p4), each drop counted and taken
        // in its own branch so that on Tofino the verdict and the drop are one
        // step. On TNA the intrinsic metadata are set in the same branches
        // (not copied from std afterwards): one step less again.
        if (meta.drop_reason != DROP_NONE) {
            drop_counter.count((bit<32>) meta.drop_reason);
#ifdef SL3VPN_TNA
            ig_dprsr_md.drop_ctl = 1;
#else
            mark_to_drop(std);
#endif
        } else if (meta.punt_reason != PUNT_NONE) {
            punt_counter.count((bit<32>) meta.punt_reason);
            hdr.crypto.setInvalid();
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = meta.orig_port;
            hdr.packet_in.reason = meta.punt_reason;
            hdr.packet_in.pad = 0;
            std.egress_spec = CPU_PORT;
#ifdef SL3VPN_TNA
            ig_tm_md.ucast_egress_port = CPU_PORT;
#endif
        } else if (meta.fwd_done == 0) {
            CPE_DROP(DROP_NO_DECISION)
        } else if (meta.dst_role == ROLE_NONE
                && std.egress_spec != CPU_PORT && std.egress_spec != CRYPTO_PORT) {
            CPE_DROP(DROP_EGRESS_PORT_UNKNOWN)
        } else if (meta.src_role == ROLE_RED && meta.dst_role == ROLE_BLACK
                && meta.via_encrypt == 0) {
            CPE_DROP(DROP_RED_TO_BLACK_CLEAR)
        } else if (meta.src_role == ROLE_BLACK && meta.dst_role == ROLE_RED
                && meta.via_sa == 0) {
            CPE_DROP(DROP_BLACK_TO_RED_NO_SA)
        }
#ifdef SL3VPN_TNA
        else {
            ig_tm_md.ucast_egress_port = std.egress_spec;
        }
#endif
