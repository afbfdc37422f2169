"""The conformance suite's ``authorization`` scenario, proven on a small protected server
(tests/broken_servers/auth_server.py): it passes the correct one and flags each planted bug.
(Our own server is judged in tests/integration/test_auth_resource_server.py.)"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.context import Options
from conformance.model import Status
from conformance.runner import RunResult, run_scenarios, select
from conformance.scenarios import SCENARIOS
from tests.interop_servers import ServerProcess, free_port

pytestmark = pytest.mark.anyio

SERVER = Path(__file__).resolve().parent / "broken_servers" / "auth_server.py"
TOKENS = Options(timeout=5.0, bearer="good", bearer_other_audience="other-audience", scoped_tool="admin_tool")
# bug -> (check that must not pass, its status)
BUGS = {
    "no_challenge": ("auth-401-resource-metadata", Status.FAIL),
    "prm_wrong_resource": ("auth-metadata-document", Status.FAIL),
    "any_token": ("auth-invalid-token-401", Status.FAIL),
    "wrong_audience_accepted": ("auth-wrong-audience-401", Status.FAIL),
    "scope_401": ("auth-insufficient-scope-403", Status.WARN),
}


@contextmanager
def serve(*args: str) -> Iterator[str]:
    port = free_port()
    server = ServerProcess([sys.executable, str(SERVER), "--port", str(port), *args], port).start()
    try:
        yield server.url
    finally:
        server.stop()


async def judge(url: str, options: Options = TOKENS) -> RunResult:
    return await run_scenarios(
        select(SCENARIOS, target="http", names=["authorization"]), url=url, options=options
    )


def explain(run: RunResult) -> str:
    return "\n".join(f"{r.status.value} {r.name}: {r.message} | got {r.received}" for r in run.results)


async def test_a_correct_protected_server_passes() -> None:
    with serve() as url:
        run = await judge(url)
    assert {r.status for r in run.results} == {Status.PASS}, explain(run)
    assert len(run.results) == 8


@pytest.mark.parametrize("bug", sorted(BUGS))
async def test_each_planted_bug_is_flagged(bug: str) -> None:
    check, status = BUGS[bug]
    with serve("--bug", bug) as url:
        run = await judge(url)
    assert run.status_of(check) is status, explain(run)


async def test_token_checks_skip_without_their_tokens() -> None:
    with serve() as url:
        run = await judge(url, Options(timeout=5.0, bearer="good"))
    assert run.status_of("auth-wrong-audience-401") is Status.SKIP
    assert run.status_of("auth-insufficient-scope-403") is Status.SKIP
    assert run.status_of("auth-401-resource-metadata") is Status.PASS
