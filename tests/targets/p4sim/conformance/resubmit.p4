// resubmit re-runs ingress on the original packet with preserved metadata
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}


struct headers_t {
    data_t data;
}

struct metadata_t {
    @field_list(0) bit<8> pass_no;
}

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.data); transition accept; }
}

control MyVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    apply {
        if (sm.instance_type == 0) {
            meta.pass_no = 1;
            hdr.data.b1 = 0xff;
            resubmit_preserving_field_list(0);
        } else {
            sm.egress_spec = 3;
            hdr.data.b2 = meta.pass_no;
            hdr.data.f2 = sm.instance_type;
        }
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
