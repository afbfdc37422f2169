"""Parsing ``WWW-Authenticate`` (RFC 9110 §11.6.1) into the parameters MCP authorization uses:
``resource_metadata`` (RFC 9728 §5.1), ``scope`` and ``error`` (RFC 6750 §3) for the Bearer and
DPoP (RFC 9449 §7.1) schemes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Challenge", "parse_www_authenticate"]

# One auth-param: token "=" ( token / quoted-string ), RFC 9110 §11.2.
_PARAM = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)\s*,?')
_SCHEME = re.compile(r"\s*,?\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?=\s|$|,)")


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lower-cased: "bearer", "dpop"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def scopes(self) -> list[str] | None:
        raw = self.params.get("scope")
        return raw.split() if raw is not None else None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_www_authenticate(values: list[str]) -> list[Challenge]:
    """Every challenge in the given header values, in order. Malformed text ends the parse of
    that value: what was read before it is kept."""
    challenges: list[Challenge] = []
    for value in values:
        pos = 0
        while pos < len(value):
            scheme = _SCHEME.match(value, pos)
            if scheme is None:
                break
            pos = scheme.end()
            params: dict[str, str] = {}
            while (param := _PARAM.match(value, pos)) is not None and param.end() > pos:
                params.setdefault(param.group(1).lower(), _unquote(param.group(2)))
                pos = param.end()
            challenges.append(Challenge(scheme.group(1).lower(), params))
    return challenges
