// a control type applied without an instance (an implicit instance named after the type)
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; }
struct m_t { }

control Bump(inout bit<8> x) {
    apply { x = x + 1; }
}

parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        Bump.apply(h.h.a);
        Bump.apply(h.h.b);
        Bump.apply(h.h.b);
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
