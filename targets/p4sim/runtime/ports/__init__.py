"""Packet transports that connect p4sim's ports to the outside world.

- :class:`InprocPort` - an in-process queue pair for unit tests and embedding;
- :class:`AfPacketPort` - a named Linux interface over AF_PACKET (``-i 1@veth1``);
- :class:`NanomsgTransport` - BMv2's nanomsg PAIR packet-in protocol
  (``--packet-in ipc://...``), which PTF's ``--platform nn`` speaks;
- :class:`PcapRecorder` - ``--pcap DIR``: per-port pcap files of what goes in and out.

:class:`PortManager` ties them to a :class:`~targets.p4sim.runtime.device.Device`.
"""

from targets.p4sim.runtime.ports.afpacket import AfPacketPort
from targets.p4sim.runtime.ports.base import Port, PortManager
from targets.p4sim.runtime.ports.inproc import InprocPort
from targets.p4sim.runtime.ports.nanomsg import NanomsgTransport
from targets.p4sim.runtime.ports.pcap import PcapRecorder

__all__ = [
    "AfPacketPort",
    "InprocPort",
    "NanomsgTransport",
    "PcapRecorder",
    "Port",
    "PortManager",
]
