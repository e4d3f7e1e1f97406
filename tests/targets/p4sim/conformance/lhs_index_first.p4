// an assignment's left-hand side (its stack index) is evaluated before the right-hand side
#include <core.p4>
#include <v1model.p4>
header i_t { bit<8> id; }
header c_t { bit<8> a; }
struct hs { i_t i; c_t[2] c; }
struct m_t { }
bit<8> bump(inout bit<8> x) {
    x = x + 1;
    return 8w0xaa;
}
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.i); p.extract(h.c[0]); p.extract(h.c[1]); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        h.c[h.i.id].a = bump(h.i.id);
        s.egress_spec = 2;
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
