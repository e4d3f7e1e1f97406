"""The switch a daemon drives: p4sim started by the daemon, or any P4Runtime target.

Ports carry the roles of the architecture: red (tenant-facing, bound to one VRF,
optionally per 802.1Q VLAN), black (network-facing), CPU (packet-in/out) and
crypto (to the ESP engine).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PORT_MAX = 511  # v1model ports are 9 bits


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors (they are usually typos)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def host_port(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    host = host.strip("[]")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not all(part.isalnum() or "-" in part for part in host.split(".")):
                raise ValueError(f"{text!r}: bad host {host!r}") from None
    return text


class P4SimSwitch(Strict):
    """Run p4sim as the switch (the default)."""

    program: str = "p4src/cpe.p4"
    grpc_address: str = "127.0.0.1:9559"
    device_id: int = Field(default=1, ge=0)
    # Preprocessor defines for the program (-D NAME=VALUE); CPU_PORT and CRYPTO_PORT
    # are added from the port roles below.
    defines: dict[str, str] = Field(default_factory=dict)
    pcap: str | None = None  # directory for per-port pcaps
    # Extra command-line flags for p4sim.
    args: list[str] = Field(default_factory=list)

    @field_validator("grpc_address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        return host_port(value)


class RemoteSwitch(Strict):
    """Any P4Runtime target reachable by address (e.g. BMv2's simple_switch_grpc)."""

    address: str
    device_id: int = Field(default=1, ge=0)
    election_id: int = Field(default=1, ge=1)
    p4info: str | None = None
    device_config: str | None = None

    @field_validator("address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        return host_port(value)


class Port(Strict):
    port: int = Field(ge=0, le=PORT_MAX)
    role: Literal["red", "black", "cpu", "crypto"]
    name: str | None = None
    # Linux interface the switch port is bound to (p4sim/simple_switch "-i PORT@IFACE").
    interface: str | None = None
    vrf: str | None = None
    vlan: int | None = Field(default=None, ge=1, le=4094)
    address: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = Field(default_factory=list)
    mtu: int = Field(default=1500, ge=576, le=9216)

    @field_validator("address", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _role_fields(self) -> Port:
        if self.role == "red" and self.vrf is None:
            raise ValueError("a red port needs a vrf")
        if self.role != "red" and (self.vrf is not None or self.vlan is not None):
            raise ValueError(f"vrf/vlan only apply to red ports, not {self.role}")
        if self.role in ("cpu", "crypto") and self.address:
            raise ValueError(f"a {self.role} port has no addresses")
        return self

    @property
    def label(self) -> str:
        return self.name or f"port {self.port}"


class Switch(Strict):
    p4sim: P4SimSwitch | None = None
    p4runtime: RemoteSwitch | None = None
    ports: list[Port] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target(self) -> Switch:
        if self.p4sim is not None and self.p4runtime is not None:
            raise ValueError("give either p4sim or p4runtime, not both")
        if self.p4sim is None and self.p4runtime is None:
            self.p4sim = P4SimSwitch()
        return self

    def by_role(self, role: str) -> list[Port]:
        return [p for p in self.ports if p.role == role]

    def p4sim_command(self, base: Path | None = None) -> list[str]:
        """Arguments after ``sl3vpn`` that start p4sim for this switch (program relative
        to ``base``), with the CPU and crypto ports passed to the program as defines."""
        sim = self.p4sim
        if sim is None:
            raise ValueError("this switch is a remote P4Runtime target, not p4sim")
        argv = ["p4sim", "run", "--device-id", str(sim.device_id)]
        argv += ["--grpc-server-addr", sim.grpc_address]
        defines = dict(sim.defines)
        for role, define in (("cpu", "CPU_PORT"), ("crypto", "CRYPTO_PORT")):
            found = self.by_role(role)
            if found:
                defines.setdefault(define, str(found[0].port))
        cpu = self.by_role("cpu")
        if cpu:
            argv += ["--cpu-port", str(cpu[0].port)]
        for port in self.ports:
            if port.interface and port.vlan is None:
                argv += ["-i", f"{port.port}@{port.interface}"]
        if sim.pcap is not None:
            argv += ["--pcap", sim.pcap]
        for name, value in sorted(defines.items()):
            argv += ["-D", f"{name}={value}"]
        program = Path(sim.program)
        if base is not None and not program.is_absolute():
            program = base / program
        return [*argv, *sim.args, str(program)]
