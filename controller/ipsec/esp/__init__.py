"""The look-aside ESP engine (RFC 4303 / RFC 4106 / RFC 3948), sans-I/O."""

from controller.ipsec.esp.engine import EspEngine

__all__ = ["EspEngine"]
