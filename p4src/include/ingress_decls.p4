// CpeIngress's counters and control instances, included in the v1model and
// the TNA CpeIngress so both declare the same P4Runtime objects under the same
// names (see ingress_flow.p4).
    @id(COUNTER_PORT_RX)
    PACKET_BYTE_COUNTER(MAX_PORTS) port_rx_counter;
    @id(COUNTER_DROP)
    PACKET_BYTE_COUNTER(DROP_REASON_COUNT) drop_counter;
    @id(COUNTER_PUNT)
    PACKET_BYTE_COUNTER(PUNT_REASON_COUNT) punt_counter;

    PortClassify() port_classify;
    NeighbourReply() neighbour_reply;
    RedClassify() red_classify;
    BlackClassify() black_classify;
    CryptoReturn() crypto_return;
    ControlSpd() control_spd;
    VrfRouting() vrf_routing;
    LocalDelivery() local_delivery;
    TunnelEncap() tunnel_encap;
    BlackRouting() black_routing;
    IsolationGuard() isolation_guard;
    LocalRewrite() local_rewrite;
    TunnelPush() tunnel_push;
