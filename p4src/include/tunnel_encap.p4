// Remote delivery (draft sections 4 and 5, RFC 4023): push the VPN label,
// encapsulate in IPv4 or IPv6 (protocol 137) from our black loopback to the
// remote C-PE's black loopback, pick the tunnel's outbound SA and hand the
// packet to the ESP engine on the crypto port.
//
// The tunnel and its SA are separate tables so a rekey switches only the
// tunnel_sa entry (hitless). The MTU check runs before any header changes so
// the packet punted for "too big" is the tenant packet the controller needs
// for ICMP Fragmentation Needed / Packet Too Big.

#ifndef SL3VPN_TUNNEL_ENCAP_P4
#define SL3VPN_TUNNEL_ENCAP_P4

control TunnelEncap(inout headers_t hdr,
                    inout local_metadata_t meta,
                    inout standard_metadata_t std) {
    // mtu: largest MPLS-in-IP packet (outer IP header included) that still
    // fits the black link after ESP overhead; the controller computes it.
    @id(ACTION_SET_TUNNEL_V4)
    action set_tunnel_v4(ipv4_addr_t src_addr, ipv4_addr_t dst_addr, bit<16> mtu) {
        meta.outer_v6 = 0;
        meta.encap_len = meta.inner_len + 4 + 20;  // MPLS + outer IP4 header
        meta.outer_src = (bit<128>) src_addr;
        meta.outer_dst = (bit<128>) dst_addr;
        meta.tunnel_mtu = mtu;
    }

    @id(ACTION_SET_TUNNEL_V6)
    action set_tunnel_v6(ipv6_addr_t src_addr, ipv6_addr_t dst_addr, bit<16> mtu) {
        meta.outer_v6 = 1;
        meta.encap_len = meta.inner_len + 4 + 40;  // MPLS + outer IP6 header
        meta.outer_src = src_addr;
        meta.outer_dst = dst_addr;
        meta.tunnel_mtu = mtu;
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
        // The MTU check's subtract (apply below): here, in a table action, the
        // result lands in metadata for a compare with zero; written beside the
        // compare, p4c substitutes it back into the condition, and a Tofino
        // gateway compares a field with constants only. Saturating: 0 when it fits.
        meta.mtu_excess = meta.encap_len |-| meta.tunnel_mtu;
    }

    @id(ACTION_NO_OUTBOUND_SA)
    action no_outbound_sa() {
        meta.drop_reason = DROP_UNKNOWN_SA;
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

    apply {
        if (hdr.mpls.isValid()) {
            // A tenant's own MPLS-in-IP occupies the label/inner slots.
            meta.drop_reason = DROP_LABEL_STACK;
            return;
        }
        // Only IPv4 or IPv6 is routed in a VRF, so one of the two is valid here;
        // testing both (not "else") lets p4c see the header it reads is valid.
        // Before the tunnel lookup, so its action can add the overhead at once.
        if (hdr.ipv4.isValid()) {
            meta.inner_len = hdr.ipv4.total_len;
        } else if (hdr.ipv6.isValid()) {
            meta.inner_len = hdr.ipv6.payload_len + 40;
        }
        tunnel.apply();
        if (meta.drop_reason != DROP_NONE) {
            return;
        }
        tunnel_sa.apply();
        if (meta.drop_reason != DROP_NONE) {
            return;
        }
        if (meta.mtu_excess != 0) {
            meta.punt_reason = PUNT_MTU_EXCEEDED;
            return;
        }

        if (hdr.ipv4.isValid()) {
            ipv4_ttl_decrement(hdr.ipv4);
        } else if (hdr.ipv6.isValid()) {
            hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
        }
        if (hdr.vlan.isValid()) {
            hdr.ethernet.ether_type = hdr.vlan.ether_type;
            hdr.vlan.setInvalid();
        }
        hdr.mpls.setValid();
        hdr.mpls.label = meta.label;
        hdr.mpls.tc = 0;
        hdr.mpls.bos = 1;
        hdr.mpls.ttl = MPLS_PUSH_TTL;
        if (hdr.ipv4.isValid()) {
            hdr.inner_ipv4 = hdr.ipv4;
            hdr.ipv4.setInvalid();
        } else {
            hdr.inner_ipv6 = hdr.ipv6;
            hdr.ipv6.setInvalid();
        }
        if (meta.outer_v6 == 1) {
            hdr.ipv6.setValid();
            hdr.ipv6.version = 6;
            hdr.ipv6.traffic_class = 0;
            hdr.ipv6.flow_label = 0;
            hdr.ipv6.payload_len = meta.encap_len - 40;
            hdr.ipv6.next_hdr = IP_PROTO_MPLS_IN_IP;
            hdr.ipv6.hop_limit = OUTER_IP_TTL;
            hdr.ipv6.src_addr = meta.outer_src;
            hdr.ipv6.dst_addr = meta.outer_dst;
            hdr.ethernet.ether_type = ETHERTYPE_IPV6;
        } else {
            hdr.ipv4.setValid();
            hdr.ipv4.version = 4;
            hdr.ipv4.ihl = 5;
            hdr.ipv4.dscp_ecn = 0;
            hdr.ipv4.total_len = meta.encap_len;
            hdr.ipv4.identification = 0;
            hdr.ipv4.flags = 3w2;  // DF: the MTU was checked above
            hdr.ipv4.frag_offset = 0;
            hdr.ipv4.ttl = OUTER_IP_TTL;
            hdr.ipv4.protocol = IP_PROTO_MPLS_IN_IP;
            hdr.ipv4.hdr_checksum = 0;
            hdr.ipv4.src_addr = (ipv4_addr_t) meta.outer_src;
            hdr.ipv4.dst_addr = (ipv4_addr_t) meta.outer_dst;
            hdr.ethernet.ether_type = ETHERTYPE_IPV4;
        }
        hdr.crypto.setValid();
        hdr.crypto.version = CRYPTO_VERSION;
        hdr.crypto.op = CRYPTO_OP_ENCRYPT;
        hdr.crypto.sa_index = meta.sa_index;
        hdr.crypto.result = CRYPTO_RESULT_OK;
        hdr.crypto.reserved = 0;
        hdr.crypto.ingress_port = (bit<16>) meta.orig_port;
        std.egress_spec = CRYPTO_PORT;
        meta.fwd_done = 1;
    }
}

#endif  // SL3VPN_TUNNEL_ENCAP_P4
