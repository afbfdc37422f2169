"""Where a server's time goes under load: py-spy samples it while the bench load generator drives
it, and the samples are folded into self and inclusive percentages by function.

    python -m bench.profile ours json                 # tools/call echo, c=32, 8 s
    python -m bench.profile ours sse --idle-sessions 10000
    python -m bench.profile official json --modern    # (the modern leg is ours only)

Needs py-spy (``pip install py-spy``; it samples another process, so run as root or with ptrace
allowed). Writes bench/results/profile-<server>-<mode>.txt and prints it.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import PY, RESULTS, ROOT, SERVERS, Pinning, Server, loadgen


def fold(raw: Path, top: int) -> str:
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        count = int(n)
        total += count
        frames = stack.split(";")
        self_t[frames[-1] or "(native)"] += count
        for f in set(frames):
            incl[f] += count
    out = [f"{total} samples", "", "self:"]
    out += [f"{100 * n / total:5.1f}%  {f}" for f, n in self_t.most_common(top)]
    out += ["", "inclusive:"]
    out += [f"{100 * n / total:5.1f}%  {f}" for f, n in incl.most_common(top * 2)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("server", choices=[s.name for s in SERVERS])
    p.add_argument("mode", nargs="?", default="json")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--idle-sessions", type=int, default=0, help="open this many idle sessions first")
    p.add_argument("--modern", action="store_true", help="drive the stateless 2026-07-28 leg")
    p.add_argument("--top", type=int, default=30)
    a = p.parse_args(argv)
    spy = shutil.which("py-spy") or (
        str(Path(PY).parent / "py-spy") if (Path(PY).parent / "py-spy").exists() else None
    )
    if spy is None:
        print("py-spy not found: pip install py-spy", file=sys.stderr)
        return 2
    spec = next(s for s in SERVERS if s.name == a.server)
    pin = Pinning(True)
    with Server(spec, a.mode, pin) as srv, tempfile.TemporaryDirectory() as tmp:
        loadgen(pin, srv.port, "calls", "--clients", "4", "--duration", "0.5", "--warmup", "0")
        if a.idle_sessions:
            loadgen(pin, srv.port, "sessions", "--count", str(a.idle_sessions), "--clients", "32")
        cmd = pin.generator(
            [
                PY,
                "-m",
                "bench.loadgen",
                "calls",
                "--port",
                str(srv.port),
                "--clients",
                str(a.clients),
                "--duration",
                str(a.seconds + 2),
                "--warmup",
                "0.5",
                *(["--modern"] if a.modern else []),
            ]
        )
        gen = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        raw = Path(tmp) / "raw.txt"
        subprocess.run(
            [
                spy,
                "record",
                "-p",
                str(srv.pid),
                "-d",
                str(int(a.seconds)),
                "-r",
                str(a.rate),
                "-f",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
            ],
            check=True,
            capture_output=True,
        )
        load = gen.communicate(timeout=60)[0].strip().splitlines()[-1]
        report = (
            f"# py-spy of {a.server}/{a.mode}{' (modern leg)' if a.modern else ''}, c={a.clients}, "
            f"{a.idle_sessions} idle sessions\n# load: {load}\n\n" + fold(raw, a.top)
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ("-modern" if a.modern else "") + ("-idle" if a.idle_sessions else "")
    out = RESULTS / f"profile-{a.server}-{a.mode}{suffix}.txt"
    out.write_text(report + "\n")
    print(report)
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
