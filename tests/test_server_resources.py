"""Resources: static, templates, read errors per era, subscriptions and updates."""

from __future__ import annotations

import base64

import pytest

from mcp_transport.errors import RemoteError
from mcp_transport.server import Context, MCPServer
from mcp_transport.server.resources import UriTemplate
from mcp_transport.testing import MemoryClient
from servers.everything import PNG_1X1
from servers.everything import server as everything

pytestmark = pytest.mark.anyio


def make_server() -> MCPServer:
    server = MCPServer("resources")

    @server.resource("config://app", mime_type="application/json", title="App config", size=11)
    def config() -> dict[str, object]:
        """The app's configuration."""
        return {"debug": True}

    @server.resource("users://{user_id}/posts/{index}")
    async def post(user_id: str, index: int, ctx: Context) -> str:
        """One post of one user."""
        return f"{user_id}:{index + 1}:{ctx.era.value}"

    @server.resource("files://{+path}", mime_type="text/plain")
    def file(path: str) -> list[str]:
        """A file, and its path spans slashes."""
        return [path, path.upper()]

    return server


def test_uri_template_matching() -> None:
    template = UriTemplate("test://template/{id}/data")
    assert template.variables == ["id"]
    assert template.match("test://template/123/data") == {"id": "123"}
    assert template.match("test://template/a%20b/data") == {"id": "a b"}
    assert template.match("test://template/1/2/data") is None
    assert template.match("test://template//data") is None
    assert UriTemplate("f://{+p}").match("f://a/b/c") == {"p": "a/b/c"}
    with pytest.raises(ValueError):
        UriTemplate("q://x{?page}")
    with pytest.raises(ValueError):
        UriTemplate("q://{a}/{a}")


def test_registration_errors() -> None:
    server = MCPServer("bad")
    with pytest.raises(ValueError, match="no variable"):
        server.resource("a://{x}")(lambda y: y)
    with pytest.raises(ValueError, match="takes no parameters"):
        server.resource("a://b")(lambda y: y)


async def test_list_and_templates() -> None:
    async with MemoryClient.connect(make_server()) as client:
        resources = (await client.request("resources/list"))["resources"]
        templates = (await client.request("resources/templates/list"))["resourceTemplates"]
    assert resources == [
        {
            "uri": "config://app",
            "name": "config",
            "title": "App config",
            "description": "The app's configuration.",
            "mimeType": "application/json",
            "size": 11,
        }
    ]
    assert [t["uriTemplate"] for t in templates] == ["users://{user_id}/posts/{index}", "files://{+path}"]
    assert templates[0]["description"] == "One post of one user."


async def test_read_static_template_and_typed_parameters() -> None:
    async with MemoryClient.connect(make_server()) as client:
        config = await client.request("resources/read", {"uri": "config://app"})
        assert config == {
            "contents": [{"uri": "config://app", "mimeType": "application/json", "text": '{"debug":true}'}]
        }
        post = await client.request("resources/read", {"uri": "users://ada/posts/4"})
        assert post["contents"][0]["text"] == "ada:5:legacy"
        files = await client.request("resources/read", {"uri": "files://a/b.txt"})
        assert [c["text"] for c in files["contents"]] == ["a/b.txt", "A/B.TXT"]
        with pytest.raises(RemoteError) as err:
            await client.request("resources/read", {"uri": "users://ada/posts/first"})
        assert err.value.code == -32602 and err.value.data == {"uri": "users://ada/posts/first"}


async def test_unknown_uri_legacy_32002_modern_32602() -> None:
    async with MemoryClient.connect(make_server()) as client:
        with pytest.raises(RemoteError) as legacy:
            await client.request("resources/read", {"uri": "nope://x"})
        with pytest.raises(RemoteError) as modern:
            await client.modern_request("resources/read", {"uri": "nope://x"})
        with pytest.raises(RemoteError) as missing:
            await client.request("resources/read", {})
    assert (legacy.value.code, legacy.value.data) == (-32002, {"uri": "nope://x"})
    assert (modern.value.code, modern.value.data) == (-32602, {"uri": "nope://x"})
    assert missing.value.code == -32602


async def test_fixture_resources() -> None:
    async with MemoryClient.connect(everything) as client:
        text = (await client.request("resources/read", {"uri": "test://static-text"}))["contents"][0]
        assert text["mimeType"] == "text/plain" and text["text"]
        blob = (await client.request("resources/read", {"uri": "test://static-binary"}))["contents"][0]
        assert blob["mimeType"] == "image/png" and base64.b64decode(blob["blob"]) == PNG_1X1
        data = (await client.request("resources/read", {"uri": "test://template/123/data"}))["contents"][0]
        assert data["mimeType"] == "application/json" and "123" in data["text"]


async def test_subscribe_updated_unsubscribe() -> None:
    async with MemoryClient.connect(everything) as watcher, MemoryClient.connect(everything) as bystander:
        assert await watcher.request("resources/subscribe", {"uri": "test://watched-resource"}) == {}
        await bystander.call_tool("touch_watched_resource")
        assert watcher.notifications_of("notifications/resources/updated") == [
            {"uri": "test://watched-resource"}
        ]
        assert bystander.notifications_of("notifications/resources/updated") == []
        assert await watcher.request("resources/unsubscribe", {"uri": "test://watched-resource"}) == {}
        await bystander.call_tool("touch_watched_resource")
        assert len(watcher.notifications_of("notifications/resources/updated")) == 1
        with pytest.raises(RemoteError) as err:
            await watcher.request("resources/subscribe", {"uri": "test://unknown"})
        assert err.value.code == -32602


async def test_subscribe_is_legacy_only() -> None:
    async with MemoryClient.connect(everything) as client:
        with pytest.raises(RemoteError) as err:
            await client.modern_request("resources/subscribe", {"uri": "test://watched-resource"})
    assert err.value.code == -32601


async def test_context_reads_own_resources() -> None:
    server = make_server()

    @server.tool()
    async def show(ctx: Context) -> str:
        """Read config."""
        return (await ctx.read_resource("config://app"))[0]["text"]

    async with MemoryClient.connect(server) as client:
        assert (await client.call_tool("show"))["content"][0]["text"] == '{"debug":true}'
