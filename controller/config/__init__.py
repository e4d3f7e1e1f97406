"""Configuration of the C-PE and route-reflector daemons (YAML, validated on load).

    from controller.config import load_config, ConfigError
    cfg = load_config("examples/cpe1.yml")   # raises ConfigError(problems)
    cfg.node.role, cfg.switch.by_role("red"), cfg.ike.auth.psk.reveal()

Sections are pydantic models (``model``, ``switch``, ``vpn``, ``ike``);
``checks`` holds the rules that span sections; ``loader`` turns YAML into a
``Config`` and every problem into one line "FILE:LINE: field.path: problem".
Secrets (``psk``, private ``key``) may be inline, ``{env: NAME}`` or
``{file: PATH}`` and are never shown (``secrets.Secret``).
"""

from __future__ import annotations

from controller.config.errors import ConfigError, Problem
from controller.config.loader import load_config, parse
from controller.config.model import Config

__all__ = ["Config", "ConfigError", "Problem", "load_config", "parse"]
