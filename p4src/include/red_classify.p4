// Red ingress before routing: control traffic to the CPU, IP into the VRF.

#ifndef SL3VPN_RED_CLASSIFY_P4
#define SL3VPN_RED_CLASSIFY_P4

control RedClassify(inout headers_t hdr,
                    inout local_metadata_t meta,
                    inout standard_metadata_t std) {
    apply {
        // A runt frame leaves hdr.ethernet invalid, and an invalid header's fields are
        // unspecified (BMv2 keeps the previous packet's): test validity first.
        if ((hdr.ethernet.isValid() && hdr.ethernet.ether_type == ETHERTYPE_ARP)
                || (hdr.vlan.isValid() && hdr.vlan.ether_type == ETHERTYPE_ARP)) {
            meta.punt_reason = PUNT_ARP;
        } else if (hdr.ipv6.isValid() && hdr.icmp.isValid()
                   && icmpv6_is_nd(hdr.icmp.icmp_type)) {
            meta.punt_reason = PUNT_ND;
        } else if (hdr.ipv4.isValid() || hdr.ipv6.isValid()) {
            meta.route_in_vrf = 1;
        } else {
            meta.drop_reason = DROP_NOT_IP;
        }
    }
}

#endif  // SL3VPN_RED_CLASSIFY_P4
