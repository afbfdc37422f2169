"""The keys that seal and open MRTR ``requestState`` tokens, from the configuration.

One worker can use a random key of its own (the default of :class:`RequestStateCodec`). With
several workers a retried round may land on any of them, so every worker must hold the same
keys: ``MCP_TRANSPORT_REQUEST_STATE_KEYS=HEX[,HEX...]`` or ``--request-state-key HEX``. The
first key seals, every key opens, so a key is rotated by putting the new one first and
dropping the old one once tokens sealed with it have expired (15 minutes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from .env import ENV_REQUEST_STATE_KEYS
from .mrtr import RequestStateCodec

__all__ = [
    "ENV_REQUEST_STATE_KEYS",
    "MIN_KEY_HEX_DIGITS",
    "configured_codec",
    "parse_request_state_keys",
    "request_state_keys",
    "require_shared_keys",
]

# 128 bits: the HMAC key must not be guessable (RequestStateCodec refuses shorter keys).
MIN_KEY_HEX_DIGITS = 32
_GENERATE = "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"


def parse_request_state_keys(text: str, source: str = ENV_REQUEST_STATE_KEYS) -> list[bytes]:
    """``HEX[,HEX...]`` as key bytes; ValueError saying what to fix (never quoting a key:
    it is a secret)."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise ValueError(
            f"{source} is empty: give one or more keys of at least {MIN_KEY_HEX_DIGITS} hex digits, "
            f"separated by commas (the first seals, all open); {_GENERATE}"
        )
    return [_parse_key(part, f"{source}: key {n} of {len(parts)}") for n, part in enumerate(parts, 1)]


def _parse_key(part: str, where: str) -> bytes:
    if not part:
        raise ValueError(f"{where} is empty (a stray comma?)")
    if len(part) < MIN_KEY_HEX_DIGITS:
        raise ValueError(
            f"{where} has {len(part)} characters; a key needs at least {MIN_KEY_HEX_DIGITS} hex digits; "
            + _GENERATE
        )
    try:
        return bytes.fromhex(part)
    except ValueError:
        raise ValueError(
            f"{where} is not hexadecimal: use only 0-9 and a-f, an even number of them; {_GENERATE}"
        ) from None


def request_state_keys(
    explicit: str | Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> list[bytes] | None:
    """The configured keys: ``explicit`` (the ``--request-state-key`` option, given once or
    more) wins over ``MCP_TRANSPORT_REQUEST_STATE_KEYS``; None when neither is set."""
    if explicit is not None and not isinstance(explicit, str):
        explicit = ",".join(explicit) if explicit else None
    if explicit is not None:
        return parse_request_state_keys(explicit, "--request-state-key")
    value = (os.environ if environ is None else environ).get(ENV_REQUEST_STATE_KEYS)
    return None if value is None else parse_request_state_keys(value)


def require_shared_keys(keys: Sequence[bytes] | None, redis_url: str | None) -> None:
    """Refuse shared state (Redis) without configured keys: each worker would seal with a
    random key of its own and refuse every round sealed by another worker."""
    if redis_url and not keys:
        raise ValueError(
            "Several workers share state through Redis, so they must share the keys of MRTR "
            f"requestState tokens: set {ENV_REQUEST_STATE_KEYS}=HEX[,HEX...] or --request-state-key HEX "
            f"(at least {MIN_KEY_HEX_DIGITS} hex digits, the same on every worker); {_GENERATE}"
        )


def configured_codec(
    redis_url: str | None = None,
    explicit: str | Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RequestStateCodec:
    """The codec a server should use: the configured keys, refused when missing with Redis;
    a random per-process key for one worker without configured keys."""
    keys = request_state_keys(explicit, environ)
    require_shared_keys(keys, redis_url)
    return RequestStateCodec(keys)
