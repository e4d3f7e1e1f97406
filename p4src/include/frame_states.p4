// The parse states from the Ethernet header on, the same on every
// architecture: included inside the v1model parser (parser.p4) and the TNA
// ingress parser (tna/parser.p4), whose own start states go to
// parse_ethernet. Included as text rather than called as a sub-parser so that
// each parser owns its headers from the start (p4c warns that a sub-parser
// call passes a partly initialised `out` header struct). The packet_in
// parameter is named `packet` in both parsers.
    state parse_ethernet {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_VLAN: parse_vlan;
            ETHERTYPE_ARP: parse_arp;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_vlan {
        packet.extract(hdr.vlan);
        transition select(hdr.vlan.ether_type) {
            ETHERTYPE_ARP: parse_arp;
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_arp {
        // Only Ethernet/IPv4 ARP (hardware type 1, protocol 0x0800) is
        // extracted; anything else is left unparsed (and punted as ARP, as
        // before). The address lengths are checked in neighbour_reply.p4
        // (Tofino selects on 32 bits at most).
        transition select(packet.lookahead<bit<32>>()) {
            32w0x00010800: extract_arp;
            default: accept;
        }
    }

    state extract_arp {
        packet.extract(hdr.arp);
        transition accept;
    }

    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        // Only unfragmented/first fragments without options expose L4 at a
        // fixed offset; anything else is forwarded on its IP header alone.
        transition select(hdr.ipv4.ihl, hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (4w5, 13w0, IP_PROTO_TCP): parse_tcp;
            (4w5, 13w0, IP_PROTO_UDP): parse_udp;
            (4w5, 13w0, IP_PROTO_ICMP): parse_icmp;
            (4w5, 13w0, IP_PROTO_ESP): parse_esp;
            (4w5, 13w0, IP_PROTO_MPLS_IN_IP): parse_mpls;
            default: accept;
        }
    }

    state parse_ipv6 {
        packet.extract(hdr.ipv6);
        transition select(hdr.ipv6.next_hdr) {
            IP_PROTO_TCP: parse_tcp;
            IP_PROTO_UDP: parse_udp;
            IP_PROTO_ICMPV6: parse_icmpv6;
            IP_PROTO_ESP: parse_esp;
            IP_PROTO_MPLS_IN_IP: parse_mpls;
            default: accept;
        }
    }

    state parse_mpls {
        packet.extract(hdr.mpls);
        // One VPN label is all this C-PE pushes; deeper stacks stay unparsed
        // and are dropped (DROP_LABEL_STACK) after decryption.
        transition select(hdr.mpls.bos) {
            1w1: parse_inner_ip;
            default: accept;
        }
    }

    state parse_inner_ip {
        // RFC 4023 / RFC 4364: the payload under the bottom label is IP; its
        // version nibble says which.
        transition select(packet.lookahead<bit<4>>()) {
            4w4: parse_inner_ipv4;
            4w6: parse_inner_ipv6;
            default: accept;
        }
    }

    state parse_inner_ipv4 {
        packet.extract(hdr.inner_ipv4);
        transition accept;
    }

    state parse_inner_ipv6 {
        packet.extract(hdr.inner_ipv6);
        transition accept;
    }

    state parse_tcp {
        packet.extract(hdr.tcp);
        transition accept;
    }

    state parse_udp {
        packet.extract(hdr.udp);
        transition select(hdr.udp.dst_port) {
            UDP_PORT_IKE_NATT: parse_natt;
            default: accept;
        }
    }

    state parse_natt {
        // RFC 3948: on UDP 4500 a zero "non-ESP marker" means IKE, anything
        // else is the SPI of a UDP-encapsulated ESP packet.
        transition select(packet.lookahead<bit<32>>()) {
            32w0: accept;
            default: parse_esp;
        }
    }

    state parse_icmp {
        packet.extract(hdr.icmp);
        transition accept;
    }

    state parse_icmpv6 {
        packet.extract(hdr.icmp);
        // A neighbour solicitation of 32 octets: target and exactly one
        // 8-octet option (a source link-layer address, checked in
        // neighbour_reply.p4). Anything else, and every other ICMPv6
        // message, stays payload.
        transition select(hdr.icmp.icmp_type, hdr.ipv6.payload_len) {
            (ICMPV6_NS, 16w32): parse_nd;
            default: accept;
        }
    }

    state parse_nd {
        packet.extract(hdr.nd);
        packet.extract(hdr.nd_opt);
        transition accept;
    }

    state parse_esp {
        packet.extract(hdr.esp);
        transition accept;
    }
