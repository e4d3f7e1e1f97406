// const entries: masks, ranges, default keysets and priorities (first entry wins)
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
    action fwd(bit<9> port) { sm.egress_spec = port; }
    table t {
        key = { hdr.data.b1: ternary; hdr.data.h1: range; }
        actions = { fwd; }
        const entries = {
            (0x10 &&& 0xf0, 1 .. 10): fwd(1);
            (0x11, _): fwd(2);
            (_, 5 .. 5): fwd(3);
        }
        const default_action = fwd(9);
    }
    apply { t.apply(); }
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
