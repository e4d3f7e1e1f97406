// tuple<...> variables: initialised from a list (its calls run, left to right),
// elements read and written by constant index
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<16> c; }
struct hs { h_t h; }
struct m_t { }
bit<8> bump(inout bit<8> x) {
    x = x + 1;
    return x;
}
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        tuple<bit<8>, bit<16>> t = { bump(h.h.a), h.h.c };
        t[1] = t[1] + (bit<16>)t[0];
        h.h.b = t[0];
        h.h.c = t[1];
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
