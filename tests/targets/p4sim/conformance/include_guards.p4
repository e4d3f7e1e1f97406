// p4c's include-guard names: shared program fragments test them (as p4c's own test skeletons do)
#include <core.p4>
#include <v1model.p4>
#include <core.p4>

#if !defined(_CORE_P4_) || !defined(_V1_MODEL_P4_)
#error p4c's include guards are not defined
#endif

header h_t { bit<8> a; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply { s.egress_spec = 2; h.h.a = h.h.a + 1; }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
