"""SA parameter validation and key hiding (controller/ipsec/installer.py)."""

import dataclasses
import ipaddress

import pytest

from controller.ipsec.installer import (
    CipherSuite,
    Direction,
    Lifetime,
    SaInstallError,
    SaKeys,
    SaParams,
    UdpEncap,
)

pytestmark = pytest.mark.unit

KEY = bytes(range(0xA0, 0xB0))
SALT = b"\xde\xad\xbe\xef"


def _params(**kw: object) -> SaParams:
    base = SaParams(
        direction=Direction.OUTBOUND,
        spi=0x1000,
        sa_index=1,
        local=ipaddress.ip_address("192.0.2.1"),
        remote=ipaddress.ip_address("192.0.2.2"),
        suite=CipherSuite.AES_GCM_16_128,
        keys=SaKeys(enc_key=KEY, salt=SALT),
    )
    return dataclasses.replace(base, **kw)


def test_keys_never_in_repr_or_str() -> None:
    params = _params(
        suite=CipherSuite.AES_CBC_128_HMAC_SHA2_256_128,
        keys=SaKeys(enc_key=KEY, auth_key=b"\x77" * 32),
    )
    for text in (repr(params), str(params), repr(params.keys), str(params.keys), f"{params}"):
        assert KEY.hex() not in text and "\\xa0\\xa1" not in text
        assert "77" * 8 not in text and "\\x77" not in text
        assert "16 octets" in text


def test_valid_params_pass() -> None:
    _params().check()
    _params(udp_encap=UdpEncap(4500, 31000), replay_window=1024).check()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sa_index": 0}, "sa_index must be in 1..65535"),
        ({"spi": 255}, "SPI must be in 256"),
        ({"remote": ipaddress.ip_address("2001:db8::2")}, "differ in IP version"),
        ({"replay_window": 5000}, "replay window"),
        ({"keys": SaKeys(enc_key=KEY[:8], salt=SALT)}, "encryption key must be 16 octets"),
        ({"keys": SaKeys(enc_key=KEY)}, "salt must be 4 octets"),
        ({"suite": CipherSuite.AES_GCM_16_256}, "encryption key must be 32 octets"),
        ({"hard": Lifetime(packets=0)}, "hard lifetime: packets must be positive"),
        ({"udp_encap": UdpEncap(0, 4500)}, "port 0 out of range"),
    ],
)
def test_invalid_params_name_the_problem(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SaInstallError, match=message) as info:
        _params(**changes).check()
    assert "\n" not in str(info.value)


def test_keys_survive_asdict_and_copy_without_showing() -> None:
    import copy
    import pickle

    params = _params()
    flat = dataclasses.asdict(params)
    assert KEY.hex() not in repr(flat) and "\\xa0\\xa1" not in repr(flat)
    assert copy.deepcopy(params) == params
    with pytest.raises(TypeError, match="not serialisable"):
        pickle.dumps(params)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"local": "192.0.2.1"}, "local is a str, not IPv4Address or IPv6Address"),
        ({"suite": "aes128gcm16"}, "suite is a str, not CipherSuite"),
        ({"keys": b"\x00" * 16}, "keys is a bytes, not SaKeys"),
    ],
)
def test_wrong_types_are_one_line_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SaInstallError, match=message) as info:
        _params(**changes).check()
    assert "\\x00" not in str(info.value)  # a key passed in the wrong place is not echoed
