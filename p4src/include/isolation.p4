// Red/black isolation guard (draft section 7), applied to the final egress
// decision whatever path produced it: nothing that entered on a red port may
// leave a black port unless it came back encrypted from the engine, and
// nothing that entered on a black port may leave a red port unless it was
// decrypted through an SA bound to its tunnel. It catches configuration
// mistakes (a red next hop on a black port, a black next hop on a red port)
// that the forwarding tables alone would let through. It fails closed: an
// egress port with no role entry is neither red nor black, so nothing may
// leave through it (the CPU and crypto ports, fixed in defines.p4 and never in
// the table, excepted).

#ifndef SL3VPN_ISOLATION_P4
#define SL3VPN_ISOLATION_P4

control IsolationGuard(inout headers_t hdr,
                       inout local_metadata_t meta,
                       inout standard_metadata_t std) {
    @id(ACTION_EGRESS_RED)
    action egress_red() {
        meta.dst_role = ROLE_RED;
    }

    @id(ACTION_EGRESS_BLACK)
    action egress_black() {
        meta.dst_role = ROLE_BLACK;
    }

    // The same roles as port_role, keyed on the chosen egress port.
    @id(TABLE_EGRESS_PORT_ROLE)
    table egress_port_role {
        key = {
            std.egress_spec : exact @name("port");
        }
        actions = {
            egress_red;
            egress_black;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = PORT_TABLE_SIZE;
    }

    apply {
        egress_port_role.apply();
        if (meta.dst_role == ROLE_NONE
                && std.egress_spec != CPU_PORT && std.egress_spec != CRYPTO_PORT) {
            meta.drop_reason = DROP_EGRESS_PORT_UNKNOWN;
        } else if (meta.src_role == ROLE_RED && meta.dst_role == ROLE_BLACK && meta.via_encrypt == 0) {
            meta.drop_reason = DROP_RED_TO_BLACK_CLEAR;
        } else if (meta.src_role == ROLE_BLACK && meta.dst_role == ROLE_RED && meta.via_sa == 0) {
            meta.drop_reason = DROP_BLACK_TO_RED_NO_SA;
        }
    }
}

#endif  // SL3VPN_ISOLATION_P4
