// Function out/inout parameters are copied in at the call and out, in parameter
// order, when it returns (P4_16 6.8): the same field passed twice is not aliased
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; }
struct m_t { }
bit<8> pick(inout bit<8> x, out bit<8> y) {
    if (x <= 100) {
        y = 12;
        if (x <= 25) {  // reads the copy of x, not y's 12
            y = 99;
        }
        return 0;
    }
    y = x + 1;
    return 1;
}
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        h.h.b = pick(h.h.a, h.h.a);  // y is copied out last: a = y
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
