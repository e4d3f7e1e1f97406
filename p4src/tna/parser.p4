// TNA parsers and deparsers. Ingress: intrinsic and port metadata first (the
// hardware prepends them), then the same port-dependent start as the v1model
// parser and the shared parse states (include/frame_states.p4). Egress has
// nothing to parse beyond its intrinsic metadata: every decision is made in
// ingress, so no metadata is bridged and the packet passes through egress as
// the ingress deparser wrote it.

#ifndef SL3VPN_TNA_PARSER_P4
#define SL3VPN_TNA_PARSER_P4

struct egress_headers_t {}
struct egress_metadata_t {}

parser CpeTnaIngressParser(packet_in packet,
                           out headers_t hdr,
                           out local_metadata_t meta,
                           out ingress_intrinsic_metadata_t ig_intr_md) {
    state start {
        packet.extract(ig_intr_md);
        // Port metadata (phase 0) is not used: port roles are tables.
        packet.advance(PORT_METADATA_SIZE);
        transition select(ig_intr_md.ingress_port) {
            CPU_PORT: parse_packet_out;
            CRYPTO_PORT: parse_crypto;
            default: parse_ethernet;
        }
    }

    state parse_packet_out {
        packet.extract(hdr.packet_out);
        transition parse_ethernet;
    }

    state parse_crypto {
        packet.extract(hdr.crypto);
        transition parse_ethernet;
    }

#include "../include/frame_states.p4"
}

// IPv4 header checksums are recomputed here, in the deparser, where TNA's
// Checksum extern runs: over the same fields as v1model's update_checksum
// (IPV4_CHECKSUM_FIELDS), for the headers the ingress flow marked (20-octet
// headers; a Tofino deparser condition is a metadata bit). packet_out is
// always invalid by now.
control CpeTnaIngressDeparser(packet_out pkt,
                              inout headers_t hdr,
                              in local_metadata_t meta,
                              in ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md) {
    Checksum() ipv4_checksum;
    Checksum() inner_ipv4_checksum;
    Checksum() nd_checksum;

    apply {
        if (meta.ipv4_csum == 1) {
            hdr.ipv4.hdr_checksum = ipv4_checksum.update(IPV4_CHECKSUM_FIELDS(hdr.ipv4));
        }
        if (meta.inner_ipv4_csum == 1) {
            hdr.inner_ipv4.hdr_checksum =
                inner_ipv4_checksum.update(IPV4_CHECKSUM_FIELDS(hdr.inner_ipv4));
        }
        if (meta.nd_csum == 1) {
            // A neighbour advertisement built from a solicitation (neighbour_reply.p4).
            hdr.icmp.checksum = nd_checksum.update(
                ND_CHECKSUM_FIELDS(hdr.ipv6, hdr.icmp, hdr.nd, hdr.nd_opt));
        }
        pkt.emit(hdr);
    }
}

parser CpeTnaEgressParser(packet_in pkt,
                          out egress_headers_t hdr,
                          out egress_metadata_t meta,
                          out egress_intrinsic_metadata_t eg_intr_md) {
    state start {
        pkt.extract(eg_intr_md);
        transition accept;
    }
}

control CpeTnaEgressDeparser(packet_out pkt,
                             inout egress_headers_t hdr,
                             in egress_metadata_t meta) {
    apply {
        pkt.emit(hdr);
    }
}

#endif  // SL3VPN_TNA_PARSER_P4
