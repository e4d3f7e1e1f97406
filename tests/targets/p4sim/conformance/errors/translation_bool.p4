// expect-error: 4: @p4runtime_translation: bool is not bit<W>, string or a width
#include <core.p4>
#include <v1model.p4>
@p4runtime_translation("example.org/port", bool)
type bit<9> port_t;
header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; }
struct m_t { }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply { port_t p = (port_t)s.ingress_port;
        switch (h.h.a) {
            1: { s.egress_spec = 1; }
            default: { s.egress_spec = 2; }
            default: { s.egress_spec = 3; }
        }
    }
}
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
