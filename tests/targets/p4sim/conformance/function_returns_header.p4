// functions returning a header: assigned whole, field-accessed, two results in one expression
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; h_t g; }
struct m_t { }
h_t make(in bit<8> v) {
    h_t r = { v, v + 1 };
    if (v == 0) { r.setInvalid(); }
    return r;
}
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        h.g = make(h.h.a);
        h.h.b = make(h.h.a + 5).b;
        if (make(1) != make(2)) { h.h.a = h.h.a + 0x10; }
        s.egress_spec = 2;
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); p.emit(h.g); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
