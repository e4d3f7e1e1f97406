"""The YAML subset a daemon configuration may use: plain data, bounded in size and depth.

PyYAML's safe loader still accepts anchors and aliases (``&a`` / ``*a``). Nine
levels of nine aliases each describe 9**9 values in a few hundred bytes; every
consumer that walks the data (our line finder, pydantic) then works through all
of them and the daemon hangs. A daemon configuration has no use for aliases, so
they are refused, at the line they appear. Nesting is bounded for the same
reason: PyYAML composes recursively and a few thousand ``[`` exhaust the Python
stack (RecursionError) before any of our code runs.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_CONFIG_BYTES = 1024 * 1024  # real configurations are a few KiB
MAX_DEPTH = 64  # the model nests about 6 deep


class YamlRefused(Exception):
    """A YAML construct the configuration format does not allow; ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases and documents nested too deeply."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlRefused(
                "YAML anchors and aliases (&name, *name, <<: *name) are not supported in a "
                "configuration: write the values out",
                line,
            )
        if self._depth >= MAX_DEPTH:
            raise YamlRefused(f"YAML nests too deeply (more than {MAX_DEPTH} levels)", line)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for lines) and the data of one YAML document.

    Raises YamlRefused for aliases, deep nesting or oversized text, yaml.YAMLError for
    syntax errors.
    """
    # Characters never outnumber UTF-8 bytes: the cheap test first.
    limit = MAX_CONFIG_BYTES
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise YamlRefused(f"larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB", None)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data
