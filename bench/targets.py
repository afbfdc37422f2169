"""The performance targets, each a ratio of two figures from the same run, so drift on a shared
machine moves both sides alike. ``evaluate`` turns a run's results into one line per target:
what ours measured, what it is compared with, the ratio, the bound and whether it was met.

The targets:

* p99 latency at c=1 (JSON and SSE, the legacy and the modern leg) at most 2x plain uvicorn's
  p99, and below every SDK's p99 in the same response mode;
* the modern (2026-07-28, sessionless) leg's JSON and SSE c=32 throughput at least 95% of the
  legacy leg's: it has less to do;
* legacy JSON c=32 throughput at least 65% of plain uvicorn's echo;
* ahead of the official TypeScript SDK and of fastmcp on every row of the table where both
  were measured (higher is better for rates, lower for latency, CPU and memory);
* stdio sequential calls/s at least 3x the official Python SDK's;
* resume latency flat: at the longest stream of the resume curve at most 2x that at the shortest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.harness import Profile, _get
from bench.table import PEERS, SHORT, Row, _number, row_value, rows

LEGS = (("legacy", "c1", "c32"), ("modern", "modern_c1", "modern_c32"))


@dataclass
class Target:
    name: str
    ours: str  # the figure(s) of ours compared, formatted
    reference: str  # what it is compared with, formatted
    ratio: str  # ours / reference (or the worst of several)
    bound: str
    met: bool | None  # None: a side was not measured

    def cells(self) -> list[str]:
        met = "not measured" if self.met is None else ("yes" if self.met else "**no**")
        return [self.name, self.ours, self.reference, self.ratio, self.bound, met]


HEADER = ["target", "ours", "compared with", "ratio", "bound", "met"]


def _ratio_target(
    name: str, ours: object, ref: object, ref_label: str, bound: float, ok: Callable[[float], bool], fmt: str
) -> Target:
    if not (_number(ours) and _number(ref) and ref):
        return Target(name, _fmt(ours, fmt), f"{ref_label} {_fmt(ref, fmt)}", "—", f"{bound:g}x", None)
    q = ours / ref
    return Target(name, fmt.format(ours), f"{ref_label} {fmt.format(ref)}", f"{q:.2f}x", f"{bound:g}x", ok(q))


def _fmt(v: object, fmt: str) -> str:
    return fmt.format(v) if _number(v) else "—"


def _http(results: dict, server: str, mode: str, key: str, figure: str) -> object:
    return _get(results, "http", server, mode, key, figure)


def tail_targets(results: dict) -> list[Target]:
    out = []
    for mode in ("json", "sse"):
        plain = _http(results, "plain", mode, "c1", "p99_ms")
        for leg, c1, _ in LEGS:
            ours = _http(results, "ours", mode, c1, "p99_ms")
            out.append(
                _ratio_target(
                    f"p99 c=1 {mode.upper()} {leg} <= 2x plain uvicorn",
                    ours,
                    plain,
                    "uvicorn",
                    2.0,
                    lambda q: q <= 2.0,
                    "{:.3f} ms",
                )
            )
            sdks = {p: _http(results, p, mode, "c1", "p99_ms") for p in PEERS}
            measured = {p: v for p, v in sdks.items() if _number(v) and v}
            ref = ", ".join(f"{SHORT[p]} {_fmt(v, '{:.3f}')}" for p, v in sdks.items())
            name = f"p99 c=1 {mode.upper()} {leg} below every SDK's"
            if not _number(ours) or not measured:
                out.append(Target(name, _fmt(ours, "{:.3f} ms"), ref, "—", "< 1x", None))
                continue
            worst = max(ours / v for v in measured.values())
            # behind one SDK is a miss; ahead of those measured is a pass only if all were
            met = False if worst >= 1 else (True if len(measured) == len(PEERS) else None)
            out.append(Target(name, f"{ours:.3f} ms", ref + " ms", f"{worst:.2f}x", "< 1x", met))
    return out


def throughput_targets(results: dict) -> list[Target]:
    out = []
    for mode in ("json", "sse"):
        out.append(
            _ratio_target(
                f"modern {mode.upper()} c=32 >= 95% of legacy",
                _http(results, "ours", mode, "modern_c32", "rps"),
                _http(results, "ours", mode, "c32", "rps"),
                "legacy",
                0.95,
                lambda q: q >= 0.95,
                "{:,.0f} req/s",
            )
        )
    out.append(
        _ratio_target(
            "legacy JSON c=32 >= 65% of plain uvicorn",
            _http(results, "ours", "json", "c32", "rps"),
            _http(results, "plain", "json", "c32", "rps"),
            "uvicorn",
            0.65,
            lambda q: q >= 0.65,
            "{:,.0f} req/s",
        )
    )
    out.append(
        _ratio_target(
            "stdio sequential calls/s >= 3x Py SDK",
            _get(results, "stdio", "ours", "sequential_per_s"),
            _get(results, "stdio", "official", "sequential_per_s"),
            "Py SDK",
            3.0,
            lambda q: q >= 3.0,
            "{:,.0f}/s",
        )
    )
    return out


def resume_target(results: dict) -> Target:
    """Resume latency must not grow with the length of the stream resumed (the resume curve)."""
    points = _get(results, "curves", "resume", "ours", "points") or []
    measured = [p for p in points if _number(p.get("p50_ms"))]
    if len(measured) < 2:
        return Target("resume latency flat over stream length", "—", "—", "—", "2x", None)
    short, long = measured[0], measured[-1]
    return _ratio_target(
        f"resume latency flat: {long['length']:,} events <= 2x {short['length']:,}",
        long["p50_ms"],
        short["p50_ms"],
        f"{short['length']:,} events",
        2.0,
        lambda q: q <= 2.0,
        "{:.3f} ms",
    )


def advantage(row: Row, ours: float, theirs: float) -> float:
    """How far ahead ours is on ``row``: > 1 is ahead, whichever way the row is better."""
    return ours / theirs if row.higher_is_better else theirs / ours


def ahead_targets(results: dict, prof: Profile) -> list[Target]:
    out = []
    for peer, label in (("ts", "the TS SDK"), ("fastmcp", "fastmcp")):
        compared: list[tuple[float, str]] = []
        for row in rows(prof):
            ours, theirs = row_value(results, row, "ours"), row_value(results, row, peer)
            if row.ratio and _number(ours) and _number(theirs) and ours and theirs:
                compared.append((advantage(row, ours, theirs), row.figure))
        name = f"ahead of {label} on every row it has"
        if not compared:
            out.append(Target(name, "—", "—", "—", "> 1x each", None))
            continue
        behind = sorted(c for c in compared if c[0] <= 1)
        worst = min(compared)
        ours_text = f"ahead on {len(compared) - len(behind)}/{len(compared)} rows"
        ref = "behind on: " + "; ".join(f"{f} ({q:.2f}x)" for q, f in behind) if behind else "all rows"
        out.append(Target(name, ours_text, ref, f"worst {worst[0]:.2f}x", "> 1x each", not behind))
    return out


def evaluate(results: dict, prof: Profile) -> list[Target]:
    return [
        *tail_targets(results),
        *throughput_targets(results),
        *ahead_targets(results, prof),
        resume_target(results),
    ]
