// Black ingress: ESP to our black loopback goes to the engine for decryption;
// IKE, ARP/ND and ICMP to our addresses go to the CPU; MPLS-in-IP in the clear
// is discarded (draft section 5); everything else follows black_acl, whose
// default is drop (draft section 7: nothing from black reaches red without SA).

#ifndef SL3VPN_BLACK_CLASSIFY_P4
#define SL3VPN_BLACK_CLASSIFY_P4

control BlackClassify(inout headers_t hdr,
                      inout local_metadata_t meta,
                      inout standard_metadata_t std) {
    @id(ACTION_MY_LOOPBACK)
    action my_loopback() {
        meta.to_us = 1;
        meta.to_loopback = 1;
    }

    @id(ACTION_MY_ADDRESS)
    action my_address() {
        meta.to_us = 1;
    }

    // Our black loopback and black interface addresses.
    @id(TABLE_MY_BLACK_V4)
    table my_black_v4 {
        key = {
            hdr.ipv4.dst_addr : exact @name("ipv4_dst");
        }
        actions = {
            my_loopback;
            my_address;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = MY_ADDR_SIZE;
    }

    @id(TABLE_MY_BLACK_V6)
    table my_black_v6 {
        key = {
            hdr.ipv6.dst_addr : exact @name("ipv6_dst");
        }
        actions = {
            my_loopback;
            my_address;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = MY_ADDR_SIZE;
    }

    @id(ACTION_ACL_PUNT)
    action acl_punt() {
        meta.punt_reason = PUNT_BLACK_POLICY;
    }

    @id(ACTION_ACL_DROP)
    action acl_drop() {
        meta.drop_reason = DROP_BLACK_POLICY;
    }

    // Black policy for what the fixed rules above do not cover, e.g. punting
    // TCP 179 from a service-provider peer for an unprotected black session.
    // The source keys (appended, so earlier match-field ids stay) let the
    // controller punt a black session only from its configured neighbour; an
    // entry that leaves them out matches any source of either family.
    @id(TABLE_BLACK_ACL)
    table black_acl {
        key = {
            meta.to_us        : ternary @name("to_us");
            meta.l4_proto     : ternary @name("ip_proto");
            meta.l4_sport     : ternary @name("l4_sport");
            meta.l4_dport     : ternary @name("l4_dport");
            hdr.ipv4.src_addr : ternary @name("ipv4_src");
            hdr.ipv6.src_addr : ternary @name("ipv6_src");
        }
        actions = {
            acl_punt;
            acl_drop;
        }
        const default_action = acl_drop();
        size = BLACK_ACL_SIZE;
    }

    // if/else rather than early returns (a return is a flag p4c tests in a
    // later step on Tofino).
    apply {
        if (hdr.ethernet.isValid() && hdr.ethernet.ether_type == ETHERTYPE_ARP) {
            meta.punt_reason = PUNT_ARP;
        } else if (hdr.ipv6.isValid() && hdr.icmp.isValid()
                && icmpv6_is_nd(hdr.icmp.icmp_type)) {
            meta.punt_reason = PUNT_ND;
        } else {
            if (hdr.ipv4.isValid()) {
                my_black_v4.apply();
            } else if (hdr.ipv6.isValid()) {
                my_black_v6.apply();
            }
            if (hdr.mpls.isValid() || meta.l4_proto == IP_PROTO_MPLS_IN_IP) {
                meta.drop_reason = DROP_CLEAR_MPLS_IN_IP;
            } else if (hdr.esp.isValid() && meta.to_loopback == 1) {
                // Decrypt pass: the engine finds the SA by SPI and fills sa_index.
                hdr.crypto.setValid();
                hdr.crypto.version = CRYPTO_VERSION;
                hdr.crypto.op = CRYPTO_OP_DECRYPT;
                hdr.crypto.sa_index = 0;
                hdr.crypto.result = CRYPTO_RESULT_OK;
                hdr.crypto.reserved = 0;
                hdr.crypto.ingress_port = (bit<16>) meta.orig_port;
                std.egress_spec = CRYPTO_PORT;
                meta.fwd_done = 1;
            } else if (meta.to_us == 1 && hdr.udp.isValid() && !hdr.esp.isValid()
                       && (hdr.udp.dst_port == UDP_PORT_IKE
                           || hdr.udp.dst_port == UDP_PORT_IKE_NATT)) {
                meta.punt_reason = PUNT_IKE;
            } else if (meta.to_us == 1 && hdr.icmp.isValid()) {
                meta.punt_reason = PUNT_ICMP;
            } else {
                // The keys read both families' source addresses, so one of
                // them is an invalid header's on every packet, as always. p4c
                // warns about it since this runs after the classification's
                // branches, where it sees IP headers invalidated (the
                // decrypted packet's pop); nothing else changed.
                @noWarn("invalid_header") {
                    black_acl.apply();
                }
            }
        }
    }
}

#endif  // SL3VPN_BLACK_CLASSIFY_P4
