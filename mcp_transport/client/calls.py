"""The MCP methods a client calls, as Python methods: thin wrappers over ``request``.

Results are the JSON result objects as dicts, exactly as the server sent them; list
methods follow ``nextCursor`` and return the items of every page.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from ..dispatcher import ProgressCallback
from ..skill_files import content_bytes, manifest_entry, verify_file, verify_front_matter

__all__ = ["MAX_PAGES", "ServerCalls"]

# A list method follows nextCursor at most this many pages: a server that hands out cursors
# forever must not make list_tools() loop forever.
MAX_PAGES = 10_000


class ServerCalls(ABC):
    """The feature calls, on top of two methods ``Client`` provides: ``request`` and
    ``_listed_tools`` (what a complete tools/list means to the transport). Nothing else is
    shared: every method here is ``request(method, params)`` plus shaping."""

    @abstractmethod
    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]: ...

    @abstractmethod
    def _listed_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    async def ping(self, *, timeout: float | None = None) -> None:
        """Check the server is alive (legacy only; raises RequestTimeout if it is not)."""
        await self.request("ping", timeout=timeout)

    async def list_tools(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every tool the server offers (all pages). Over modern HTTP, tools with invalid
        ``x-mcp-header`` annotations are dropped, as the spec requires."""
        return self._listed_tools(await self._collect("tools/list", "tools", timeout=timeout))

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Call a tool; returns the CallToolResult (``content``, maybe ``structuredContent``,
        ``isError`` true when the tool itself failed)."""
        params = {"name": name, "arguments": dict(arguments or {})}
        return await self.request("tools/call", params, timeout=timeout, on_progress=on_progress)

    async def list_resources(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every resource the server lists (all pages)."""
        return await self._collect("resources/list", "resources", timeout=timeout)

    async def list_resource_templates(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every resource template (``uriTemplate``) the server lists (all pages)."""
        return await self._collect("resources/templates/list", "resourceTemplates", timeout=timeout)

    async def read_resource(self, uri: str, *, timeout: float | None = None) -> dict[str, Any]:
        """The ReadResourceResult (``contents``)."""
        return await self.request("resources/read", {"uri": uri}, timeout=timeout)

    async def subscribe_resource(self, uri: str, *, timeout: float | None = None) -> None:
        """Ask for notifications/resources/updated about ``uri`` (legacy)."""
        await self.request("resources/subscribe", {"uri": uri}, timeout=timeout)

    async def unsubscribe_resource(self, uri: str, *, timeout: float | None = None) -> None:
        """Stop notifications about ``uri`` (legacy)."""
        await self.request("resources/unsubscribe", {"uri": uri}, timeout=timeout)

    async def list_skills(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every skill entry of ``skills/list`` (extension ``io.modelcontextprotocol/skills``,
        SEP-2640): ``uri``, ``frontmatter`` and the ``resources`` manifest. Nothing is read:
        a skill's files are fetched only when it is loaded (SEP-2640: no prefetch)."""
        return await self._collect("skills/list", "skills", timeout=timeout)

    async def load_skill(self, skill: Mapping[str, Any], *, timeout: float | None = None) -> str:
        """Read a listed skill's SKILL.md and return its text once verified: size and digest
        against the manifest, front matter field by field against the entry (SEP-2640
        "Integrity and Verification"). SkillVerificationError otherwise: do not use it."""
        data = await self.read_skill_file(skill, str(skill.get("uri")), timeout=timeout)
        verify_front_matter(skill, data)
        return data.decode("utf-8")

    async def read_skill_file(
        self, skill: Mapping[str, Any], uri: str, *, timeout: float | None = None
    ) -> bytes:
        """Read one file of a listed skill, verified against its manifest entry (size and
        digest); SkillVerificationError for a mismatch or a file the manifest does not list."""
        resource = manifest_entry(skill, uri)
        data = content_bytes(await self.read_resource(uri, timeout=timeout), uri)
        verify_file(resource, data)
        return data

    async def list_prompts(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every prompt the server offers (all pages)."""
        return await self._collect("prompts/list", "prompts", timeout=timeout)

    async def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """The GetPromptResult (``messages``, maybe ``description``)."""
        return await self.request(
            "prompts/get", {"name": name, "arguments": dict(arguments or {})}, timeout=timeout
        )

    async def complete(
        self,
        ref: Mapping[str, Any],
        argument: Mapping[str, str],
        *,
        context: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """completion/complete; returns the ``completion`` object (``values``, ``total``, ``hasMore``)."""
        params: dict[str, Any] = {"ref": dict(ref), "argument": dict(argument)}
        if context is not None:
            params["context"] = dict(context)
        result = await self.request("completion/complete", params, timeout=timeout)
        return result.get("completion") or {}

    async def set_logging_level(self, level: str, *, timeout: float | None = None) -> None:
        """logging/setLevel (legacy): the least severe log level the server should send."""
        await self.request("logging/setLevel", {"level": level}, timeout=timeout)

    async def _collect(self, method: str, key: str, *, timeout: float | None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            result = await self.request(method, {"cursor": cursor} if cursor else None, timeout=timeout)
            items.extend(result.get(key) or [])
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                break
            seen.add(cursor)
        return items
