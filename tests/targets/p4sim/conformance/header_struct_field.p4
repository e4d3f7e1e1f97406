// a header with a struct field (bit fields, nested struct): extracted, written and emitted in order
#include <core.p4>
#include <v1model.p4>

struct inner_t { bit<4> x; bit<4> y; }
struct pair_t { bit<8> a; inner_t in1; }
header h_t { bit<8> first; pair_t p; bit<8> last; }
struct hs { h_t h; }
struct m_t { }

parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        h.h.p.in1.y = h.h.p.in1.x;
        h.h.last = h.h.p.a + h.h.first;
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
