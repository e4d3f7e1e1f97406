// More places an int constant expression meets a typed context; each folds in
// arbitrary precision first (P4_16 8.9): select ranges, table ranges, action
// arguments of const entries and default actions, local consts, serializable
// enum members, widths, stack indexes, function arguments and int<W> contexts.
#include <core.p4>
#include <v1model.p4>

typedef bit<(256 >> 5)> byte_t;  // bit<8>

enum bit<8> Kind { BIG = 512 >> 2, SMALL = 300 / 100 }  // 128 and 3

header data_t {
    byte_t t;
    bit<8> sel;
    bit<8> entry;
    bit<8> dflt;
    bit<8> local;
    bit<8> kind;
    bit<8> idx;
    bit<8> fn;
    bit<8> sgn;
    bit<8> slt;
}

header one_t {
    bit<8> v;
}

struct headers_t {
    data_t data;
    one_t[4] st;
}

struct metadata_t {
    bit<8> sel;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.data);
        transition select(hdr.data.t) {
            (0x1F0 >> 4) .. (600 >> 2): in_range;  // 31 .. 150
            default: accept;
        }
    }
    state in_range { meta.sel = 1; transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

bit<8> plus(in bit<8> a, in bit<8> b) {
    return a + b;
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    action set_entry(bit<8> v) { hdr.data.entry = v; }
    action set_dflt(bit<8> v) { hdr.data.dflt = v; }
    table by_t {
        key = { hdr.data.t : range; }
        actions = { set_entry; }
        const entries = {
            (1000 >> 3) .. (2000 >> 3) : set_entry(300 >> 1);  // 125 .. 250 -> 150
        }
        default_action = set_entry(1);
    }
    table never {
        key = { hdr.data.t : exact; }
        actions = { set_dflt; }
        default_action = set_dflt(1024 / 8);  // 128
    }
    apply {
        const bit<8> LOCAL = 2048 >> 4;  // 128
        sm.egress_spec = 2;
        hdr.data.sel = meta.sel;
        by_t.apply();
        never.apply();
        hdr.data.local = LOCAL;
        hdr.data.kind = (bit<8>)Kind.BIG | (bit<8>)Kind.SMALL;  // 0x83
        hdr.st[1024 >> 9].setValid();                         // st[2]
        hdr.st[2].v = 7;
        hdr.data.idx = hdr.st[(1 << 10) >> 9].v;             // 7
        hdr.data.fn = plus(400 >> 1, 3 * 100 / 6);            // 200 + 50
        int<8> s = -(300 >> 1);                                // -150 wraps to 106
        hdr.data.sgn = (bit<8>)s;
        if ((int<8>)hdr.data.t < -(256 >> 2)) { hdr.data.slt = 1; } else { hdr.data.slt = 2; }
    }
}

control MyEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t sm) {
    apply { }
}

control MyCompute(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.data); }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
