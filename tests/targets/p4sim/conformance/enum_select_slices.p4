// serializable enum labels in select, slice keys, typedef'd action params, ?: on headers
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}

typedef bit<8> tag_t;
enum bit<8> Kind { WITH_OPT = 0x22, PLAIN = 0x33 }

struct headers_t {
    data_t data;
    data_t opt;
}

struct metadata_t {
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.data);
        transition select(hdr.data.b1) {
            Kind.WITH_OPT: parse_opt;
            Kind.PLAIN: accept;
        }
    }
    state parse_opt { pkt.extract(hdr.opt); transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    action set_tag(tag_t t) { hdr.data.b2 = t; }
    table by_prefix {
        key = { hdr.data.f1[31:24]: exact @name("f1_top"); hdr.data.f2[7:0]: ternary; }
        actions = { set_tag; }
        default_action = set_tag(0);
    }
    apply {
        by_prefix.apply();
        hdr.data.h1 = hdr.opt.isValid() ? 16w1 : 16w2;
        hdr.data.f2 = (bit<32>) -1;
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
