// A sub-parser that advances and then fails (or rejects): the payload resumes where
// the innermost parser stopped, not where the failing sub-parser was called. The
// C-PE's NAT-T state once sat in a sub-parser: a one-octet NAT-keepalive (lookahead
// of four octets) left with its headers emitted twice.
#include <core.p4>
#include <v1model.p4>

header a_t { bit<8> kind; }
header b_t { bit<16> port; }

struct headers_t {
    a_t a;
    b_t b;
}

struct metadata_t {
}

parser Inner(packet_in pkt, out b_t b) {
    state start {
        pkt.extract(b);
        transition select(b.port) {
            0: reject;
            default: marker;
        }
    }
    state marker {
        // RFC 3948-like: four octets decide, and a keepalive has just one
        transition select(pkt.lookahead<bit<32>>()) {
            0: accept;
            default: accept;
        }
    }
}

parser Mid(packet_in pkt, out a_t a, out b_t b) {
    Inner() inner;
    state start {
        pkt.extract(a);
        transition select(a.kind) {
            1: nested;
            default: accept;
        }
    }
    state nested {
        inner.apply(pkt, b);
        transition accept;
    }
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    Mid() mid;
    state start {
        mid.apply(pkt, hdr.a, hdr.b);
        transition accept;
    }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 2;
        if (sm.parser_error == error.PacketTooShort) { sm.egress_spec = 3; }
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
    apply { pkt.emit(hdr); }
}

V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
