"""``Client`` and skills (extension io.modelcontextprotocol/skills, SEP-2640) against our
server over a real uvicorn: listing reads no file, loading verifies SKILL.md, a supporting
file is read verified; and the verification itself rejects a wrong size, digest or front
matter, or a file the manifest does not list (SEP-2640 "Integrity and Verification")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mcp_transport import Client
from mcp_transport.client import SkillVerificationError
from mcp_transport.server import MCPServer
from mcp_transport.skill_files import digest_of, verify_file, verify_front_matter

pytestmark = pytest.mark.anyio

SKILL_MD = "---\nname: demo-skill\ndescription: A demo.\nversion: '2026-01-01'\n---\n\nBody.\n"


def skill_server(root: Path) -> MCPServer:
    (root / "docs").mkdir(parents=True)
    (root / "SKILL.md").write_text(SKILL_MD)
    (root / "docs" / "GUIDE.md").write_bytes(b"guide \xe2\x9c\x93\n")
    server = MCPServer("skills-client")
    server.add_skill_directory(root)
    return server


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_list_load_and_read_verified(http_server: Callable[..., str], tmp_path: Path, era: str) -> None:
    url = http_server(skill_server(tmp_path / "demo"))
    async with Client(url, era=era) as client:
        (skill,) = await client.list_skills()
        assert skill["uri"] == "skill://demo-skill/SKILL.md"
        assert await client.load_skill(skill) == SKILL_MD
        guide = await client.read_skill_file(skill, "skill://demo-skill/docs/GUIDE.md")
        assert guide == b"guide \xe2\x9c\x93\n"
        with pytest.raises(SkillVerificationError, match="not listed"):
            await client.read_skill_file(skill, "skill://demo-skill/other.md")


def test_verification_rejects_every_mismatch() -> None:
    data = SKILL_MD.encode()
    entry = {"uri": "skill://demo-skill/SKILL.md", "digest": digest_of(data), "size": len(data)}
    verify_file(entry, data)
    with pytest.raises(SkillVerificationError, match="bytes"):
        verify_file(entry, data + b"x")
    with pytest.raises(SkillVerificationError, match="digest"):
        verify_file(entry, data.replace(b"Body", b"Evil"))
    with pytest.raises(SkillVerificationError, match="sha256"):
        verify_file({**entry, "digest": "md5:abc"}, data)
    front: dict[str, object] = {"name": "demo-skill", "description": "A demo."}
    skill: dict[str, object] = {"uri": entry["uri"], "frontmatter": front}
    with pytest.raises(SkillVerificationError, match="'version'"):
        verify_front_matter(skill, data)  # a field SKILL.md has and the entry lacks
    listed = {**skill, "frontmatter": {**front, "version": "2026-01-01"}}
    assert verify_front_matter(listed, data)["version"] == "2026-01-01"
    with pytest.raises(SkillVerificationError, match="'description'"):
        verify_front_matter(
            {**listed, "frontmatter": {**front, "version": "2026-01-01", "description": "x"}}, data
        )
