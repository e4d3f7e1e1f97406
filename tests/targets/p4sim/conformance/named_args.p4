// Named arguments in any order: the V1Switch package's blocks and an extern
// function's parameters (P4_16 8.20)
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<16> sum; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply { s.egress_spec = 2; }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) {
    apply {
        update_checksum(algo = HashAlgorithm.csum16, checksum = h.h.sum,
                        data = { h.h.a, h.h.b }, condition = true);
    }
}
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(dep = D(), ck = CC(), eg = E(), ig = I(), vr = VC(), p = P()) main;
