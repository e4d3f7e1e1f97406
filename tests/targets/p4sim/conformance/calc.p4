// A calculator protocol in the style of the P4 tutorials: lookahead<header>() in
// select, const entries keyed on an opcode, results written back and the frame returned.
#include <core.p4>
#include <v1model.p4>

const bit<16> CALC_ETYPE = 0x1234;
const bit<8> CALC_P = 0x50;     // 'P'
const bit<8> CALC_4 = 0x34;     // '4'
const bit<8> CALC_VER = 0x01;
const bit<8> OP_PLUS = 0x2b;    // '+'
const bit<8> OP_MINUS = 0x2d;   // '-'
const bit<8> OP_AND = 0x26;     // '&'

header ethernet_t {
    bit<48> dst;
    bit<48> src;
    bit<16> etype;
}

header calc_t {
    bit<8> p;
    bit<8> four;
    bit<8> ver;
    bit<8> op;
    bit<32> a;
    bit<32> b;
    bit<32> res;
}

struct headers {
    ethernet_t eth;
    calc_t calc;
}

struct metadata { }

parser CalcParser(packet_in packet, out headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.eth);
        transition select(hdr.eth.etype) {
            CALC_ETYPE: check_calc;
            default: accept;
        }
    }
    state check_calc {
        transition select(packet.lookahead<calc_t>().p,
                          packet.lookahead<calc_t>().four,
                          packet.lookahead<calc_t>().ver) {
            (CALC_P, CALC_4, CALC_VER): parse_calc;
            default: accept;
        }
    }
    state parse_calc {
        packet.extract(hdr.calc);
        transition accept;
    }
}

control CalcVerify(inout headers hdr, inout metadata meta) { apply { } }

control CalcIngress(inout headers hdr, inout metadata meta,
                    inout standard_metadata_t standard_metadata) {
    action send_back(bit<32> result) {
        bit<48> tmp = hdr.eth.dst;
        hdr.eth.dst = hdr.eth.src;
        hdr.eth.src = tmp;
        hdr.calc.res = result;
        standard_metadata.egress_spec = standard_metadata.ingress_port;
    }
    action op_add() { send_back(hdr.calc.a + hdr.calc.b); }
    action op_sub() { send_back(hdr.calc.a - hdr.calc.b); }
    action op_and() { send_back(hdr.calc.a & hdr.calc.b); }
    action op_drop() { mark_to_drop(standard_metadata); }

    table calculate {
        key = { hdr.calc.op: exact; }
        actions = { op_add; op_sub; op_and; op_drop; }
        const default_action = op_drop();
        const entries = {
            OP_PLUS : op_add();
            OP_MINUS: op_sub();
            OP_AND  : op_and();
        }
    }

    apply {
        if (hdr.calc.isValid()) {
            calculate.apply();
        } else {
            op_drop();
        }
    }
}

control CalcEgress(inout headers hdr, inout metadata meta,
                   inout standard_metadata_t standard_metadata) { apply { } }
control CalcCompute(inout headers hdr, inout metadata meta) { apply { } }
control CalcDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.eth);
        packet.emit(hdr.calc);
    }
}

V1Switch(CalcParser(), CalcVerify(), CalcIngress(), CalcEgress(), CalcCompute(),
         CalcDeparser()) main;
