// Remote delivery (draft sections 4 and 5, RFC 4023): push the VPN label,
// encapsulate in IPv4 or IPv6 (protocol 137) from our black loopback to the
// remote C-PE's black loopback, pick the tunnel's outbound SA and hand the
// packet to the ESP engine on the crypto port.
//
// The tunnel and its SA are separate tables so a rekey switches only the
// tunnel_sa entry (hitless); both are looked up side by side. The MTU check
// runs before any header changes so the packet punted for "too big" is the
// tenant packet the controller needs for ICMP Fragmentation Needed / Packet
// Too Big.

#ifndef SL3VPN_TUNNEL_ENCAP_P4
#define SL3VPN_TUNNEL_ENCAP_P4

// The outer header, written in the same step as the tenant header's move
// behind the label (each field once, from the tunnel's metadata). Macros, not
// actions: an action called from apply would be a new P4Info object. The
// outer IPv4 header has DF set (flags 3w2): the MTU was checked before.
#define PUSH_OUTER_V4 \
    hdr.ipv4.setValid(); \
    hdr.ipv4.version = 4; \
    hdr.ipv4.ihl = 5; \
    hdr.ipv4.dscp_ecn = 0; \
    hdr.ipv4.total_len = meta.encap_len; \
    hdr.ipv4.identification = 0; \
    hdr.ipv4.flags = 3w2; \
    hdr.ipv4.frag_offset = 0; \
    hdr.ipv4.ttl = OUTER_IP_TTL; \
    hdr.ipv4.protocol = IP_PROTO_MPLS_IN_IP; \
    hdr.ipv4.hdr_checksum = 0; \
    hdr.ipv4.src_addr = (ipv4_addr_t) meta.outer_src; \
    hdr.ipv4.dst_addr = (ipv4_addr_t) meta.outer_dst; \
    hdr.ethernet.ether_type = ETHERTYPE_IPV4;

#define PUSH_OUTER_V6 \
    hdr.ipv6.setValid(); \
    hdr.ipv6.version = 6; \
    hdr.ipv6.traffic_class = 0; \
    hdr.ipv6.flow_label = 0; \
    hdr.ipv6.payload_len = meta.encap_len - 40; \
    hdr.ipv6.next_hdr = IP_PROTO_MPLS_IN_IP; \
    hdr.ipv6.hop_limit = OUTER_IP_TTL; \
    hdr.ipv6.src_addr = meta.outer_src; \
    hdr.ipv6.dst_addr = meta.outer_dst; \
    hdr.ethernet.ether_type = ETHERTYPE_IPV6;

control TunnelEncap(inout headers_t hdr,
                    inout local_metadata_t meta,
                    inout standard_metadata_t std) {
    // mtu: largest MPLS-in-IP packet (outer IP header included) that still
    // fits the black link after ESP overhead; the controller computes it.
    // The room left, mtu - (encap_len - 1) saturating, is 0 exactly when the
    // packet does not fit; it is kept in metadata for a compare with zero (a
    // Tofino gateway compares fields with constants only), and subtracts from
    // the action's mtu because Tofino takes action data as the first operand
    // of a subtract only. The egress port is the crypto port from here on; a
    // later drop or punt overrides it.
    @id(ACTION_SET_TUNNEL_V4)
    action set_tunnel_v4(ipv4_addr_t src_addr, ipv4_addr_t dst_addr, bit<16> mtu) {
        meta.outer_v6 = 0;
        meta.encap_len = meta.encap_len_v4;
        meta.mtu_room = mtu |-| meta.encap_less1_v4;
        meta.outer_src = (bit<128>) src_addr;
        meta.outer_dst = (bit<128>) dst_addr;
        meta.tunnel_mtu = mtu;
        std.egress_spec = CRYPTO_PORT;
    }

    @id(ACTION_SET_TUNNEL_V6)
    action set_tunnel_v6(ipv6_addr_t src_addr, ipv6_addr_t dst_addr, bit<16> mtu) {
        meta.outer_v6 = 1;
        meta.encap_len = meta.encap_len_v6;
        meta.mtu_room = mtu |-| meta.encap_less1_v6;
        meta.outer_src = src_addr;
        meta.outer_dst = dst_addr;
        meta.tunnel_mtu = mtu;
        std.egress_spec = CRYPTO_PORT;
    }

    @id(ACTION_NO_TUNNEL)
    action no_tunnel() {
        meta.drop_reason = DROP_NO_TUNNEL;
    }

    @id(TABLE_TUNNEL)
    table tunnel {
        key = {
            meta.tunnel_id : exact @name("tunnel_id");
        }
        actions = {
            set_tunnel_v4;
            set_tunnel_v6;
            @defaultonly no_tunnel;
        }
        const default_action = no_tunnel();
        size = TUNNEL_TABLE_SIZE;
    }

    @id(ACTION_SET_OUTBOUND_SA)
    action set_outbound_sa(sa_index_t sa_index) {
        meta.sa_index = sa_index;
    }

    // A flag, not the drop reason: the tunnel's miss takes precedence, and
    // with separate fields both lookups run side by side (one Tofino stage).
    @id(ACTION_NO_OUTBOUND_SA)
    action no_outbound_sa() {
        meta.sa_missing = 1;
    }

    @id(TABLE_TUNNEL_SA)
    table tunnel_sa {
        key = {
            meta.tunnel_id : exact @name("tunnel_id");
        }
        actions = {
            set_outbound_sa;
            @defaultonly no_outbound_sa;
        }
        const default_action = no_outbound_sa();
        size = TUNNEL_TABLE_SIZE;
    }

    // The lookups and the checks on their results; the encapsulation itself
    // is TunnelPush, applied after the isolation guard's lookup
    // (ingress_flow.p4). if/else rather than early returns: p4c turns a return
    // into a flag that every later statement tests, one more dependent step
    // on Tofino.
    apply {
        if (hdr.mpls.isValid()) {
            // A tenant's own MPLS-in-IP occupies the label/inner slots.
            meta.drop_reason = DROP_LABEL_STACK;
        } else {
            tunnel.apply();
            tunnel_sa.apply();
            if (meta.drop_reason != DROP_NONE) {
                // No tunnel.
            } else if (meta.sa_missing == 1) {
                meta.drop_reason = DROP_UNKNOWN_SA;
            } else if (meta.mtu_room == 0) {
                meta.punt_reason = PUNT_MTU_EXCEEDED;
            } else {
                meta.fwd_done = 1;
            }
        }
    }
}

// The second half of remote delivery: the encapsulation of a packet
// TunnelEncap passed. No tables, so no P4Runtime objects. A control of its own
// because on Tofino 1 a table runs after everything placed before it in the
// program (the next-table chain): written after the isolation guard's
// egress_port_role, whose key (the egress port) is final once the lookups
// ran, that lookup shares a stage with these rewrites instead of waiting
// behind them.
control TunnelPush(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        // TunnelEncap's last branch (fwd_done), told from what the lookups
        // wrote rather than from what the checks wrote, so that this does not
        // wait for the checks either: mtu_room is 0 unless the tunnel hit
        // (its action writes it) and the packet fits, and no label stack
        // means the lookups ran.
        if (meta.mtu_room != 0 && meta.sa_missing == 0) {
            // Every rewrite below reads only headers as received and the
            // tunnel's metadata, and each field is written once, so on
            // Tofino it is one step (and few tables): the tenant header
            // moves behind the label with its hop taken (ip_hop.p4), the
            // outer header replaces it (only one of ipv4/ipv6 is valid, so
            // invalidating the other family is a no-op or the removal).
            // The checksum marks move with the headers (ingress_flow.p4 set
            // them on the tenant header): the inner IPv4 header is the tenant's,
            // the outer IPv4 header is 20 octets.
            if (hdr.ipv4.isValid()) {
                IPV4_HOP_INTO(hdr.ipv4, hdr.inner_ipv4, meta.inner_ipv4_csum = meta.ipv4_csum;)
            } else if (hdr.ipv6.isValid()) {
                IPV6_HOP_INTO(hdr.ipv6, hdr.inner_ipv6)
            }
            if (meta.outer_v6 == 1) {
                hdr.ipv4.setInvalid();
                meta.ipv4_csum = 0;
                PUSH_OUTER_V6
            } else {
                hdr.ipv6.setInvalid();
                meta.ipv4_csum = 1;
                PUSH_OUTER_V4
            }
            // The outer header sets the Ethernet type, so a tag just goes.
            hdr.vlan.setInvalid();
            hdr.mpls.setValid();
            hdr.mpls.label = meta.label;
            hdr.mpls.tc = 0;
            hdr.mpls.bos = 1;
            hdr.mpls.ttl = MPLS_PUSH_TTL;
            hdr.crypto.setValid();
            hdr.crypto.version = CRYPTO_VERSION;
            hdr.crypto.op = CRYPTO_OP_ENCRYPT;
            hdr.crypto.sa_index = meta.sa_index;
            hdr.crypto.result = CRYPTO_RESULT_OK;
            hdr.crypto.reserved = 0;
            hdr.crypto.ingress_port = (bit<16>) meta.orig_port;
        }
    }
}

#endif  // SL3VPN_TUNNEL_ENCAP_P4
