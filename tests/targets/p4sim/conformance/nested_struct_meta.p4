// nested metadata structs, bool fields and struct-typed action parameters by reference
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}

struct inner_t { bit<8> v; bool flag; }

struct headers_t {
    data_t data;
}

struct metadata_t {
    inner_t in1;
    inner_t in2;
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
    action set(inout inner_t i) { i.v = 0x42; i.flag = true; }
    apply {
        set(meta.in1);
        meta.in2 = meta.in1;
        hdr.data.b1 = meta.in2.v;
        hdr.data.b2 = meta.in2.flag ? 8w1 : 8w0;
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
