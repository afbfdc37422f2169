"""Opaque-cursor pagination (2025-11-25 server/utilities/pagination), on its own and on every list method."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_transport.errors import InvalidParams, RemoteError
from mcp_transport.server import MCPServer
from mcp_transport.server.pagination import paginate
from mcp_transport.testing import MemoryClient


def test_pages_walk_the_whole_list_once() -> None:
    items = list(range(7))
    seen, cursor = [], None
    while True:
        page, cursor = paginate(items, cursor, 3)
        seen += page
        if cursor is None:
            break
    assert seen == items


def test_exact_fit_has_no_next_cursor() -> None:
    assert paginate([1, 2, 3], None, 3) == ([1, 2, 3], None)
    assert paginate([], None, 3) == ([], None)


@pytest.mark.parametrize("cursor", ["garbage", "", 12, "bzotMQ=="])
def test_foreign_cursors_are_invalid_params(cursor: object) -> None:
    with pytest.raises(InvalidParams):
        paginate([1, 2], cursor, 1)


def test_cursor_past_the_end_is_invalid() -> None:
    _, cursor = paginate(list(range(10)), None, 5)
    with pytest.raises(InvalidParams):
        paginate([1], cursor, 5)


def _big_server() -> MCPServer:
    server = MCPServer("big", page_size=2)
    for i in range(5):
        server.tool(f"t{i}", description="t")(lambda: "x")
        server.resource(f"test://r{i}", name=f"r{i}")(lambda: "x")
        server.resource(f"test://r{i}/{{id}}", name=f"tpl{i}")(lambda id: id)
        server.prompt(f"p{i}", description="p")(lambda: "x")
    return server


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "key", "field"),
    [
        ("tools/list", "tools", "name"),
        ("resources/list", "resources", "uri"),
        ("resources/templates/list", "resourceTemplates", "uriTemplate"),
        ("prompts/list", "prompts", "name"),
    ],
)
async def test_every_list_method_paginates(method: str, key: str, field: str) -> None:
    async with MemoryClient.connect(_big_server()) as client:
        names: list[str] = []
        params: dict[str, Any] = {}
        pages = 0
        while True:
            result = await client.request(method, params)
            pages += 1
            names += [item[field] for item in result[key]]
            if "nextCursor" not in result:
                break
            params = {"cursor": result["nextCursor"]}
        assert pages == 3 and len(names) == 5 == len(set(names))
        with pytest.raises(RemoteError) as err:
            await client.request(method, {"cursor": "not-ours"})
        assert err.value.code == -32602
