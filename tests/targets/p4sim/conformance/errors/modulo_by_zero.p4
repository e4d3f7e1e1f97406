// expect-error: 8: modulo by zero
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; }
struct m_t { }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply { h.h.a = h.h.b % (8w3 - 3); }
}
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
