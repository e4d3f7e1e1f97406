// Per-VRF IPv4 and IPv6 longest-prefix match. The VRF id is part of every
// key, so tenants with overlapping address spaces stay separate. A hit either
// delivers locally (a red next hop), sends to a remote C-PE (VPN label +
// tunnel), punts (our own red addresses) or drops (blackhole).

#ifndef SL3VPN_VRF_ROUTING_P4
#define SL3VPN_VRF_ROUTING_P4

control VrfRouting(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t std) {
    @id(COUNTER_VRF)
    PACKET_BYTE_COUNTER(MAX_VRFS) vrf_counter;

    @id(ACTION_ROUTE_LOCAL)
    action route_local(nexthop_id_t nexthop_id) {
        meta.fwd_kind = FWD_LOCAL;
        meta.nexthop_id = nexthop_id;
    }

    @id(ACTION_ROUTE_REMOTE)
    action route_remote(mpls_label_t label, tunnel_id_t tunnel_id) {
        meta.fwd_kind = FWD_REMOTE;
        meta.label = label;
        meta.tunnel_id = tunnel_id;
    }

    @id(ACTION_ROUTE_TO_CPU)
    action route_to_cpu() {
        meta.punt_reason = PUNT_ROUTE_TO_CPU;
    }

    @id(ACTION_ROUTE_DROP)
    action route_drop() {
        meta.drop_reason = DROP_ROUTE_BLACKHOLE;
    }

    @id(ACTION_VRF_MISS)
    action vrf_miss() {
        meta.drop_reason = DROP_VRF_MISS;
    }

    @id(TABLE_VRF_FIB_V4)
#ifdef SL3VPN_TNA
    @alpm(1)  // Tofino: algorithmic LPM in SRAM, see the README ("TNA")
#endif
    table vrf_fib_v4 {
        key = {
            meta.vrf_id       : exact @name("vrf_id");
            hdr.ipv4.dst_addr : lpm @name("ipv4_dst");
        }
        actions = {
            route_local;
            route_remote;
            route_to_cpu;
            route_drop;
            @defaultonly vrf_miss;
        }
        const default_action = vrf_miss();
        size = VRF_FIB_V4_SIZE;
    }

    @id(TABLE_VRF_FIB_V6)
#ifdef SL3VPN_TNA
    @alpm(1)  // Tofino: algorithmic LPM in SRAM, see the README ("TNA")
#endif
    table vrf_fib_v6 {
        key = {
            meta.vrf_id       : exact @name("vrf_id");
            hdr.ipv6.dst_addr : lpm @name("ipv6_dst");
        }
        actions = {
            route_local;
            route_remote;
            route_to_cpu;
            route_drop;
            @defaultonly vrf_miss;
        }
        const default_action = vrf_miss();
        size = VRF_FIB_V6_SIZE;
    }

    apply {
        vrf_counter.count((bit<32>) meta.vrf_id);
        // The C-PE is one IP hop in either direction; expiry is punted so the
        // controller can answer with ICMP Time Exceeded. Tested beside the
        // lookup (it reads only the header) and acted on after it without
        // touching fwd_kind, so on Tofino the punt shares a stage with the next
        // hop and tunnel lookups (ingress_flow.p4 skips those on hop_expired).
        // The decrement itself happens where the packet is committed to leave
        // (LocalDelivery, TunnelEncap), so packets punted before that are the
        // ones received.
        if ((hdr.ipv4.isValid() && hdr.ipv4.ttl <= 1)
                || (hdr.ipv6.isValid() && hdr.ipv6.hop_limit <= 1)) {
            meta.hop_expired = 1;
        }
        if (hdr.ipv4.isValid()) {
            vrf_fib_v4.apply();
        } else if (hdr.ipv6.isValid()) {
            vrf_fib_v6.apply();
        }
        if (meta.fwd_kind != FWD_NONE && meta.hop_expired == 1) {
            meta.punt_reason = PUNT_TTL_EXPIRED;
        }
    }
}

#endif  // SL3VPN_VRF_ROUTING_P4
