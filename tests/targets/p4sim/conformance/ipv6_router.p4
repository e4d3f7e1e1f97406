// IPv6 exact/LPM on 128-bit addresses with hop-limit decrement
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}

header ipv6_t {
    bit<4> version; bit<8> tc; bit<20> flow;
    bit<16> plen; bit<8> next_hdr; bit<8> hop_limit;
    bit<128> src; bit<128> dst;
}

struct headers_t {
    ipv6_t ipv6;
}

struct metadata_t {
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.ipv6); transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    action fwd(bit<9> port) { sm.egress_spec = port; hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1; }
    action drop() { mark_to_drop(sm); }
    table v6 {
        key = { hdr.ipv6.dst: lpm; }
        actions = { fwd; drop; }
        default_action = drop();
    }
    apply {
        if (hdr.ipv6.isValid()) {
            if (hdr.ipv6.hop_limit <= 1) { drop(); } else { v6.apply(); }
        } else {
            drop();
        }
    }
}

control MyEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t sm) {
    apply { }
}

control MyCompute(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr); }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
