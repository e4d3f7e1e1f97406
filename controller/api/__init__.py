"""The daemon's local control API, `sl3vpn show`, structured logs and Prometheus metrics.

The daemon implements :class:`~controller.api.source.StatusSource` and runs a
:class:`~controller.api.server.ControlServer` on its ``control_socket`` and a
:class:`~controller.api.metrics_http.MetricsHttpServer` on ``metrics.listen``;
`sl3vpn show` (``controller.api.cli``) talks to the socket with
``controller.api.client``.
"""
