// a packet_out header from the CPU port selects the egress port and is removed
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}

@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> pad; }

struct headers_t {
    packet_out_t po;
    data_t data;
}

struct metadata_t {
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start {
        transition select(sm.ingress_port) { 255: parse_po; default: parse_data; }
    }
    state parse_po { pkt.extract(hdr.po); transition parse_data; }
    state parse_data { pkt.extract(hdr.data); transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    apply {
        if (hdr.po.isValid()) {
            sm.egress_spec = hdr.po.egress_port;
            hdr.po.setInvalid();
        } else {
            sm.egress_spec = 255;
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
