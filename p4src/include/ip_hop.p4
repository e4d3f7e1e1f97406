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

#ifndef SL3VPN_IP_HOP_P4
#define SL3VPN_IP_HOP_P4

void ipv4_ttl_decrement(inout ipv4_h ip) {
    ip.ttl = ip.ttl - 1;
    // RFC 1624 equation 3, HC' = ~(~HC + ~m + m'), with m the 16-bit word of TTL
    // and protocol: the TTL check guarantees TTL > 1, so m drops by 0x0100 and
    // ~m + m' is 0xFEFF. Written as one add of a constant chosen by a compare,
    // the same result as the complement/fold form for all 65,536 checksums
    // (tests/p4src/test_ip_hop.py), because Tofino runs an action in one ALU
    // operation per field and cannot chain the fold and the complement. The
    // compare is written "high octet 0xFF, or exactly 0xFEFF" (>= 0xFEFF): a
    // Tofino gateway matches a 16-bit field by value and mask, but compares
    // ranges over 12 bits at most.
    if (ip.hdr_checksum[15:8] == 0xFF || ip.hdr_checksum == 0xFEFF) {
        ip.hdr_checksum = ip.hdr_checksum + 0x0101;
    } else {
        ip.hdr_checksum = ip.hdr_checksum + 0x0100;
    }
}

#endif  // SL3VPN_IP_HOP_P4
