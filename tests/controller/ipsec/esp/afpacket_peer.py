"""Run inside a network namespace by test_esp_ports.py: switch side <-> engine over a veth.

argv: engine-side interface, switch-side interface.  Prints one JSON line:
the answers the switch side received, hex-encoded.  The requests are sent
before the port starts, so that it finds them all queued and reads them in
batches (more than one BATCH of them).
"""

import json
import socket
import sys
import time

from esp_testlib import BIG_PAYLOAD, eth, ip_packet, request, sa_params

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.ports import BATCH, AfPacketCryptoPort, LockedEngine
from controller.ipsec.installer import Direction

engine_if, switch_if = sys.argv[1], sys.argv[2]
engine = EspEngine()
params = sa_params(Direction.OUTBOUND, sa_index=5)
engine.add_sa(params)
port = AfPacketCryptoPort(engine_if, LockedEngine(engine))
switch = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
switch.bind((switch_if, 0))
switch.settimeout(0.2)
clear = eth(4, ip_packet(4, outbound=True))
requests = [request(cp.Op.ENCRYPT, clear, 5, port=i) for i in (1, 2)]
requests.append(request(cp.Op.ENCRYPT, clear, 99, port=3))
requests += [request(cp.Op.ENCRYPT, clear, 5, port=i) for i in range(10, 10 + BATCH + 36)]
# Longer than a ring slot both ways (the veths have MTU 9000): read and sent the slow way.
big = ip_packet(4, outbound=True)
big.payload.load = BIG_PAYLOAD
requests.append(request(cp.Op.ENCRYPT, eth(4, big), 5, port=4000))
answers = []
for frame in requests:
    switch.send(frame)
port.start()
deadline = time.monotonic() + 5
while len(answers) < len(requests) and time.monotonic() < deadline:
    try:
        data, addr = switch.recvfrom(65535)
    except TimeoutError:
        continue
    if addr[2] != 4:  # not our own transmission
        answers.append(data.hex())
port.close()
print(
    json.dumps(
        {
            "answers": answers,
            "key": params.keys.enc_key.hex(),
            "salt": params.keys.salt.hex(),
            "frames": port.frames,
            "rings": port.rings is not None,
        }
    )
)
