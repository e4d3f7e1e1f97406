// Indirect and direct meters colouring packets (trTCM), colour written into the packet.
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<8> idx;
    bit<8> color;
    bit<8> dcolor;
}
struct headers_t { data_t data; }
struct metadata_t { bit<8> dcolor; }

parser MyParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.data); transition accept; }
}
control MyVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }
control MyIngress(inout headers_t hdr, inout metadata_t meta,
                  inout standard_metadata_t sm) {
    meter(4, MeterType.packets) m;
    direct_meter<bit<8>>(MeterType.packets) dm;
    action colour() { dm.read(meta.dcolor); }
    table t {
        key = { hdr.data.idx: exact; }
        actions = { colour; NoAction; }
        meters = dm;
        default_action = NoAction();
    }
    apply {
        m.execute_meter((bit<32>) hdr.data.idx, hdr.data.color);
        t.apply();
        hdr.data.dcolor = meta.dcolor;
        sm.egress_spec = 1;
    }
}
control MyEgress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t sm) { apply { } }
control MyCompute(inout headers_t hdr, inout metadata_t meta) { apply { } }
control MyDeparser(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
