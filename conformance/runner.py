"""Run scenarios, show progress, collect results.

Exit status: 0 only when no MUST-level check failed and no scenario errored (an ERROR means a
MUST could not be verified). SHOULD/MAY misses are WARN and never change the exit status.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from .context import Context, Options
from .model import CheckResult, HandshakeFailed, Scenario, Status, Unsupported

__all__ = ["Progress", "RunResult", "run_scenarios", "select"]

ERAS = ("legacy", "modern", "both")
# A scenario may take this many reply timeouts (plus the keepalive wait) before it is stopped.
SCENARIO_BUDGET_TIMEOUTS = 6


@dataclass
class RunResult:
    target: str
    era: str
    results: list[CheckResult] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float = 0.0

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.status.value for r in self.results)

    @property
    def exit_code(self) -> int:
        return 1 if any(r.status in (Status.FAIL, Status.ERROR) for r in self.results) else 0

    def status_of(self, check_id: str) -> Status | None:
        for result in self.results:
            if result.rule.id == check_id:
                return result.status
        return None


class Progress:
    """A live one-line display on a terminal; one plain line per check otherwise."""

    def __init__(self, out: TextIO | None = None, tty: bool | None = None, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.quiet = quiet
        self.counts: Counter[str] = Counter()
        self.total = 0
        self.index = 0
        self.current = ""

    def begin(self, total: int) -> None:
        self.total = total

    def scenario(self, name: str) -> None:
        self.index += 1
        self.current = name
        self._line()

    def result(self, result: CheckResult) -> None:
        self.counts[result.status.value] += 1
        if self.quiet:
            return
        if self.tty:
            if result.status in (Status.FAIL, Status.ERROR, Status.WARN):
                self.out.write("\r\x1b[K" + _plain(result) + "\n")
            self._line()
        else:
            self.out.write(_plain(result) + "\n")
            self.out.flush()

    def _line(self) -> None:
        if not self.tty or self.quiet:
            return
        c = self.counts
        self.out.write(
            f"\r\x1b[K[{self.index}/{self.total}] {self.current}  pass {c['PASS']}  fail {c['FAIL']}  "
            f"warn {c['WARN']}  skip {c['SKIP']}  error {c['ERROR']}"
        )
        self.out.flush()

    def end(self, run: RunResult) -> None:
        if self.tty and not self.quiet:
            self.out.write("\r\x1b[K")
        shown: set[str] = set()  # a target without a handshake errs every check for one reason: say it once
        for result in run.results:
            if result.status in (Status.FAIL, Status.ERROR, Status.WARN) and not self.quiet:
                repeat = result.status is Status.ERROR and result.message in shown
                self.out.write(
                    f"{result.status.value} {result.name}: as above\n" if repeat else _detail(result)
                )
                shown.add(result.message)
        c = run.counts
        verdict = "OK" if run.exit_code == 0 else "FAILED"
        self.out.write(
            f"{verdict}: {c['PASS']} passed, {c['FAIL']} failed (MUST), {c['WARN']} warnings (SHOULD/MAY), "
            f"{c['SKIP']} skipped, {c['ERROR']} errors\n"
        )
        self.out.flush()


def _plain(result: CheckResult) -> str:
    line = f"{result.status.value:5} {result.name}  [{result.rule.citation}]"
    if result.status is not Status.PASS and result.message:
        line += f" - {result.message}"
    return line


def _detail(result: CheckResult) -> str:
    lines = [
        f"\n{result.status.value} {result.name}",
        f"  rule:     {result.rule.citation}: {result.rule.text}",
    ]
    if result.message:
        lines.append(f"  why:      {result.message}")
    for label, value in (("sent", result.sent), ("received", result.received), ("expected", result.expected)):
        if value:
            lines.append(f"  {label + ':':9} {value}")
    return "\n".join(lines) + "\n"


def select(
    scenarios: Iterable[Scenario], *, target: str, era: str = "both", names: Iterable[str] | None = None
) -> list[Scenario]:
    wanted = set(names or ())
    chosen = []
    for scenario in scenarios:
        if scenario.target != target:
            continue
        if wanted and scenario.name not in wanted:
            continue
        if era != "both" and scenario.era not in (era, "any"):
            continue
        chosen.append(scenario)
    unknown = wanted - {s.name for s in scenarios}
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return chosen


async def run_scenarios(
    scenarios: list[Scenario],
    *,
    url: str,
    options: Options,
    era: str = "both",
    progress: Progress | None = None,
) -> RunResult:
    progress = progress or Progress(out=io.StringIO(), quiet=True)
    run = RunResult(target=url, era=era)
    progress.begin(len(scenarios))
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)
    timeout = httpx.Timeout(options.timeout, read=None)
    headers = {"Authorization": f"Bearer {options.bearer}"} if options.bearer else None
    async with httpx.AsyncClient(timeout=timeout, limits=limits, headers=headers) as client:
        failed = await _preflight(scenarios, url, options, client, run.era)
        for scenario in scenarios:
            progress.scenario(scenario.name)
            if failed is None:
                await _run_one(scenario, url, options, client, run, progress)
            else:  # nothing can be judged on a target that never completes a handshake
                for rule in scenario.rules:
                    run.results.append(CheckResult(scenario.name, rule, Status.ERROR, failed))
                    progress.result(run.results[-1])
    run.finished = time.time()
    progress.end(run)
    return run


async def _preflight(
    scenarios: list[Scenario], url: str, options: Options, client: httpx.AsyncClient, era: str
) -> str | None:
    """An HTTP target must complete an MCP handshake before anything is judged: without one every
    scenario would only skip ("initialize failed") and a dead or non-MCP URL would pass. Returns
    why it failed, or None. A stdio scenario starts its own process and raises HandshakeFailed."""
    if not any(s.target == "http" for s in scenarios):
        return None
    ctx = Context(url=url, options=options, http=client, scenario="handshake", era=era)
    try:
        await asyncio.wait_for(ctx.handshake(), options.timeout * 2)
    except HandshakeFailed as exc:
        return str(exc)
    except TimeoutError:
        return f"the target completed no MCP handshake within {options.timeout * 2:g} s"
    return None


async def _run_one(
    scenario: Scenario,
    url: str,
    options: Options,
    client: httpx.AsyncClient,
    run: RunResult,
    progress: Progress,
) -> None:
    def record(result: CheckResult) -> None:
        run.results.append(result)
        progress.result(result)

    ctx = Context(url=url, options=options, http=client, scenario=scenario.name, record=record, era=run.era)
    budget = options.timeout * SCENARIO_BUDGET_TIMEOUTS + options.keepalive_wait
    leftover: tuple[Status, str] = (Status.SKIP, "not applicable to this server")
    try:
        await asyncio.wait_for(scenario.run(ctx), budget)
    except Unsupported as exc:
        leftover = (Status.SKIP, str(exc))
    except HandshakeFailed as exc:
        leftover = (Status.ERROR, str(exc))
    except TimeoutError:
        leftover = (Status.ERROR, f"scenario exceeded its {budget:.0f} s budget")
    except BrokenPipeError:
        raise  # our own stdout is gone (`... | head`): stop the run, the CLI exits quietly
    except (httpx.HTTPError, OSError) as exc:
        leftover = (Status.ERROR, f"transport error: {type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug in the scenario or an unparseable reply: report, don't crash the run
        leftover = (Status.ERROR, f"{type(exc).__name__}: {exc}")
    for rule in scenario.rules:
        if rule.id not in ctx.judged:
            ctx._emit(CheckResult(scenario.name, rule, leftover[0], leftover[1]))


def run_sync(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return asyncio.run(fn(*args, **kwargs))
