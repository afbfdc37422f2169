"""Skills (2026-07-28 extension ``io.modelcontextprotocol/skills``, SEP-2640): a skill is a
directory with a ``SKILL.md`` (YAML front matter with at least ``name`` and
``description``) and any files beside it, served as ``skill://<name>/...`` resources.

``MCPServer.add_skill_directory(path)`` loads one from disk. The files are read once, at
registration, so the manifest (``sha256`` digest and size of every file) always matches
what ``resources/read`` serves. The extension adds ``skills/list``, ``skills/get`` and
``resources/directory/read`` (declared as ``directoryRead: true``).

Bounds (SEP-2640 "Limits"): at most 512 files and 16 MiB per skill; a larger directory is
refused at registration (ValueError), as is a name that breaks the Agent Skills naming
rules.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from ..errors import InvalidParams
from ..skill_files import EXTENSION_ID, SKILL_MD, digest_of, parse_front_matter
from .api import MethodHandler
from .context import ServerRequestContext
from .pagination import paginate

__all__ = [
    "EXTENSION_ID",
    "MAX_SKILL_BYTES",
    "MAX_SKILL_FILES",
    "Skill",
    "add_skill",
    "load_skill",
    "parse_front_matter",
]

MAX_SKILL_FILES = 512
MAX_SKILL_BYTES = 16 * 1024 * 1024
DIRECTORY_MIME = "inode/directory"
_NAME = re.compile(r"^(?!.*--)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")
# A skill's lists change only when skills are registered; they are the same for everyone.
LIST_TTL_MS = 60_000


@dataclass(frozen=True, slots=True)
class Skill:
    """One loaded skill: its front matter and its files (POSIX path -> bytes)."""

    name: str
    front_matter: dict[str, Any]
    files: dict[str, bytes]

    @property
    def base(self) -> str:
        return f"skill://{self.name}"

    @property
    def uri(self) -> str:
        return f"{self.base}/{SKILL_MD}"

    def entry(self) -> dict[str, Any]:
        """The skill's ``skills/list`` entry: uri, front matter, and the complete manifest."""
        return {
            "uri": self.uri,
            "frontmatter": self.front_matter,
            "resources": [
                {
                    "uri": f"{self.base}/{path}",
                    "digest": digest_of(data),
                    "size": len(data),
                }
                for path, data in self.files.items()
            ],
        }

    def children(self, directory: str) -> list[dict[str, Any]] | None:
        """The direct children of ``directory`` (a path inside the skill, "" for its root),
        or None if it is not a directory of this skill."""
        prefix = f"{directory}/" if directory else ""
        if directory and not any(path.startswith(prefix) for path in self.files):
            return None
        files: list[dict[str, Any]] = []
        folders: dict[str, dict[str, Any]] = {}
        for path in self.files:
            if not path.startswith(prefix):
                continue
            head, _, rest = path[len(prefix) :].partition("/")
            if rest:
                folders.setdefault(
                    head, {"uri": f"{self.base}/{prefix}{head}", "name": head, "mimeType": DIRECTORY_MIME}
                )
            else:
                files.append({"uri": f"{self.base}/{path}", "name": head, "mimeType": _mime(path)})
        return files + list(folders.values())


def load_skill(path: str | Path) -> Skill:
    """Read a skill directory: its SKILL.md front matter and every regular file under it
    (symbolic links are not followed out of the directory). ValueError on a bad skill."""
    root = Path(path).resolve()
    skill_md = root / SKILL_MD
    if not skill_md.is_file():
        raise ValueError(f"{root} is not a skill directory: it has no {SKILL_MD}")
    front_matter = parse_front_matter(skill_md.read_text("utf-8"))
    name = front_matter["name"]
    if not _NAME.match(name):
        raise ValueError(f"skill name {name!r} breaks the naming rules: 1-64 of a-z, 0-9 and single hyphens")
    files: dict[str, bytes] = {SKILL_MD: skill_md.read_bytes()}
    total = len(files[SKILL_MD])
    for file in sorted(root.rglob("*")):
        if not file.is_file() or file == skill_md or not file.resolve().is_relative_to(root):
            continue
        relative = PurePosixPath(file.relative_to(root)).as_posix()
        if any(part.startswith(".") for part in PurePosixPath(relative).parts):
            continue  # hidden files (.git, editor droppings) are not part of a skill
        files[relative] = file.read_bytes()
        total += len(files[relative])
        if len(files) > MAX_SKILL_FILES or total > MAX_SKILL_BYTES:
            raise ValueError(f"skill {name!r} exceeds {MAX_SKILL_FILES} files or {MAX_SKILL_BYTES} bytes")
    return Skill(name, front_matter, files)


class SkillHost(Protocol):
    """What serving skills needs of the server (an ``MCPServer``); a contract here rather than
    an import of ``MCPServer``, which imports this module."""

    skills: dict[str, Skill]
    extensions: dict[str, dict[str, Any]]
    page_size: int

    def method(
        self, name: str, *, legacy: bool = True, modern: bool = True
    ) -> Callable[[MethodHandler], MethodHandler]: ...

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
    ) -> Callable[[Any], Any]: ...

    def is_modern(self, ctx: ServerRequestContext) -> bool: ...


def add_skill(server: SkillHost, skill: Skill) -> None:
    """Serve ``skill``: its files as resources, the extension's methods on first use."""
    if skill.uri in server.skills:
        raise ValueError(f"a skill named {skill.name!r} is already registered")
    if not server.skills:
        for name, fn in (
            ("skills/list", list_skills),
            ("skills/get", get_skill),
            ("resources/directory/read", read_directory),
        ):
            server.method(name)(partial(fn, server))
        server.extensions[EXTENSION_ID] = {"directoryRead": True}
    server.skills[skill.uri] = skill
    for path, data in skill.files.items():
        is_manifest = path == SKILL_MD
        server.resource(
            f"{skill.base}/{path}",
            name=skill.name if is_manifest else path,
            description=skill.front_matter["description"] if is_manifest else None,
            mime_type=_mime(path),
            size=len(data),
        )(_content(data))


def _content(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return lambda: data  # binary: served as a blob
    return lambda: text


def _mime(path: str) -> str:
    if path.endswith(".md"):
        return "text/markdown"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _cacheable(server: SkillHost, ctx: ServerRequestContext, result: dict[str, Any]) -> dict[str, Any]:
    if server.is_modern(ctx):
        result["ttlMs"] = LIST_TTL_MS
        result["cacheScope"] = "public"
    return result


async def list_skills(server: SkillHost, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """``skills/list``: one page of entries (an entry is never split across pages)."""
    page, next_cursor = paginate(
        [s.entry() for s in server.skills.values()], params.get("cursor"), server.page_size
    )
    result: dict[str, Any] = {"skills": page}
    if next_cursor is not None:
        result["nextCursor"] = next_cursor
    return _cacheable(server, ctx, result)


async def get_skill(server: SkillHost, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """``skills/get``: the entry of the skill whose SKILL.md is ``params.uri``; -32602 else."""
    uri = params.get("uri")
    skill = server.skills.get(uri) if isinstance(uri, str) else None
    if skill is None:
        raise InvalidParams(
            f"Unknown skill {uri!r}: call skills/list for the skills this server serves", {"uri": uri}
        )
    return _cacheable(server, ctx, {"skill": skill.entry()})


async def read_directory(
    server: SkillHost, ctx: ServerRequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """``resources/directory/read``: the direct children of a skill directory, folders with
    mimeType ``inode/directory``; -32602 for anything that is not a served directory."""
    uri = params.get("uri")
    children = None
    if isinstance(uri, str):
        for skill in server.skills.values():
            if uri == skill.base or uri.startswith(f"{skill.base}/"):
                children = skill.children(uri[len(skill.base) :].strip("/"))
                break
    if children is None:
        raise InvalidParams(f"{uri!r} is not a directory this server serves (read files with resources/read)")
    page, next_cursor = paginate(children, params.get("cursor"), server.page_size)
    result: dict[str, Any] = {"resources": page}
    if next_cursor is not None:
        result["nextCursor"] = next_cursor
    return result
