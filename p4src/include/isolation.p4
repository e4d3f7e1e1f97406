// Red/black isolation guard (draft section 7), applied to the final egress
// decision whatever path produced it: nothing that entered on a red port may
// leave a black port unless it came back encrypted from the engine, and
// nothing that entered on a black port may leave a red port unless it was
// decrypted through an SA bound to its tunnel. It catches configuration
// mistakes (a red next hop on a black port, a black next hop on a red port)
// that the forwarding tables alone would let through. It fails closed: an
// egress port with no role entry is neither red nor black, so nothing may
// leave through it (the CPU and crypto ports, fixed in defines.p4 and never in
// the table, excepted).

#ifndef SL3VPN_ISOLATION_P4
#define SL3VPN_ISOLATION_P4

// The verdict, in the flow's last step:
//   no forwarding decision                          -> DROP_NO_DECISION
//   egress port with no role (not CPU/crypto port)  -> DROP_EGRESS_PORT_UNKNOWN
//   red in, black out, not via the engine           -> DROP_RED_TO_BLACK_CLEAR
//   black in, red out, not decrypted through an SA  -> DROP_BLACK_TO_RED_NO_SA
control IsolationGuard(inout headers_t hdr,
                       inout local_metadata_t meta,
                       inout standard_metadata_t std) {
    @id(ACTION_EGRESS_RED)
    action egress_red() {
        meta.dst_role = ROLE_RED;
    }

    @id(ACTION_EGRESS_BLACK)
    action egress_black() {
        meta.dst_role = ROLE_BLACK;
    }

    // The same roles as port_role, keyed on the chosen egress port.
    @id(TABLE_EGRESS_PORT_ROLE)
    table egress_port_role {
        key = {
            std.egress_spec : exact @name("port");
        }
        actions = {
            egress_red;
            egress_black;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        size = PORT_TABLE_SIZE;
    }

    // Only the lookup: the verdict is the last step of the ingress flow
    // (ingress_flow.p4), where each of its drops is counted and taken in the
    // branch that decides it. On Tofino that is one step less than a verdict
    // recorded here and acted on after. The lookup runs for every packet
    // (dst_role is read only by the verdict), so it need not wait for the
    // checks that decide whether the packet leaves at all.
    apply {
        egress_port_role.apply();
    }
}

#endif  // SL3VPN_ISOLATION_P4
