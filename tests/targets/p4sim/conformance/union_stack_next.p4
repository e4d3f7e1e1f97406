// Header union stacks: extract(stack.next.member) fills the member of the next
// element and advances the stack; past its size: StackOutOfBounds
#include <core.p4>
#include <v1model.p4>
header tag_t { bit<8> kind; }
header b1_t { bit<8> v; }
header b2_t { bit<16> v; }
header_union u_t { b1_t one; b2_t two; }
header e_t { bit<8> code; }
struct hs { tag_t tag; u_t[2] u; e_t e; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start {
        p.extract(h.tag);
        transition select(h.tag.kind) {
            1: one_two;
            2: three;
            default: accept;
        }
    }
    state one_two {
        p.extract(h.u.next.one);
        p.extract(h.u.next.two);
        transition accept;
    }
    state three {
        p.extract(h.u.next.two);
        p.extract(h.u.next.one);
        p.extract(h.u.next.one);
        transition accept;
    }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        h.e.setValid();
        h.e.code = s.parser_error == error.StackOutOfBounds ? 8w1 : 8w0;
        if (h.u[1].two.isValid()) { h.u[1].two.v = 0xffff; }
        if (h.u[1].one.isValid()) { h.u[1].one.v = 0xaa; }
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
