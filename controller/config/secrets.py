"""Secrets in configuration: IKE pre-shared keys and private keys.

A secret is given inline, or by reference so that the file itself holds none::

    psk: {env: SL3VPN_PSK_CPE1}
    key: {file: keys/cpe1.key}      # relative to the configuration file

The value is read once at load time and kept in a :class:`Secret`, whose
``repr``/``str`` never show it; error messages name the variable or file,
never the content.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class Secret(BaseModel):
    """A secret value with its source; ``reveal()`` is the only way to the bytes."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    env: str | None = None
    file: str | None = None
    # Excluded from dumps and reprs so that a config printed for debugging leaks nothing.
    value: str | None = Field(default=None, exclude=True, repr=False)
    _data: bytes | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _inline(cls, data: object) -> object:
        if isinstance(data, str):
            return {"value": data}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> Secret:
        given = [name for name in ("env", "file", "value") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of an inline value, {env: NAME} or {file: PATH}")
        return self

    def resolve(self, base_dir: Path) -> str | None:
        """Read the value; return a one-line problem (without the secret) or None."""
        if self.value is not None:
            self._data = self.value.encode()
        elif self.env is not None:
            raw = os.environ.get(self.env)
            if raw is None:
                return f"environment variable {self.env} is not set"
            self._data = raw.encode()
        else:
            assert self.file is not None
            path = Path(self.file)
            if not path.is_absolute():
                path = base_dir / path
            try:
                self._data = path.read_bytes()
            except OSError as exc:
                return f"secret file {path}: {exc.strerror or exc.__class__.__name__}"
            # A trailing newline from an editor is not part of a PSK.
            if self._data.endswith(b"\n") and not self._data.startswith(b"-----"):
                self._data = self._data.rstrip(b"\r\n")
        if not self._data:
            return f"{self.source()} is empty"
        return None

    def source(self) -> str:
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return "inline value"

    def reveal(self) -> bytes:
        if self._data is None:
            raise RuntimeError(f"secret from {self.source()} was not resolved")
        return self._data

    def __repr__(self) -> str:
        return f"Secret(<hidden>, from {self.source()})"

    __str__ = __repr__
