"""Loading a configuration file: YAML -> validated ``Config`` or one line per problem.

Every problem names the file, the line, the field path and what is wrong, e.g.::

    examples/cpe1.yml:31: switch.ports[2].vrf: VRF 'green' is not defined under vrfs

YAML is read twice: once for data (``safe_load``) and once as a node tree, which
gives the line of every field and catches duplicate keys (which ``safe_load``
would silently resolve to the last one). Field values never appear in messages,
so a mistyped secret is not echoed. Anchors/aliases, nesting beyond 64 levels,
files over 1 MiB and files that are not regular files are refused (``yamlsafe``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from controller.config.checks import run_checks
from controller.config.errors import ConfigError, Problem
from controller.config.model import Config
from controller.config.yamlsafe import MAX_CONFIG_BYTES, YamlRefused, compose_and_load

# An address field accepts either family; pydantic reports one failure per family.
_FAMILY_UNION = re.compile(r"Input is not a valid IPv4 (\w+) \| Input is not a valid IPv6 \1")


def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _lines(node: yaml.Node, path: str, out: dict[str, int], dupes: list[tuple[str, int]]) -> None:
    """Record the line of every field path; note keys given twice in one mapping."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = _join(path, key)
            if key in seen:
                dupes.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            out[child] = key_node.start_mark.line + 1
            _lines(value_node, child, out, dupes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, _join(path, index), out, dupes)


def _line_for(path: str, lines: dict[str, int]) -> int | None:
    """The line of ``path`` or of its nearest ancestor present in the file."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get("")


def _data_path(loc: tuple[int | str, ...], data: Any) -> str:
    """Field path from a pydantic error location, skipping its union/validator tags."""
    path = ""
    for key in loc:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int):
            data = data[key] if 0 <= key < len(data) else None
        elif isinstance(data, dict) and isinstance(key, str) and key.isidentifier():
            data = None  # a missing field: still part of the path
        else:
            continue
        path = _join(path, key)
    return path


def _message(err: dict[str, Any]) -> str:
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err["type"] == "missing":
        return "is required"
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling)"
    return msg


def parse(
    text: str,
    source: str = "<config>",
    base_dir: Path | None = None,
    *,
    resolve_secrets: bool = True,
) -> Config:
    """Validate configuration text; raise ConfigError listing every problem."""
    try:
        root, data = compose_and_load(text)
    except YamlRefused as exc:
        raise ConfigError([Problem("", exc.message, source, exc.line)]) from None
    except RecursionError:
        # Backstop: the depth limit should stop this first (the scanner keeps no stack).
        raise ConfigError([Problem("", "YAML nests too deeply", source)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([Problem("", f"YAML syntax: {problem}", source, line)]) from None
    if not isinstance(data, dict) or root is None:
        raise ConfigError(
            [Problem("", "expected a mapping of sections (node, switch, ...)", source, 1)]
        )
    lines: dict[str, int] = {}
    dupes: list[tuple[str, int]] = []
    _lines(root, "", lines, dupes)
    problems = [Problem(p, "given twice", source, line) for p, line in dupes]
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        merged: dict[str, list[str]] = {}
        for err in exc.errors(include_input=False, include_url=False):
            path = _data_path(tuple(err["loc"]), data)
            msgs = merged.setdefault(path, [])
            msg = _message(dict(err))
            if msg not in msgs:
                msgs.append(msg)
        for path, msgs in merged.items():
            text = _FAMILY_UNION.sub(r"is not a valid IPv4 or IPv6 \1", " | ".join(msgs))
            problems.append(Problem(path, text, source, _line_for(path, lines)))
        raise ConfigError(problems) from None
    cfg.source = source
    for path, msg in run_checks(cfg, base_dir or Path("."), resolve_secrets=resolve_secrets):
        problems.append(Problem(path, msg, source, _line_for(path, lines)))
    if problems:
        raise ConfigError(problems)
    return cfg


def load_config(path: str | Path, *, resolve_secrets: bool = True) -> Config:
    """Read and validate a configuration file; secrets are resolved relative to it."""
    file = Path(path)
    try:
        text = _read(file)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError([Problem("", f"cannot read: {reason}", str(path))]) from None
    return parse(text, str(path), file.parent, resolve_secrets=resolve_secrets)


def _read(file: Path) -> str:
    """The file's text; only a regular file of at most MAX_CONFIG_BYTES is read.

    A device (/dev/zero) would be read until memory runs out, a FIFO would block
    the daemon's start for ever; both are refused before opening.
    """
    st = os.stat(file)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(0, "not a regular file")
    too_large = OSError(0, f"larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB")
    if st.st_size > MAX_CONFIG_BYTES:
        raise too_large
    with file.open("rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)  # the file may have grown since stat
    if len(data) > MAX_CONFIG_BYTES:
        raise too_large
    return data.decode("utf-8")
