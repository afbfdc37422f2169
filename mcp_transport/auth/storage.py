"""Where tokens and client registrations are kept between requests and, with
``FileTokenStorage``, between runs of a program.

Tokens are keyed by the protected resource (the MCP server's URL), registrations by the
authorization server's issuer: credentials are never shared between authorization servers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio

from .models import ClientInfo, Tokens

__all__ = ["FileTokenStorage", "InMemoryTokenStorage", "TokenStorage"]

# Entries per table; an agent talks to a bounded set of servers. The oldest is dropped beyond it.
MAX_ENTRIES = 256


@runtime_checkable
class TokenStorage(Protocol):
    async def get_tokens(self, resource: str) -> Tokens | None: ...
    async def set_tokens(self, resource: str, tokens: Tokens | None) -> None: ...
    async def get_client(self, issuer: str) -> ClientInfo | None: ...
    async def set_client(self, issuer: str, client: ClientInfo | None) -> None: ...


def _put(table: dict[str, Any], key: str, value: Any) -> None:
    table.pop(key, None)
    if value is not None:
        table[key] = value
    while len(table) > MAX_ENTRIES:
        del table[next(iter(table))]


class InMemoryTokenStorage:
    """The default: tokens live as long as the ``OAuth`` object."""

    def __init__(self) -> None:
        self._tokens: dict[str, Tokens] = {}
        self._clients: dict[str, ClientInfo] = {}

    async def get_tokens(self, resource: str) -> Tokens | None:
        return self._tokens.get(resource)

    async def set_tokens(self, resource: str, tokens: Tokens | None) -> None:
        _put(self._tokens, resource, tokens)

    async def get_client(self, issuer: str) -> ClientInfo | None:
        return self._clients.get(issuer)

    async def set_client(self, issuer: str, client: ClientInfo | None) -> None:
        _put(self._clients, issuer, client)


class FileTokenStorage:
    """One JSON file, readable by its owner only (mode 0600: it holds refresh tokens and
    client secrets), rewritten atomically on every change."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = anyio.Lock()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {"tokens": {}, "clients": {}}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: not a token store (expected a JSON object)")
        return {"tokens": dict(data.get("tokens") or {}), "clients": dict(data.get("clients") or {})}

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # an existing .tmp keeps its mode through O_CREAT
            json.dump(data, out)
        os.replace(tmp, self.path)

    async def _update(self, table: str, key: str, value: dict[str, Any] | None) -> None:
        async with self._lock:
            data = self._load()
            _put(data[table], key, value)
            self._save(data)

    async def get_tokens(self, resource: str) -> Tokens | None:
        raw = self._load()["tokens"].get(resource)
        return Tokens.from_dict(raw) if isinstance(raw, dict) else None

    async def set_tokens(self, resource: str, tokens: Tokens | None) -> None:
        await self._update("tokens", resource, tokens.to_dict() if tokens else None)

    async def get_client(self, issuer: str) -> ClientInfo | None:
        raw = self._load()["clients"].get(issuer)
        return ClientInfo.from_dict(raw) if isinstance(raw, dict) else None

    async def set_client(self, issuer: str, client: ClientInfo | None) -> None:
        await self._update("clients", issuer, client.to_dict() if client else None)
