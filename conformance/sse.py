"""A small incremental parser for text/event-stream (WHATWG HTML §9.2), written for the suite so
that the implementation under test is judged by the standard, not by another library's leniency."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Comment", "SseEvent", "SseParser"]


@dataclass(slots=True)
class SseEvent:
    id: str | None
    event: str | None
    data: str
    retry: int | None

    def json(self) -> Any:
        """The event data as JSON, or None when empty or not JSON."""
        if not self.data:
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            return None


@dataclass(slots=True)
class Comment:
    text: str


class SseParser:
    """Feed bytes, get back events and comments in order. Lines end in CRLF, LF or CR."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False
        self._data: list[str] = []
        self._id: str | None = None
        self._event: str | None = None
        self._retry: int | None = None
        self._has_field = False
        self._decoder = _Utf8()

    def feed(self, chunk: bytes) -> list[SseEvent | Comment]:
        text = self._decoder.decode(chunk)
        out: list[SseEvent | Comment] = []
        for line in self._lines(text):
            self._line(line, out)
        return out

    def _lines(self, text: str) -> list[str]:
        lines = []
        for ch in text:
            if self._pending_cr:
                self._pending_cr = False
                if ch == "\n":
                    continue
            if ch in "\r\n":
                lines.append(self._buffer)
                self._buffer = ""
                self._pending_cr = ch == "\r"
            else:
                self._buffer += ch
        return lines

    def _line(self, line: str, out: list[SseEvent | Comment]) -> None:
        if line == "":
            if self._has_field:
                out.append(SseEvent(self._id, self._event, "\n".join(self._data), self._retry))
            self._data, self._event, self._retry, self._has_field = [], None, None, False
            self._id = None  # ids are per event here: the suite judges what each event carried
            return
        if line.startswith(":"):
            out.append(Comment(line[1:]))
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        self._has_field = True
        if name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        elif name == "event":
            self._event = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)


class _Utf8:
    def __init__(self) -> None:
        import codecs

        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def decode(self, chunk: bytes) -> str:
        return self._dec.decode(chunk)
