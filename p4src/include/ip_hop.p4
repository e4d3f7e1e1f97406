// One IP hop on a tenant header: the TTL decrement and its header checksum.
//
// The checksum is updated incrementally (RFC 1624, equation 3) rather than
// recomputed, because the pipeline parses only the fixed 20 octets of an IPv4
// header: options (IHL > 5) stay in the payload, where a recomputation over
// IPV4_CHECKSUM_FIELDS would not see them. The incremental update is right for
// any IHL, needs no parsing of options, and is plain arithmetic on every
// target (BMv2, p4sim, Tofino's MAU). The deparsers still recompute headers
// of exactly 20 octets (ingress_flow.p4 sets meta.ipv4_csum), which covers
// the outer headers the pipeline builds.
//
// Macros, not functions: p4c inlines a function's header argument through a
// copy (copy-in, copy-out), and each copy is one more dependent step on
// Tofino. Written out in place, the hop is one step.

#ifndef SL3VPN_IP_HOP_P4
#define SL3VPN_IP_HOP_P4

// RFC 1624 equation 3, HC' = ~(~HC + ~m + m'), with m the 16-bit word of TTL
// and protocol: the TTL check guarantees TTL > 1, so m drops by 0x0100 and
// ~m + m' is 0xFEFF. Written as one add of a constant chosen by a compare,
// the same result as the complement/fold form for all 65,536 checksums
// (tests/p4src/test_ip_hop.py), because Tofino runs an action in one ALU
// operation per field and cannot chain the fold and the complement. The
// compare is written "high octet 0xFF, or exactly 0xFEFF" (>= 0xFEFF): a
// Tofino gateway matches a 16-bit field by value and mask, but compares
// ranges over 12 bits at most. `dec` gets the checksum of `ip` after the hop
// (the same header, or the copy IPV4_HOP_INTO writes).
// `dec` gets the checksum of `ip` after the hop (the same header, or the copy
// IPV4_HOP_INTO writes); FIELDS are the other writes of the hop, repeated in
// both branches so that each branch is one Tofino table.
#define IPV4_HOP_CHECKSUM(ip, dec, FIELDS) \
    if (ip.hdr_checksum[15:8] == 0xFF || ip.hdr_checksum == 0xFEFF) { \
        FIELDS \
        dec.hdr_checksum = ip.hdr_checksum + 0x0101; \
    } else { \
        FIELDS \
        dec.hdr_checksum = ip.hdr_checksum + 0x0100; \
    }

#define IPV4_TTL_DECREMENT(ip) \
    IPV4_HOP_CHECKSUM(ip, ip, ip.ttl = ip.ttl - 1;)

// The hop written into another header (the encapsulation's inner one), each
// field once from the received header: the move and the hop in one step,
// where a copy followed by IPV4_TTL_DECREMENT would be two.
#define IPV4_HOP_FIELDS(ip, dec) \
    dec.setValid(); \
    dec.version = ip.version; \
    dec.ihl = ip.ihl; \
    dec.dscp_ecn = ip.dscp_ecn; \
    dec.total_len = ip.total_len; \
    dec.identification = ip.identification; \
    dec.flags = ip.flags; \
    dec.frag_offset = ip.frag_offset; \
    dec.ttl = ip.ttl - 1; \
    dec.protocol = ip.protocol; \
    dec.src_addr = ip.src_addr; \
    dec.dst_addr = ip.dst_addr;

// EXTRA: further writes of the caller's, made in the same branches (one
// Tofino table each, not a third one after them).
#define IPV4_HOP_INTO(ip, dec, EXTRA) \
    IPV4_HOP_CHECKSUM(ip, dec, IPV4_HOP_FIELDS(ip, dec) EXTRA)

#define IPV6_HOP_INTO(ip, dec) \
    dec.setValid(); \
    dec.version = ip.version; \
    dec.traffic_class = ip.traffic_class; \
    dec.flow_label = ip.flow_label; \
    dec.payload_len = ip.payload_len; \
    dec.next_hdr = ip.next_hdr; \
    dec.hop_limit = ip.hop_limit - 1; \
    dec.src_addr = ip.src_addr; \
    dec.dst_addr = ip.dst_addr;

#endif  // SL3VPN_IP_HOP_P4
