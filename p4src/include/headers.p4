// Header types and the metadata structs of the C-PE program.

#ifndef SL3VPN_HEADERS_P4
#define SL3VPN_HEADERS_P4

#include "defines.p4"
#include "crypto.p4"

// Packet-in metadata (switch -> controller), P4Runtime metadata ids 1..3.
@controller_header("packet_in")
header packet_in_h {
    port_t ingress_port;  // port the packet originally entered on
    bit<8> reason;        // PUNT_*
    bit<7> pad;
}

// Packet-out metadata (controller -> switch), P4Runtime metadata ids 1..3.
// do_forward = 0: send straight out egress_port; 1: run the packet through
// the pipeline as traffic originated by the C-PE (SPD, black routing).
@controller_header("packet_out")
header packet_out_h {
    port_t egress_port;
    bit<1> do_forward;
    bit<6> pad;
}

header ethernet_h {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

// RFC 826 ARP for Ethernet and IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4):
// the only kind the parser extracts (parse_arp), 28 octets.
header arp_h {
    bit<16>     htype;
    bit<16>     ptype;
    bit<8>      hlen;
    bit<8>      plen;
    bit<16>     oper;
    mac_addr_t  sha;
    ipv4_addr_t spa;
    mac_addr_t  tha;
    ipv4_addr_t tpa;
}

// IEEE 802.1Q tag; ether_type is the type of what follows the tag.
header vlan_h {
    bit<3>    pcp;
    bit<1>    dei;
    vlan_id_t vid;
    bit<16>   ether_type;
}

header ipv4_h {
    bit<4>      version;
    bit<4>      ihl;
    bit<8>      dscp_ecn;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

// The IPv4 header without its checksum, in wire order: what RFC 791's header
// checksum covers. Used by v1model's update_checksum and TNA's Checksum.
#define IPV4_CHECKSUM_FIELDS(ip) \
    { ip.version, ip.ihl, ip.dscp_ecn, ip.total_len, ip.identification, ip.flags, \
      ip.frag_offset, ip.ttl, ip.protocol, ip.src_addr, ip.dst_addr }

header ipv6_h {
    bit<4>      version;
    bit<8>      traffic_class;
    bit<20>     flow_label;
    bit<16>     payload_len;
    bit<8>      next_hdr;
    bit<8>      hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

// RFC 3032 label stack entry.
header mpls_h {
    mpls_label_t label;
    bit<3>       tc;
    bit<1>       bos;
    bit<8>       ttl;
}

header tcp_h {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  res;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

header udp_h {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

// ICMP and ICMPv6 share the first four octets.
header icmp_h {
    bit<8>  icmp_type;
    bit<8>  icmp_code;
    bit<16> checksum;
}

// RFC 4861 4.3/4.4: what follows the ICMPv6 type, code and checksum in a
// neighbour solicitation or advertisement (flags R, S, O in the top bits of
// an NA; reserved in an NS), and one link-layer address option (4.6.1,
// length 1 = 8 octets: source in an NS, target in an NA).
header nd_h {
    bit<32>     flags;
    ipv6_addr_t target;
}

header nd_lla_opt_h {
    bit<8>     type;
    bit<8>     len;
    mac_addr_t lladdr;
}

// The ICMPv6 checksum of an ND message of exactly these headers (RFC 4443
// 2.3): the pseudo-header (RFC 8200 8.1: source, destination, upper-layer
// length, zero, next header; the length's and the zeros' high words add
// nothing to the sum) and the message without its checksum field.
#define ND_CHECKSUM_FIELDS(ip6, icmp6, nd, opt) \
    { ip6.src_addr, ip6.dst_addr, ip6.payload_len, 8w0, ip6.next_hdr, \
      icmp6.icmp_type, icmp6.icmp_code, nd.flags, nd.target, opt.type, opt.len, opt.lladdr }

// RFC 4303 ESP header (the part the pipeline can see).
header esp_h {
    bit<32> spi;
    bit<32> seq_no;
}

struct headers_t {
    packet_out_h packet_out;
    packet_in_h  packet_in;
    crypto_h     crypto;
    ethernet_h   ethernet;
    vlan_h       vlan;
    arp_h        arp;
    ipv4_h       ipv4;        // the outermost IPv4 header
    ipv6_h       ipv6;        // the outermost IPv6 header
    mpls_h       mpls;
    ipv4_h       inner_ipv4;  // tenant header behind the VPN label
    ipv6_h       inner_ipv6;
    tcp_h        tcp;
    udp_h        udp;
    icmp_h       icmp;
    nd_h         nd;          // NS with one source link-layer option (parse_nd)
    nd_lla_opt_h nd_opt;
    esp_h        esp;
}

struct local_metadata_t {
    port_t       orig_port;    // where the packet entered the switch (first pass)
    bit<2>       src_role;     // ROLE_* of orig_port
    bit<2>       dst_role;     // ROLE_* of the chosen egress port
    vrf_id_t     vrf_id;
    bit<1>       is_subif;     // red frame arrived with a bound 802.1Q tag
    bit<1>       route_in_vrf; // run the VRF FIB
    bit<1>       route_black;  // run the black FIB
    bit<1>       black_in;     // a black port's frame for black_classify
    bit<1>       via_sa;       // decrypted and bound to the outer source's tunnel
    bit<1>       sa_control;   // ... and the SA is a control SA (red BGP), not an MPLS SA
    bit<128>     sa_local_addr; // a control SA's local address (IPv4 in the low 32 bits)
    bit<1>       via_encrypt;  // came back encrypted from the engine
    bit<1>       fwd_done;     // egress_spec has been chosen
    bit<1>       to_us;        // black destination is one of our addresses
    bit<1>       to_loopback;  // ... and it is our black loopback
    bit<2>       fwd_kind;     // FWD_*
    nexthop_id_t nexthop_id;
    tunnel_id_t  tunnel_id;
    mpls_label_t label;
    sa_index_t   sa_index;
    vrf_id_t     dst_vrf_id;   // VRF of the chosen red next hop
    vlan_id_t    out_vlan;     // 802.1Q tag to push on local delivery (0: none)
    bit<1>       outer_v6;     // tunnel encapsulates in IPv6
    bit<128>     outer_src;    // tunnel endpoints (IPv4 in the low 32 bits)
    bit<128>     outer_dst;
    bit<1>       spd_protect;  // controller traffic matched an SPD protect rule
    bit<16>      tunnel_mtu;   // largest MPLS-in-IP packet the tunnel takes
    bit<8>       drop_reason;  // DROP_*
    bit<8>       punt_reason;  // PUNT_*
    bit<8>       l4_proto;
    bit<16>      l4_sport;
    bit<16>      l4_dport;
    bit<16>      encap_len_v4; // IP length of the tenant packet once in MPLS-in-IPv4
    bit<16>      encap_len_v6; // ... and in MPLS-in-IPv6 (both computed before the FIB)
    bit<16>      encap_less1_v4; // encap_len_v4 - 1 (for the MTU check)
    bit<16>      encap_less1_v6; // encap_len_v6 - 1
    bit<16>      encap_len;    // IP length after MPLS-in-IP encapsulation (the tunnel's)
    bit<1>       hop_expired;  // the routed header's TTL/hop limit is 1 or 0
    bit<1>       sa_missing;   // the tunnel has no outbound SA
    bit<16>      mtu_room;     // tunnel_mtu - (encap_len - 1), saturating: 0 = too big
    bit<1>       ipv4_csum;    // recompute hdr.ipv4's checksum on the way out
    bit<1>       inner_ipv4_csum; // ... and hdr.inner_ipv4's
    bit<1>       nd_csum;      // recompute the ICMPv6 checksum of an NA built from an NS
}

#endif  // SL3VPN_HEADERS_P4
