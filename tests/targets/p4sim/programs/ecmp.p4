// ECMP with an action_selector: the group member is chosen by a crc16 hash of the
// flow fields (selector keys); a member can also be referenced directly.
#include <core.p4>
#include <v1model.p4>

header flow_t {
    bit<32> src;
    bit<32> dst;
    bit<8> proto;
    bit<8> out_tag;
}
struct headers_t { flow_t flow; }
struct metadata_t { }

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.flow); transition accept; }
}
control MyVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }
control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    action_selector(HashAlgorithm.crc16, 32w128, 32w16) ecmp_selector;
    action set_nhop(bit<9> port, bit<8> tag) { sm.egress_spec = port; hdr.flow.out_tag = tag; }
    action drop() { mark_to_drop(sm); }
    table ecmp {
        key = {
            hdr.flow.dst: lpm;
            hdr.flow.src: selector;
            hdr.flow.proto: selector;
        }
        actions = { set_nhop; drop; }
        implementation = ecmp_selector;
        default_action = drop();
    }
    apply { ecmp.apply(); }
}
control MyEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t sm) { apply { } }
control MyCompute(inout headers_t hdr, inout metadata_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
