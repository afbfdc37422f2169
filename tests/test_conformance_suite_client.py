"""Client scenarios prove themselves: a correct independent client passes, each broken one is
flagged on the right check, and our own Client passes every MUST."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conformance.client_runner import run_client_scenarios
from conformance.model import Status
from conformance.runner import RunResult

ROOT = Path(__file__).resolve().parent.parent
BROKEN_CLIENT = f"{sys.executable} {ROOT / 'tests' / 'broken_servers' / 'broken_client.py'}"

# bug -> (scenario, check, status)
CLIENT_BUGS = {
    "no_reinit": ("client-reinitialize-on-404", "client-reinitializes-after-404", Status.FAIL),
    "no_version_header": ("client-basics", "client-protocol-version-header", Status.FAIL),
    "ignores_retry": ("client-resume", "client-honours-retry", Status.FAIL),
    "no_ping_answer": ("client-server-requests", "client-answers-server-ping", Status.FAIL),
    "no_delete": ("client-delete-on-close", "client-deletes-session-on-close", Status.WARN),
    "no_budget": ("client-reconnect-backoff", "client-reconnect-bounded", Status.WARN),
}


def _explain(run: RunResult) -> str:
    return "\n".join(
        f"{r.status.value} {r.name}: {r.message} | got {r.received}"
        for r in run.results
        if r.status is not Status.PASS
    )


@pytest.fixture
def client_bug(monkeypatch: pytest.MonkeyPatch) -> object:
    def set_bug(bug: str | None) -> None:
        if bug is None:
            monkeypatch.delenv("BROKEN_CLIENT_BUG", raising=False)
        else:
            monkeypatch.setenv("BROKEN_CLIENT_BUG", bug)

    return set_bug


@pytest.mark.anyio
async def test_correct_independent_client_passes(client_bug: object) -> None:
    client_bug(None)  # type: ignore[operator]  # the fixture yields a callable
    run = await run_client_scenarios(BROKEN_CLIENT, timeout=20)
    assert all(r.status in (Status.PASS, Status.SKIP) for r in run.results), _explain(run)
    assert run.status_of("client-reconnect-spacing") is Status.PASS


@pytest.mark.anyio
@pytest.mark.parametrize("bug", sorted(CLIENT_BUGS))
async def test_broken_client_is_flagged(bug: str, client_bug: object) -> None:
    client_bug(bug)  # type: ignore[operator]  # the fixture yields a callable
    scenario, check, status = CLIENT_BUGS[bug]
    run = await run_client_scenarios(BROKEN_CLIENT, names=[scenario], timeout=20)
    assert run.status_of(check) is status, _explain(run)


@pytest.mark.anyio
async def test_our_client_passes_every_must() -> None:
    run = await run_client_scenarios(f"{sys.executable} -m conformance.example_client", timeout=30)
    failed = [r for r in run.results if r.status in (Status.FAIL, Status.ERROR)]
    assert not failed, _explain(run)
    assert os.environ.get("MCP_CONFORMANCE_SCENARIO") is None  # only the child process gets it
