// P4Info of parser value sets (P4Runtime spec 8.3 "ValueSet"): a struct with
// @id/@match/@name members, and a plain bit<8> set. A frame whose first four
// fields hit pvs leaves on port 1, any other on port 2.
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<16> b; bit<4> c; bit<4> d; }
struct headers_t { h_t h; }
struct metadata_t { bit<1> hit; }
struct vs_key_t {
    bit<8> f8;
    @id(5) @match(ternary) bit<16> f16;
    @name("renamed") @match(lpm) bit<4> f4;
    @match(optional) bit<4> opt;
}
parser P(packet_in pkt, out headers_t hdr, inout metadata_t meta, inout standard_metadata_t sm) {
    value_set<vs_key_t>(4) pvs;
    value_set<bit<8>>(2) pvs8;
    state start {
        pkt.extract(hdr.h);
        transition select(hdr.h.a, hdr.h.b, hdr.h.c, hdr.h.d) { pvs: hit; default: s2; }
    }
    state hit { meta.hit = 1; transition accept; }
    state s2 { transition select(hdr.h.a) { pvs8: accept; default: accept; } }
}
control V(inout headers_t hdr, inout metadata_t meta) { apply { } }
control I(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t sm) { apply { sm.egress_spec = meta.hit == 1 ? 9w1 : 9w2; } }
control E(inout headers_t hdr, inout metadata_t meta, inout standard_metadata_t sm) { apply { } }
control C(inout headers_t hdr, inout metadata_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), C(), D()) main;
