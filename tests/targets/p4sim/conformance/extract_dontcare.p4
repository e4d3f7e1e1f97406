// extract<H>(_): the header's bytes are skipped; too few bytes is PacketTooShort
#include <core.p4>
#include <v1model.p4>
header skip_t { bit<16> x; }
header h_t { bit<8> a; }
header e_t { bit<8> code; }
struct hs { h_t h; e_t e; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start {
        p.extract<skip_t>(_);
        p.extract(h.h);
        transition accept;
    }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        h.e.setValid();
        h.e.code = s.parser_error == error.PacketTooShort ? 8w1 : 8w0;
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); p.emit(h.e); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
