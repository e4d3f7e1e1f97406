"""Bundled core.p4 / v1model.p4 (a package so that they ship with the wheel)."""
