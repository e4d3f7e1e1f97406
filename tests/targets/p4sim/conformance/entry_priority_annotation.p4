// @priority after the action (where P4 puts entry annotations); BMv2's rule: the
// smallest number wins, an entry without one has its position in the list
#include <core.p4>
#include <v1model.p4>
header h_t { bit<16> k; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    action fwd(bit<9> port) { s.egress_spec = port; }
    table t {
        key = { h.h.k: ternary; }
        actions = { fwd; }
        const entries = {
            0x1111 &&& 0x000f : fwd(1) @priority(3);
            0x1181 : fwd(2);
            0x1181 &&& 0xf00f : fwd(3) @priority(1);
        }
        default_action = fwd(9);
    }
    apply { t.apply(); }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
