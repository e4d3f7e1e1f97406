// a slice of a slice, read and written: n[7:4][2:1] is n[6:5]
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> n; bit<8> r; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        h.h.r = (bit<8>)h.h.n[7:4][2:1];
        h.h.n[7:4][2:1] = 2w0;
        h.h.n[3:0][3:0][0:0] = 1w0;
        s.egress_spec = 2;
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
