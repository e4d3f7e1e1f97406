// P4 entry priorities: after an explicit 'priority =', each entry without one takes the
// previous one minus priority_delta (plus when largest_priority_wins = false)
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> k; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    action fwd(bit<9> port) { s.egress_spec = port; }
    table down {
        key = { h.h.k: ternary; }
        actions = { fwd; }
        priority_delta = 5;
        const entries = {
            priority = 20: 0x01 &&& 0x0f : fwd(1);   // 20
                           0x11 &&& 0xff : fwd(2);   // 15
            priority = 18: 0x10 &&& 0xf0 : fwd(3);   // 18
        }
        default_action = fwd(9);
    }
    table up {
        key = { h.h.k: ternary; }
        actions = { fwd; }
        largest_priority_wins = false;
        const entries = {
            priority = 2: 0x01 &&& 0x0f : fwd(4);    // 2
                          0x11 &&& 0xff : fwd(5);    // 3
            priority = 1: 0x10 &&& 0xf0 : fwd(6);    // 1 (wins: smallest)
        }
        default_action = fwd(9);
    }
    apply { if (h.h.k[7:7] == 0) { down.apply(); } else { h.h.k = h.h.k & 0x7f; up.apply(); } }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
