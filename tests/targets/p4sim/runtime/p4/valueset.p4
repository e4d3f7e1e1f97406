// Runtime test program for parser value sets and const tables.
// - The parser takes parse_tag for any EtherType in the value set tag_types
//   (written by the controller); a tagged frame leaves on port 2, any other on
//   port 1, so a test sees the set change the parser's behaviour.
// - Frames from port 9 go through const_fwd, a table with const entries and a
//   direct counter (the only writes P4Runtime allows there are MODIFYs of the
//   direct counter).
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst_addr; bit<48> src_addr; bit<16> ether_type; }
header tag_t { bit<8> kind; bit<8> len; }

struct headers_t { ethernet_t ethernet; tag_t tag; }
struct metadata_t { }

parser VsParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    value_set<bit<16>>(4) tag_types;
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            tag_types: parse_tag;
            default: accept;
        }
    }
    state parse_tag { pkt.extract(hdr.tag); transition accept; }
}

control VsVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control VsIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    direct_counter(CounterType.packets_and_bytes) const_hits;
    action send(bit<9> port) { sm.egress_spec = port; }
    action drop() { mark_to_drop(sm); }
    table const_fwd {
        key = { sm.ingress_port: exact; }
        actions = { send; drop; }
        const entries = {
            9: send(3);
        }
        default_action = drop();
        counters = const_hits;
    }
    apply {
        if (sm.ingress_port == 9) {
            const_fwd.apply();
        } else if (hdr.tag.isValid()) {
            sm.egress_spec = 2;
        } else {
            sm.egress_spec = 1;
        }
    }
}

control VsEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t sm) { apply { } }

control VsCompute(inout headers_t hdr, inout metadata_t meta) { apply { } }

control VsDeparser(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.tag); }
}

V1Switch(VsParser(), VsVerify(), VsIngress(), VsEgress(), VsCompute(), VsDeparser()) main;
