"""A lab's private run directory and its state file.

    /run/sl3vpn-lab/<prefix>/        0700, or $SL3VPN_LAB_RUN/<prefix>/
        state.json                   topology, prefix, namespaces, processes (pid per node)
        sas.json                     0600: the lab's SA keys (static data plane only)
        <node>.log                   each process's stdout and stderr
        <node>.status.json           what a node reports about itself (no secrets)
        configs/<node>.yml, psk      generated daemon configurations; psk is 0600

``sl3vpn lab status`` and ``lab down`` find everything from here, so they work
from any shell, and a second lab with another prefix never touches this one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_BASE = Path("/run/sl3vpn-lab")


def base_dir() -> Path:
    return Path(os.environ.get("SL3VPN_LAB_RUN", str(DEFAULT_BASE)))


def run_dir_for(prefix: str) -> Path:
    return base_dir() / prefix


def labs() -> list[str]:
    """Prefixes of labs that have a state file."""
    base = base_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "state.json").is_file())


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, before any secret is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


@dataclass
class LabState:
    prefix: str
    topology: str  # absolute path of the topology file
    mode: str  # "static" (lab-written data plane) or "daemon"
    namespaces: list[str]
    pids: dict[str, int] = field(default_factory=dict)  # node -> pid
    started: float = 0.0
    target: str = "p4sim"  # the switch every node runs: p4sim or bmv2

    @property
    def run_dir(self) -> Path:
        return run_dir_for(self.prefix)

    def save(self) -> None:
        tmp = self.run_dir / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(self.run_dir / "state.json")

    @classmethod
    def load(cls, run_dir: Path) -> LabState:
        try:
            data = json.loads((run_dir / "state.json").read_text())
            return cls(**data)
        except FileNotFoundError:
            raise LookupError(f"no lab state in {run_dir}") from None
        except (ValueError, TypeError) as exc:
            raise LookupError(f"{run_dir}/state.json is unreadable: {exc}") from None


def make_run_dir(prefix: str) -> Path:
    d = run_dir_for(prefix)
    d.parent.mkdir(parents=True, exist_ok=True)
    d.mkdir(mode=0o700, exist_ok=True)
    os.chmod(d, 0o700)
    return d
