// An enum without an underlying type in hash data counts as 32 bits (its code,
// in declaration order from 0), as p4c's BMv2 back end lays it out
#include <core.p4>
#include <v1model.p4>
enum Colour { RED, GREEN, BLUE }
header h_t { bit<8> a; bit<16> b; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        Colour c = Colour.RED;
        if (h.h.a == 1) { c = Colour.GREEN; } else if (h.h.a == 2) { c = Colour.BLUE; }
        hash(h.h.b, HashAlgorithm.crc16, 16w0, { c, h.h.a }, 32w65536);
        log_msg("colour {}", { c });
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
