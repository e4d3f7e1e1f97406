// Local delivery to a red port: next hop (port, MACs, optional VLAN), the
// extranet policy when the next hop is in another VRF (draft section 7).

#ifndef SL3VPN_LOCAL_DELIVERY_P4
#define SL3VPN_LOCAL_DELIVERY_P4

control LocalDelivery(inout headers_t hdr,
                      inout local_metadata_t meta,
                      inout standard_metadata_t std) {
    // vlan_id 0: send untagged; otherwise tag with the subinterface VLAN.
    @id(ACTION_SET_RED_NEXTHOP)
    action set_red_nexthop(port_t port, mac_addr_t src_mac, mac_addr_t dst_mac,
                           vlan_id_t vlan_id, vrf_id_t vrf_id) {
        std.egress_spec = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        meta.out_vlan = vlan_id;
        meta.dst_vrf_id = vrf_id;
        meta.fwd_done = 1;
    }

    @id(ACTION_NO_NEXTHOP)
    action no_nexthop() {
        meta.drop_reason = DROP_NO_NEXTHOP;
    }

    @id(TABLE_RED_NEXTHOP)
    table red_nexthop {
        key = {
            meta.nexthop_id : exact @name("nexthop_id");
        }
        actions = {
            set_red_nexthop;
            @defaultonly no_nexthop;
        }
        const default_action = no_nexthop();
        size = RED_NEXTHOP_SIZE;
    }

    @id(ACTION_EXTRANET_ALLOW)
    action extranet_allow() {
    }

    @id(ACTION_EXTRANET_DENY)
    action extranet_deny() {
        // fwd_done stays: the drop reason comes first in the verdict
        // (ingress_flow.p4), and LocalRewrite need not wait for this table.
        meta.drop_reason = DROP_EXTRANET_DENIED;
    }

    // Which VRF may deliver into which other VRF on this C-PE.
    @id(TABLE_EXTRANET)
    table extranet {
        key = {
            meta.vrf_id     : exact @name("src_vrf_id");
            meta.dst_vrf_id : exact @name("dst_vrf_id");
        }
        actions = {
            extranet_allow;
            @defaultonly extranet_deny;
        }
        const default_action = extranet_deny();
        size = EXTRANET_SIZE;
    }

    // The next hop and, across VRFs, the extranet check; the rewrites are
    // LocalRewrite, applied after the isolation guard's lookup (ingress_flow.p4).
    apply {
        red_nexthop.apply();
        if (meta.fwd_done == 1 && meta.dst_vrf_id != meta.vrf_id) {
            extranet.apply();
        }
    }
}

// The rewrites of local delivery, for a packet LocalDelivery found a next hop
// for. No tables, so no P4Runtime objects; a control of its own for the reason
// TunnelPush is (tunnel_encap.p4): after the guard's lookup in program order,
// so that the lookup need not wait behind it on Tofino. They do not wait for
// the extranet check either: a packet it denies is dropped, whatever its
// headers.
control LocalRewrite(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        if (meta.fwd_done == 1) {
            // Routing in a VRF needs IPv4 or IPv6 (red_classify, crypto_return), so
            // one of the two is valid; testing both lets p4c see it too.
            if (hdr.ipv4.isValid()) {
                IPV4_TTL_DECREMENT(hdr.ipv4)
            } else if (hdr.ipv6.isValid()) {
                hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
            }
            // Untag, retag or tag, each in one step from the received headers (a
            // strip followed by a push would be two dependent steps on Tofino).
            if (meta.out_vlan == 0) {
                if (hdr.vlan.isValid()) {
                    hdr.ethernet.ether_type = hdr.vlan.ether_type;
                    hdr.vlan.setInvalid();
                }
            } else if (hdr.vlan.isValid()) {
                hdr.vlan.pcp = 0;
                hdr.vlan.dei = 0;
                hdr.vlan.vid = meta.out_vlan;
                hdr.ethernet.ether_type = ETHERTYPE_VLAN;
            } else {
                hdr.vlan.setValid();
                hdr.vlan.pcp = 0;
                hdr.vlan.dei = 0;
                hdr.vlan.vid = meta.out_vlan;
                hdr.vlan.ether_type = hdr.ethernet.ether_type;
                hdr.ethernet.ether_type = ETHERTYPE_VLAN;
            }
        }
    }
}

#endif  // SL3VPN_LOCAL_DELIVERY_P4
