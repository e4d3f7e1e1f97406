// int constant expressions fold in arbitrary precision, then take the type of their
// context (P4_16 8.9, 8.11.2): `t[7:1] == 134 >> 1` compares with 67, not with
// (bit<7>)134 >> 1 = 3; likewise in select keysets, const entries and global consts.
// A slice of an int constant is a slice of its two's complement bits.
#include <core.p4>
#include <v1model.p4>

const bit<8> TYPED_WRAP = (8w200 + 8w100) >> 1;  // bit<8> arithmetic wraps: 44 >> 1
const bit<8> MIXED = 8w3 - 4 >> 1;               // (8w3 - 8w4) >> 1 = 255 >> 1
const bit<8> INT_FIRST = 512 >> 2;               // 128, not (bit<8>)512 >> 2 = 0

header data_t {
    bit<8> t;
    bit<8> eq;
    bit<8> div;
    bit<8> shr;
    bit<8> mod;
    bit<8> lt;
    bit<8> bor;
    bit<8> neg;
    bit<8> com;
    bit<8> cast7;
    bit<8> consts;
    bit<8> sel;
    bit<8> entry;
    bit<8> slc;
}

struct headers_t {
    data_t data;
}

struct metadata_t {
    bit<8> sel;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.data);
        transition select(hdr.data.t[7:1]) {
            134 >> 1: matched;           // 67: t is 0x86 or 0x87
            (0x1F0 >> 4) &&& 0x7F: low;  // 31 exactly
            default: accept;
        }
    }
    state matched { meta.sel = 1; transition accept; }
    state low { meta.sel = 2; transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    action set_entry(bit<8> v) { hdr.data.entry = v; }
    table by_t {
        key = { hdr.data.t : ternary; }
        actions = { set_entry; NoAction; }
        const entries = {
            (260 >> 1) : set_entry(1);                // 130, not (bit<8>)260 >> 1 = 2
            ((0x1F00 >> 8) &&& (0x3F0 >> 4)) : set_entry(2);  // 0x1F &&& 0x3F
        }
        default_action = NoAction();
    }
    apply {
        sm.egress_spec = 2;
        if (hdr.data.t[7:1] == 134 >> 1) { hdr.data.eq = 1; } else { hdr.data.eq = 2; }
        hdr.data.div = 300 / 3;                   // 100, not 44 / 3
        hdr.data.shr = 256 >> 1;                  // 128, not 0
        hdr.data.mod = (bit<8>)(1000 % 7);        // 6, not 232 % 7
        if (hdr.data.t < 600 / 3) { hdr.data.lt = 1; } else { hdr.data.lt = 2; }
        hdr.data.bor = (0x1F0 | 0x100) >> 4;      // 0x1F, not 0xF0 >> 4
        hdr.data.neg = -7 + (-1 >> 1);            // -8 = 0xF8 (int -1 >> 1 is -1)
        hdr.data.com = -(134 >> 1);               // -67 = 0xBD, not -(6 >> 1)
        hdr.data.cast7 = (bit<8>)((bit<7>)(300 >> 1));  // 150 in 7 bits: 22
        hdr.data.consts = TYPED_WRAP ^ MIXED ^ INT_FIRST;  // 22 ^ 127 ^ 128 = 0xE9
        hdr.data.sel = meta.sel;
        hdr.data.slc = (bit<8>)134[7:1] ^ 1000[7:0] ^ (-2)[9:2];  // 67 ^ 232 ^ 255
        by_t.apply();
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
