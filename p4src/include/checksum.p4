// IPv4 header checksums. Received checksums are not verified here: the
// tenant's and the peer's IP stacks own that, and the ESP ICV protects the
// tunnel. IPv4 headers of 20 octets (the outer ones the pipeline builds, and
// tenant headers without options) are recomputed on the way out, as the flow
// marks them (meta.ipv4_csum, meta.inner_ipv4_csum in ingress_flow.p4); a
// header with options had its TTL decrement applied incrementally (ip_hop.p4).
// The ICMPv6 checksum of a neighbour advertisement built from a solicitation
// (neighbour_reply.p4) is recomputed too (meta.nd_csum).

#ifndef SL3VPN_CHECKSUM_P4
#define SL3VPN_CHECKSUM_P4

control CpeVerifyChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
    }
}

control CpeComputeChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        update_checksum(meta.ipv4_csum == 1, IPV4_CHECKSUM_FIELDS(hdr.ipv4),
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum(meta.inner_ipv4_csum == 1, IPV4_CHECKSUM_FIELDS(hdr.inner_ipv4),
            hdr.inner_ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum(meta.nd_csum == 1, ND_CHECKSUM_FIELDS(hdr.ipv6, hdr.icmp, hdr.nd, hdr.nd_opt),
            hdr.icmp.checksum, HashAlgorithm.csum16);
    }
}

#endif  // SL3VPN_CHECKSUM_P4
