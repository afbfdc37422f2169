"""The recording format (docs/recording.md): NDJSON, one header line, then one line per
JSON-RPC message in either direction. Sans-IO apart from :class:`Recorder` writing a file.

    {"format": "mcp-transport-recording", "version": 1, "transport": "stdio", ...}
    {"dir": "c2s", "t": 0.0012, "transport": "stdio", "era": "legacy", "message": {...}}
    {"dir": "s2c", "t": 0.0150, "transport": "stdio", "era": "legacy", "message": {...}}

Written by ``mcp-transport record`` (stdio pass-through and HTTP proxy) and by
``Client(..., record=path)``; read by ``mcp-transport replay``, which compares answers with
:func:`differences`, ignoring the volatile fields the header declares.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = [
    "DEFAULT_VOLATILE",
    "FORMAT",
    "REDACTED",
    "VERSION",
    "FormatError",
    "Recorder",
    "differences",
    "era_of",
    "read_recording",
    "redact_headers",
]

FORMAT = "mcp-transport-recording"
VERSION = 1
REDACTED = "[redacted]"
# Fields whose values differ from run to run by design: compared by presence only.
DEFAULT_VOLATILE = (
    "timestamp",
    "createdAt",
    "lastUpdatedAt",
    "expiresAt",
    "sessionId",
    "taskId",
    "requestState",
    "progressToken",
    "cursor",
    "nextCursor",
)
# A header whose name contains one of these is a secret: its value never reaches the file.
_SECRET_PARTS = ("authorization", "cookie", "token", "secret", "api-key", "apikey", "password", "dpop")
_MODERN_KEY = "io.modelcontextprotocol/protocolVersion"
_MAX_TRACKED_IDS = 1024  # request id -> era, to label answers; the oldest are forgotten


class FormatError(ValueError):
    """The file is not a recording this version can read."""


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers for the file: names lower-cased, secrets replaced by ``[redacted]``."""
    out: dict[str, str] = {}
    for name, value in headers:
        name = name.lower()
        out[name] = REDACTED if any(part in name for part in _SECRET_PARTS) else value
    return out


def era_of(message: Any) -> str | None:
    """ "modern" for a request or notification carrying the 2026-07-28 ``_meta`` protocol
    version (2026-07-28 basic/lifecycle), "legacy" for another one, None for an answer."""
    if not isinstance(message, dict) or "method" not in message:
        return None
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return "modern" if isinstance(meta, dict) and _MODERN_KEY in meta else "legacy"


class Recorder:
    """Appends lines to a recording file; ``t`` counts from the recorder's creation. Each line
    is written and flushed at once (nothing is buffered beyond the line being written)."""

    def __init__(
        self, path: str | os.PathLike[str] | IO[bytes], *, transport: str, target: str, **header: Any
    ) -> None:
        self._owned = isinstance(path, (str, os.PathLike))
        self._file: IO[bytes] = open(path, "wb") if isinstance(path, (str, os.PathLike)) else path  # noqa: SIM115
        self.transport = transport
        self._start = time.monotonic()
        self._eras: OrderedDict[Any, str] = OrderedDict()
        self._write(
            {
                "format": FORMAT,
                "version": VERSION,
                "transport": transport,
                "target": target,
                "started": datetime.now(UTC).isoformat(),
                "volatile": list(DEFAULT_VOLATILE),
                **header,
            }
        )

    def record(self, direction: str, message: Any, **fields: Any) -> None:
        """One line: ``dir``, ``t``, ``transport``, ``era`` (of the request an answer belongs
        to, when known), the message, and the transport's ``fields`` (session, stream,
        status, exchange, headers; None values are left out)."""
        era = era_of(message) or self._answer_era(message)
        if isinstance(message, dict) and "method" in message and "id" in message:
            self._eras[(direction, message["id"])] = era or "legacy"
            if len(self._eras) > _MAX_TRACKED_IDS:
                self._eras.popitem(last=False)
        line = {"dir": direction, "t": round(time.monotonic() - self._start, 6), "transport": self.transport}
        if era is not None:
            line["era"] = era
        line.update((k, v) for k, v in fields.items() if v is not None)
        line["message"] = message
        self._write(line)

    def _answer_era(self, message: Any) -> str | None:
        if isinstance(message, dict) and "id" in message:
            for direction in ("c2s", "s2c"):
                era = self._eras.get((direction, message["id"]))
                if era is not None:
                    return era
        return None

    def _write(self, line: Mapping[str, Any]) -> None:
        self._file.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()


def read_recording(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the message lines; FormatError for anything else."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror}") from None
    lines = [line for line in raw.split(b"\n") if line.strip()]
    parsed: list[Any] = []
    for number, line in enumerate(lines, 1):
        try:
            parsed.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            raise FormatError(f"{path}: line {number} is not JSON") from None
    if not parsed or not isinstance(parsed[0], dict) or parsed[0].get("format") != FORMAT:
        raise FormatError(f"{path}: the first line is not a {FORMAT!r} header")
    if parsed[0].get("version") != VERSION:
        raise FormatError(
            f"{path}: recording version {parsed[0].get('version')!r}; this reader reads {VERSION}"
        )
    for number, line in enumerate(parsed[1:], 2):
        if not isinstance(line, dict) or line.get("dir") not in ("c2s", "s2c") or "message" not in line:
            raise FormatError(f"{path}: line {number} has no 'dir' (c2s|s2c) and 'message'")
    return parsed[0], parsed[1:]


def differences(expected: Any, actual: Any, volatile: frozenset[str], path: str = "$") -> Iterator[str]:
    """Where ``actual`` differs from ``expected``, as ``path: expected X, got Y`` lines; a
    key in ``volatile`` only has to be present on both sides."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in [*expected, *(k for k in actual if k not in expected)]:
            where = f"{path}.{key}"
            if key not in actual:
                yield f"{where}: missing (expected {_short(expected[key])})"
            elif key not in expected:
                yield f"{where}: unexpected {_short(actual[key])}"
            elif key not in volatile:
                yield from differences(expected[key], actual[key], volatile, where)
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            yield f"{path}: {len(expected)} items expected, got {len(actual)}"
        for index, (e, a) in enumerate(zip(expected, actual, strict=False)):
            yield from differences(e, a, volatile, f"{path}[{index}]")
    elif expected != actual or type(expected) is not type(actual):
        yield f"{path}: expected {_short(expected)}, got {_short(actual)}"


def _short(value: Any, limit: int = 120) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"
