// Parser and deparser. Frames from the CPU port start with packet_out, frames
// from the crypto port with crypto_h; everything else starts with Ethernet.

#ifndef SL3VPN_PARSER_P4
#define SL3VPN_PARSER_P4

parser CpeParser(packet_in packet,
                 out headers_t hdr,
                 inout local_metadata_t meta,
                 inout standard_metadata_t std) {
    state start {
        transition select(std.ingress_port) {
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

#include "frame_states.p4"
}

control CpeDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.packet_in);
        packet.emit(hdr.crypto);
        packet.emit(hdr.ethernet);
        packet.emit(hdr.vlan);
        packet.emit(hdr.arp);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.ipv6);
        packet.emit(hdr.mpls);
        packet.emit(hdr.inner_ipv4);
        packet.emit(hdr.inner_ipv6);
        packet.emit(hdr.tcp);
        packet.emit(hdr.udp);
        packet.emit(hdr.icmp);
        packet.emit(hdr.nd);
        packet.emit(hdr.nd_opt);
        packet.emit(hdr.esp);
    }
}

#endif  // SL3VPN_PARSER_P4
