"""What both sides of the skills extension (``io.modelcontextprotocol/skills``, SEP-2640)
agree on about a skill's files, sans-IO: the SKILL.md front matter, the ``sha256:`` digest,
and the host's verification of a file it read against its ``skills/list`` entry (SEP-2640
"Integrity and Verification": check the size and digest, compare SKILL.md's front matter
with the entry's field by field, and use nothing that fails)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type stubs

from .errors import MCPError

__all__ = [
    "EXTENSION_ID",
    "SKILL_MD",
    "SkillVerificationError",
    "content_bytes",
    "digest_of",
    "manifest_entry",
    "parse_front_matter",
    "verify_file",
    "verify_front_matter",
]

EXTENSION_ID = "io.modelcontextprotocol/skills"
SKILL_MD = "SKILL.md"
_FRONT_MATTER = re.compile(r"^---\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", re.DOTALL)


class SkillVerificationError(MCPError):
    """A skill file failed verification (size, digest or front matter): it must not be used."""


class _Yaml12Loader(yaml.SafeLoader):  # type: ignore[misc]  # (PyYAML ships no types)
    """YAML 1.2 core schema as clients parse it: ``2026-01-01`` stays a string (YAML 1.1
    timestamps would turn it into a date, and the front matter we serve would differ from
    the one a host parses out of SKILL.md)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a SKILL.md as a JSON object; ValueError if there is none,
    it is not a mapping of JSON values, or it lacks ``name`` or ``description``."""
    match = _FRONT_MATTER.match(text.removeprefix("\ufeff"))
    if match is None:
        raise ValueError("SKILL.md must begin with a --- delimited YAML front matter block")
    data = yaml.load(match.group(1), Loader=_Yaml12Loader)  # a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("SKILL.md front matter must be a YAML mapping")
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"SKILL.md front matter must hold JSON values only: {exc}") from None
    for key in ("name", "description"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValueError(f"SKILL.md front matter needs a non-empty string {key!r}")
    return data


def digest_of(data: bytes) -> str:
    """A file's digest as a manifest names it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_entry(skill: Mapping[str, Any], uri: str) -> Mapping[str, Any]:
    """The manifest entry (``uri``, ``digest``, ``size``) for ``uri`` in a skill's entry;
    SkillVerificationError if the skill does not list that file."""
    for resource in skill.get("resources") or []:
        if isinstance(resource, Mapping) and resource.get("uri") == uri:
            return resource
    raise SkillVerificationError(f"{uri} is not listed in the skill's resources: it cannot be verified")


def verify_file(resource: Mapping[str, Any], data: bytes) -> None:
    """Check ``data`` read for ``resource`` against its size and digest (a size mismatch is
    a failure on its own, before any hashing). SkillVerificationError on any mismatch, or
    a digest in an algorithm we cannot check."""
    uri, size, digest = resource.get("uri"), resource.get("size"), resource.get("digest")
    if isinstance(size, int) and not isinstance(size, bool) and len(data) != size:
        raise SkillVerificationError(f"{uri}: read {len(data)} bytes, the skill entry lists {size}")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise SkillVerificationError(f"{uri}: no sha256 digest to verify against ({digest!r})")
    if digest_of(data) != digest.lower():
        raise SkillVerificationError(f"{uri}: the content does not match the digest {digest}")


def verify_front_matter(skill: Mapping[str, Any], skill_md: bytes) -> dict[str, Any]:
    """SKILL.md's front matter, once it equals the entry's field by field; else
    SkillVerificationError naming the first field that differs."""
    try:
        parsed = parse_front_matter(skill_md.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SkillVerificationError(f"{skill.get('uri')}: {exc}") from None
    listed = skill.get("frontmatter")
    listed = listed if isinstance(listed, Mapping) else {}
    for key in sorted(set(parsed) | set(listed)):
        if parsed.get(key) != listed.get(key):
            raise SkillVerificationError(
                f"{skill.get('uri')}: front matter field {key!r} is {parsed.get(key)!r} in SKILL.md "
                f"but {listed.get(key)!r} in the skills/list entry"
            )
    return parsed


def content_bytes(result: Mapping[str, Any], uri: str) -> bytes:
    """The bytes of ``uri`` in a ``resources/read`` result: its text as UTF-8, or its
    base64 blob decoded; SkillVerificationError if the result holds no such content."""
    for content in result.get("contents") or []:
        if not isinstance(content, Mapping) or content.get("uri", uri) != uri:
            continue
        if isinstance(content.get("text"), str):
            return str(content["text"]).encode("utf-8")
        if isinstance(content.get("blob"), str):
            try:
                return base64.b64decode(content["blob"], validate=True)
            except binascii.Error:
                break
    raise SkillVerificationError(f"resources/read of {uri} returned no text or blob content for it")
