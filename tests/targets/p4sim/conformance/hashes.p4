// hash(): crc32, crc16 (ARC), csum16, xor16, identity over 123456789
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<32> f1;
    bit<32> f2;
    bit<8> b1;
    bit<8> b2;
    bit<16> h1;
}

header out_t { bit<32> c32; bit<16> c16; bit<16> cs; bit<16> x16; bit<32> id; }

struct headers_t {
    data_t data;
    out_t res;
}

struct metadata_t {
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
        bit<32> c32;
        bit<16> c16;
        bit<16> cs;
        bit<16> x16;
        bit<32> id;
        hash(c32, HashAlgorithm.crc32, 32w0, { hdr.data.f1, hdr.data.f2, hdr.data.b1 }, 64w0x100000000);
        hash(c16, HashAlgorithm.crc16, 16w0, { hdr.data.f1, hdr.data.f2, hdr.data.b1 }, 32w0x10000);
        hash(cs, HashAlgorithm.csum16, 16w0, { hdr.data.f1, hdr.data.f2, hdr.data.b1 }, 32w0x10000);
        hash(x16, HashAlgorithm.xor16, 16w0, { hdr.data.f1, hdr.data.f2, hdr.data.b1 }, 32w0x10000);
        hash(id, HashAlgorithm.identity, 32w0, { hdr.data.f1, hdr.data.f2, hdr.data.b1 }, 64w0x100000000);
        hdr.res.setValid();
        hdr.res.c32 = c32;
        hdr.res.c16 = c16;
        hdr.res.cs = cs;
        hdr.res.x16 = x16;
        hdr.res.id = id;
        sm.egress_spec = 2;
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
