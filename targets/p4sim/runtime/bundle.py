"""The P4 device config p4sim takes in SetForwardingPipelineConfig.

p4sim runs P4 source, so ``ForwardingPipelineConfig.p4_device_config`` carries
the program's sources. Two forms are accepted:

1. A JSON bundle (UTF-8), for programs split over several files::

       {
         "p4sim_bundle": 1,
         "main": "main.p4",                      # file to compile
         "sources": {"main.p4": "...",           # path (relative, '/'-separated)
                     "include/headers.p4": "..."},   #   -> file text
         "defines": {"CPU_PORT": "255"}          # optional, as -D NAME=VALUE
       }

2. The text of a single P4 file (anything that is not such a JSON object).

``#include`` of files not in the bundle resolves against p4sim's own include
directory (core.p4, v1model.p4). ``sl3vpn p4sim run PROGRAM.p4`` and
:func:`bundle_from_path` build form 1 from a source tree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from targets.p4sim.runtime.program import ProgramError

BUNDLE_VERSION = 1
_SOURCE_SUFFIXES = (".p4", ".p4h", ".h")


@dataclass
class Bundle:
    main: str
    sources: dict[str, str]
    defines: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        doc = {
            "p4sim_bundle": BUNDLE_VERSION,
            "main": self.main,
            "sources": self.sources,
            "defines": self.defines,
        }
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> Bundle:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProgramError(f"device config: not UTF-8 text (byte {exc.start})") from None
        doc: object = None
        if text.lstrip().startswith("{"):
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ProgramError(f"device config: bad JSON bundle: {exc}") from None
        if not isinstance(doc, dict):
            if not text.strip():
                raise ProgramError("device config is empty")
            return cls("main.p4", {"main.p4": text})
        if doc.get("p4sim_bundle") != BUNDLE_VERSION:
            raise ProgramError(f"device config: 'p4sim_bundle' must be {BUNDLE_VERSION}")
        main, sources, defines = doc.get("main"), doc.get("sources"), doc.get("defines", {})
        if not isinstance(sources, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in sources.items()
        ):
            raise ProgramError("device config: 'sources' must map file names to text")
        if not isinstance(main, str) or main not in sources:
            raise ProgramError(f"device config: 'main' ({main!r}) must name one of 'sources'")
        if not isinstance(defines, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in defines.items()
        ):
            raise ProgramError("device config: 'defines' must map names to strings")
        for name in sources:
            p = PurePosixPath(name)
            if p.is_absolute() or ".." in p.parts or not p.parts:
                raise ProgramError(f"device config: source path {name!r} escapes the bundle")
        return cls(main, dict(sources), dict(defines))

    def materialize(self, directory: Path) -> Path:
        """Write the sources under ``directory``; the path of the main file."""
        for name, text in self.sources.items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return directory / self.main


def bundle_from_path(main: Path, defines: dict[str, str] | None = None) -> Bundle:
    """Bundle ``main`` with every P4 source under its directory."""
    root = main.parent
    sources = {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in _SOURCE_SUFFIXES
    }
    sources[main.name] = main.read_text()
    return Bundle(main.name, sources, dict(defines or {}))
