// a parser instantiated and applied inside another parser
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}

parser InnerParser(packet_in pkt, out data_t inner, inout bit<16> count) {
    state start {
        pkt.extract(inner);
        count = count + 1;
        transition accept;
    }
}

struct headers_t {
    data_t data;
    data_t inner;
}

struct metadata_t {
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    InnerParser() ip;
    state start {
        pkt.extract(hdr.data);
        transition select(hdr.data.b1) { 1: inner; default: accept; }
    }
    state inner {
        ip.apply(pkt, hdr.inner, hdr.inner.h1);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 2;
        if (sm.parser_error == error.PacketTooShort) { hdr.data.b2 = 0xee; }
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
