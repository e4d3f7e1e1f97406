// Runtime test program: packet I/O through the CPU port, an exact port table,
// an IPv4 LPM table with a direct counter, an indirect counter and a register.
#include <core.p4>
#include <v1model.p4>

#ifndef CPU_PORT
#define CPU_PORT 255
#endif

@controller_header("packet_in")
header packet_in_t { bit<9> ingress_port; bit<7> _pad; }

@controller_header("packet_out")
header packet_out_t { bit<9> egress_port; bit<7> _pad; }

header ethernet_t { bit<48> dst_addr; bit<48> src_addr; bit<16> ether_type; }

header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> total_len;
    bit<16> identification; bit<3> flags; bit<13> frag_offset;
    bit<8> ttl; bit<8> protocol; bit<16> hdr_checksum;
    bit<32> src_addr; bit<32> dst_addr;
}

struct headers_t {
    packet_in_t packet_in;
    packet_out_t packet_out;
    ethernet_t ethernet;
    ipv4_t ipv4;
}

struct metadata_t { }

parser BasicParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t sm) {
    state start {
        transition select(sm.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out { pkt.extract(hdr.packet_out); transition parse_ethernet; }
    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) { 0x0800: parse_ipv4; default: accept; }
    }
    state parse_ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}

control BasicVerify(inout headers_t hdr, inout metadata_t meta) { apply { } }

control BasicIngress(inout headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t sm) {
    counter(512, CounterType.packets_and_bytes) port_pkts;
    direct_counter(CounterType.packets_and_bytes) lpm_hits;
    register<bit<32>>(16) last_len;

    action drop() { mark_to_drop(sm); }
    action set_port(bit<9> port) { sm.egress_spec = port; }
    action to_cpu() {
        sm.egress_spec = CPU_PORT;
        hdr.packet_in.setValid();
        hdr.packet_in.ingress_port = sm.ingress_port;
    }
    action route(bit<9> port) { sm.egress_spec = port; lpm_hits.count(); }

    table fwd {
        key = { sm.ingress_port: exact; }
        actions = { set_port; to_cpu; drop; }
        default_action = drop();
        size = 64;
    }
    table ipv4_lpm {
        key = { hdr.ipv4.dst_addr: lpm; }
        actions = { route; NoAction; }
        default_action = NoAction();
        counters = lpm_hits;
        size = 256;
    }

    apply {
        if (hdr.packet_out.isValid()) {
            sm.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
        } else {
            port_pkts.count((bit<32>)sm.ingress_port);
            last_len.write((bit<32>)sm.ingress_port & 15, sm.packet_length);
            fwd.apply();
            if (hdr.ipv4.isValid()) { ipv4_lpm.apply(); }
        }
    }
}

control BasicEgress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t sm) { apply { } }

control BasicCompute(inout headers_t hdr, inout metadata_t meta) { apply { } }

control BasicDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

V1Switch(BasicParser(), BasicVerify(), BasicIngress(), BasicEgress(),
         BasicCompute(), BasicDeparser()) main;
