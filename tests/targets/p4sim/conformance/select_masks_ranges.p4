// select with masks, ranges, default and a tuple of values
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
    bit<8> path;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.data);
        transition select(hdr.data.b1, hdr.data.b2) {
            (0x10 &&& 0xf0, _): p1;
            (0x30 .. 0x3f, 0): p2;
            (0x77, 9): p3;
            default: p4;
        }
    }
    state p1 { meta.path = 1; transition accept; }
    state p2 { meta.path = 2; transition accept; }
    state p3 { meta.path = 3; transition accept; }
    state p4 { meta.path = 4; transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    apply { sm.egress_spec = (bit<9>) meta.path; }
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
