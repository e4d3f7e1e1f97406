// Constants, typedefs and table sizes shared by every control of the C-PE
// program. Sizes live here so the controller and the TNA variant agree.

#ifndef SL3VPN_DEFINES_P4
#define SL3VPN_DEFINES_P4

// Ports the parser recognises before any table runs. They are compile-time
// constants (override with -DCPU_PORT=n / -DCRYPTO_PORT=n) rather than a
// parser value_set: the packet-out/crypto headers must be parsed before the
// port-role table can be consulted, simple_switch_grpc fixes its CPU port on
// the command line anyway, and a constant needs no P4Runtime value-set writes
// before the first packet. 255 is the conventional BMv2 CPU port.
#ifndef CPU_PORT
#define CPU_PORT 255
#endif
#ifndef CRYPTO_PORT
#define CRYPTO_PORT 254
#endif

typedef bit<9>  port_t;
typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<128> ipv6_addr_t;
typedef bit<16> vrf_id_t;
typedef bit<16> nexthop_id_t;
typedef bit<16> tunnel_id_t;
typedef bit<16> sa_index_t;
typedef bit<20> mpls_label_t;
typedef bit<12> vlan_id_t;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86dd;
const bit<16> ETHERTYPE_ARP = 0x0806;
const bit<16> ETHERTYPE_VLAN = 0x8100;

const bit<8> IP_PROTO_ICMP = 1;
const bit<8> IP_PROTO_TCP = 6;
const bit<8> IP_PROTO_UDP = 17;
const bit<8> IP_PROTO_ESP = 50;
const bit<8> IP_PROTO_ICMPV6 = 58;
// RFC 4023 section 3: MPLS-in-IP, IPv4 protocol / IPv6 next header 137.
const bit<8> IP_PROTO_MPLS_IN_IP = 137;

const bit<16> UDP_PORT_IKE = 500;
const bit<16> UDP_PORT_IKE_NATT = 4500;
const bit<16> TCP_PORT_BGP = 179;

// ICMPv6 neighbour discovery (RFC 4861): router solicit .. redirect.
const bit<8> ICMPV6_ND_FIRST = 133;
const bit<8> ICMPV6_ND_LAST = 137;
const bit<8> ICMPV6_NS = 135;
const bit<8> ICMPV6_NA = 136;
// RFC 4861 4.6.1 option types; 4.4 NA flags (R, S, O are the top three bits).
const bit<8> ND_OPT_SOURCE_LLA = 1;
const bit<8> ND_OPT_TARGET_LLA = 2;

// RFC 826 operations (hardware type 1 = Ethernet).
const bit<16> ARP_OP_REQUEST = 1;
const bit<16> ARP_OP_REPLY = 2;

// ICMPV6_ND_FIRST <= t <= ICMPV6_ND_LAST, spelled as matches by value and mask
// (133; 134-135; 136-137): a Tofino gateway compares ranges over 12 bits at
// most, and both bounds of an 8-bit range take 15.
bool icmpv6_is_nd(in bit<8> t) {
    return t == ICMPV6_ND_FIRST || t[7:1] == 7w67 || t[7:1] == 7w68;  // 67: 134-135, 68: 136-137
}

// Label TTL model (RFC 3443 short pipe): the VPN label is pushed with TTL 255
// and ignored at the egress C-PE; the tenant IP TTL is decremented once at
// each C-PE and the tunnel counts as one hop. The outer (black) IP header
// starts with its own TTL.
const bit<8> MPLS_PUSH_TTL = 255;
const bit<8> OUTER_IP_TTL = 64;

// Port roles (port_role table).
const bit<2> ROLE_NONE = 0;
const bit<2> ROLE_RED = 1;
const bit<2> ROLE_BLACK = 2;
const bit<2> ROLE_CPU = 3;

// What the VRF FIB decided.
const bit<2> FWD_NONE = 0;
const bit<2> FWD_LOCAL = 1;
const bit<2> FWD_REMOTE = 2;

// Drop reasons: index into drop_counter. Every drop in the program names one.
const bit<8> DROP_NONE = 0;
const bit<8> DROP_PORT_UNKNOWN = 1;        // ingress port has no role
const bit<8> DROP_RED_TO_BLACK_CLEAR = 2;  // red traffic about to leave a black port unencrypted
const bit<8> DROP_BLACK_TO_RED_NO_SA = 3;  // black traffic about to reach a red port without an SA
const bit<8> DROP_CLEAR_MPLS_IN_IP = 4;    // MPLS-in-IP received in the clear (draft section 5)
const bit<8> DROP_UNKNOWN_LABEL = 5;       // decrypted VPN label not in vpn_label table
const bit<8> DROP_VRF_MISS = 6;            // no route in the VRF
const bit<8> DROP_UNKNOWN_SA = 7;          // engine NO_SA, or no outbound SA for a tunnel
const bit<8> DROP_DECRYPT_FAILED = 8;      // engine AUTH_FAILED (ICV check)
const bit<8> DROP_REPLAY = 9;              // engine REPLAY
const bit<8> DROP_SA_TUNNEL_MISMATCH = 10; // SA does not belong to the outer source's tunnel
const bit<8> DROP_EXTRANET_DENIED = 11;    // local delivery across VRFs without policy
const bit<8> DROP_BLACK_POLICY = 12;       // black ingress not allowed by black_acl
const bit<8> DROP_ESP_MALFORMED = 13;      // engine MALFORMED
const bit<8> DROP_SA_EXPIRED = 14;         // engine SA_EXPIRED
const bit<8> DROP_SEQ_EXHAUSTED = 15;      // engine SEQ_EXHAUSTED
const bit<8> DROP_NO_BLACK_ROUTE = 16;     // black FIB miss for an encrypted/control packet
const bit<8> DROP_ROUTE_BLACKHOLE = 17;    // VRF route with drop action
const bit<8> DROP_NOT_IP = 18;             // red frame neither IP nor ARP
const bit<8> DROP_NO_TUNNEL = 19;          // remote route names an unknown tunnel
const bit<8> DROP_CRYPTO_BAD_HEADER = 20;  // crypto-port frame with bad version/op
const bit<8> DROP_UNKNOWN_VLAN = 21;       // tagged frame on a red port, VLAN not bound
const bit<8> DROP_NO_NEXTHOP = 22;         // local route names an unknown red next hop
const bit<8> DROP_NO_DECISION = 23;        // internal: no path chose an egress port
const bit<8> DROP_LABEL_STACK = 24;        // more than one label after decryption
const bit<8> DROP_SPD_DISCARD = 25;        // controller packet-out matched an SPD discard rule
const bit<8> DROP_SA_POLICY = 26;          // decrypted traffic outside its SA's selectors (RFC 4301 5.2)
const bit<8> DROP_EGRESS_PORT_UNKNOWN = 27; // guard: the egress port has no role (fails closed)
// drop_counter size (an int: extern constructor arguments are bit<32>).
#define DROP_REASON_COUNT 32

// Punt reasons: packet_in.reason and index into punt_counter.
const bit<8> PUNT_NONE = 0;
const bit<8> PUNT_ARP = 1;
const bit<8> PUNT_ND = 2;
const bit<8> PUNT_IKE = 3;
const bit<8> PUNT_ICMP = 4;
const bit<8> PUNT_CONTROL_SA = 5;   // decrypted control-SA traffic (red BGP) to us
const bit<8> PUNT_TTL_EXPIRED = 6;
const bit<8> PUNT_MTU_EXCEEDED = 7;
const bit<8> PUNT_ROUTE_TO_CPU = 8; // VRF route with to_cpu action (our red addresses)
const bit<8> PUNT_BLACK_POLICY = 9; // black_acl punt (e.g. black BGP sessions)
#define PUNT_REASON_COUNT 16

// Table and counter sizes.
#define PORT_TABLE_SIZE 512
#define SUBIF_TABLE_SIZE 1024
#ifndef VRF_FIB_V4_SIZE  // a build for a bigger VPN (benchmarks/convergence.py) sets it
#define VRF_FIB_V4_SIZE 16384
#endif
#define VRF_FIB_V6_SIZE 8192
#define RED_NEXTHOP_SIZE 4096
#define EXTRANET_SIZE 256
#define TUNNEL_TABLE_SIZE 1024
#define SA_TABLE_SIZE 2048
#define VPN_LABEL_SIZE 4096
#define BLACK_FIB_SIZE 1024
#define BLACK_NEXTHOP_SIZE 256
#define MY_ADDR_SIZE 64
#define NEIGHBOUR_REPLY_SIZE 4096
#define BLACK_ACL_SIZE 256
#define SPD_SIZE 256
#define MAX_PORTS 512
#define MAX_VRFS 4096
#define MAX_SAS 2048

// The one extern the shared controls declare: an indexed packets-and-bytes
// counter, v1model's `counter` or TNA's `Counter` (the TNA top level defines
// SL3VPN_TNA before including the shared files). Same P4Info counter either way.
#ifdef SL3VPN_TNA
#define PACKET_BYTE_COUNTER(size) Counter<bit<64>, bit<32>>(size, CounterType_t.PACKETS_AND_BYTES)
#else
#define PACKET_BYTE_COUNTER(size) counter(size, CounterType.packets_and_bytes)
#endif

#endif  // SL3VPN_DEFINES_P4
