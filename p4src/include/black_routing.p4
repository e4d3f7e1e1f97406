// Black routing for packets this C-PE originates on the black side: ESP
// coming back from the engine and controller packet-outs that bypass the SPD.
// LPM on the outer destination picks a black next hop (port and MACs).

#ifndef SL3VPN_BLACK_ROUTING_P4
#define SL3VPN_BLACK_ROUTING_P4

control BlackRouting(inout headers_t hdr,
                     inout local_metadata_t meta,
                     inout standard_metadata_t std) {
    @id(ACTION_SET_BLACK_NEXTHOP_ID)
    action set_black_nexthop_id(nexthop_id_t nexthop_id) {
        meta.nexthop_id = nexthop_id;
    }

    @id(ACTION_NO_BLACK_ROUTE)
    action no_black_route() {
        meta.drop_reason = DROP_NO_BLACK_ROUTE;
    }

    @id(TABLE_BLACK_FIB_V4)
    table black_fib_v4 {
        key = {
            hdr.ipv4.dst_addr : lpm @name("ipv4_dst");
        }
        actions = {
            set_black_nexthop_id;
            @defaultonly no_black_route;
        }
        const default_action = no_black_route();
        size = BLACK_FIB_SIZE;
    }

    @id(TABLE_BLACK_FIB_V6)
    table black_fib_v6 {
        key = {
            hdr.ipv6.dst_addr : lpm @name("ipv6_dst");
        }
        actions = {
            set_black_nexthop_id;
            @defaultonly no_black_route;
        }
        const default_action = no_black_route();
        size = BLACK_FIB_SIZE;
    }

    @id(ACTION_SET_BLACK_NEXTHOP)
    action set_black_nexthop(port_t port, mac_addr_t src_mac, mac_addr_t dst_mac) {
        std.egress_spec = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        meta.fwd_done = 1;
    }

    @id(TABLE_BLACK_NEXTHOP)
    table black_nexthop {
        key = {
            meta.nexthop_id : exact @name("nexthop_id");
        }
        actions = {
            set_black_nexthop;
            @defaultonly no_black_route;
        }
        const default_action = no_black_route();
        size = BLACK_NEXTHOP_SIZE;
    }

    apply {
        if (hdr.ipv4.isValid()) {
            black_fib_v4.apply();
        } else if (hdr.ipv6.isValid()) {
            black_fib_v6.apply();
        } else {
            meta.drop_reason = DROP_NO_BLACK_ROUTE;
        }
        if (meta.drop_reason == DROP_NONE) {
            black_nexthop.apply();
        }
    }
}

#endif  // SL3VPN_BLACK_ROUTING_P4
