"""The conformance suite proves itself: it passes a correct independent server, flags each
deliberately broken one on the right check, and (once the HTTP server lands) passes our own
servers.everything with every MUST check green."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from conformance.context import Options
from conformance.model import Level, Status
from conformance.reports import render
from conformance.runner import RunResult, run_scenarios, select
from conformance.scenarios import SCENARIOS
from tests.interop_servers import ServerProcess, free_port, quiet_on_closed_stdout

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "broken_servers"
PY = sys.executable
FAST = Options(timeout=5.0, keepalive_wait=3.0)

# bug -> (scenario to run, check that must not pass, statuses that count as "flagged")
FLAGGED = {Status.FAIL, Status.WARN}
HTTP_BUGS: dict[str, tuple[str, str, set[Status]]] = {
    "unknown_session_400": ("session-lifecycle", "session-unknown-id-404", {Status.FAIL}),
    "no_session_check": ("session-lifecycle", "session-missing-id-400", {Status.WARN}),
    "duplicate_on_resume": ("last-event-id-replay", "resume-no-duplicates", {Status.FAIL}),
    "replay_other_streams": ("last-event-id-replay", "resume-only-disconnected-stream", {Status.FAIL}),
    "replay_gap": ("last-event-id-replay", "resume-no-gaps", {Status.WARN}),
    "cancel_on_disconnect": ("last-event-id-replay", "disconnect-is-not-cancel", {Status.WARN}),
    "live_resume_silent": ("last-event-id-replay", "resume-no-gaps", {Status.WARN}),
    "cross_session_replay": ("cross-session-isolation", "resume-foreign-session-refused", {Status.FAIL}),
    "duplicate_ids": ("event-ids", "event-ids-unique-across-streams", {Status.FAIL}),
    "broadcast": ("event-ids", "no-broadcast-across-streams", {Status.FAIL}),
    "response_on_get": ("event-ids", "get-stream-no-responses", {Status.FAIL}),
    "batch_accepted": ("batch-rejection", "batch-rejected", {Status.WARN}),
    "notification_200": ("notifications-202", "notification-initialized-202", {Status.FAIL}),
    "no_406": ("accept-content-type", "accept-post-406", {Status.WARN}),
    "no_415": ("accept-content-type", "content-type-415", {Status.WARN}),
    "no_origin_check": ("origin-validation", "origin-foreign-403", {Status.FAIL}),
    "version_header_ignored": ("protocol-version-header", "protocol-version-unsupported-400", {Status.FAIL}),
    "parse_error_200": ("jsonrpc-errors", "jsonrpc-parse-error-http-4xx", {Status.WARN}),
    "progress_not_monotonic": ("progress", "progress-increases", {Status.FAIL}),
    "ignore_cancel": ("cancellation", "cancel-no-result", {Status.WARN}),
    "no_sse_headers": ("sse-hygiene", "sse-x-accel-buffering-no", {Status.WARN}),
    "no_keepalive": ("sse-hygiene", "sse-keepalive-on-idle-stream", {Status.WARN}),
    "no_priming": ("sse-hygiene", "sse-priming-event", {Status.WARN}),
    "no_body_limit": ("body-size-limit", "body-limit-413", {Status.WARN}),
    "modern_no_name_check": ("modern-headers", "header-mcp-name-missing-32020", {Status.FAIL}),
    "modern_unknown_method_200": ("modern-headers", "unknown-method-404-32601", {Status.FAIL}),
    "modern_no_discover": ("modern-discover", "discover-implemented", {Status.FAIL}),
    "modern_server_request": ("modern-streaming", "modern-no-requests-on-stream", {Status.FAIL}),
    "tasks_float_ttl": ("modern-tasks", "tasks-ttl-poll-integers", {Status.FAIL}),
    "tasks_no_gating": ("modern-tasks", "tasks-methods-need-extension-32021", {Status.FAIL}),
    "tasks_task_without_extension": ("modern-tasks", "tasks-none-without-extension", {Status.FAIL}),
    "tasks_no_name_check": ("modern-tasks", "tasks-mcp-name-mismatch-32020", {Status.FAIL}),
    "tasks_name_optional": ("modern-tasks", "tasks-mcp-name-missing-32020", {Status.FAIL}),
    "tasks_list_exists": ("modern-tasks", "tasks-removed-methods-32601", {Status.FAIL}),
    "tasks_not_found_at_once": ("modern-tasks", "tasks-get-finds-new-task", {Status.FAIL}),
    "tasks_never_finish": ("modern-tasks", "tasks-poll-to-terminal", {Status.FAIL}),
    "tasks_create_with_request_state": ("modern-tasks", "tasks-create-result-shape", {Status.FAIL}),
    "tasks_cancel_finished_error": ("modern-tasks", "tasks-cancel-acknowledged", {Status.FAIL}),
}
# bug -> (check that must not pass, its status)
STDIO_BUGS: dict[str, tuple[str, Status]] = {
    "banner": ("stdio-stdout-only-mcp", Status.FAIL),
    "pretty_json": ("stdio-no-embedded-newlines", Status.FAIL),
    "die_on_garbage": ("stdio-survives-malformed-line", Status.FAIL),
    "answer_notifications": ("stdio-notification-not-answered", Status.FAIL),
    # No stdio rule requires answering a malformed line: a warning, never a failed run.
    "parse_error_with_id": ("stdio-malformed-line-32700", Status.WARN),
    "drop_malformed": ("stdio-malformed-line-32700", Status.WARN),
}


@contextlib.contextmanager
def _serve(*args: str) -> Iterator[str]:
    port = free_port()
    server = ServerProcess([PY, *args, "--port", str(port)], port).start()
    try:
        yield server.url
    finally:
        server.stop()


async def _run(
    url: str, names: list[str] | None = None, target: str = "http", options: Options = FAST, era: str = "both"
) -> RunResult:
    chosen = select(SCENARIOS, target=target, names=names, era=era)
    return await run_scenarios(chosen, url=url, options=options, era=era)


async def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command line without blocking the event loop; at most 60 s."""
    with anyio.fail_after(60):
        done = await anyio.run_process(list(argv), cwd=ROOT, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def _explain(run: RunResult) -> str:
    return "\n".join(
        f"{r.status.value} {r.name}: {r.message} | sent {r.sent} | got {r.received}"
        for r in run.results
        if r.status is not Status.PASS
    )


@pytest.mark.anyio
async def test_correct_reference_server_passes_everything() -> None:
    with _serve(str(BROKEN / "server.py")) as url:
        run = await _run(url)
    bad = [r for r in run.results if r.status not in (Status.PASS, Status.SKIP)]
    assert not bad, _explain(run)
    assert run.exit_code == 0
    assert sum(r.status is Status.PASS for r in run.results) >= 55


@pytest.mark.anyio
@pytest.mark.parametrize("bug", sorted(HTTP_BUGS))
async def test_broken_http_server_is_flagged(bug: str) -> None:
    scenario, check, expected = HTTP_BUGS[bug]
    with _serve(str(BROKEN / "server.py"), "--bug", bug) as url:
        run = await _run(url, [scenario], era="modern" if scenario.startswith("modern") else "both")
    assert run.status_of(check) in expected, _explain(run)
    if Status.FAIL in expected:
        assert run.exit_code == 1


@pytest.mark.anyio
async def test_polling_server_that_closes_resumed_streams_passes() -> None:
    """2025-11-25 lets a server close a stream's connection at any time (the client resumes
    again): the resume checks follow it GET by GET and must not take that for a gap."""
    with _serve(str(BROKEN / "server.py"), "--poll") as url:
        run = await _run(url, ["last-event-id-replay"])
    assert [r.status for r in run.results] == [Status.PASS] * 4, _explain(run)


@pytest.mark.anyio
async def test_server_without_event_ids_is_skipped_not_warned() -> None:
    """Event ids are a MAY: a server without any gets the resumption checks and the priming check
    (priming exists only to give the client a Last-Event-ID) skipped, never warned or failed."""
    with _serve(str(BROKEN / "server.py"), "--bug", "no_event_ids") as url:
        run = await _run(url, ["sse-hygiene", "last-event-id-replay"])
    for check in ("sse-priming-event", "resume-no-gaps", "resume-no-duplicates"):
        assert run.status_of(check) is Status.SKIP, _explain(run)
    assert not [r for r in run.results if r.status in (Status.WARN, Status.FAIL, Status.ERROR)], _explain(run)


@pytest.mark.anyio
@pytest.mark.parametrize("bug", [None, *sorted(STDIO_BUGS)])
async def test_stdio_server(bug: str | None) -> None:
    command = f"{PY} {BROKEN / 'stdio_server.py'}" + (f" --bug {bug}" if bug else "")
    run = await _run(command, target="stdio", options=Options(timeout=3.0, stdio_command=command))
    if bug is None:
        assert run.exit_code == 0 and all(r.status is Status.PASS for r in run.results), _explain(run)
    else:
        check, status = STDIO_BUGS[bug]
        assert run.status_of(check) is status, _explain(run)
        assert run.exit_code == (1 if status is Status.FAIL else 0), _explain(run)


# Targets that never complete an MCP handshake: each must be an ERROR run (exit 1), never OK.
DEAD_STDIO = {
    "crashes-on-import": f"{PY} -c 'import no_such_module_for_conformance'",
    "exits-at-once": "false",
    "not-found": "/nonexistent/mcp-server",
}


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(DEAD_STDIO))
async def test_stdio_server_that_never_starts_is_an_error(name: str) -> None:
    command = DEAD_STDIO[name]
    run = await _run(command, target="stdio", options=Options(timeout=3.0, stdio_command=command))
    assert run.results and all(r.status is Status.ERROR for r in run.results), _explain(run)
    assert run.exit_code == 1


def test_cli_fails_a_stdio_server_that_never_starts() -> None:
    cli = [PY, "-m", "mcp_transport", "conformance", "server", "--stdio", "false", "--timeout", "3"]
    done = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED: 0 passed" in done.stdout and "exited with status 1" in done.stdout


@pytest.mark.anyio
async def test_http_target_without_mcp_is_an_error() -> None:
    port = free_port()
    web = ServerProcess([PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"], port).start()
    try:
        run = await _run(web.url)  # a web server, but no MCP endpoint: 404 / 501 to everything
    finally:
        web.stop()
    assert run.results and all(r.status is Status.ERROR for r in run.results), _explain(run)
    assert "completed no MCP handshake" in run.results[0].message and run.exit_code == 1
    unreachable = await _run(f"http://127.0.0.1:{free_port()}/mcp")
    assert all(r.status is Status.ERROR for r in unreachable.results) and unreachable.exit_code == 1


@pytest.mark.anyio
async def test_our_stdio_server_passes() -> None:
    command = f"{PY} -m servers.everything --stdio"
    run = await _run(command, target="stdio", options=Options(timeout=5.0, stdio_command=command))
    assert run.exit_code == 0, _explain(run)


@pytest.mark.anyio
async def test_our_http_server_passes_every_legacy_must() -> None:
    with _serve("-m", "servers.everything") as url:
        run = await _run(url, era="legacy", options=Options(timeout=5.0, keepalive_wait=20.0))
    failed = [r for r in run.results if r.status in (Status.FAIL, Status.ERROR)]
    assert not failed, _explain(run)


@pytest.mark.anyio
async def test_our_http_server_passes_every_modern_must() -> None:
    with _serve("-m", "servers.everything") as url:
        options = Options(timeout=5.0, task_tool="slow_compute", task_tool_args={"seconds": 0.3})
        run = await _run(url, era="modern", options=options)
    failed = [r for r in run.results if r.status in (Status.FAIL, Status.ERROR)]
    assert not failed, _explain(run)
    assert run.status_of("tasks-poll-to-terminal") is Status.PASS, _explain(run)  # the tasks checks ran


def test_every_rule_is_cited_and_unique() -> None:
    """Each check cites the spec itself: a revision, a page and a heading (``§...``), and never a
    secondary digest of it."""
    from conformance.client_scenarios import CLIENT_SCENARIOS

    rules = [rule for s in (*SCENARIOS, *CLIENT_SCENARIOS) for rule in s.rules]
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.version[:2] == "20" and rule.text and isinstance(rule.level, Level), rule
        assert re.match(r"[a-z_]+/[a-z_/-]+ §\S", rule.section), rule  # a page, then a heading
        assert "digest" not in rule.section.lower(), rule


@pytest.mark.anyio
async def test_reports_and_exit_status(tmp_path: Path) -> None:
    with _serve(str(BROKEN / "server.py"), "--bug", "notification_200") as url:
        run = await _run(url, ["notifications-202", "jsonrpc-errors"])
        doc = json.loads(render(run, "json"))
        assert doc["exit_code"] == 1 and doc["summary"]["FAIL"] >= 1
        failed = next(c for c in doc["checks"] if c["check"] == "notification-initialized-202")
        assert failed["status"] == "FAIL" and failed["sent"] and failed["received"]
        assert failed["expected"] and failed["level"] == "MUST" and failed["section"]
        assert "| FAIL | `notifications-202/notification-initialized-202` |" in render(run, "markdown")
        assert '<failure message="' in render(run, "junit")
        cli = [PY, "-m", "mcp_transport", "conformance", "server", url, "--timeout", "5"]
        failing = await _cli(
            *cli, "--scenario", "notifications-202", "--report", "junit", str(tmp_path / "j.xml")
        )
        assert failing.returncode == 1, failing.stdout + failing.stderr
        assert (
            "FAIL  notifications-202/notification-initialized-202" in failing.stdout
            and (tmp_path / "j.xml").exists()
        )
        passing = await _cli(*cli, "--scenario", "jsonrpc-errors")
        assert passing.returncode == 0, passing.stdout + passing.stderr
    with _serve(str(BROKEN / "server.py"), "--bug", "no_406") as url:
        warned = await _cli(
            PY, "-m", "mcp_transport", "conformance", "server", url, "--scenario", "accept-content-type"
        )
        assert warned.returncode == 0 and "WARN  accept-content-type/accept-post-406" in warned.stdout


def test_docs_list_every_rule() -> None:
    from conformance.client_scenarios import CLIENT_SCENARIOS

    doc = (ROOT / "docs" / "conformance-suite.md").read_text()
    missing = [r.id for s in (*SCENARIOS, *CLIENT_SCENARIOS) for r in s.rules if f"`{r.id}`" not in doc]
    assert not missing, f"add these checks to docs/conformance-suite.md: {missing}"


# The CLI: the suite is imported as the installed package it is, and a closed stdout is quiet.
_BLOCKED_SUITE = """
import importlib.abc, sys

class NoSuite(importlib.abc.MetaPathFinder):  # as if the conformance package were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "conformance":
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, NoSuite())
before = list(sys.path)
from mcp_transport.cli import main
try:
    main(["conformance", "list"])
except SystemExit as exc:
    print("exit:", exc.code)
print("sys.path edited" if sys.path != before else "sys.path untouched")
"""


def test_cli_imports_the_suite_without_sys_path_edits(tmp_path: Path) -> None:
    blocked = subprocess.run([PY, "-c", _BLOCKED_SUITE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "sys.path untouched" in blocked.stdout, blocked.stdout + blocked.stderr
    assert "needs the 'conformance' package" in blocked.stdout
    # Installed normally, it is found from any directory.
    listed = subprocess.run(
        [PY, "-m", "mcp_transport", "conformance", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0 and "last-event-id-replay" in listed.stdout, listed.stderr


STDIO_OK = f"{PY} {BROKEN / 'stdio_server.py'}"


@pytest.mark.parametrize("command", [["list"], ["server", "--stdio", STDIO_OK, "--timeout", "3"]])
def test_cli_exits_quietly_when_stdout_is_closed(command: list[str]) -> None:
    """``mcp-transport conformance list | head``: the reader goes away; no BrokenPipe traceback."""
    quiet_on_closed_stdout([PY, "-m", "mcp_transport", "conformance", *command])
