// expect-error: 13: variables of type int are not supported
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<16> b; }
struct hs_t { h_t h; }
struct m_t {}
parser P(packet_in p, out hs_t hdr, inout m_t m, inout standard_metadata_t sm) {
    state start { p.extract(hdr.h); transition accept; }
}
control V(inout hs_t hdr, inout m_t m) { apply {} }
control I(inout hs_t hdr, inout m_t m, inout standard_metadata_t sm) {
    apply {
        int x = 5; hdr.h.a = (bit<8>) x;
    }
}
control E(inout hs_t hdr, inout m_t m, inout standard_metadata_t sm) { apply {} }
control C(inout hs_t hdr, inout m_t m) { apply {} }
control D(packet_out p, in hs_t hdr) { apply { p.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), C(), D()) main;
