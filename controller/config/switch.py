"""The switch a daemon drives: p4sim or BMv2 started by the daemon, or any P4Runtime target.

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


class Bmv2Target(Strict):
    """Run BMv2's simple_switch_grpc as the switch, the program compiled by p4c-bm2-ss.

    Both tools come from ``$SL3VPN_P4_PREFIX/bin``, then PATH; the compile is cached
    (``targets/bmv2``). The daemon pushes the BMv2 JSON and P4Info over P4Runtime.
    """

    program: str = "p4src/cpe.p4"
    grpc_address: str = "127.0.0.1:9559"
    device_id: int = Field(default=1, ge=0)
    defines: dict[str, str] = Field(default_factory=dict)  # as for p4sim
    thrift_port: int | None = Field(default=None, ge=1, le=65535)  # None: a free port
    # BMv2's own per-packet log into the switch's log file (slows it down a lot).
    log_level: Literal["trace", "debug", "info", "warn", "error"] | None = None
    cache_dir: str | None = None  # compile cache; default under $XDG_CACHE_HOME
    # Extra simple_switch_grpc flags (before its "--").
    args: list[str] = Field(default_factory=list)

    @field_validator("grpc_address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        return host_port(value)


class RemoteSwitch(Strict):
    """Any P4Runtime target reachable by address (e.g. a simple_switch_grpc started by
    someone else): ``p4info`` (text or binary protobuf, as p4c's ``--p4runtime-files``
    writes) and ``device_config`` (e.g. p4c-bm2-ss's BMv2 JSON) are pushed as given."""

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
    bmv2: Bmv2Target | None = None
    p4runtime: RemoteSwitch | None = None
    ports: list[Port] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target(self) -> Switch:
        given = [k for k in ("p4sim", "bmv2", "p4runtime") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of p4sim, bmv2 or p4runtime, not {' and '.join(given)}")
        if not given:
            self.p4sim = P4SimSwitch()
        return self

    @property
    def launched(self) -> P4SimSwitch | Bmv2Target | None:
        """The switch the daemon starts itself (p4sim or BMv2), None for a remote one."""
        return self.p4sim if self.p4sim is not None else self.bmv2

    @property
    def kind(self) -> str:
        """The target kind: p4sim, bmv2 or p4runtime (a remote one)."""
        return "p4sim" if self.p4sim else "bmv2" if self.bmv2 else "p4runtime"

    def by_role(self, role: str) -> list[Port]:
        return [p for p in self.ports if p.role == role]

    def role_port(self, role: str) -> int | None:
        found = self.by_role(role)
        return found[0].port if found else None

    def interfaces(self) -> dict[int, str]:
        """Switch port -> Linux interface, for every port bound to one (not VLAN sub-ports)."""
        return {p.port: p.interface for p in self.ports if p.interface and p.vlan is None}

    def program_defines(self) -> dict[str, str]:
        """The launched switch's defines, with CPU_PORT/CRYPTO_PORT from the port roles."""
        sim = self.launched
        defines = dict(sim.defines) if sim is not None else {}
        for role, name in (("cpu", "CPU_PORT"), ("crypto", "CRYPTO_PORT")):
            port = self.role_port(role)
            if port is not None:
                defines.setdefault(name, str(port))
        return defines

    def p4sim_command(self, base: Path | None = None) -> list[str]:
        """Arguments after ``sl3vpn`` that start p4sim for this switch (program relative
        to ``base``), with the CPU and crypto ports passed to the program as defines."""
        sim = self.p4sim
        if sim is None:
            what = "BMv2" if self.bmv2 is not None else "a remote P4Runtime target"
            raise ValueError(f"this switch is {what}, not p4sim")
        argv = ["p4sim", "run", "--device-id", str(sim.device_id)]
        argv += ["--grpc-server-addr", sim.grpc_address]
        cpu = self.role_port("cpu")
        if cpu is not None:
            argv += ["--cpu-port", str(cpu)]
        for port, interface in self.interfaces().items():
            argv += ["-i", f"{port}@{interface}"]
        if sim.pcap is not None:
            argv += ["--pcap", sim.pcap]
        for name, value in sorted(self.program_defines().items()):
            argv += ["-D", f"{name}={value}"]
        program = Path(sim.program)
        if base is not None and not program.is_absolute():
            program = base / program
        return [*argv, *sim.args, str(program)]
