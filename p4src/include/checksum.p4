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
        update_checksum(hdr.ipv4.isValid(), IPV4_CHECKSUM_FIELDS(hdr.ipv4),
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
        update_checksum(hdr.inner_ipv4.isValid(), IPV4_CHECKSUM_FIELDS(hdr.inner_ipv4),
            hdr.inner_ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

#endif  // SL3VPN_CHECKSUM_P4
