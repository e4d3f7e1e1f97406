// lookahead of a struct holding a header stack: every element filled and valid
#include <core.p4>
#include <v1model.p4>

header b_t { bit<8> v; }
struct peek_t { b_t[3] s; bit<8> tail; }
struct hs { b_t first; b_t res; }
struct m_t { }

parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t sm) {
    state start {
        peek_t l = p.lookahead<peek_t>();
        h.res.setValid();
        h.res.v = l.s[0].v + l.s[1].v + l.s[2].v + l.tail;
        transition select(l.s[2].isValid()) { true: accept; default: reject; }
    }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t sm) { apply { sm.egress_spec = 2; } }
control E(inout hs h, inout m_t m, inout standard_metadata_t sm) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.res); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
