"""The command line every Python server under test takes, so the harness starts them all alike:
``--port N --mode M [--session-idle-timeout S]`` for HTTP, ``--stdio`` for stdio."""

from __future__ import annotations

import argparse


def server_args(doc: str | None, modes: tuple[str, ...] = ("json", "sse")) -> argparse.ArgumentParser:
    """The shared options; a server adds its own. ``--session-idle-timeout`` defaults to None: the
    server's own default."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdio", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--mode", choices=modes, default=modes[0])
    parser.add_argument("--session-idle-timeout", type=float, default=None)
    return parser
