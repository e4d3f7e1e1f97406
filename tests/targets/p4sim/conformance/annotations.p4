// annotations are parsed: @name, @id, @p4runtime_translation, @brief, @priority on entries
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
    @name(".global_fwd") @id(0x01000077) action fwd(@p4runtime_translation("p4.org/psa/v1/PortId_t", 32) bit<9> port) {
        sm.egress_spec = port;
    }
    @brief("a table with annotations") @name("renamed")
    table t {
        key = { hdr.data.b1: ternary @name("byte1"); }
        actions = { fwd; @defaultonly NoAction; }
        entries = {
            @priority(1) 0x01 &&& 0x0f : fwd(1);
            @priority(2) 0x11 &&& 0xff : fwd(2);
        }
        default_action = NoAction();
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
