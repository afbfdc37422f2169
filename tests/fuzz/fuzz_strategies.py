"""Shared Hypothesis strategies and checks for the fuzz properties (tests/fuzz).

Budgets: every property asks for ``budget(n)`` examples. ``make test`` runs the quick
profile (n examples, a few seconds per property); ``make fuzz`` sets
``HYPOTHESIS_PROFILE=fuzz``, which multiplies every budget by ``FUZZ_FACTOR``.
"""

from __future__ import annotations

import os
import string
from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from mcp_transport.protocol import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")
FUZZ_FACTOR = 40

_COMMON: dict[str, Any] = {
    "deadline": None,  # a real server on loopback: latency is not the property
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}
# make test: no shrinking, so a failure costs seconds, not minutes (make fuzz shrinks).
settings.register_profile("quick", phases=[Phase.explicit, Phase.reuse, Phase.generate], **_COMMON)
settings.register_profile("fuzz", **_COMMON)
settings.load_profile(PROFILE)


def budget(examples: int) -> settings:
    """Settings for a property: ``examples`` in make test, FUZZ_FACTOR times as many in make fuzz."""
    factor = FUZZ_FACTOR if PROFILE == "fuzz" else 1
    return settings(max_examples=examples * factor)


# -- JSON values ----------------------------------------------------------------------------

LEGACY_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
MODERN_VERSION = "2026-07-28"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


class DeepList(list[Any]):
    """A deeply nested value that prints as how it was built (Hypothesis's printer recurses)."""

    depth = 0

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"nest({self.depth}, {type(self)._leaf!r}, {type(self)._kind!r})")

    _leaf: Any = None
    _kind = "list"


class DeepDict(dict[str, Any]):
    depth = 0
    _leaf: Any = None
    _kind = "dict"
    _repr_pretty_ = DeepList._repr_pretty_


def nest(depth: int, leaf: Any, kind: str) -> Any:
    """``leaf`` wrapped in ``depth`` lists or objects, built iteratively (no recursion)."""
    value = leaf
    for _ in range(depth - 1):
        value = [value] if kind == "list" else {"a": value}
    outer: Any = DeepList([value]) if kind == "list" else DeepDict(a=value)
    outer.depth, outer._leaf, outer._kind = depth, leaf, kind
    return outer


# Depths around the limits that matter: orjson dumps at most 255 levels, loads at most 1,024,
# and Python's recursion limit is 1,000 frames.
deep_values = st.builds(
    nest,
    st.one_of(st.integers(2, 40), st.integers(200, 1100)),
    st.one_of(st.integers(), st.text(max_size=5)),
    st.sampled_from(["list", "dict"]),
)
any_value = st.one_of(json_values, deep_values)

ids = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.text(max_size=12),
    any_value,
)

# Methods a client may send, the ones a server sends, and noise.
CLIENT_METHODS = [
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
]
NOTIFICATIONS = [
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "notifications/message",
]
# Tools that answer at once without asking the client anything (a server->client request
# would wait for an answer this synchronous harness never sends).
SAFE_TOOLS = [
    "echo",
    "add",
    "get_weather",
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_error_handling",
    "test_tool_with_logging",
    "test_logging_tool",
    "test_x_mcp_header",
    "json_schema_2020_12_tool",
]
methods = st.one_of(st.sampled_from(CLIENT_METHODS + NOTIFICATIONS), st.text(max_size=20), any_value)
names = st.one_of(
    st.sampled_from([*SAFE_TOOLS, "test_simple_prompt", "test_prompt_with_arguments"]),
    st.text(max_size=12),
    any_value,
)
uris = st.one_of(
    st.sampled_from(["test://static-text", "test://static-binary", "test://template/7/data"]),
    st.text(max_size=20),
    any_value,
)


@st.composite
def params(draw: st.DrawFn) -> Any:
    """``params`` for any method: mostly objects with the fields MCP methods read, fuzzed."""
    if draw(st.integers(0, 9)) == 0:
        return draw(any_value)
    out: dict[str, Any] = {}
    fields = {
        "name": names,
        "arguments": st.one_of(
            st.dictionaries(st.sampled_from(["text", "a", "b", "city", "region"]), any_value, max_size=3),
            any_value,
        ),
        "uri": uris,
        "cursor": st.one_of(st.text(max_size=12), any_value),
        "level": st.one_of(st.sampled_from(["debug", "info", "error"]), any_value),
        "requestId": ids,
        "progressToken": ids,
        "protocolVersion": st.one_of(st.sampled_from([*LEGACY_VERSIONS, MODERN_VERSION]), any_value),
        "capabilities": any_value,
        "_meta": any_value,
        "ref": any_value,
        "argument": any_value,
    }
    for key in draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True)):
        out[key] = draw(fields[key])
    return out


@st.composite
def messages(draw: st.DrawFn, version: str | None = None) -> Any:
    """A JSON-RPC-ish message: a request, notification or response, often slightly wrong.
    With ``version`` = 2026-07-28, object params carry the modern ``_meta`` envelope."""
    kind = draw(st.sampled_from(["request", "request", "notification", "response", "error", "junk"]))
    msg: dict[str, Any] = {
        "jsonrpc": draw(st.one_of(st.just("2.0"), any_value)) if draw(st.integers(0, 9)) == 0 else "2.0"
    }
    if kind in ("request", "notification"):
        msg["method"] = draw(methods)
        p = draw(params())
        if version == MODERN_VERSION and isinstance(p, dict) and draw(st.integers(0, 4)) > 0:
            p["_meta"] = draw(modern_meta())
        if draw(st.integers(0, 5)) > 0:
            msg["params"] = p
        if kind == "request":
            msg["id"] = draw(ids)
    elif kind == "response":
        msg["id"] = draw(ids)
        msg["result"] = draw(any_value)
    elif kind == "error":
        msg["id"] = draw(ids)
        msg["error"] = draw(
            st.one_of(
                st.fixed_dictionaries({"code": st.integers(-33000, 0), "message": st.text(max_size=10)}),
                any_value,
            )
        )
    else:
        extra = draw(
            st.dictionaries(
                st.sampled_from(["id", "method", "result", "error", "params"]), any_value, max_size=4
            )
        )
        msg.update(extra)
    return msg


@st.composite
def modern_meta(draw: st.DrawFn) -> Any:
    """The 2026-07-28 ``params._meta`` envelope, mostly right, sometimes mistyped."""
    meta: dict[str, Any] = {
        META_PROTOCOL_VERSION: draw(
            st.one_of(st.just(MODERN_VERSION), st.sampled_from(LEGACY_VERSIONS), any_value)
        ),
        META_CLIENT_CAPABILITIES: draw(st.one_of(st.just({}), any_value)),
    }
    for key in draw(st.lists(st.sampled_from(sorted(meta)), max_size=1)):
        del meta[key]
    if draw(st.booleans()):
        meta["io.modelcontextprotocol/logLevel"] = draw(
            st.one_of(st.sampled_from(["debug", "error"]), any_value)
        )
    return meta


def encode(value: Any) -> bytes:
    """JSON bytes of ``value``; orjson refuses depth > 255, so deep values go through json."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson: too deep (or an int beyond 64 bits)
        import json
        import sys

        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10_000))
        try:
            return json.dumps(value).encode()
        finally:
            sys.setrecursionlimit(limit)


# Raw bodies: garbage, truncated JSON, wrong encodings, batches.
@st.composite
def bodies(draw: st.DrawFn, version: str | None = None) -> bytes:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(max_size=64))
    if choice == 1:
        full = encode(draw(messages(version)))
        return full[: draw(st.integers(0, max(0, len(full) - 1)))]
    if choice == 2:
        return encode(draw(st.lists(messages(version), max_size=4)))
    if choice == 3:
        return (
            encode(draw(messages(version)))
            .decode()
            .encode(draw(st.sampled_from(["utf-16", "utf-32", "latin-1"])), "replace")
        )
    return encode(draw(messages(version)))


# -- headers ----------------------------------------------------------------------------------

_token = st.text(alphabet=string.ascii_letters + string.digits + "-_.:/;=, *", max_size=40)
# A client library refuses leading/trailing whitespace in a value (h11), so none is sent.
# Field values as RFC 9110 allows them (VCHAR, SP, obs-text): uvicorn itself refuses the rest.
header_values = st.one_of(
    _token,
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=30
    ),
).map(str.strip)
ACCEPTS = [
    "application/json, text/event-stream",
    "application/json",
    "text/event-stream",
    "*/*",
    "text/html",
    "",
    "application/*",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json;charset=UTF-8",
    "text/plain",
    "application/json-seq",
    "",
]


@st.composite
def header_sets(draw: st.DrawFn) -> dict[str, str]:
    """Accept, Content-Type and the MCP headers, each present, absent or odd."""
    headers: dict[str, str] = {}
    for name, common in (
        ("accept", ACCEPTS),
        ("content-type", CONTENT_TYPES),
        ("mcp-protocol-version", [*LEGACY_VERSIONS, MODERN_VERSION]),
        ("mcp-method", CLIENT_METHODS),
        ("mcp-name", SAFE_TOOLS),
        ("last-event-id", ["x:1", "0"]),
        ("origin", ["http://127.0.0.1", "http://evil.example"]),
    ):
        pick = draw(st.integers(0, 5))
        if pick == 1:
            headers[name] = draw(st.sampled_from(common))
        elif pick == 2:
            headers[name] = draw(header_values)
    return headers
