"""The Redis rows of ``make bench`` (docs/deployment.md): what sharing state costs.

In one run, against one redis-server of its own (Debian's, as the tests use; no persistence):

* one worker on memory vs one worker on Redis: JSON ``tools/call`` at c=32 (target: Redis at
  least 60% of memory);
* Redis commands per ``tools/call`` on an established session, counted by Redis itself
  (``redis-cli monitor``, a script counted once, not its inner commands; target at most 2);
* two workers on Redis behind haproxy (round robin) vs one worker behind the same haproxy:
  on this 2-core machine the load generator, haproxy, Redis and the workers share the cores,
  so this measures contention more than scaling;
* memory per idle legacy session in Redis (``used_memory`` before and after opening sessions);
* resume latency across workers (``bench.redis_resume``), beside the same resume on one worker.

    python -m bench.redis_rows [--quick|--tiny]     # alone; bench.run runs it as phase "redis"
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from bench.harness import (
    FULL,
    QUICK,
    SERVERS,
    TINY,
    Pinning,
    Profile,
    Server,
    loadgen,
    log,
    med,
    one_calls_run,
)
from bench.redis_resume import render as render_resume
from bench.redis_resume import resume_rows
from mcp_transport.env import ENV_REQUEST_STATE_KEYS
from tests.services import REQUEST_STATE_KEY, Haproxy, RedisServer

__all__ = ["ROUNDTRIP_TARGET", "SHARE_TARGET", "redis_phase", "render"]

SHARE_TARGET = 0.60  # Redis JSON tools/call c=32 as a share of memory's
ROUNDTRIP_TARGET = 2.0  # Redis commands per tools/call on an established session
_OURS = next(spec for spec in SERVERS if spec.name == "ours")


def _worker(pin: Pinning, logdir: Path, redis_url: str | None, name: str) -> Server:
    """servers.everything (bench.servers.ours, JSON mode) as one worker; on Redis with a URL."""
    srv = Server(_OURS, "json", pin, log=logdir / f"redis-{name}.log")
    if redis_url is not None:
        srv.cmd += ["--redis-url", redis_url, "--redis-prefix", "bench:"]
    return srv


class _Commands:
    """Counts the commands workers send Redis, from ``redis-cli monitor`` (a command a Lua
    script runs shows as ``[0 lua]`` and is not one: the script is). A pipeline's commands
    count one by one, so this bounds round trips from above."""

    def __init__(self, url: str, directory: Path) -> None:
        self._argv = [shutil.which("redis-cli") or "redis-cli", "-u", url, "monitor"]
        self._path = directory / "monitor.txt"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Commands:
        with self._path.open("wb") as out:
            self._process = subprocess.Popen(self._argv, stdout=out, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # MONITOR is on before the figures start
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(5)

    def count(self) -> int:
        """Commands so far, once the monitor's output has caught up (stopped growing)."""
        size = -1
        while size != (size := self._path.stat().st_size):
            time.sleep(0.3)
        with self._path.open("rb") as lines:
            return sum(1 for line in lines if line[:1].isdigit() and b" lua] " not in line)


def _per_call(pin: Pinning, port: int, prof: Profile, url: str) -> float:
    """Commands per ``tools/call``: two runs of different lengths on fresh sessions, and the
    difference of the two (which cancels opening the sessions and the workers' background
    traffic, heartbeats and blocking reads, to within its share of the longer run)."""
    with tempfile.TemporaryDirectory() as tmp, _Commands(url, Path(tmp)) as commands:
        counts = []
        for duration in (prof.duration, 3 * prof.duration):
            before = commands.count()
            run = loadgen(pin, port, "calls", "--clients", "32", "--duration", str(duration), "--warmup", "0")
            counts.append((commands.count() - before, run["total_calls"]))
    (c1, n1), (c2, n2) = counts
    return (c2 - c1) / max(1, n2 - n1)


@contextlib.contextmanager
def _redis(directory: Path) -> Iterator[tuple[RedisServer, redis.Redis]]:
    server = RedisServer(directory)
    server.start()
    client = redis.Redis.from_url(server.url)
    try:
        yield server, client
    finally:
        client.close()
        server.stop()


def redis_phase(pin: Pinning, prof: Profile, logdir: Path) -> dict:
    """The Redis rows: a dict of figures (see the module's docstring)."""
    os.environ.setdefault(ENV_REQUEST_STATE_KEYS, REQUEST_STATE_KEY)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp, _redis(Path(tmp)) as (rds, client):
        with _worker(pin, logdir, None, "memory") as memory, _worker(pin, logdir, rds.url, "one") as shared:
            mem_runs, red_runs = [], []
            for _ in range(prof.repeat):  # interleaved: a disturbance hits both alike
                mem_runs.append(one_calls_run(memory, pin, prof, 32))
                red_runs.append(run := one_calls_run(shared, pin, prof, 32))
                if run["errors"]:
                    out.setdefault("errors", []).append(run["first_error"])
            out["memory_rps"] = med([r["rps"] for r in mem_runs])
            out["redis_rps"] = med([r["rps"] for r in red_runs])
            out["share"] = out["redis_rps"] / out["memory_rps"]
            out["commands_per_call"] = _per_call(pin, shared.port, prof, rds.url)
            client.flushdb()
            used0 = int(client.info("memory")["used_memory"])
            count = max(100, prof.idle_sessions // 10)
            opened = loadgen(pin, shared.port, "sessions", "--count", str(count), "--clients", "8")
            _idle(client)
            used1 = int(client.info("memory")["used_memory"])
            out["bytes_per_session"] = (used1 - used0) / max(1, opened["sessions"] - opened["errors"])
            out["sessions_opened"] = opened["sessions"] - opened["errors"]
            client.flushdb()
        with (
            _worker(Pinning(False), logdir, rds.url, "lb0") as w0,
            _worker(Pinning(False), logdir, rds.url, "lb1") as w1,
        ):
            for name in ("one", "two"):
                (Path(tmp) / name).mkdir()
            one, two = Haproxy(Path(tmp) / "one", [w0.port]), Haproxy(Path(tmp) / "two", [w0.port, w1.port])
            with _started(one), _started(two):
                ones, twos = [], []
                for _ in range(prof.repeat):
                    ones.append(loadgen(Pinning(False), one.port, "calls", *_calls_args(prof)))
                    twos.append(loadgen(Pinning(False), two.port, "calls", *_calls_args(prof)))
                out["lb_one_rps"] = med([r["rps"] for r in ones])
                out["lb_two_rps"] = med([r["rps"] for r in twos])
            out.update(resume_rows(w0.port, w1.port))
    return out


def _idle(client: redis.Redis, wait: float = 10.0) -> None:
    """Until the worker's sweeper has cleared its busy marks (every 5 s at most): an idle
    session has none."""
    deadline = time.monotonic() + wait
    while next(client.scan_iter(match="bench:busy:*"), None) is not None and time.monotonic() < deadline:
        time.sleep(0.2)


def _calls_args(prof: Profile) -> list[str]:
    return ["--clients", "32", "--duration", str(prof.duration), "--warmup", str(prof.warmup)]


@contextlib.contextmanager
def _started(proxy: Haproxy) -> Iterator[Haproxy]:
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def render(rows: dict) -> str:
    """The Redis rows as text, targets marked."""

    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines = [
        "Shared state on Redis (one redis-server on this machine, JSON tools/call, c=32):",
        f"  one worker, memory         {rows['memory_rps']:>9,.0f} req/s",
        f"  one worker, Redis          {rows['redis_rps']:>9,.0f} req/s  = {rows['share']:.0%} of memory "
        f"(target >= {SHARE_TARGET:.0%}: {mark(rows['share'] >= SHARE_TARGET)})",
        f"  Redis commands / tools/call {rows['commands_per_call']:>8.3f}  (MONITOR) "
        f"(target <= {ROUNDTRIP_TARGET:g}: {mark(rows['commands_per_call'] <= ROUNDTRIP_TARGET)})",
        f"  idle session in Redis      {rows['bytes_per_session']:>9,.0f} bytes "
        f"(used_memory over {rows['sessions_opened']} sessions)",
        f"  haproxy + 1 worker         {rows['lb_one_rps']:>9,.0f} req/s",
        f"  haproxy + 2 workers        {rows['lb_two_rps']:>9,.0f} req/s  = "
        f"{rows['lb_two_rps'] / rows['lb_one_rps']:.2f}x (unpinned: the generator, haproxy, Redis and the "
        "workers share 2 cores)",
    ]
    lines += render_resume(rows)
    lines += [f"  error on Redis: {error}" for error in rows.get("errors", [])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args(argv)
    prof = TINY if args.tiny else QUICK if args.quick else FULL
    logdir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    rows = redis_phase(Pinning(True), prof, logdir)
    log(f"logs in {logdir}")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
