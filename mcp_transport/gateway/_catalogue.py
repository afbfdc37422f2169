"""What the mounted servers offer, merged: names prefixed per upstream, filtered by each
upstream's allow/deny lists, and served in pages of the gateway's own.

Cursors are opaque to clients (2025-11-25 server/utilities/pagination); here one is the
offset into the merged list, so a page never depends on which upstream answered first.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

import anyio

from .. import InvalidParams
from ._upstream import Upstream

__all__ = ["KINDS", "Catalogue", "page", "template_matches"]

# list method -> (result key, the field an item is known by)
KINDS: dict[str, tuple[str, str]] = {
    "tools/list": ("tools", "name"),
    "prompts/list": ("prompts", "name"),
    "resources/list": ("resources", "uri"),
    "resources/templates/list": ("resourceTemplates", "uriTemplate"),
}
# The capability each list needs on the upstream.
CAPABILITY = {
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resources",
}


@dataclass
class Catalogue:
    """One upstream's lists, as the gateway serves them. ``stale``: fetch again before use
    (never fetched, or the upstream said ``list_changed``)."""

    upstream: Upstream
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stale: bool = True
    lock: anyio.Lock = field(default_factory=anyio.Lock)  # one fetch at a time

    def store(self, method: str, items: list[dict[str, Any]]) -> None:
        key = KINDS[method][0]
        shown = []
        for item in items:
            name = item.get("name")
            if method in ("tools/list", "prompts/list"):
                if not isinstance(name, str) or not self.upstream.permits(name):
                    continue
                item = {**item, "name": self.upstream.public(name)}
            elif isinstance(name, str) and self.upstream.prefix:
                item = {**item, "name": self.upstream.public(name)}  # URIs stay as they are
            shown.append(item)
        self.items[key] = shown

    def get(self, method: str) -> list[dict[str, Any]]:
        return self.items.get(KINDS[method][0], [])

    def has_uri(self, uri: str) -> bool:
        if any(r.get("uri") == uri for r in self.items.get("resources", [])):
            return True
        return any(
            template_matches(t.get("uriTemplate", ""), uri) for t in self.items.get("resourceTemplates", [])
        )


def template_matches(template: str, uri: str) -> bool:
    """Whether ``uri`` could come from the RFC 6570 ``template`` (each expression matches
    any run of characters; enough to route a read to the upstream that lists it)."""
    if "{" not in template:
        return False
    pattern = "".join(
        ".*?" if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{[^}]*\})", template)
        if part
    )
    return re.fullmatch(pattern, uri) is not None


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"gw:{offset}".encode()).decode()


def _offset(cursor: Any) -> int:
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        kind, _, number = text.partition(":")
        offset = int(number)
        if kind != "gw" or offset < 0:
            raise ValueError
    except ValueError:
        # 2025-11-25 server/utilities/pagination#error-handling: invalid cursors are -32602.
        raise InvalidParams(
            f"Invalid cursor {str(cursor)[:40]!r}: pass a nextCursor from an earlier page"
        ) from None
    return offset


def page(key: str, items: list[dict[str, Any]], cursor: Any, size: int) -> dict[str, Any]:
    start = 0 if cursor is None else _offset(cursor)
    result: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        result["nextCursor"] = _cursor(start + size)
    return result
