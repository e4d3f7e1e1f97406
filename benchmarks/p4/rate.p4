// The P4Runtime write/read rate benchmark's program (benchmarks/p4rt_rate.py):
// one exact table and one exact+LPM table shaped like the C-PE's VRF FIB, each
// large enough for the benchmark's 100,000 entries. The pipeline only applies
// them; what is measured is the control plane, not packets.
#include <core.p4>
#include <v1model.p4>

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
    bit<16> checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

struct headers_t {
    ethernet_h ethernet;
    ipv4_h     ipv4;
}

struct metadata_t {
    bit<16> vrf;
    bit<16> tunnel;
}

parser RateParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition accept;
    }
}

control RateVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control RateIngress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t std) {
    action drop() { mark_to_drop(std); }
    action set_port(bit<9> port, bit<48> dmac) {
        std.egress_spec = port;
        hdr.ethernet.dst_addr = dmac;
    }
    action push_label(bit<20> label, bit<16> tunnel) { meta.tunnel = tunnel; }

    table host {
        key = {
            meta.vrf: exact @name("vrf");
            hdr.ipv4.dst_addr: exact @name("dst");
        }
        actions = { set_port; drop; }
        default_action = drop();
        size = 131072;
    }
    table fib {
        key = {
            meta.vrf: exact @name("vrf");
            hdr.ipv4.dst_addr: lpm @name("dst");
        }
        actions = { push_label; drop; }
        default_action = drop();
        size = 131072;
    }

    apply {
        meta.vrf = (bit<16>) std.ingress_port;
        if (hdr.ipv4.isValid()) {
            if (!host.apply().hit) {
                fib.apply();
            }
        }
    }
}

control RateEgress(inout headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t std) {
    apply { }
}

control RateCompute(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control RateDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

V1Switch(RateParser(), RateVerify(), RateIngress(), RateEgress(), RateCompute(),
         RateDeparser()) main;
