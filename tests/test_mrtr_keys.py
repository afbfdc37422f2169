"""MRTR requestState keys from the configuration: parsed strictly, rotated (the first seals,
all open), and required when workers share state through Redis."""

from __future__ import annotations

import pytest

from mcp_transport.errors import InvalidParams
from mcp_transport.mrtr import RequestStateCodec
from mcp_transport.mrtr_keys import (
    ENV_REQUEST_STATE_KEYS,
    configured_codec,
    parse_request_state_keys,
    request_state_keys,
    require_shared_keys,
)

OLD = "00112233445566778899aabbccddeeff"
NEW = "ffeeddccbbaa99887766554433221100" * 2


def test_keys_parse_in_order() -> None:
    assert parse_request_state_keys(f" {NEW} ,{OLD.upper()}") == [bytes.fromhex(NEW), bytes.fromhex(OLD)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "is empty: give one or more keys of at least 32 hex digits"),
        (" , ", "is empty: give one or more keys"),
        (f"{NEW},", "key 2 of 2 is empty (a stray comma?)"),
        ("abcdef", "key 1 of 1 has 6 characters; a key needs at least 32 hex digits"),
        (OLD[:-1] + "g", "key 1 of 1 is not hexadecimal"),
        (OLD + "a", "key 1 of 1 is not hexadecimal: use only 0-9 and a-f, an even number"),
    ],
)
def test_bad_keys_say_what_to_fix(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"secrets\.token_hex|stray comma") as raised:
        parse_request_state_keys(value)
    assert raised.value.args[0].startswith(ENV_REQUEST_STATE_KEYS) and message in raised.value.args[0]
    assert OLD[:20] not in raised.value.args[0]  # a key is a secret: never quoted


def test_the_option_wins_over_the_environment() -> None:
    environ = {ENV_REQUEST_STATE_KEYS: OLD}
    assert request_state_keys(environ=environ) == [bytes.fromhex(OLD)]
    assert request_state_keys(NEW, environ) == [bytes.fromhex(NEW)]
    assert request_state_keys([NEW, OLD], environ) == [bytes.fromhex(NEW), bytes.fromhex(OLD)]
    assert request_state_keys(environ={}) is None
    with pytest.raises(ValueError, match=r"^--request-state-key: key 1 of 1 has 3 characters"):
        request_state_keys("abc", environ)


def test_rotation_the_first_seals_all_open() -> None:
    before = configured_codec(environ={ENV_REQUEST_STATE_KEYS: OLD})
    during = configured_codec(environ={ENV_REQUEST_STATE_KEYS: f"{NEW},{OLD}"})
    after = configured_codec(environ={ENV_REQUEST_STATE_KEYS: NEW})
    assert during.open(before.seal({"a": 1}))["a"] == 1  # a token of the old key still opens
    assert after.open(during.seal({"a": 2}))["a"] == 2  # the new key seals
    with pytest.raises(InvalidParams, match="integrity"):
        before.open(during.seal({"a": 3}))


def test_redis_needs_configured_keys() -> None:
    with pytest.raises(ValueError, match=f"set {ENV_REQUEST_STATE_KEYS}=HEX.*or --request-state-key HEX"):
        configured_codec("redis://127.0.0.1:6379/0", environ={})
    require_shared_keys(None, None)  # one worker: a random key of its own is right
    require_shared_keys([bytes.fromhex(OLD)], "redis://127.0.0.1:6379/0")
    shared = configured_codec("redis://127.0.0.1:6379/0", environ={ENV_REQUEST_STATE_KEYS: OLD})
    assert RequestStateCodec([bytes.fromhex(OLD)]).open(shared.seal({"a": 1}))["a"] == 1
    one = configured_codec(environ={})
    assert len(one.keys) == 1 and len(one.keys[0]) == 32  # random, per process
