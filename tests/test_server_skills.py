"""Skills (2026-07-28 extension io.modelcontextprotocol/skills, SEP-2640): loading a skill
directory, its bounds, and the skills/list, skills/get and resources/directory/read answers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mcp_transport.errors import RemoteError
from mcp_transport.server import MCPServer
from mcp_transport.server import skills as skills_module
from mcp_transport.server.testing import MemoryClient

pytestmark = pytest.mark.anyio

SKILL_MD = "---\nname: demo-skill\ndescription: A demo.\n---\n\nBody.\n"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_skill(root: Path, text: str = SKILL_MD) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "SKILL.md").write_text(text)
    (root / "docs" / "GUIDE.md").write_text("guide\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ignored\n")
    return root


async def test_manifest_methods_and_directory_read(tmp_path: Path) -> None:
    server = MCPServer("skills-test")
    server.add_skill_directory(make_skill(tmp_path / "demo"))
    async with MemoryClient.connect(server, initialize=False) as client:
        discover = await client.modern_request("server/discover")
        assert discover["capabilities"]["extensions"] == {
            "io.modelcontextprotocol/skills": {"directoryRead": True}
        }
        (entry,) = (await client.modern_request("skills/list"))["skills"]
        assert entry["uri"] == "skill://demo-skill/SKILL.md"
        assert entry["frontmatter"] == {"name": "demo-skill", "description": "A demo."}
        digests = {r["uri"]: r["digest"] for r in entry["resources"]}
        assert set(digests) == {"skill://demo-skill/SKILL.md", "skill://demo-skill/docs/GUIDE.md"}  # no .git
        assert (
            digests["skill://demo-skill/docs/GUIDE.md"] == "sha256:" + hashlib.sha256(b"guide\n").hexdigest()
        )
        got = await client.modern_request("skills/get", {"uri": entry["uri"]})
        assert got["skill"] == entry and got["cacheScope"] == "public" and "nextCursor" not in got
        read = await client.modern_request("resources/read", {"uri": entry["uri"]})
        assert read["contents"][0]["text"] == SKILL_MD and read["contents"][0]["mimeType"] == "text/markdown"
        children = (await client.modern_request("resources/directory/read", {"uri": "skill://demo-skill"}))[
            "resources"
        ]
        assert {c["uri"]: c["mimeType"] for c in children} == {
            "skill://demo-skill/SKILL.md": "text/markdown",
            "skill://demo-skill/docs": "inode/directory",
        }
        for method, uri in (
            ("skills/get", "skill://other/SKILL.md"),
            ("resources/directory/read", "skill://demo-skill/SKILL.md"),
            ("resources/directory/read", "skill://demo-skill/nope"),
        ):
            with pytest.raises(RemoteError) as refused:
                await client.modern_request(method, {"uri": uri})
            assert refused.value.code == -32602, (method, uri)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("no front matter\n", "front matter block"),
        ("---\nname: demo-skill\n---\n", "'description'"),
        ("---\nname: Bad--Name\ndescription: x\n---\n", "naming rules"),
        ("---\nname: demo-skill\ndescription: x\nraw: !!binary aGk=\n---\n", "JSON values"),
    ],
)
def test_bad_skills_are_refused_at_registration(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        MCPServer("s").add_skill_directory(make_skill(tmp_path / "demo", text))


def test_size_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(skills_module, "MAX_SKILL_FILES", 1)
    with pytest.raises(ValueError, match="exceeds 1 files"):
        MCPServer("s").add_skill_directory(make_skill(tmp_path / "demo"))


def test_dates_stay_strings_as_a_yaml_1_2_host_reads_them() -> None:
    front = skills_module.parse_front_matter("---\nname: a\ndescription: b\nreleased: 2026-01-01\n---\n")
    assert front["released"] == "2026-01-01"
