// a stack index computed from a dynamically indexed element of the same stack, as an
// l-value and an r-value (generated keys nest; Python 3.11 rejects nested same-quote f-strings)
#include <core.p4>
#include <v1model.p4>

header sel_t { bit<8> i; bit<8> j; }
header cell_t { bit<8> v; }

struct headers_t {
    sel_t sel;
    cell_t[4] cells;
}

struct metadata_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.sel);
        pkt.extract(hdr.cells[0]);
        pkt.extract(hdr.cells[1]);
        pkt.extract(hdr.cells[2]);
        pkt.extract(hdr.cells[3]);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 2;
        // cells[cells[i].v & 3].v = j, then sel.j = cells[cells[j & 3].v & 3].v
        hdr.cells[hdr.cells[hdr.sel.i & 3].v & 3].v = hdr.sel.j;
        hdr.sel.j = hdr.cells[hdr.cells[hdr.sel.j & 3].v & 3].v;
    }
}

control MyEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t sm) { apply { } }

control MyCompute(inout headers_t hdr, inout metadata_t meta) { apply { } }

control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
