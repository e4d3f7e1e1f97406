// IPv4 header checksums. Received checksums are not verified here: the
// tenant's and the peer's IP stacks own that, and the ESP ICV protects the
// tunnel. Every IPv4 header the pipeline may have changed (TTL decrement,
// new outer header, decapsulated tenant header) is recomputed on the way out.

#ifndef SL3VPN_CHECKSUM_P4
#define SL3VPN_CHECKSUM_P4

control CpeVerifyChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
    }
}

control CpeComputeChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp_ecn, hdr.ipv4.total_len,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum(hdr.inner_ipv4.isValid(),
            { hdr.inner_ipv4.version, hdr.inner_ipv4.ihl, hdr.inner_ipv4.dscp_ecn,
              hdr.inner_ipv4.total_len, hdr.inner_ipv4.identification, hdr.inner_ipv4.flags,
              hdr.inner_ipv4.frag_offset, hdr.inner_ipv4.ttl, hdr.inner_ipv4.protocol,
              hdr.inner_ipv4.src_addr, hdr.inner_ipv4.dst_addr },
            hdr.inner_ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

#endif  // SL3VPN_CHECKSUM_P4
