// type declarations in P4Info: keys, action parameters and controller header fields
// of a `type` (through typedefs), with and without @p4runtime_translation
#include <core.p4>
#include <v1model.p4>
typedef bit<8> raw_t;
type raw_t id_t;
type id_t id2_t;
typedef id2_t alias_t;
@p4runtime_translation("example.org/port", 32) type bit<9> port_t;
@p4runtime_translation("example.org/name", string) type bit<8> name_t;
@controller_header("packet_in")
header pin_t { port_t port; bit<7> pad; }
header h_t { id_t a; alias_t b; name_t c; }
struct hs { h_t h; pin_t pin; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    action set(port_t p, id_t v) { s.egress_spec = (bit<9>)p; h.h.a = v; }
    table t { key = { h.h.a: exact; h.h.b: ternary; h.h.c: exact; } actions = { set; } }
    apply { t.apply(); }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
