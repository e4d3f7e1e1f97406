// Security policy for traffic the controller originates through the pipeline
// (packet-out with do_forward = 1). The controller's BGP to a red route
// reflector (TCP 179 between black loopbacks) matches a "protect" rule naming
// a control SA and is encrypted like tenant traffic (draft section 2: VPN-IP
// routes only over IPsec-protected sessions). Everything else bypasses to the
// black FIB.

#ifndef SL3VPN_CONTROL_SPD_P4
#define SL3VPN_CONTROL_SPD_P4

control ControlSpd(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t std) {
    @id(ACTION_SPD_PROTECT)
    action spd_protect(sa_index_t sa_index) {
        meta.sa_index = sa_index;
        meta.spd_protect = 1;
    }

    @id(ACTION_SPD_BYPASS)
    action spd_bypass() {
        meta.route_black = 1;
    }

    @id(ACTION_SPD_DISCARD)
    action spd_discard() {
        meta.drop_reason = DROP_SPD_DISCARD;
    }

    @id(TABLE_SPD_V4)
    table spd_v4 {
        key = {
            hdr.ipv4.src_addr : ternary @name("ipv4_src");
            hdr.ipv4.dst_addr : ternary @name("ipv4_dst");
            meta.l4_proto     : ternary @name("ip_proto");
            meta.l4_sport     : ternary @name("l4_sport");
            meta.l4_dport     : ternary @name("l4_dport");
        }
        actions = {
            spd_protect;
            spd_bypass;
            spd_discard;
        }
        const default_action = spd_bypass();
        size = SPD_SIZE;
    }

    @id(TABLE_SPD_V6)
    table spd_v6 {
        key = {
            hdr.ipv6.src_addr : ternary @name("ipv6_src");
            hdr.ipv6.dst_addr : ternary @name("ipv6_dst");
            meta.l4_proto     : ternary @name("ip_proto");
            meta.l4_sport     : ternary @name("l4_sport");
            meta.l4_dport     : ternary @name("l4_dport");
        }
        actions = {
            spd_protect;
            spd_bypass;
            spd_discard;
        }
        const default_action = spd_bypass();
        size = SPD_SIZE;
    }

    apply {
        if (hdr.ipv4.isValid()) {
            spd_v4.apply();
        } else if (hdr.ipv6.isValid()) {
            spd_v6.apply();
        } else {
            // Non-IP (e.g. ARP) from the controller: nothing to route it by.
            meta.drop_reason = DROP_NOT_IP;
        }
        if (meta.spd_protect == 1) {
            hdr.crypto.setValid();
            hdr.crypto.version = CRYPTO_VERSION;
            hdr.crypto.op = CRYPTO_OP_ENCRYPT;
            hdr.crypto.sa_index = meta.sa_index;
            hdr.crypto.result = CRYPTO_RESULT_OK;
            hdr.crypto.reserved = 0;
            hdr.crypto.ingress_port = (bit<16>) CPU_PORT;
            std.egress_spec = CRYPTO_PORT;
            meta.fwd_done = 1;
        }
    }
}

#endif  // SL3VPN_CONTROL_SPD_P4
