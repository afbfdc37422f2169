"""What the command line prints: results (human or ``--json``), logs and progress.

Results go to stdout; progress, logs and errors to stderr, so ``--json`` output stays one
parseable document and a pipe carries only the result.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from typing import Any, TextIO

__all__ = ["Printer", "Progress"]

_BAR = 30  # characters of the live progress bar


class Progress:
    """Progress notifications of the call in flight: a bar redrawn in place on a terminal,
    one plain line per notification otherwise (a log file or a pipe gets no control codes)."""

    def __init__(self, stream: TextIO, live: bool) -> None:
        self.stream = stream
        self.live = live
        self._drawn = False

    @classmethod
    def for_stderr(cls) -> Progress:
        return cls(sys.stderr, sys.stderr.isatty())

    async def update(self, progress: float, total: float | None, message: str | None) -> None:
        if not self.live:
            done = f"{progress:g}/{total:g}" if total else f"{progress:g}"
            self.stream.write(f"progress {done}{' ' + message if message else ''}\n")
            self.stream.flush()
            return
        width = shutil.get_terminal_size().columns
        if total:
            filled = min(_BAR, int(_BAR * progress / total))
            line = f"[{'#' * filled}{'.' * (_BAR - filled)}] {100 * progress / total:3.0f}%"
        else:
            line = f"[working] {progress:g}"
        line = f"{line} {message or ''}"[: max(10, width - 1)]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Erase the bar before anything else is written to the terminal."""
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False


class Printer:
    def __init__(self, *, json_output: bool, schemas: bool, progress: Progress) -> None:
        self.json_output = json_output
        self.schemas = schemas
        self.progress = progress

    async def notification(self, method: str, params: dict[str, Any]) -> None:
        if method != "notifications/message":
            return
        self.progress.clear()
        data = params.get("data")
        text = data if isinstance(data, str) else json.dumps(data)
        logger = f" {params['logger']}:" if isinstance(params.get("logger"), str) else ""
        print(f"[{params.get('level', 'info')}]{logger} {text}", file=sys.stderr, flush=True)

    def result(self, command: str, result: dict[str, Any]) -> None:
        if self.json_output:
            print(json.dumps(result, indent=2, ensure_ascii=False))
            return
        {
            "tools": self._tools,
            "prompts": self._prompts,
            "resources": self._resources,
            "call": self._call,
            "read": self._read,
            "prompt": self._prompt,
        }[command](result)

    def _tools(self, result: dict[str, Any]) -> None:
        for tool in result["tools"]:
            print(f"{tool.get('name')}  {_first_line(tool.get('description'))}".rstrip())
            if self.schemas:
                print(_indent(json.dumps(tool.get("inputSchema", {}), indent=2)))
        if not result["tools"]:
            print("(no tools)", file=sys.stderr)

    def _prompts(self, result: dict[str, Any]) -> None:
        for prompt in result["prompts"]:
            names = [
                a.get("name", "?") + ("" if a.get("required") else "?") for a in prompt.get("arguments") or []
            ]
            print(
                f"{prompt.get('name')}({', '.join(names)})  {_first_line(prompt.get('description'))}".rstrip()
            )
            if self.schemas:
                for argument in prompt.get("arguments") or []:
                    print(f"    {argument.get('name')}: {_first_line(argument.get('description'))}")
        if not result["prompts"]:
            print("(no prompts)", file=sys.stderr)

    def _resources(self, result: dict[str, Any]) -> None:
        items = [*result.get("resources", []), *result.get("resourceTemplates", [])]
        for item in items:
            uri = item.get("uri") or item.get("uriTemplate")
            mime = f"  [{item['mimeType']}]" if item.get("mimeType") else ""
            print(f"{uri}  {item.get('name', '')}{mime}  {_first_line(item.get('description'))}".rstrip())
        if not items:
            print("(no resources)", file=sys.stderr)

    def _call(self, result: dict[str, Any]) -> None:
        content = result.get("content") or []
        for block in content:
            _block(block)
        if not content and "structuredContent" in result:
            print(json.dumps(result["structuredContent"], indent=2, ensure_ascii=False))

    def _read(self, result: dict[str, Any]) -> None:
        for item in result.get("contents") or []:
            if "text" in item:
                _text(item["text"])
            elif "blob" in item:
                _blob(item.get("mimeType"), item["blob"])

    def _prompt(self, result: dict[str, Any]) -> None:
        if result.get("description"):
            print(f"# {result['description']}")
        for message in result.get("messages") or []:
            print(f"{message.get('role', '?')}:", end=" ")
            _block(message.get("content") or {})


def _block(block: dict[str, Any]) -> None:
    kind = block.get("type")
    if kind == "text":
        _text(block.get("text", ""))
    elif kind in ("image", "audio"):
        print(f"[{kind} {block.get('mimeType', '')}, {len(block.get('data', '')) * 3 // 4} bytes]")
    elif kind == "resource":
        resource = block.get("resource") or {}
        print(f"[resource {resource.get('uri', '')}]")
        if "text" in resource:
            _text(resource["text"])
    elif kind == "resource_link":
        print(f"[link {block.get('uri', '')}] {block.get('name', '')}".rstrip())
    else:
        print(json.dumps(block, ensure_ascii=False))


def _text(text: str) -> None:
    print(text if text.endswith("\n") else text + "\n", end="")


def _blob(mime: str | None, data: str) -> None:
    """Binary contents go out raw when stdout is a file or a pipe (``read URI > x.png``)."""
    raw = base64.b64decode(data)
    if sys.stdout.isatty():
        print(f"[{mime or 'binary'}, {len(raw)} bytes; redirect stdout to save it]")
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(raw)


def _first_line(text: Any) -> str:
    return str(text).strip().splitlines()[0] if text and str(text).strip() else ""


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
