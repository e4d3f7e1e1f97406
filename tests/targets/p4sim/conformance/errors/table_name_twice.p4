// expect-error: 9: name 't0' is used for more than one table in P4Info
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; }
struct hs { h_t h; }
struct m_t { }
control Sub(inout standard_metadata_t s) {
    @name(".t0")
    table t0 { key = { s.ingress_port : exact; } actions = { NoAction; } }
    apply { t0.apply(); }
}
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    Sub() c1;
    Sub() c2;
    apply { c1.apply(s); c2.apply(s); }
}
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
