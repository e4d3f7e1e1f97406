// A small v1model program for the P4Runtime client's integration tests: the
// table shapes of the C-PE (VRF LPM with a pushed label, a priority ACL, a
// tunnel table, an IPv6 neighbour table), one of each extern, a parser value
// set and controller packet I/O. A PacketOut comes back as a PacketIn with
// ingress_port = the requested egress_port and reason 7.
#include <core.p4>
#include <v1model.p4>

#define CPU_PORT 255

@controller_header("packet_in")
header packet_in_h {
    bit<9> ingress_port;
    bit<8> reason;
    bit<7> pad;
}

@controller_header("packet_out")
header packet_out_h {
    bit<9> egress_port;
    bit<8> mode;
    bit<7> pad;
}

header ethernet_h {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_h {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  dscp_ecn;
    bit<16> total_len;
    bit<16> identification;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

struct headers_t {
    packet_in_h  packet_in;
    packet_out_h packet_out;
    ethernet_h   ethernet;
    ipv4_h       ipv4;
}

struct metadata_t {
    bit<16>  vrf;
    bit<16>  l4_dport;
    bit<128> nexthop6;
    bit<16>  tunnel;
}

parser SmallParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                   inout standard_metadata_t std) {
    value_set<bit<16>>(4) ike_ports;

    state start {
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition accept;
    }
    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.dst_addr[15:0]) {
            ike_ports: accept;
            default: accept;
        }
    }
}

control SmallVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control SmallIngress(inout headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t std) {
    counter(16, CounterType.packets_and_bytes) drop_reason;
    direct_counter(CounterType.packets_and_bytes) vrf_fib_hits;
    meter(8, MeterType.bytes) port_meter;
    register<bit<64>>(32) sa_seq;

    action drop() { mark_to_drop(std); }
    action punt() { std.egress_spec = CPU_PORT; }
    action push_label(bit<20> label, bit<16> tunnel) {
        meta.tunnel = tunnel;
        vrf_fib_hits.count();
    }
    action fib_drop() { vrf_fib_hits.count(); mark_to_drop(std); }
    action set_tunnel(bit<32> remote_addr, bit<16> sa_index) { meta.tunnel = sa_index; }
    action set_dmac(bit<48> dmac, bit<9> port) {
        hdr.ethernet.dst_addr = dmac;
        std.egress_spec = port;
    }

    table vrf_fib {
        key = {
            meta.vrf: exact @name("vrf");
            hdr.ipv4.dst_addr: lpm @name("dst");
        }
        actions = { push_label; fib_drop; }
        default_action = fib_drop();
        counters = vrf_fib_hits;
        size = 1024;
    }
    table acl {
        key = {
            hdr.ipv4.src_addr: ternary @name("src_addr");
            hdr.ipv4.protocol: ternary @name("proto");
            meta.l4_dport: range @name("dport");
            std.ingress_port: optional @name("in_port");
        }
        actions = { @tableonly punt; drop; NoAction; }
        default_action = NoAction();
        size = 256;
    }
    table tunnel {
        key = { meta.tunnel: exact @name("tunnel_id"); }
        actions = { set_tunnel; drop; }
        default_action = drop();
        size = 256;
    }
    table neighbor {
        key = { meta.nexthop6: exact @name("nexthop6"); }
        actions = { set_dmac; drop; }
        default_action = drop();
        size = 64;
    }

    apply {
        if (hdr.packet_out.isValid()) {
            // Echo: back to the controller, reporting the requested port as ingress.
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = hdr.packet_out.egress_port;
            hdr.packet_in.reason = 7;
            hdr.packet_in.pad = 0;
            hdr.packet_out.setInvalid();
            std.egress_spec = CPU_PORT;
            return;
        }
        bit<32> seen;
        port_meter.execute_meter<bit<32>>((bit<32>) std.ingress_port, seen);
        if (hdr.ipv4.isValid()) {
            acl.apply();
            vrf_fib.apply();
            tunnel.apply();
            neighbor.apply();
        } else {
            drop_reason.count(0);
            sa_seq.write(0, 1);
        }
    }
}

control SmallEgress(inout headers_t hdr, inout metadata_t meta,
                    inout standard_metadata_t std) {
    apply { }
}

control SmallCompute(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control SmallDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

V1Switch(SmallParser(), SmallVerify(), SmallIngress(), SmallEgress(), SmallCompute(),
         SmallDeparser()) main;
