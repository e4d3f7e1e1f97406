// A small TNA program for p4sim's TNA model: the low byte of the destination
// MAC picks what ingress asks of the traffic manager, egress writes what it
// saw into the frame, and the ingress parser verifies the IPv4 checksum.
//   dst ..01: port 2, bypass_egress      dst ..02: multicast group 5
//   dst ..03: port 3 (egress drops it)   dst ..04: port 4 (egress reports)
//   dst ..05: port 5, bypass_egress, source MAC = hashes of the destination MAC
//   anything else, or a bad IPv4 checksum: dropped in ingress

#include <core.p4>
#include <tna.p4>

header ethernet_h {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_h {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  dscp_ecn;
    bit<16> total_len;
    bit<16> identification;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

struct headers_t {
    ethernet_h ethernet;
    ipv4_h     ipv4;
}

struct meta_t {
    bool csum_ok;
}

parser IgParser(packet_in pkt, out headers_t hdr, out meta_t meta,
                out ingress_intrinsic_metadata_t ig_intr_md) {
    Checksum() ck;

    state start {
        pkt.extract(ig_intr_md);
        pkt.advance(PORT_METADATA_SIZE);
        meta.csum_ok = true;
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        ck.add(hdr.ipv4);
        meta.csum_ok = ck.verify();
        transition accept;
    }
}

control Ig(inout headers_t hdr, inout meta_t meta,
           in ingress_intrinsic_metadata_t ig_intr_md,
           in ingress_intrinsic_metadata_from_parser_t ig_prsr_md,
           inout ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md,
           inout ingress_intrinsic_metadata_for_tm_t ig_tm_md) {
    Counter<bit<64>, bit<9>>(512, CounterType_t.PACKETS_AND_BYTES) rx;
    Hash<bit<16>>(HashAlgorithm_t.CRC32) crc32_low16;
    Hash<bit<8>>(HashAlgorithm_t.CRC16) crc16_low8;
    Hash<bit<24>>(HashAlgorithm_t.IDENTITY) identity24;

    apply {
        rx.count(ig_intr_md.ingress_port, 4);
        bit<8> what = hdr.ethernet.dst_addr[7:0];
        if (!meta.csum_ok) {
            ig_dprsr_md.drop_ctl = 1;
        } else if (what == 1) {
            ig_tm_md.ucast_egress_port = 2;
            ig_tm_md.bypass_egress = 1;
        } else if (what == 2) {
            ig_tm_md.mcast_grp_a = 5;
        } else if (what == 3) {
            ig_tm_md.ucast_egress_port = 3;
        } else if (what == 4) {
            ig_tm_md.ucast_egress_port = 4;
        } else if (what == 5) {
            ig_tm_md.ucast_egress_port = 5;
            ig_tm_md.bypass_egress = 1;
            hdr.ethernet.src_addr = (bit<48>) crc32_low16.get({hdr.ethernet.dst_addr}) << 32
                | (bit<48>) crc16_low8.get({hdr.ethernet.dst_addr}) << 24
                | (bit<48>) identity24.get({hdr.ethernet.dst_addr});
        } else {
            ig_dprsr_md.drop_ctl = 1;
        }
    }
}

control IgDeparser(packet_out pkt, inout headers_t hdr, in meta_t meta,
                   in ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md) {
    apply {
        pkt.emit(hdr);
    }
}

struct eg_headers_t {
    ethernet_h ethernet;
}

struct eg_meta_t {}

parser EgParser(packet_in pkt, out eg_headers_t hdr, out eg_meta_t meta,
                out egress_intrinsic_metadata_t eg_intr_md) {
    state start {
        pkt.extract(eg_intr_md);
        pkt.extract(hdr.ethernet);
        transition accept;
    }
}

control Eg(inout eg_headers_t hdr, inout eg_meta_t meta,
           in egress_intrinsic_metadata_t eg_intr_md,
           in egress_intrinsic_metadata_from_parser_t eg_prsr_md,
           inout egress_intrinsic_metadata_for_deparser_t eg_dprsr_md,
           inout egress_intrinsic_metadata_for_output_port_t eg_oport_md) {
    apply {
        if (eg_intr_md.egress_port == 3) {
            eg_dprsr_md.drop_ctl = 1;
        }
        // What egress saw: port, replication id and length, in the source MAC.
        hdr.ethernet.src_addr = ((bit<48>) eg_intr_md.egress_port << 32)
            | ((bit<48>) eg_intr_md.egress_rid << 16) | (bit<48>) eg_intr_md.pkt_length;
    }
}

control EgDeparser(packet_out pkt, inout eg_headers_t hdr, in eg_meta_t meta) {
    apply {
        pkt.emit(hdr);
    }
}

Pipeline(IgParser(), Ig(), IgDeparser(), EgParser(), Eg(), EgDeparser()) pipe;
Switch(pipe) main;
