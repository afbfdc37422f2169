"""A tiny independent stdio MCP server (plain Python, not mcp_transport) for proving the stdio
checks: correct with no bug, one defect per ``--bug NAME``.

    python tests/broken_servers/stdio_server.py [--bug NAME]  (NAME: see BUGS)
"""

from __future__ import annotations

import argparse
import json
import sys

BUGS = {
    "banner": "prints a banner on stdout",
    "pretty_json": "writes indented JSON (embedded newlines)",
    "die_on_garbage": "exits on a malformed line",
    "answer_notifications": "replies to notifications",
    "parse_error_with_id": "answers a malformed line with a made-up id",
    "drop_malformed": "drops a malformed line without an answer (as the TypeScript and Python SDKs do)",
}


def write(message: dict, bug: str | None) -> None:
    text = json.dumps(message, indent=2 if bug == "pretty_json" else None)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bug", choices=sorted(BUGS))
    bug = parser.parse_args().bug
    if bug == "banner":
        print("Welcome to the broken server v0!", flush=True)
    print("stdio server ready (stderr logging is allowed)", file=sys.stderr, flush=True)
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            if bug == "die_on_garbage":
                sys.exit(1)
            if bug == "drop_malformed":
                continue
            write(
                {
                    "jsonrpc": "2.0",
                    "id": 0 if bug == "parse_error_with_id" else None,
                    "error": {"code": -32700, "message": "Parse error"},
                },
                bug,
            )
            continue
        if "id" not in message:
            if bug == "answer_notifications":
                write({"jsonrpc": "2.0", "id": "notification", "result": {}}, bug)
            continue
        rid, method = message["id"], message.get("method")
        if method == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "serverInfo": {"name": "b", "version": "0"},
            }
            write({"jsonrpc": "2.0", "id": rid, "result": result}, bug)
        elif method == "ping":
            write({"jsonrpc": "2.0", "id": rid, "result": {}}, bug)
        else:
            write(
                {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}}, bug
            )


if __name__ == "__main__":
    main()
