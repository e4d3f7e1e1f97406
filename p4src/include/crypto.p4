// Crypto-port internal header: the fixed contract between this pipeline and
// the look-aside ESP engine (controller/ipsec/). Every frame exchanged on the
// crypto port, in both directions, starts with these 8 octets (network byte
// order) followed by the Ethernet frame.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +---------------+---------------+-------------------------------+
//   |  version = 1  |      op       |           sa_index            |
//   +---------------+---------------+-------------------------------+
//   |    result     |   reserved=0  |         ingress_port          |
//   +---------------+---------------+-------------------------------+
//
// op: ENCRYPT or DECRYPT, echoed unchanged by the engine.
// sa_index: ENCRYPT: outbound SA chosen by the pipeline. DECRYPT: the pipeline
//   sends 0, the engine returns the inbound SA it found by SPI (+ destination).
// result: pipeline sends 0; engine returns one of CRYPTO_RESULT_*. On any
//   non-zero result the engine returns the frame it received unchanged.
// ingress_port: the switch port the packet originally entered on; the engine
//   echoes it so the second pass knows where the packet came from.

#ifndef SL3VPN_CRYPTO_P4
#define SL3VPN_CRYPTO_P4

const bit<8> CRYPTO_VERSION = 1;

const bit<8> CRYPTO_OP_ENCRYPT = 1;
const bit<8> CRYPTO_OP_DECRYPT = 2;

const bit<8> CRYPTO_RESULT_OK = 0;
const bit<8> CRYPTO_RESULT_NO_SA = 1;
const bit<8> CRYPTO_RESULT_AUTH_FAILED = 2;
const bit<8> CRYPTO_RESULT_REPLAY = 3;
const bit<8> CRYPTO_RESULT_MALFORMED = 4;
const bit<8> CRYPTO_RESULT_SA_EXPIRED = 5;
const bit<8> CRYPTO_RESULT_SEQ_EXHAUSTED = 6;

header crypto_h {
    bit<8>  version;
    bit<8>  op;
    bit<16> sa_index;
    bit<8>  result;
    bit<8>  reserved;
    bit<16> ingress_port;
}

#endif  // SL3VPN_CRYPTO_P4
