"""BMv2 (``simple_switch_grpc``) as a target: find the tools, compile, start, stop.

One launcher for the packet suite (``bmv2_tests/lib/target.py``), the daemon
(``switch: {bmv2: ...}``) and the lab (``--target bmv2``). It imports nothing
from ``controller/`` and the app uses it only to start processes: the switch
itself is driven over P4Runtime, like p4sim. See README.md.
"""

from targets.bmv2.compiler import Artifacts, CompileError, compile_program, default_cache_dir
from targets.bmv2.switch import Bmv2Switch, SwitchOptions, SwitchStartError, switch_argv
from targets.bmv2.tools import COMPILER, SWITCH, ToolMissing, find_tool, missing_tools, tool_env

__all__ = [
    "COMPILER",
    "SWITCH",
    "Artifacts",
    "Bmv2Switch",
    "CompileError",
    "SwitchOptions",
    "SwitchStartError",
    "ToolMissing",
    "compile_program",
    "default_cache_dir",
    "find_tool",
    "missing_tools",
    "switch_argv",
    "tool_env",
]
