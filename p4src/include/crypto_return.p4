// Second pass: frames coming back from the ESP engine on the crypto port.
// ENCRYPT: count per SA, then route the ESP packet out a black port.
// DECRYPT: accept only if the SA the engine used is bound to the packet's
// source (draft sections 5 and 7), then hold the packet to that SA's
// selectors (RFC 4301 section 5.2): an MPLS SA carries MPLS-in-IP only, which
// is popped and routed in the VRF its label names; a control SA carries only
// BGP (TCP port 179) to the local address it was negotiated for, which is
// punted to the CPU. Anything else is dropped as SA_POLICY.

#ifndef SL3VPN_CRYPTO_RETURN_P4
#define SL3VPN_CRYPTO_RETURN_P4

control CryptoReturn(inout headers_t hdr,
                     inout local_metadata_t meta,
                     inout standard_metadata_t std) {
    @id(COUNTER_SA_TX)
    PACKET_BYTE_COUNTER(MAX_SAS) sa_tx_counter;
    @id(COUNTER_SA_RX)
    PACKET_BYTE_COUNTER(MAX_SAS) sa_rx_counter;

    // An MPLS SA of the tunnel tunnel_id.
    @id(ACTION_INBOUND_SA_OK)
    action inbound_sa_ok(tunnel_id_t tunnel_id) {
        meta.via_sa = 1;
        meta.tunnel_id = tunnel_id;
    }

    // A control SA: red BGP between the table's source and local_addr (the
    // black loopbacks in transport mode, the red loopbacks in tunnel mode).
    @id(ACTION_INBOUND_SA_CONTROL_V4)
    action inbound_sa_control_v4(ipv4_addr_t local_addr) {
        meta.via_sa = 1;
        meta.sa_control = 1;
        meta.sa_local_addr = (bit<128>) local_addr;
    }

    @id(ACTION_INBOUND_SA_CONTROL_V6)
    action inbound_sa_control_v6(ipv6_addr_t local_addr) {
        meta.via_sa = 1;
        meta.sa_control = 1;
        meta.sa_local_addr = local_addr;
    }

    @id(ACTION_INBOUND_SA_MISMATCH)
    action inbound_sa_mismatch() {
        meta.drop_reason = DROP_SA_TUNNEL_MISMATCH;
    }

    // One entry per inbound SA: (sa_index, the source its packets come from
    // after decryption: an MPLS SA's peer black loopback, a control SA's peer
    // session address -- its black loopback in transport mode, its red address in
    // tunnel mode), and the SA's kind in the action.
    @id(TABLE_INBOUND_SA_V4)
    table inbound_sa_v4 {
        key = {
            hdr.crypto.sa_index : exact @name("sa_index");
            hdr.ipv4.src_addr   : exact @name("ipv4_src");
        }
        actions = {
            inbound_sa_ok;
            inbound_sa_control_v4;
            @defaultonly inbound_sa_mismatch;
        }
        const default_action = inbound_sa_mismatch();
        size = SA_TABLE_SIZE;
    }

    @id(TABLE_INBOUND_SA_V6)
    table inbound_sa_v6 {
        key = {
            hdr.crypto.sa_index : exact @name("sa_index");
            hdr.ipv6.src_addr   : exact @name("ipv6_src");
        }
        actions = {
            inbound_sa_ok;
            inbound_sa_control_v6;
            @defaultonly inbound_sa_mismatch;
        }
        const default_action = inbound_sa_mismatch();
        size = SA_TABLE_SIZE;
    }

    @id(ACTION_SET_LABEL_VRF)
    action set_label_vrf(vrf_id_t vrf_id) {
        meta.vrf_id = vrf_id;
    }

    @id(ACTION_UNKNOWN_LABEL)
    action unknown_label() {
        meta.drop_reason = DROP_UNKNOWN_LABEL;
    }

    // The VPN labels this C-PE advertised, each naming the VRF to route in.
    @id(TABLE_VPN_LABEL)
    table vpn_label {
        key = {
            hdr.mpls.label : exact @name("label");
        }
        actions = {
            set_label_vrf;
            @defaultonly unknown_label;
        }
        const default_action = unknown_label();
        size = VPN_LABEL_SIZE;
    }

    // if/else rather than early returns: p4c turns each return into a flag
    // that every later statement tests, more tables and steps on Tofino.
    apply {
        if (hdr.crypto.version != CRYPTO_VERSION
                || (hdr.crypto.op != CRYPTO_OP_ENCRYPT && hdr.crypto.op != CRYPTO_OP_DECRYPT)) {
            meta.drop_reason = DROP_CRYPTO_BAD_HEADER;
        } else if (hdr.crypto.result != CRYPTO_RESULT_OK) {
            // The engine's error, as a drop reason. The codes NO_SA..REPLAY (1-3)
            // map onto UNKNOWN_SA..REPLAY (7-9) and MALFORMED..SEQ_EXHAUSTED (4-6)
            // onto ESP_MALFORMED..SEQ_EXHAUSTED (13-15), in order, so two offsets
            // do it: three branches where one per code took six, each branch a
            // Tofino table. Any other code counts as a malformed packet.
            if (hdr.crypto.result[7:2] == 0) {
                meta.drop_reason = hdr.crypto.result + (DROP_UNKNOWN_SA - CRYPTO_RESULT_NO_SA);
            } else if (hdr.crypto.result[7:3] == 0 && hdr.crypto.result[1:0] != 3) {
                meta.drop_reason = hdr.crypto.result + (DROP_ESP_MALFORMED - CRYPTO_RESULT_MALFORMED);
            } else {
                meta.drop_reason = DROP_ESP_MALFORMED;
            }
        } else if (hdr.crypto.op == CRYPTO_OP_ENCRYPT) {
            meta.sa_index = hdr.crypto.sa_index;
            sa_tx_counter.count((bit<32>) hdr.crypto.sa_index);
            meta.via_encrypt = 1;
            meta.route_black = 1;
            hdr.crypto.setInvalid();
        } else {
            meta.sa_index = hdr.crypto.sa_index;
            sa_rx_counter.count((bit<32>) hdr.crypto.sa_index);
            if (hdr.ipv4.isValid()) {
                inbound_sa_v4.apply();
            } else if (hdr.ipv6.isValid()) {
                inbound_sa_v6.apply();
            } else {
                meta.drop_reason = DROP_ESP_MALFORMED;
            }
            if (meta.via_sa == 0) {
                // Not bound to this source (or not IP): dropped above.
            } else if (meta.sa_control == 1) {
                // BGP to the SA's local address, tested in steps that each read
                // at most 32 bits of packet and metadata: a Tofino gateway takes
                // 4 bytes of PHV per condition. An IPv4 packet's control SA
                // comes from inbound_sa_v4 (inbound_sa_control_v4), so the upper
                // 96 bits of sa_local_addr are zero and the low 32 decide.
                bit<1> bgp = 0;
                if (hdr.tcp.isValid()) {
                    if (hdr.tcp.src_port == TCP_PORT_BGP || hdr.tcp.dst_port == TCP_PORT_BGP) {
                        bgp = 1;
                    }
                }
                // One flag per 32-bit word, so the four compares are independent
                // (one stage on Tofino) and the last test reads five bits.
                bit<1> other_w3 = 0;
                bit<1> other_w2 = 0;
                bit<1> other_w1 = 0;
                bit<1> other_w0 = 0;
                if (hdr.ipv4.isValid()) {
                    if (hdr.ipv4.dst_addr != meta.sa_local_addr[31:0]) {
                        other_w0 = 1;
                    }
                } else if (hdr.ipv6.isValid()) {
                    if (hdr.ipv6.dst_addr[127:96] != meta.sa_local_addr[127:96]) {
                        other_w3 = 1;
                    }
                    if (hdr.ipv6.dst_addr[95:64] != meta.sa_local_addr[95:64]) {
                        other_w2 = 1;
                    }
                    if (hdr.ipv6.dst_addr[63:32] != meta.sa_local_addr[63:32]) {
                        other_w1 = 1;
                    }
                    if (hdr.ipv6.dst_addr[31:0] != meta.sa_local_addr[31:0]) {
                        other_w0 = 1;
                    }
                }
                if (bgp == 1 && other_w3 == 0 && other_w2 == 0 && other_w1 == 0 && other_w0 == 0) {
                    meta.punt_reason = PUNT_CONTROL_SA;
                } else {
                    meta.drop_reason = DROP_SA_POLICY;
                }
            } else if (!hdr.mpls.isValid()) {
                // Not MPLS-in-IP on an MPLS SA (BGP, ICMP, a tenant packet in
                // the clear inside ESP): never punted, never routed.
                meta.drop_reason = DROP_SA_POLICY;
            } else if (hdr.mpls.bos == 0 || !(hdr.inner_ipv4.isValid() || hdr.inner_ipv6.isValid())) {
                meta.drop_reason = DROP_LABEL_STACK;
            } else {
                vpn_label.apply();
                if (meta.drop_reason == DROP_NONE) {
                    // Pop the label and strip the outer IP header (short pipe:
                    // the label TTL is not copied into the tenant header).
                    // The checksum marks (ingress_flow.p4) move with the header.
                    if (hdr.inner_ipv4.isValid()) {
                        hdr.ipv6.setInvalid();
                        hdr.ipv4 = hdr.inner_ipv4;
                        meta.ipv4_csum = meta.inner_ipv4_csum;
                        hdr.ethernet.ether_type = ETHERTYPE_IPV4;
                    } else {
                        hdr.ipv4.setInvalid();
                        meta.ipv4_csum = 0;
                        hdr.ipv6 = hdr.inner_ipv6;
                        hdr.ethernet.ether_type = ETHERTYPE_IPV6;
                    }
                    hdr.inner_ipv4.setInvalid();
                    meta.inner_ipv4_csum = 0;
                    hdr.inner_ipv6.setInvalid();
                    hdr.mpls.setInvalid();
                    hdr.crypto.setInvalid();
                    meta.route_in_vrf = 1;
                }
            }
        }
    }
}

#endif  // SL3VPN_CRYPTO_RETURN_P4
