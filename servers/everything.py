"""The example server: every feature mcp_transport offers, and the fixtures the official
conformance suite expects (their names and behaviour are fixed by the suite). It serves the
2025 session protocol and the 2026-07-28 stateless one on the same endpoint; the same tools
answer both (input calls become `input_required` rounds in 2026-07-28). Run it:

    python -m servers.everything --stdio
    python -m servers.everything --port 8000     # http://127.0.0.1:8000/mcp
    python -m servers.everything --port 8001 --redis-url redis://127.0.0.1:6379/0
                                                 # tasks shared with every worker on that Redis
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Literal

import anyio
from pydantic import BaseModel, Field

from mcp_transport.auth.options import add_auth_arguments, auth_from_args
from mcp_transport.errors import InternalError
from mcp_transport.server import (
    Audio,
    Content,
    Context,
    EmbeddedResource,
    Image,
    MCPServer,
    PromptMessage,
    TaskContext,
)

__all__ = ["CONTACT_SCHEMA", "PNG_1X1", "WAV_SILENCE", "main", "server"]

server = MCPServer("everything", "1.0.0", instructions="A server exercising every MCP feature.")

# A 1x1 red PNG and a few samples of silent 8 kHz WAV: the smallest valid media.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
WAV_SILENCE = base64.b64decode("UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==")


# -- everyday tools ------------------------------------------------------------------------------


@server.tool()
async def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool()
async def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@server.tool()
async def sleep(seconds: float, ctx: Context) -> str:
    """Sleep for a while, reporting progress every 10 ms; cancellable."""
    steps = max(1, int(seconds / 0.01))
    for i in range(steps):
        await anyio.sleep(seconds / steps)
        await ctx.report_progress(i + 1, steps)
    return f"slept {seconds} s"


@server.tool()
async def progress_stream(count: int, ctx: Context) -> str:
    """Send `count` progress notifications, then return."""
    for i in range(count):
        await ctx.report_progress(i + 1, count)
    return f"sent {count}"


class Weather(BaseModel):
    city: str
    temperature_c: float
    conditions: Literal["sunny", "cloudy", "rain"]


@server.tool(annotations={"readOnlyHint": True, "openWorldHint": False})
async def get_weather(city: Annotated[str, Field(description="City name, e.g. Paris")]) -> Weather:
    """Today's weather for a city (made up): structured output with an outputSchema."""
    return Weather(city=city, temperature_c=21.5, conditions="sunny")


# -- content of every kind (conformance: tools-call-*) -------------------------------------------


@server.tool()
async def test_simple_text() -> str:
    """Return a simple text response."""
    return "This is a simple text response for testing."


@server.tool()
async def test_image_content() -> Image:
    """Return a 1x1 PNG image."""
    return Image(PNG_1X1, "image/png")


@server.tool()
async def test_audio_content() -> Audio:
    """Return a short WAV clip."""
    return Audio(WAV_SILENCE, "audio/wav")


@server.tool()
async def test_embedded_resource() -> EmbeddedResource:
    """Return an embedded text resource."""
    return EmbeddedResource(
        "test://embedded-resource", text="This is an embedded resource content.", mime_type="text/plain"
    )


@server.tool()
async def test_multiple_content_types() -> list[str | Content]:
    """Return text, an image and an embedded resource in one result."""
    return [
        "Multiple content types test:",
        Image(PNG_1X1, "image/png"),
        EmbeddedResource(
            "test://mixed-content-resource",
            text=json.dumps({"test": "data", "value": 123}),
            mime_type="application/json",
        ),
    ]


@server.tool()
async def test_error_handling() -> str:
    """Always fail: the failure reaches the client as a result with isError."""
    raise RuntimeError("This tool intentionally returns an error for testing")


# -- talking back while running ------------------------------------------------------------------


@server.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Send three info log messages about 50 ms apart, then return."""
    for message in ("Tool execution started", "Tool processing data", "Tool execution completed"):
        await ctx.info(message)
        await anyio.sleep(0.05)
    return "Tool with logging executed successfully"


@server.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Report progress 0, 50 and 100 of 100, about 50 ms apart, then return."""
    for progress in (0, 50, 100):
        await ctx.report_progress(progress, 100, f"Completed step {progress // 50 + 1} of 3")
        await anyio.sleep(0.05)
    return "Tool with progress executed successfully"


@server.tool()
async def test_reconnection(ctx: Context) -> str:
    """Close this request's stream before answering: the client must resume to get the
    result (legacy HTTP with resumable SSE; elsewhere the stream just stays open)."""
    await ctx.close_stream()
    await anyio.sleep(0.2)
    return "Reconnection test completed successfully"


# -- asking the client ---------------------------------------------------------------------------


@server.tool()
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Ask the client's model to answer `prompt` (sampling/createMessage)."""
    answer = await ctx.sample(prompt, max_tokens=100)
    return f"LLM response: {answer.text}"


class UserInfo(BaseModel):
    username: str = Field(description="Your username")
    email: str = Field(description="Your email address", json_schema_extra={"format": "email"})


@server.tool()
async def test_elicitation(message: str, ctx: Context) -> str:
    """Ask the user for a username and an email (elicitation/create, form mode)."""
    result = await ctx.elicit(message, UserInfo)
    return f"User response: action={result.action}, content={json.dumps(result.content)}"


class Profile(BaseModel):
    """Every default kind of SEP-1034: string, integer, number, enum and boolean."""

    name: str = Field("John Doe", description="User name")
    age: int = Field(30, description="User age")
    score: float = Field(95.5, description="User score")
    status: Literal["active", "inactive", "pending"] = Field("active", description="User status")
    verified: bool = Field(True, description="Verification status")


@server.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Ask for a form whose fields all have defaults (SEP-1034)."""
    result = await ctx.elicit("Please review and update the form fields with defaults", Profile)
    return f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}"


# The five enum shapes of SEP-1330. The titled and legacy forms have no pydantic spelling, so
# this form is a JSON Schema dict, sent as written.
ENUM_FORM = {
    "type": "object",
    "properties": {
        "untitledSingle": {
            "type": "string",
            "description": "Pick one",
            "enum": ["option1", "option2", "option3"],
        },
        "titledSingle": {
            "type": "string",
            "description": "Pick one (titled)",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "description": "Pick one (legacy enumNames)",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "description": "Pick several",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "description": "Pick several (titled)",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
    "required": [],
}


@server.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Ask for a form with every enum shape of SEP-1330."""
    result = await ctx.elicit("Please select options from the enum fields", ENUM_FORM)
    return f"Elicitation completed: action={result.action}, content={json.dumps(result.content)}"


@server.tool()
async def list_client_roots(ctx: Context) -> str:
    """List the roots the client shares (roots/list)."""
    roots = await ctx.list_roots()
    return "\n".join(f"{r.name or r.uri}: {r.uri}" for r in roots) or "The client shares no roots."


# -- 2026-07-28: input across rounds (MRTR) ------------------------------------------------------
#
# A modern server cannot send the client a request: an input call ends the round with
# resultType "input_required", and the client retries with the answers. The handler runs
# again from the top, and each input call returns its answer (matched by `key`). The same
# code serves a legacy session with real server->client requests.


class NameForm(BaseModel):
    name: str


@server.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Ask for the user's name, then greet them."""
    answer = await ctx.elicit("What is your name?", NameForm, key="user_name")
    if isinstance(answer.data, NameForm):  # the form validated: the user accepted
        return f"Hello, {answer.data.name}!"
    return f"No name given ({answer.action})."


@server.tool()
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Ask the client's model a question."""
    answer = await ctx.sample("What is the capital of France?", max_tokens=100, key="capital_question")
    return f"The model says: {answer.text}"


@server.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """List the client's roots."""
    roots = await ctx.list_roots(key="client_roots")
    return "Client roots: " + (", ".join(r.uri for r in roots) or "none")


@server.tool()
async def test_input_required_result_request_state(ctx: Context) -> str:
    """Carry application state across rounds (sealed in requestState), then confirm."""
    if ctx.request_state is None:
        ctx.request_state = {"step": "confirm"}
    await ctx.elicit(
        "Please confirm", {"type": "object", "properties": {"ok": {"type": "boolean"}}}, key="confirm"
    )
    return "state-ok" if ctx.request_state == {"step": "confirm"} else "state-lost"


@server.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Ask for three inputs in one round (ask_all)."""
    name, greeting, roots = await ctx.ask_all(
        ctx.elicit("What is your name?", NameForm, key="user_name"),
        ctx.sample("Say hello", max_tokens=50, key="greeting"),
        ctx.list_roots(key="client_roots"),
    )
    return f"{(name.content or {}).get('name')}: {greeting.text} ({len(roots)} roots)"


class ColorForm(BaseModel):
    color: str


@server.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Two rounds: the name, then the favourite colour."""
    name = (await ctx.elicit("What is your name?", NameForm, key="step1")).content or {}
    color = (await ctx.elicit("What is your favourite colour?", ColorForm, key="step2")).content or {}
    return f"{name.get('name')} likes {color.get('color')}"


@server.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """Confirm once; a modified requestState is refused (-32602)."""
    await ctx.elicit(
        "Please confirm", {"type": "object", "properties": {"ok": {"type": "boolean"}}}, key="confirm"
    )
    return "confirmed"


@server.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Ask only for what this client declared it can answer."""
    asks: list[Awaitable[object]] = []
    if ctx.peer is not None and ctx.peer.has_capability("elicitation"):
        asks.append(ctx.elicit("What is your name?", NameForm, key="user_name"))
    if ctx.peer is not None and ctx.peer.has_capability("sampling"):
        asks.append(ctx.sample("Say hello", max_tokens=50, key="greeting"))
    answers = await ctx.ask_all(*asks)
    return f"answered {len(answers)} input(s)"


@server.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str:
    """A prompt that asks the user for context first."""
    answer = await ctx.elicit(
        "What context should the prompt use?",
        {"type": "object", "properties": {"context": {"type": "string"}}},
        key="user_context",
    )
    return f"Use this context: {(answer.content or {}).get('context', 'none')}"


# -- 2026-07-28 diagnostics (server-stateless, http-custom-header-server-validation) -------------


@server.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs sampling: a client that did not declare it gets -32021."""
    answer = await ctx.sample("Hello?", max_tokens=10)
    return answer.text


@server.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Report progress, then ask for input: the stream carries notifications and the
    input_required result, never a request."""
    await ctx.report_progress(1, 2)
    answer = await ctx.elicit("What is your name?", NameForm, key="user_name")
    if not isinstance(answer.data, NameForm):  # declined or cancelled: a tool error, as before
        raise ValueError(f"no name given ({answer.action})")
    return f"Hello, {answer.data.name}!"


@server.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Log at info: sent only if the request opted in (_meta logLevel, or setLevel)."""
    await ctx.info("test_logging_tool ran")
    return "logged"


async def dynamic_tool() -> str:
    """A tool that test_trigger_tool_change adds and removes."""
    return "dynamic"


@server.tool()
async def test_trigger_tool_change() -> str:
    """Add or remove `dynamic_tool`: listeners get tools/list_changed."""
    if "dynamic_tool" in server.tools:
        server.remove_tool("dynamic_tool")
        return "removed dynamic_tool"
    server.tool()(dynamic_tool)
    return "added dynamic_tool"


def dynamic_prompt() -> str:
    """A prompt that test_trigger_prompt_change adds and removes."""
    return "A dynamic prompt."


@server.tool()
async def test_trigger_prompt_change() -> str:
    """Add or remove `dynamic_prompt`: listeners get prompts/list_changed."""
    if "dynamic_prompt" in server.prompts:
        server.remove_prompt("dynamic_prompt")
        return "removed dynamic_prompt"
    server.prompt()(dynamic_prompt)
    return "added dynamic_prompt"


@server.tool(
    input_schema={
        "type": "object",
        "properties": {"region": {"type": "string", "description": "Where to run", "x-mcp-header": "Region"}},
        "required": ["region"],
    }
)
async def test_x_mcp_header(region: str) -> str:
    """Echo `region`, which HTTP clients mirror in the Mcp-Param-Region header (SEP-2243)."""
    return f"region: {region}"


# -- a raw JSON Schema, served verbatim ----------------------------------------------------------

CONTACT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@server.tool(input_schema=CONTACT_SCHEMA)
async def json_schema_2020_12_tool(**contact: object) -> str:
    """Accept a contact (a JSON Schema 2020-12 input schema with $defs, $ref, allOf and if/then/else)."""
    return f"Received contact: {json.dumps(contact, sort_keys=True)}"


# -- resources -----------------------------------------------------------------------------------


@server.resource("test://static-text", name="static-text", mime_type="text/plain")
def static_text() -> str:
    """A static text resource."""
    return "This is the content of the static text resource."


@server.resource("test://static-binary", name="static-binary", mime_type="image/png")
def static_binary() -> bytes:
    """A static binary resource (a PNG image)."""
    return PNG_1X1


@server.resource("test://template/{id}/data", name="template-data", mime_type="application/json")
def template_data(id: str) -> str:
    """Data for one id, from a URI template."""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


watched_state = {"version": 1}


@server.resource("test://watched-resource", name="watched-resource", mime_type="text/plain")
def watched_resource() -> str:
    """A resource clients may subscribe to; `touch_watched_resource` changes it."""
    return f"Watched resource content, version {watched_state['version']}"


@server.tool()
async def touch_watched_resource() -> str:
    """Change test://watched-resource and notify its subscribers."""
    watched_state["version"] += 1
    await server.notify_resource_updated("test://watched-resource")
    return f"test://watched-resource is now version {watched_state['version']}"


# -- tasks (2026-07-28 extension io.modelcontextprotocol/tasks; conformance: tasks-*) ------------


@server.tool()
async def greet(name: str) -> str:
    """Greet someone (never a task)."""
    return f"Hello, {name}!"


@server.tool(task="optional")
async def slow_compute(seconds: float, ctx: Context, label: str = "") -> str:
    """Work for `seconds` (a task when the client supports tasks; cancellable)."""
    steps = max(1, int(seconds * 10))
    for i in range(steps):
        await anyio.sleep(seconds / steps)
        await ctx.report_progress(i + 1, steps, label or None)
    return f"computed {label or 'result'} in {seconds} s"


@server.tool(task="required")
async def failing_job() -> str:
    """Run briefly, then fail as a tool (the task ends completed with isError)."""
    await anyio.sleep(0.3)
    raise RuntimeError("the job failed (on purpose)")


@server.tool(task="optional")
async def protocol_error_job() -> str:
    """Fail with a JSON-RPC error (the task ends failed)."""
    await anyio.sleep(0.05)
    raise InternalError("protocol_error_job hit an internal error (on purpose)")


class ConfirmForm(BaseModel):
    confirm: bool


@server.tool(task="optional")
async def confirm_delete(filename: str, ctx: Context) -> str:
    """Ask the user to confirm before "deleting" a file (input_required on a task)."""
    answer = await ctx.elicit(f"Delete {filename}?", ConfirmForm, key="confirm")
    if isinstance(answer.data, ConfirmForm) and answer.data.confirm:
        return f"deleted {filename}"
    return f"kept {filename} ({answer.action})"


@server.tool(task="optional")
async def multi_input(ctx: Context) -> str:
    """Ask two questions at once; the client may answer them one at a time."""
    first, second = await ctx.ask_all(
        ctx.elicit("First name?", NameForm, key="first"), ctx.elicit("Last name?", NameForm, key="second")
    )
    return f"got {(first.content or {}).get('name')} and {(second.content or {}).get('name')}"


@server.tool(task="required", task_start="on_detach")
async def test_tool_with_task(ctx: TaskContext) -> str:
    """Ask for the user's name (MRTR, before any task exists), then finish as a task."""
    answer = await ctx.elicit("What is your name?", NameForm, key="user_name")
    name = answer.data.name if isinstance(answer.data, NameForm) else "stranger"
    await ctx.detach()
    await anyio.sleep(0.1)
    return f"Hello, {name}, from a task!"


# -- prompts -------------------------------------------------------------------------------------


@server.prompt()
def test_simple_prompt() -> str:
    """A simple prompt without arguments."""
    return "This is a simple prompt for testing."


@server.prompt()
def test_prompt_with_arguments(
    arg1: Annotated[str, Field(description="First test argument")],
    arg2: Annotated[str, Field(description="Second test argument")],
) -> str:
    """A prompt with two required arguments."""
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@server.completion("arg1", prompt="test_prompt_with_arguments")
def complete_arg1(value: str) -> list[str]:
    return [v for v in ("paris", "park", "parrot", "testValue1") if v.startswith(value)]


@server.completion("id", template="test://template/{id}/data")
def complete_template_id(value: str) -> list[str]:
    return [v for v in ("1", "2", "3", "123") if v.startswith(value)]


@server.prompt()
def test_prompt_with_embedded_resource(
    # camelCase: the parameter's name is the prompt argument's name on the wire
    resourceUri: Annotated[str, Field(description="URI of the resource to embed")],
) -> list[str | Content]:
    """A prompt that embeds a resource."""
    return [
        EmbeddedResource(resourceUri, text="Embedded resource content for testing.", mime_type="text/plain"),
        "Please process the embedded resource above.",
    ]


@server.prompt()
def test_prompt_with_image() -> list[Content | PromptMessage]:
    """A prompt with an image."""
    return [Image(PNG_1X1, "image/png"), PromptMessage("user", "Please analyze the image above.")]


# -- skills (2026-07-28 extension io.modelcontextprotocol/skills; conformance: sep-2640-*) --------

server.add_skill_directory(Path(__file__).parent / "skills" / "pdf-forms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stdio", action="store_true", help="serve on stdin/stdout")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--status-page", action="store_true", help="serve the live status page at /mcp/status"
    )
    shared = parser.add_argument_group("several workers (Redis; for now only tasks are shared)")
    shared.add_argument("--redis-url", help="keep tasks in this Redis (redis://host:port/db)")
    shared.add_argument("--redis-prefix", default="mcp:", help="the deployment's key prefix")
    shared.add_argument(
        "--worker-lease", type=float, default=10.0, help="seconds after which a silent worker is dead"
    )
    add_auth_arguments(parser)
    args = parser.parse_args(argv)
    server.auth = auth_from_args(args)  # None unless --auth-issuer (docs/guides/auth.md)
    if args.redis_url:
        from mcp_transport.state.redis import RedisTaskStore

        server.tasks.store = RedisTaskStore.from_url(
            args.redis_url, prefix=args.redis_prefix, lease=args.worker_lease
        )
    if args.stdio:
        server.run_stdio()
    else:
        from mcp_transport.transports.http import run_http

        run_http(server, host=args.host, port=args.port, status_page=args.status_page)


if __name__ == "__main__":
    main()
