// int<W>: signed compare, arithmetic shift right, sign extension on widening casts
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}


struct headers_t {
    data_t data;
}

struct metadata_t {
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.data); transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    apply {
        int<8> a = (int<8>) hdr.data.b1;
        int<8> b = (int<8>) hdr.data.b2;
        if (a < b) { hdr.data.h1 = 1; } else { hdr.data.h1 = 2; }
        hdr.data.b1 = (bit<8>) (a >> 2);
        int<32> w = (int<32>) a;
        hdr.data.f1 = (bit<32>) w;
        hdr.data.f2 = (bit<32>) (w - 1);
        sm.egress_spec = 2;
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
