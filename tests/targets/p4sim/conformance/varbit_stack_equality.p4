// header stacks assigned and compared as a whole; a varbit field compares by bits and
// length and feeds a checksum with its current length
#include <core.p4>
#include <v1model.p4>

header n_t { bit<8> n; }
header v_t { varbit<32> d; }
header out_t { bit<16> c; bit<8> same; }
struct hs { n_t a; v_t v; out_t o; }
struct m_t { }

parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start {
        p.extract(h.a);
        p.extract(h.v, (bit<32>)h.a.n * 8);
        transition accept;
    }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    apply {
        s.egress_spec = 2;
        h.o.setValid();
        hash(h.o.c, HashAlgorithm.csum16, 16w0, { h.v.d }, 32w0);
        v_t[2] st;
        st[0] = h.v;
        st[1] = h.v;
        v_t[2] copy = st;
        h.o.same = (st[0] == st[1] ? 8w1 : 8w0) | (copy == st ? 8w2 : 8w0);
        copy[1].setInvalid();
        h.o.same = h.o.same | (copy != st ? 8w4 : 8w0);
    }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.a); p.emit(h.v); p.emit(h.o); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
