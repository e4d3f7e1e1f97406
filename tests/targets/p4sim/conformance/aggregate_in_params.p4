// headers and structs passed by value ('in') to functions and actions: fields readable,
// list expressions accepted, and the callee sees a copy taken at the call
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct pair_t { h_t h; }
struct hs { h_t h; }
struct m_t { }
bit<8> sum(in pair_t p) { return p.h.a + p.h.b; }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    action take(in h_t v) {
        h.h.a = 0;          // v is a copy: still the old value below
        h.h.b = v.a;
    }
    apply {
        bit<8> total = sum({ h.h });
        take(h.h);
        h.h.a = total;
        s.egress_spec = 2;
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
