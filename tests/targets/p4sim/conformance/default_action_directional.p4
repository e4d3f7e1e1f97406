// a default_action written with its directional argument (as P4 wants it), bound as in the actions list
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; }
struct m_t { }

action my_drop(inout standard_metadata_t smeta) { mark_to_drop(smeta); }

parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    action fwd(inout standard_metadata_t smeta, bit<9> port) { smeta.egress_spec = port; }
    table t {
        key = { h.h.a: exact; }
        actions = { fwd(s); my_drop(s); }
        default_action = my_drop(s);
    }
    table u {
        key = { h.h.a: exact; }
        actions = { fwd(s); }
        default_action = fwd(s, 3);
    }
    apply {
        if (h.h.b == 0) { t.apply(); } else { u.apply(); }
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
