"""Request checks that run before any MCP logic: DNS-rebinding protection (Host/Origin) and
the request body limit.

The Host/Origin default protects local servers without breaking deployed ones (2025-11-25
basic/transports#security-warning; the Go SDK's rule): a request that arrives on a loopback
address must name a loopback host and, if it carries an Origin, a loopback origin. Anything else passes unless
``allowed_hosts`` / ``allowed_origins`` say otherwise. Rejections are 403 with a JSON-RPC
body that names the header and the option to set (never a bare 421 the client cannot read).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from ...errors import RequestTooLarge

__all__ = ["DEFAULT_MAX_BODY_BYTES", "OriginPolicy", "read_body"]

# Same limit as the official Python SDK and our stdio line limit: a message that fits one
# transport fits the other.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_CACHE_SIZE = 256


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> tuple[str, str]:
    """``(hostname, port)`` from a Host header value (port '' when absent)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1], value[end + 2 :] if end >= 0 and value[end + 1 : end + 2] == ":" else ""
    name, _, port = value.partition(":")
    return name, port


def _matches(value: str, patterns: frozenset[str]) -> bool:
    """``value`` equals a pattern, or a pattern ``x:*`` matches ``x`` with any port."""
    if value in patterns:
        return True
    base, _, port = value.rpartition(":")
    return bool(base) and port.isdigit() and f"{base}:*" in patterns


class OriginPolicy:
    """Decides whether a request's Host and Origin headers are acceptable.

    ``allowed_hosts``: Host values such as ``"api.example.com"`` or ``"example.com:*"`` (any
    port). ``allowed_origins``: origins such as ``"https://app.example.com"`` or
    ``"http://localhost:*"``. None keeps the loopback default for that header.
    """

    __slots__ = ("_cache", "allowed_hosts", "allowed_origins")

    def __init__(
        self, allowed_hosts: Iterable[str] | None = None, allowed_origins: Iterable[str] | None = None
    ) -> None:
        self.allowed_hosts = (
            frozenset(h.lower() for h in allowed_hosts) if allowed_hosts is not None else None
        )
        self.allowed_origins = (
            frozenset(o.lower().rstrip("/") for o in allowed_origins) if allowed_origins is not None else None
        )
        # (server address, Host, Origin) -> verdict: every request of a client repeats them.
        self._cache: dict[tuple[Any, str | None, str | None], str | None] = {}

    def check(self, scope: MutableMapping[str, Any], host: str | None, origin: str | None) -> str | None:
        """None if the request may proceed, else a message saying what to fix."""
        server = scope.get("server")
        key = (server[0] if server is not None else None, host, origin)
        try:
            return self._cache[key]
        except KeyError:
            pass
        verdict = self._check(server, host, origin)
        if len(self._cache) >= _CACHE_SIZE:  # the headers are the client's: bound what they can fill
            self._cache.clear()
        self._cache[key] = verdict
        return verdict

    def _check(self, server: Any, host: str | None, origin: str | None) -> str | None:
        local = server is not None and _is_loopback(str(server[0]))
        if self.allowed_hosts is not None:
            if host is None or not _matches(host.strip().lower(), self.allowed_hosts):
                return f"Host {host!r} is not allowed; add it to allowed_hosts"
        elif local and host is not None and not _is_loopback(_split_host(host)[0]):
            return (
                f"Host {host!r} is not a loopback name, but the request arrived on a loopback address "
                "(DNS rebinding protection); connect via localhost or set allowed_hosts"
            )
        if origin is None:
            return None
        origin = origin.strip().lower().rstrip("/")
        if self.allowed_origins is not None:
            if not _matches(origin, self.allowed_origins):
                return f"Origin {origin!r} is not allowed; add it to allowed_origins"
        elif local:
            hostname = urlsplit(origin).hostname if "://" in origin else None
            if hostname is None or not _is_loopback(hostname):
                return (
                    f"Origin {origin!r} is not a loopback origin, "
                    "but the request arrived on a loopback address "
                    "(DNS rebinding protection); set allowed_origins to accept it"
                )
        return None


async def read_body(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]], limit: int, content_length: str | None
) -> bytes:
    """The whole request body, or RequestTooLarge as soon as it is known to exceed ``limit``."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise RequestTooLarge(_too_large(int(content_length), limit), {"limit": limit})
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise RequestTooLarge(_too_large(len(body), limit), {"limit": limit})
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(_too_large(size, limit), {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return f"Request body too large: {size} bytes exceeds the {limit}-byte limit; send a smaller message"
