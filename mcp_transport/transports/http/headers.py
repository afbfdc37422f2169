"""The 2026-07-28 request-metadata headers (SEP-2243; 2026-07-28
basic/transports#request-metadata-headers), both sides.

Sans-IO: the client builds ``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name`` and
``Mcp-Param-*`` from a request; the server checks them against the body. The body is the
source of truth; the headers are mirrors for intermediaries, so any disagreement is a
HeaderMismatch (-32020).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from ...errors import HeaderMismatch
from ...jsonrpc import preview
from ...protocol import META_PROTOCOL_VERSION

__all__ = [
    "NAMED_METHODS",
    "body_protocol_version",
    "decode_value",
    "encode_value",
    "header_params",
    "invalid_header_annotations",
    "request_headers",
    "validate_request_headers",
]

# Methods whose target is mirrored into Mcp-Name, and the params field it comes from.
# The tasks extension routes its methods by task id (SEP-2663 "Streamable HTTP: Routing
# Headers": Mcp-Name carries params.taskId).
NAMED_METHODS: dict[str, str] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
_PARAM_PREFIX = "mcp-param-"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 tchar
_SAFE_VALUE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")  # visible ASCII, no edge spaces
_B64_PREFIX, _B64_SUFFIX = "=?base64?", "?="
_MAX_SAFE_INTEGER = 2**53 - 1


def encode_value(value: Any) -> str:
    """A header value for a string, integer or boolean, Base64-wrapped when it is not safe
    as a plain header value (non-ASCII, control characters, edge whitespace), or when it
    would itself look wrapped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    looks_wrapped = text.startswith(_B64_PREFIX) and text.endswith(_B64_SUFFIX)
    if _SAFE_VALUE.match(text) and not looks_wrapped:
        return text
    return _B64_PREFIX + base64.b64encode(text.encode("utf-8")).decode("ascii") + _B64_SUFFIX


def decode_value(raw: str) -> str:
    """The value a header carries: surrounding space/tab stripped (HTTP optional whitespace;
    not every parser strips it), Base64 unwrapped. Raises ValueError for a malformed wrap."""
    text = raw.strip(" \t")
    if text.startswith(_B64_PREFIX) and text.endswith(_B64_SUFFIX):
        inner = text[len(_B64_PREFIX) : -len(_B64_SUFFIX)]
        try:
            return base64.b64decode(inner, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"malformed Base64 header value {raw!r}") from exc
    # visible ASCII and space only (for ASCII text, isprintable() is exactly 0x20-0x7E)
    if not (text.isascii() and text.isprintable()):
        raise ValueError(f"header value {raw!r} has characters that must be Base64-wrapped")
    return text


def header_params(input_schema: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``x-mcp-header`` annotations of a tool: header name -> property path from the root.

    Only properties reachable through a chain of ``properties`` count (2026-07-28
    basic/transports#request-metadata-headers).
    """
    found: dict[str, tuple[str, ...]] = {}
    _walk_header_params(input_schema, (), found)
    return found


# header_params of the schemas requests were checked against, by identity: a tool's input
# schema is fixed once registered, and walking it on every modern tools/call cost more than the
# rest of the header check. Bounded: cleared when full (a server with more tools than this
# only walks again).
_PARAMS_CACHE: dict[int, tuple[Mapping[str, Any], dict[str, tuple[str, ...]]]] = {}
_PARAMS_CACHE_SIZE = 1024


def _cached_header_params(input_schema: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    hit = _PARAMS_CACHE.get(id(input_schema))
    if hit is not None and hit[0] is input_schema:
        return hit[1]
    if len(_PARAMS_CACHE) >= _PARAMS_CACHE_SIZE:
        _PARAMS_CACHE.clear()
    found = header_params(input_schema)
    _PARAMS_CACHE[id(input_schema)] = (input_schema, found)
    return found


def _walk_header_params(
    schema: Mapping[str, Any], path: tuple[str, ...], found: dict[str, tuple[str, ...]]
) -> None:
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    for key, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        name = sub.get("x-mcp-header")
        if isinstance(name, str):
            found[name] = (*path, key)
        _walk_header_params(sub, (*path, key), found)


def invalid_header_annotations(input_schema: Mapping[str, Any]) -> list[str]:
    """Why a tool's ``x-mcp-header`` annotations are invalid (empty list when valid).

    A client on HTTP must drop a tool with invalid annotations from tools/list.
    """
    problems: list[str] = []
    seen: set[str] = set()

    def walk(schema: Any, reachable: bool, where: str) -> None:
        if isinstance(schema, Mapping):
            if "x-mcp-header" in schema:
                name = schema["x-mcp-header"]
                if not reachable:
                    problems.append(
                        f"{where}: x-mcp-header only on properties reachable through 'properties'"
                    )
                elif not isinstance(name, str) or not name or not _TOKEN.match(name):
                    problems.append(f"{where}: x-mcp-header {name!r} is not a non-empty HTTP token")
                elif name.lower() in seen:
                    problems.append(
                        f"{where}: x-mcp-header {name!r} is used twice (names are case-insensitive)"
                    )
                elif schema.get("type") not in ("string", "integer", "boolean"):
                    problems.append(f"{where}: x-mcp-header only on string, integer or boolean properties")
                else:
                    seen.add(name.lower())
            for key, sub in schema.items():
                if key == "properties" and isinstance(sub, Mapping):
                    for prop, prop_schema in sub.items():
                        walk(prop_schema, reachable, f"{where}.{prop}")
                elif key != "x-mcp-header":
                    walk(sub, False, f"{where}/{key}")
        elif isinstance(schema, list):
            for i, item in enumerate(schema):
                walk(item, False, f"{where}[{i}]")

    walk(input_schema, True, "inputSchema")
    return problems


def _argument_at(arguments: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(arguments, Mapping):
            return None
        arguments = arguments.get(key)
    return arguments


def request_headers(
    method: str, params: Mapping[str, Any] | None, input_schema: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The metadata headers a modern client sends with a request."""
    params = params or {}
    headers = {"Mcp-Method": method}
    version = body_protocol_version(params)
    if isinstance(version, str):
        headers["MCP-Protocol-Version"] = version
    field = NAMED_METHODS.get(method)
    if field is not None and isinstance(params.get(field), str):
        headers["Mcp-Name"] = encode_value(params[field])
    if method == "tools/call" and input_schema is not None:
        for name, path in header_params(input_schema).items():
            value = _argument_at(params.get("arguments"), path)
            if value is not None and not isinstance(value, (dict, list, float)):
                headers[f"Mcp-Param-{name}"] = encode_value(value)
    return headers


def _same(header_value: str, body_value: Any) -> bool:
    if type(body_value) is str:  # the common case first: method, name, version
        return header_value == body_value
    if isinstance(body_value, bool):
        return header_value == ("true" if body_value else "false")
    if isinstance(body_value, (int, float)):
        try:
            return float(header_value) == float(body_value)  # 42.0 == 42: numbers compare by value
        except ValueError:
            return False
    return bool(header_value == body_value)


def body_protocol_version(params: Mapping[str, Any]) -> Any:
    """``params._meta`` protocolVersion as the body carries it (None when absent)."""
    meta = params.get("_meta")
    return meta.get(META_PROTOCOL_VERSION) if isinstance(meta, Mapping) else None


def validate_request_headers(
    headers: Mapping[str, str],
    method: str,
    params: Mapping[str, Any] | None,
    input_schema: Mapping[str, Any] | None = None,
    *,
    protocol_version: str | None = None,
) -> None:
    """Raise HeaderMismatch unless the headers mirror the body. ``headers`` must be a
    case-insensitive mapping (Starlette's Headers) or use lower-case keys.
    ``protocol_version``: the version of the envelope the caller parsed already (the server's
    modern leg); without it the version is read from ``params._meta``."""
    params = params or {}
    body_version = protocol_version if protocol_version is not None else body_protocol_version(params)
    field = NAMED_METHODS.get(method)
    name = params.get(field) if field is not None else None
    # The common case in one pass, without a call per header: each header is a plain copy of
    # its string body value, decoded before (cached). Anything else takes the checks below,
    # which say what is wrong ("\n" stands for a missing header: no value decodes to it).
    cached = _DECODED.get
    if (
        type(body_version) is str
        and cached(headers.get("mcp-protocol-version", "\n")) == body_version
        and cached(headers.get("mcp-method", "\n")) == method
        and (field is None or (type(name) is str and cached(headers.get("mcp-name", "\n")) == name))
        and (method != "tools/call" or input_schema is None or not _cached_header_params(input_schema))
    ):
        return
    _check_mirror(headers.get("mcp-protocol-version"), "MCP-Protocol-Version", body_version, _BODY)
    _check_mirror(headers.get("mcp-method"), "Mcp-Method", method, _BODY)
    if field is not None:
        _check_mirror(headers.get("mcp-name"), "Mcp-Name", name, _BODY)
    if method == "tools/call" and input_schema is not None:
        for header, path in _cached_header_params(input_schema).items():
            expected = _argument_at(params.get("arguments"), path)
            if expected is not None:
                where = f"argument {'.'.join(path)}"
                _check_mirror(
                    headers.get(f"{_PARAM_PREFIX}{header.lower()}"), f"Mcp-Param-{header}", expected, where
                )


_BODY = "the request body"
# decode_value of recent header values: a client repeats the same few (its version, the
# method, the tool name) on every request. Bounded in entries and in the length of each.
_DECODED: dict[str, str] = {}
_DECODED_SIZE = 1024
_DECODED_MAX_LEN = 256


def _check_mirror(raw: str | None, header: str, expected: Any, where: str) -> None:
    """Raise HeaderMismatch unless header ``raw`` carries ``expected`` (from ``where``)."""
    if raw is None:
        raise HeaderMismatch(f"Missing header {header}: it must mirror {where} ({preview(expected)})")
    value = _DECODED.get(raw)
    if value is None:
        try:
            value = decode_value(raw)
        except ValueError as exc:
            raise HeaderMismatch(f"Invalid {header} header: {exc}") from None
        if len(raw) <= _DECODED_MAX_LEN:
            if len(_DECODED) >= _DECODED_SIZE:
                _DECODED.clear()
            _DECODED[raw] = value
    if not _same(value, expected):
        raise HeaderMismatch(f"{header} header {preview(value)} does not match {where} ({preview(expected)})")
