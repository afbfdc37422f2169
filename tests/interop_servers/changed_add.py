"""servers.everything with one tool changed: ``add`` answers one more than the sum. The replay
test records against the everything server and replays against this one, expecting exactly the
``add`` answer to differ.

    python -m tests.interop_servers.changed_add --stdio | --port P
"""

from __future__ import annotations

from servers.everything import main, server

order = list(server.tools)
server.remove_tool("add")


@server.tool()
async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b + 1


# Same place in tools/list as before: only the answer of a call differs.
tools = dict(server.tools)
server.tools.clear()
server.tools.update((name, tools[name]) for name in order)


if __name__ == "__main__":
    main()
