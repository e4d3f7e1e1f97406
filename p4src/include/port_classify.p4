// Port roles: which ports are red (bound to a VRF, optionally with 802.1Q
// subinterfaces each bound to a VRF) and which are black. The CPU and crypto
// ports are fixed (defines.p4) and never appear here.

#ifndef SL3VPN_PORT_CLASSIFY_P4
#define SL3VPN_PORT_CLASSIFY_P4

control PortClassify(inout headers_t hdr,
                     inout local_metadata_t meta,
                     inout standard_metadata_t std) {
    // vrf_id 0 means "no VRF for untagged frames" (a pure trunk port).
    @id(ACTION_SET_RED_PORT)
    action set_red_port(vrf_id_t vrf_id) {
        meta.src_role = ROLE_RED;
        meta.vrf_id = vrf_id;
    }

    @id(ACTION_SET_BLACK_PORT)
    action set_black_port() {
        meta.src_role = ROLE_BLACK;
    }

    @id(ACTION_UNKNOWN_PORT)
    action unknown_port() {
        meta.src_role = ROLE_NONE;
        meta.drop_reason = DROP_PORT_UNKNOWN;
    }

    // Keyed on the original ingress port so the second pass (after the
    // crypto port) still knows which side the packet came from.
    @id(TABLE_PORT_ROLE)
    table port_role {
        key = {
            meta.orig_port : exact @name("port");
        }
        actions = {
            set_red_port;
            set_black_port;
            @defaultonly unknown_port;
        }
        const default_action = unknown_port();
        size = PORT_TABLE_SIZE;
    }

    @id(ACTION_SET_SUBIF_VRF)
    action set_subif_vrf(vrf_id_t vrf_id) {
        meta.vrf_id = vrf_id;
        meta.is_subif = 1;
    }

    @id(ACTION_UNKNOWN_VLAN)
    action unknown_vlan() {
        meta.drop_reason = DROP_UNKNOWN_VLAN;
    }

    @id(TABLE_RED_SUBIF)
    table red_subif {
        key = {
            meta.orig_port : exact @name("port");
            hdr.vlan.vid   : exact @name("vlan_id");
        }
        actions = {
            set_subif_vrf;
            @defaultonly unknown_vlan;
        }
        const default_action = unknown_vlan();
        size = SUBIF_TABLE_SIZE;
    }

    apply {
        if (meta.orig_port == CPU_PORT) {
            meta.src_role = ROLE_CPU;
        } else {
            port_role.apply();
            if (meta.src_role == ROLE_RED && hdr.vlan.isValid() && !hdr.crypto.isValid()) {
                red_subif.apply();
            }
        }
    }
}

#endif  // SL3VPN_PORT_CLASSIFY_P4
