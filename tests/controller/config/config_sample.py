"""The smallest valid C-PE configuration the config tests start from."""

from typing import Any

LAB_PSK = "lab-psk-do-not-use-0123456789"

# One red port (VRF blue), one black port, the CPU and crypto ports, no BGP neighbours.
NO_NEIGHBORS: dict[str, Any] = {
    "node": {"name": "cpe9", "role": "cpe", "as": 65000, "router_id": "192.0.2.9"},
    "loopbacks": {"black": "198.51.100.9", "red": "10.255.0.9"},
    "switch": {
        "ports": [
            {"port": 1, "name": "blue0", "role": "red", "vrf": "blue", "address": "10.1.0.1/24"},
            {"port": 3, "name": "wan0", "role": "black", "address": "203.0.113.2/30"},
            {"port": 255, "role": "cpu"},
            {"port": 254, "role": "crypto"},
        ]
    },
    "vrfs": [{"name": "blue", "rd": "65000:1", "import": ["65000:1"], "export": ["65000:1"]}],
    "ike": {"auth": {"psk": LAB_PSK}},
}
