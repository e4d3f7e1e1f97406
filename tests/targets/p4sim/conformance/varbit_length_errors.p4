// varbit lengths: over the maximum is HeaderTooShort, not whole bytes is
// ParserInvalidArgument (BMv2), more than the packet has is PacketTooShort
#include <core.p4>
#include <v1model.p4>
header n_t { bit<8> n; }
header v_t { varbit<16> d; }
header e_t { bit<8> code; }
struct hs { n_t n; v_t v; e_t e; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start {
        p.extract(h.n);
        p.extract(h.v, (bit<32>)h.n.n);
        transition accept;
    }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        h.e.setValid();
        if (s.parser_error == error.HeaderTooShort) { h.e.code = 4; }
        else if (s.parser_error == error.ParserInvalidArgument) { h.e.code = 6; }
        else if (s.parser_error == error.PacketTooShort) { h.e.code = 1; }
        else { h.e.code = 0; }
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.n); p.emit(h.e); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
