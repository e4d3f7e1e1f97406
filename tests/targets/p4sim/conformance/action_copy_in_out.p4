// directional action parameters are copied in and out (P4_16 6.8), not aliased:
// a write to the argument inside the action is overwritten by the copy-out
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<8> c; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    bit<8> c = 12;
    action thing(inout bit<8> x) {
        h.h.a = x;
        c = 24;       // the copy-out of x puts 12 back
    }
    action set_out(out bit<8> y) {
        h.h.c = y;    // an out parameter starts uninitialised (zero in p4sim)
        y = 7;
    }
    table t { key = { h.h.b: exact; } actions = { set_out(h.h.b); } default_action = set_out(h.h.b); }
    apply {
        thing(c);
        thing(c);
        t.apply();
        s.egress_spec = 2;
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
