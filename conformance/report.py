"""Run the suite against every target we can start here and write the results as Markdown
(``make conformance-report``):

    python -m conformance.report [OUTPUT]          # default docs/conformance-results.md

Targets: our servers.everything (HTTP and stdio), the official Python SDK, the official
TypeScript SDK (when the node toolchain of tests/conformance_official/v01 is installed), and the
independent reference server of tests/broken_servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .context import Options
from .model import Status
from .runner import RunResult, run_scenarios, select
from .scenarios import SCENARIOS

__all__ = ["main", "portable"]

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "tests/conformance_official/v01/node_modules/.bin/node"
# keepalive_wait above the 15 s keepalive interval most servers (ours included) default to,
# so a healthy server is not reported as missing keepalives.
OPTIONS = Options(timeout=5.0, keepalive_wait=17.0)


def _targets() -> list[tuple[str, list[str] | None, str | None]]:
    """(title, HTTP server argv taking a port last, or None; stdio command or None)."""
    py = sys.executable
    targets: list[tuple[str, list[str] | None, str | None]] = [
        ("mcp_transport servers.everything (HTTP)", [py, "-m", "servers.everything", "--port"], None),
        ("mcp_transport servers.everything (stdio)", None, f"{py} -m servers.everything --stdio"),
        (
            "official Python SDK (mcp), MCPServer.streamable_http_app",
            [py, "-m", "conformance.targets.python_sdk_server"],
            None,
        ),
        (
            "independent reference server (tests/broken_servers/server.py)",
            [py, "tests/broken_servers/server.py", "--port"],
            None,
        ),
    ]
    if NODE.exists():
        targets.append(
            (
                "official TypeScript SDK (@modelcontextprotocol/sdk 1.x), simpleStreamableHttp wiring",
                [str(NODE), "conformance/targets/ts_sdk_server.cjs"],
                None,
            )
        )
    return targets


@contextlib.contextmanager
def _serve(argv: list[str]) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [*argv, str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _run(argv: list[str] | None, stdio: str | None) -> RunResult:
    if stdio is not None:
        opts = Options(timeout=OPTIONS.timeout, stdio_command=stdio)
        return await run_scenarios(select(SCENARIOS, target="stdio"), url=stdio, options=opts)
    assert argv is not None
    with _serve(argv) as url:
        return await run_scenarios(select(SCENARIOS, target="http"), url=url, options=OPTIONS)


def portable(text: str) -> str:
    """``text`` without this machine's paths: a server's error page may quote a file of this
    checkout or of the home directory; the results file is committed and read elsewhere."""
    text = text.replace(str(ROOT) + "/", "").replace(str(ROOT), ".")
    return text.replace(str(Path.home()) + "/", "~/")


def _section(title: str, run: RunResult) -> list[str]:
    c = run.counts
    lines = [
        f"## {title}",
        "",
        f"**{'OK' if run.exit_code == 0 else 'FAILED'}**: {c['PASS']} passed, {c['FAIL']} failed (MUST), "
        f"{c['WARN']} warnings, {c['SKIP']} skipped, {c['ERROR']} errors.",
        "",
    ]
    shown = [r for r in run.results if r.status in (Status.FAIL, Status.WARN, Status.ERROR)]
    if shown:
        lines += ["| status | check | rule | what happened |", "|---|---|---|---|"]
        for r in shown:
            what = portable(r.received or r.message or "").replace("|", "\\|").replace("\n", " ")[:300]
            lines.append(f"| {r.status.value} | `{r.name}` | {r.rule.citation} | {what} |")
        lines.append("")
    reasons: dict[str, list[str]] = {}
    for r in run.results:
        if r.status is Status.SKIP:
            reasons.setdefault(
                r.message.split(":")[0] if "2026-07-28" in r.message else r.message, []
            ).append(r.rule.id)
    for reason, ids in reasons.items():
        lines.append(f"* skipped ({reason}): {', '.join(f'`{i}`' for i in ids)}")
    if reasons:
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    output = Path(args[0]) if args else ROOT / "docs" / "conformance-results.md"
    lines = [
        "# Conformance results",
        "",
        f"Generated by `python -m conformance.report` on {time.strftime('%Y-%m-%d')} with "
        f"`--timeout {OPTIONS.timeout:g} --keepalive-wait {OPTIONS.keepalive_wait:g}`. "
        "What each check means and why it is right: docs/conformance-suite.md.",
        "",
    ]
    for title, server_argv, stdio in _targets():
        print(f"running: {title}", file=sys.stderr)
        lines += _section(title, asyncio.run(_run(server_argv, stdio)))
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
