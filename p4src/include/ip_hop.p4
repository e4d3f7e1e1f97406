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
    // HC' = ~(~HC + ~m + m') in ones' complement, m the 16-bit word of TTL and
    // protocol: it drops by 0x0100 (the TTL check guarantees TTL > 1), so
    // ~m + m' is 0xFEFF. One end-around carry fold suffices: 0xFFFF + 0xFEFF
    // folds to 0xFEFF.
    bit<17> sum = ((bit<17>) (~ip.hdr_checksum)) + 17w0xFEFF;
    ip.hdr_checksum = ~(sum[15:0] + ((bit<16>) sum[16:16]));
}

#endif  // SL3VPN_IP_HOP_P4
