"""The daemon's local control API, `sl3vpn show`, structured logs and Prometheus metrics.

Wiring in the daemon (``source`` implements
:class:`~controller.api.source.StatusSource`; methods may be coroutines)::

    from controller.api.logging import setup_logging
    from controller.api.metrics_http import MetricsHttpServer
    from controller.api.server import ControlServer

    setup_logging(cfg.logging, cfg.node.name)
    api = ControlServer(source, cfg.control_socket_path)   # Unix socket, mode 0660
    await api.start()                                      # ControlSocketError if taken
    if cfg.metrics.enabled:
        metrics = MetricsHttpServer(source, cfg.metrics.listen)   # GET /metrics
        await metrics.start()
    ...
    await api.close(); await metrics.close()

`sl3vpn show` (``controller.api.cli``) talks to the socket through
``controller.api.client``; the wire format is in ``controller.api.protocol``.
"""
