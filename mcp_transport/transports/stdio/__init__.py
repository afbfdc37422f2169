"""stdio: newline-delimited JSON on a process's stdin/stdout, both sides."""

from .framing import MAX_LINE_BYTES, LineBuffer, Oversized
from .process import StdioProcess
from .server import run_stdio, serve_stdio

__all__ = ["MAX_LINE_BYTES", "LineBuffer", "Oversized", "StdioProcess", "run_stdio", "serve_stdio"]
