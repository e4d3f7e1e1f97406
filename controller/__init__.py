"""Secured L3VPN C-PE controller (draft-rosen-bess-secure-l3vpn)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("secure-l3vpn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
