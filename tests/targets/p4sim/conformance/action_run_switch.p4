// switch (t.apply().action_run) with fall-through and default
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
    action a1() { hdr.data.b2 = 1; }
    action a2() { hdr.data.b2 = 2; }
    action a3() { hdr.data.b2 = 3; }
    table t {
        key = { hdr.data.b1: exact; }
        actions = { a1; a2; a3; }
        default_action = a3();
    }
    apply {
        switch (t.apply().action_run) {
            a1:
            a2: { sm.egress_spec = 12; }
            default: { sm.egress_spec = 13; }
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
